"""The ingest service over real sockets and a real broker: auth, limits, answers, what arrives."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from streams.broker import EmbeddedBroker
from streams.topics import declare_topics
from tests.ingest.helpers import (
    TOKEN,
    ingest_settings,
    metric,
    post_chatwoot,
    post_events,
    running,
    url,
)
from tests.integration.harness import read_topic
from tests.sources.chatwoot_builder import Account, Agent, Contact, Inbox, Team

pytestmark = pytest.mark.integration
DATA = Path(__file__).resolve().parents[1] / "data" / "chatwoot"
EVENTS, CHATWOOT = "/ingest/v1/events", "/ingest/v1/chatwoot"


def ticket_event(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "event_id": f"ev-{n}",
        "type": "ticket.created",
        "occurred_at": "2026-10-30T09:00:00+00:00",
        "team": "support",
        "channel": "email",
        "ticket_id": f"T-{n}",
        **extra,
    }


async def tickets(bootstrap: str, prefix: str) -> list[dict[str, Any]]:
    return [value for _, value in await read_topic(bootstrap, prefix + "cc.tickets", idle=1.5)]


async def test_events_endpoint(broker: EmbeddedBroker, prefix: str, tmp_path: Path) -> None:
    settings = ingest_settings(
        broker.bootstrap_servers, prefix, tmp_path / "spool", max_message_bytes=2000
    )
    await declare_topics(settings)
    async with running(settings) as service, aiohttp.ClientSession() as http:
        target = url(service, EVENTS)
        one = orjson.dumps(ticket_event(1))
        assert (await post_events(http, target, one, token=None))[0] == 401
        assert (await post_events(http, target, one, token="wrong"))[0] == 401  # noqa: S106
        assert (await post_events(http, target, one, token=TOKEN + "x"))[0] == 401
        status, body = await post_events(http, target, b"{not json")
        assert (status, body["reason"]) == (400, "not_json")
        assert (await post_events(http, target, b"42"))[0] == 400
        status, body = await post_events(http, target, b"[" + b"1," * 150_000 + b"1]")
        assert (status, body["reason"]) == (413, "too_large")

        mixed = [ticket_event(2), {"type": "ticket.created"}, ticket_event(3, occurred_at="x"), 7]
        status, body = await post_events(http, target, orjson.dumps(mixed))
        assert status == 200
        assert [(r["event_id"], r["status"], r.get("reason")) for r in body["results"]] == [
            ("ev-2", "accepted", None),
            (None, "invalid", "missing_field"),
            ("ev-3", "invalid", "wrong_type"),
            (None, "invalid", "not_object"),
        ]
        status, body = await post_events(http, target, one)
        assert body == {"results": [{"event_id": "ev-1", "status": "accepted"}]}
        status, body = await post_events(http, target, one)  # a retry
        assert body["results"][0] == {"event_id": "ev-1", "status": "accepted", "duplicate": True}

        assert (
            metric(service, "cckpi_ingest_rejections_total", route=EVENTS, reason="unauthorized")
            == 3
        )
        assert (
            metric(service, "cckpi_ingest_rejections_total", route=EVENTS, reason="too_large") == 1
        )
        assert metric(service, "cckpi_ingest_events_total", route=EVENTS, outcome="accepted") == 2
        assert metric(service, "cckpi_ingest_events_total", route=EVENTS, outcome="invalid") == 3
        assert metric(service, "cckpi_ingest_events_total", route=EVENTS, outcome="duplicate") == 1
        assert metric(service, "cckpi_ingest_durable_events_total", path="broker") == 2
        assert metric(service, "cckpi_ingest_request_seconds_count", route=EVENTS) == 9
        async with http.get(url(service, "/metrics")) as response:
            assert "cckpi_ingest_requests_total" in await response.text()
        async with http.get(url(service, "/ready")) as response:
            assert response.status == 200 and (await response.json())["broker"] is True
    arrived = await tickets(broker.bootstrap_servers, prefix)
    assert sorted(e["event_id"] for e in arrived) == ["ev-1", "ev-2"]


def history() -> Account:
    account = Account(id=11)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    web = Inbox(2, "Website", "Channel::WebWidget", "chat", "website")
    conv = account.conversation(t0, web, Contact(41, "Maria"), Team(1, "support"))
    conv.customer(t0 + timedelta(seconds=1))
    conv.bot(t0 + timedelta(seconds=2))
    conv.agent(t0 + timedelta(minutes=3), Agent(1, "Ana Pop"))
    conv.resolve(t0 + timedelta(minutes=9))
    return account


async def test_chatwoot_endpoint(broker: EmbeddedBroker, prefix: str, tmp_path: Path) -> None:
    settings = ingest_settings(broker.bootstrap_servers, prefix, tmp_path / "spool")
    await declare_topics(settings)
    account = history()
    async with running(settings) as service, aiohttp.ClientSession() as http:
        target = url(service, CHATWOOT)
        first = account.deliveries[0]
        forged = await post_chatwoot(http, target, first.body, "d-forged", secret="guess")  # noqa: S106
        assert forged == (
            401,
            {"error": "not a genuine Chatwoot delivery", "reason": "bad_signature"},
        )
        stale = await post_chatwoot(http, target, first.body, "d-stale", timestamp=1_700_000_000)
        assert stale[1]["reason"] == "stale_timestamp"
        async with http.post(target, data=first.body) as response:
            assert response.status == 401
        answers = []
        for delivery in account.deliveries:
            status, body = await post_chatwoot(http, target, delivery.body, delivery.delivery_id)
            assert status == 200, body
            answers.append(body)
        # a Sidekiq retry repeats the delivery id with a new timestamp and signature
        retry = await post_chatwoot(
            http, target, account.deliveries[1].body, account.deliveries[1].delivery_id
        )
        assert retry == (
            200,
            {"delivery": account.deliveries[1].delivery_id, "duplicate": True, "results": []},
        )
        status, body = await post_chatwoot(http, target, b"[1,", str(uuid.uuid4()))
        assert (status, body["reason"]) == (400, "not_json")
        assert [a.get("skipped") for a in answers] == [
            None,
            None,
            "not_a_reply",
            None,
            "no_status_change",
            None,
            None,
        ]
        solved_twice = [a["results"] for a in answers[-2:]]
        assert solved_twice[0][0]["event_id"] == solved_twice[1][0]["event_id"]
        assert "duplicate" not in solved_twice[0][0] and solved_twice[1][0]["duplicate"] is True
        assert (
            metric(service, "cckpi_ingest_rejections_total", route=CHATWOOT, reason="bad_signature")
            == 1
        )
        assert (
            metric(
                service, "cckpi_ingest_rejections_total", route=CHATWOOT, reason="stale_timestamp"
            )
            == 1
        )
        assert (
            metric(
                service, "cckpi_ingest_rejections_total", route=CHATWOOT, reason="missing_signature"
            )
            == 1
        )
        assert (
            metric(service, "cckpi_ingest_chatwoot_skipped_total", reason="duplicate_delivery") == 1
        )
        assert metric(service, "cckpi_ingest_events_total", route=CHATWOOT, outcome="accepted") == 4
    arrived = await tickets(broker.bootstrap_servers, prefix)
    got = [{k: v for k, v in e.items() if k != "event_id"} for e in arrived]
    assert sorted(got, key=lambda e: e["occurred_at"]) == account.expected


async def test_broker_outage_loses_nothing(tmp_path: Path) -> None:
    """Broker down: 200 from the spool; broker back (empty, as Tansu restarts): all forwarded."""
    from streams.broker import free_port

    port = free_port()
    broker = EmbeddedBroker(port, log=tmp_path / "tansu.log").start()
    settings = ingest_settings(
        broker.bootstrap_servers, "outage.", tmp_path / "spool", ingest_broker_timeout_seconds=0.5
    )
    try:
        await declare_topics(settings)
        async with running(settings) as service, aiohttp.ClientSession() as http:
            target = url(service, EVENTS)
            for _ in range(50):
                if service.durable.broker_up:
                    break
                await asyncio.sleep(0.1)
            status, _ = await post_events(http, target, orjson.dumps(ticket_event(0)))
            assert status == 200
            assert metric(service, "cckpi_ingest_durable_events_total", path="broker") == 1
            broker.stop()
            sent = []
            for n in range(1, 41):
                events = [ticket_event(n * 10 + i, ticket_id="T-same") for i in range(3)]
                status, body = await post_events(http, target, orjson.dumps(events))
                assert status == 200, body
                sent += [e["event_id"] for e in events]
            assert metric(service, "cckpi_ingest_durable_events_total", path="spool") == len(sent)
            assert service.spool.pending_bytes > 0
            async with http.get(url(service, "/ready")) as response:
                assert response.status == 200  # the spool is writable
                assert (await response.json())["broker"] is False
            broker = EmbeddedBroker(port, log=tmp_path / "tansu2.log").start()
            for _ in range(300):
                if service.durable.broker_up and service.spool.size == 0:
                    break
                await asyncio.sleep(0.1)
            assert service.durable.broker_up and service.spool.size == 0
            assert metric(service, "cckpi_ingest_spool_forwarded_events_total") == len(sent)
            status, _ = await post_events(
                http, target, orjson.dumps(ticket_event(999, ticket_id="T-same"))
            )
            assert status == 200
        arrived = [e["event_id"] for e in await tickets(broker.bootstrap_servers, "outage.")]
        # The request that met the outage timed out waiting for acks and was spooled; its
        # producer may still deliver that batch once the broker is back: a repeat of the same
        # event ids, which the worker drops (its event-id dedup). Nothing is lost, and the
        # first copies are in order (one key: one partition).
        first_copies = list(dict.fromkeys(arrived))
        assert first_copies == [*sent, "ev-999"]
        assert len(arrived) - len(first_copies) <= 3
    finally:
        broker.stop()


async def test_neither_broker_nor_spool_is_a_503_and_changes_nothing(
    prefix: str, tmp_path: Path
) -> None:
    from streams.broker import free_port

    nowhere = f"127.0.0.1:{free_port()}"  # no broker listens there
    settings = ingest_settings(nowhere, prefix, tmp_path / "spool", max_message_bytes=1000)
    async with (
        running(settings, wait_for_broker=False) as service,
        aiohttp.ClientSession() as http,
    ):
        assert not service.durable.broker_up
        status, body = await post_events(http, url(service, EVENTS), orjson.dumps(ticket_event(1)))
        assert status == 200  # the spool took it
        assert metric(service, "cckpi_ingest_durable_events_total", path="spool") == 1
        big = b'{"event":"message_created","pad":"' + b"x" * 100_001 + b'"}'
        assert (await post_chatwoot(http, url(service, CHATWOOT), big, "d-big"))[0] == 413
        service.spool.close()  # the disk is gone
        status, body = await post_events(http, url(service, EVENTS), orjson.dumps(ticket_event(2)))
        assert (status, body["reason"]) == (503, "unavailable")
        async with http.get(url(service, "/ready")) as response:
            assert response.status == 503
        assert (
            metric(service, "cckpi_ingest_rejections_total", route=EVENTS, reason="unavailable")
            == 1
        )
        assert metric(service, "cckpi_ingest_events_total", route=EVENTS, outcome="accepted") == 1


async def test_spool_left_at_stop_is_forwarded_by_the_next_process(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    from streams.broker import free_port

    spool = tmp_path / "spool"
    down = ingest_settings(f"127.0.0.1:{free_port()}", prefix, spool)
    events = [ticket_event(n, ticket_id="T-restart") for n in range(20)]
    async with (
        running(down, wait_for_broker=False) as service,
        aiohttp.ClientSession() as http,
    ):
        for event in events:
            assert (await post_events(http, url(service, EVENTS), orjson.dumps(event)))[0] == 200
    assert (spool / "events.spool").stat().st_size > 0  # stopped with everything spooled
    up = ingest_settings(broker.bootstrap_servers, prefix, spool)
    await declare_topics(up)
    async with running(up) as service:
        assert service.spool.size == 0  # forwarded before it reported the broker up
        assert metric(service, "cckpi_ingest_spool_forwarded_events_total") == len(events)
    arrived = await tickets(broker.bootstrap_servers, prefix)
    assert [e["event_id"] for e in arrived] == [e["event_id"] for e in events]


async def test_a_large_array_is_answered_event_by_event(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    settings = ingest_settings(broker.bootstrap_servers, prefix, tmp_path / "spool")
    await declare_topics(settings)
    events = [ticket_event(n) for n in range(1200)]  # past two yields to the event loop
    events[700]["channel"] = "fax"
    async with running(settings) as service, aiohttp.ClientSession() as http:
        status, body = await post_events(http, url(service, EVENTS), orjson.dumps(events))
    assert status == 200
    statuses = [(r["event_id"], r["status"]) for r in body["results"]]
    assert statuses == [
        (e["event_id"], "invalid" if n == 700 else "accepted") for n, e in enumerate(events)
    ]
    arrived = await tickets(broker.bootstrap_servers, prefix)
    assert len(arrived) == 1199
