"""The demo's thin history: every event before the live start, acknowledged, on its topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from streams.broker import EmbeddedBroker
from streams.settings import load_settings
from streams.simulate.history import seed_history
from streams.topics import declare_topics
from tests.integration.harness import read_topic

pytestmark = pytest.mark.integration


def test_history_ends_before_the_live_start(broker: EmbeddedBroker, prefix: str) -> None:
    settings = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers, topic_prefix=prefix)
    until = datetime(2026, 11, 2, 6, tzinfo=UTC)

    async def run() -> int:
        await declare_topics(settings)
        return await seed_history(
            settings.kafka_kwargs(), settings.topic, days=3, until=until, rate=0.01
        )

    sent = asyncio.run(run())
    assert 1000 < sent < 6000, sent  # about 0.01 events a second over three days
    seen = 0
    times = []
    for topic in ("cc.contacts", "cc.tickets", "cc.surveys", "cc.quality", "cc.agents"):
        records = asyncio.run(read_topic(broker.bootstrap_servers, prefix + topic, idle=1.0))
        seen += len(records)
        times += [datetime.fromisoformat(value["occurred_at"]) for _, value in records]
    assert seen == sent
    assert min(times) >= until - timedelta(days=3)
    assert max(times) < until
