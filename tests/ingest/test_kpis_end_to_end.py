"""Chatwoot deliveries through ``cckpi ingest`` into a real worker: the KPIs it publishes
equal the reference computation (tests/oracle/) on the events the history means.

A support week of a Chatwoot account (first replies, follow-ups, private notes, bot and
automation messages, CSAT templates, assignments, resolves, a customer reopening, a
manual reopen), every delivery posted signed as Chatwoot posts it, with Sidekiq-style
retries, both deliveries of each status change, and forged and stale copies in between.
The expected events come from the builder's account of the history, not the mapping.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
import yaml

from streams.broker import EmbeddedBroker
from streams.settings import load_settings
from streams.topics import declare_topics
from tests.ingest.helpers import SECRET
from tests.ingest.process import IngestProcess
from tests.integration.harness import WorkerProcess, metric_sum, read_topic, wait_until
from tests.oracle.compare import diff_records
from tests.oracle.reference import Arrival, OracleConfig, aggregate_key, compute
from tests.sources.chatwoot_builder import Account, Agent, Contact, Inbox, Team, sign

pytestmark = pytest.mark.integration

CONFIG = {
    "calendars": {
        "support": {
            "timezone": "Europe/Bucharest",
            "hours": {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")},
            "holidays": ["2026-11-02"],
        },
        "website": {"timezone": "UTC", "hours": {"mon": ["08:00-20:00"], "fri": ["08:00-20:00"]}},
    },
    "chatwoot": {"inbox_teams": {2: "website"}},
}
CLOCKED = ("first_reply_seconds", "next_reply_seconds", "resolution_seconds")
TICKET_KPIS = (*CLOCKED, "tickets_solved", "reopen_ratio")


def support_week(seed: int = 3) -> Account:
    rng = random.Random(seed)
    account = Account(id=7)
    web = Inbox(2, "Website", "Channel::WebWidget", "chat", "website")
    mail = Inbox(5, "Mail", "Channel::Email", "email", "chatwoot")
    whatsapp = Inbox(7, "WhatsApp", "Channel::Whatsapp", "messaging", "chatwoot")
    agents = [Agent(1, "Ana Pop"), Agent(2, "Bob Ionescu"), Agent(3, "Zoë Ng")]
    support = Team(1, "support")
    start = datetime(2026, 10, 29, 14, 0, tzinfo=UTC)  # Thursday; the week spans a holiday
    for n in range(24):
        at = start + timedelta(minutes=n * 157)
        inbox = (web, mail, whatsapp)[n % 3]
        team = support if n % 2 == 0 else None
        conv = account.conversation(at, inbox, Contact(100 + n, f"Customer {n}"), team)
        agent = agents[n % 3]

        def later(lo: int, hi: int) -> datetime:
            nonlocal at
            at += timedelta(seconds=rng.randint(lo, hi), milliseconds=rng.randint(0, 999))
            return at

        conv.email(later(1, 3)) if inbox is mail else conv.customer(later(1, 3))
        if n % 4 == 0:
            conv.bot(later(1, 5))
        conv.assign(later(10, 300), agent)
        if n % 5 == 0:
            conv.note(later(30, 200), agents[(n + 1) % 3])
        conv.agent(later(60, 20_000), agent)
        for _ in range(rng.randint(0, 3)):
            conv.customer(later(30, 4000))
            if rng.random() < 0.3:
                conv.customer(later(5, 600))  # a second message while waiting
            conv.agent(later(60, 30_000), agents[rng.randint(0, 2)] if n % 6 == 0 else agent)
        if n % 7 == 3:
            conv.automation(later(1, 10))
        if n % 3 != 2:
            conv.resolve(later(60, 9000))
            conv.csat(later(1, 2))
            if n % 4 == 1:
                conv.customer(later(3600, 50_000))  # reopens it
                conv.agent(later(60, 3000), agent)
                conv.resolve(later(60, 3000))
            elif n % 8 == 0:
                conv.reopen(later(600, 4000))
                conv.resolve(later(60, 600))
    account.in_time_order()
    return account


def expected_kpis(account: Account) -> dict[str, dict[str, Any]]:
    arrivals = [
        Arrival("cc.tickets", 0, orjson.dumps({"event_id": f"x{i}", **event}))
        for i, event in enumerate(account.expected)
    ]
    result = compute(arrivals, OracleConfig.from_config_file(CONFIG))
    assert result.accepted == len(account.expected) and not result.invalid
    return {
        key: {k: v for k, v in record.items() if k != "final"}
        for key, record in result.records.items()
        if record["kpi"] in TICKET_KPIS
    }


async def post_all(base: str, account: Account, rng: random.Random) -> Counter[int]:
    """Every delivery, some twice (a Sidekiq retry: same delivery id, new timestamp and
    signature); some also forged (the body altered under the genuine signature) or
    replayed stale (signed 301 s ago): those must be refused and change nothing."""
    statuses: Counter[int] = Counter()
    target = base + "/ingest/v1/chatwoot"
    async with aiohttp.ClientSession() as http:

        async def post(body: bytes, headers: dict[str, str]) -> int:
            async with http.post(target, data=body, headers=headers) as response:
                return response.status

        for delivery in account.deliveries:
            now = int(time.time())
            forged = delivery.body.replace(b'"resolved"', b'"open"').replace(b"Ana", b"Eve")
            if rng.random() < 0.1 and forged != delivery.body:
                assert await post(forged, sign(SECRET, now, delivery.body)) == 401
                statuses[-1] += 1  # a forged copy refused
            if rng.random() < 0.05:
                stale = sign(SECRET, now - 301, delivery.body)
                assert await post(delivery.body, stale) == 401
                statuses[-2] += 1  # a stale copy refused
            for _ in range(2 if rng.random() < 0.2 else 1):
                headers = sign(SECRET, int(time.time()), delivery.body)
                headers["X-Chatwoot-Delivery"] = delivery.delivery_id
                statuses[await post(delivery.body, headers)] += 1
    return statuses


def latest_records(records: list[tuple[bytes | None, Any]]) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for key, record in records:
        if key is not None and record.get("kpi") in TICKET_KPIS:
            latest[key.decode()] = record
    return latest


def test_chatwoot_kpis_match_the_reference(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "cckpi.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    account = support_week()
    expected = expected_kpis(account)
    assert len(expected) > 1000, len(expected)
    clocks = {(r["kpi"], r["clock"]) for r in expected.values()}
    assert {(kpi, clock) for kpi in CLOCKED for clock in ("calendar", "business")} <= clocks
    business_differs = [
        key
        for key, record in expected.items()
        if record["clock"] == "business"
        and record["value"] != expected[key.replace("clock=business", "clock=calendar")]["value"]
    ]
    assert business_differs, "the history must make business and calendar time differ"
    assert any(e["type"] == "ticket.reopened" for e in account.expected)

    asyncio.run(
        declare_topics(
            load_settings(kafka_bootstrap_servers=broker.bootstrap_servers, topic_prefix=prefix)
        )
    )
    worker = WorkerProcess(broker.bootstrap_servers, prefix, tmp_path, config=config).start()
    ingest = IngestProcess(broker.bootstrap_servers, prefix, tmp_path, config=config)
    try:
        ingest.start()
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")
        statuses = asyncio.run(post_all(ingest.base, account, random.Random(5)))
        assert set(statuses) == {200, -1, -2}, statuses
        assert statuses[200] > len(account.deliveries) and statuses[-1] > 5 and statuses[-2] > 3
        wait_until(
            lambda: (
                metric_sum(worker.samples(), "cc_events_total", topic="cc.tickets")
                >= len(account.expected)
            ),
            120,
            "every ticket event counted by the worker",
        )
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_total", topic="cc.tickets") == len(account.expected)
        assert metric_sum(samples, "cc_events_invalid_total") == 0
        topic = prefix + "cc.kpi.aggregates"

        def agreed() -> list[str]:
            published = latest_records(
                asyncio.run(read_topic(broker.bootstrap_servers, topic, 1.0))
            )
            return diff_records(expected, published, rel_tol=1e-6)

        problems = agreed()
        deadline = time.monotonic() + 60
        while problems and time.monotonic() < deadline:
            time.sleep(2)
            problems = agreed()
        assert problems == [], "\n".join(problems[:20])
        # the same values reach /metrics, per agent and team, on both clocks
        months = {"current": "2026-11-01T00:00:00+00:00", "previous": "2026-10-01T00:00:00+00:00"}
        gauges = [
            (name.removeprefix("cc_"), labels, value)
            for name, labels, value in worker.samples()
            if name.removeprefix("cc_") in CLOCKED and labels.get("period") == "month"
        ]
        assert {labels["clock"] for _, labels, _ in gauges} == {"calendar", "business"}
        agents = {labels.get("agent") for _, labels, _ in gauges}
        assert agents >= {"Ana Pop", "Bob Ionescu", "Zoë Ng"}
        for kpi, labels, value in gauges:
            scope = tuple(
                sorted((k, v) for k, v in labels.items() if k not in ("period", "window", "clock"))
            )
            key = aggregate_key(kpi, "month", months[labels["window"]], scope, labels["clock"])
            assert value == pytest.approx(expected[key]["value"], rel=1e-6), key
        assert len(gauges) > 50, len(gauges)
    finally:
        ingest.stop()
        worker.stop()
    log = ingest.log_text()
    for private in ("Customer 1", "mail.example", "parcel", "Sure"):
        assert private not in log
