"""A deployment fed by one source: windows close on the topics it reads.

A queue_log-only centre has no tickets, surveys or QA: with every input topic
read, their idle partitions would hold every window open and no final record
would ever be published. ``CCKPI_INPUT_TOPICS=cc.contacts`` makes the worker
read (and wait for) the contacts topic alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest

from streams.broker import EmbeddedBroker
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until

pytestmark = pytest.mark.integration

PARTITIONS = 4
HOURS = ("2026-11-02T09", "2026-11-02T11")
"""Offers at 09:xx, then at 11:xx on every partition: 09:00-10:00 is past its end plus grace."""


def offers(prefix: str) -> list[tuple[str, bytes, bytes, int]]:
    out = []
    for hour in HOURS:
        for partition in range(PARTITIONS):
            for n in range(3):
                event_id = f"{hour}-{partition}-{n}"
                event = {
                    "event_id": event_id,
                    "type": "contact.offered",
                    "occurred_at": f"{hour}:{10 + n}:00+00:00",
                    "team": "support",
                    "channel": "voice",
                    "contact_id": event_id,
                    "queue": "billing",
                }
                out.append(
                    (prefix + "cc.contacts", event_id.encode(), orjson.dumps(event), partition)
                )
    return out


def test_a_contacts_only_deployment_publishes_final_records(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    worker = WorkerProcess(
        broker.bootstrap_servers,
        prefix,
        tmp_path,
        extra_env={"CCKPI_INPUT_TOPICS": "cc.contacts", "CCKPI_INPUT_PARTITIONS": "4"},
    ).start()
    try:
        wait_until(lambda: "assigned" in worker.log_text(), 90, "the worker's assignment")
        messages = offers(prefix)
        asyncio.run(produce(broker.bootstrap_servers, messages))
        wait_until(
            lambda: metric_sum(worker.samples(), "cc_events_total") == len(messages),
            60,
            "every offer counted",
        )
        key = "contacts_offered|hour|2026-11-02T09:00:00+00:00|"

        def final_record() -> dict[str, object] | None:
            records = asyncio.run(
                read_topic(broker.bootstrap_servers, prefix + "cc.kpi.aggregates", 1.0)
            )
            finals = [v for k, v in records if k == key.encode() and v["final"]]
            return finals[-1] if finals else None

        record = wait_until(final_record, 60, "the final record of 09:00-10:00", interval=1)
        assert record["value"] == 3 * PARTITIONS
    finally:
        worker.stop()
