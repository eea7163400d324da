"""No customer identifier or payload reaches a metric label, and none is logged, in-process.

The same events the integration test sends through a real worker, here folded, counted,
merged and exported without a broker: quick, and it names the function that leaks.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition
from prometheus_client import generate_latest

from streams.pipeline.ingest import IngestService, encode_partial, source_id
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings

MARKER = f"PII{uuid.uuid4().hex[:12]}"
AT = "2026-11-02T09:00:00+00:00"
BASE = {"occurred_at": AT, "team": "support", "channel": "voice"}
EVENTS: dict[str, list[dict[str, Any]]] = {
    "cc.contacts": [
        {"type": "contact.offered", "contact_id": f"{MARKER}-c", "queue": "billing"},
        {
            "type": "contact.answered",
            "contact_id": f"{MARKER}-c",
            "queue": "billing",
            "agent": "ana",
            "wait_seconds": 4,
        },
        {
            "type": "contact.completed",
            "contact_id": f"{MARKER}-c",
            "queue": "billing",
            "agent": "ana",
            "talk_seconds": 100,
            "resolved": True,
        },
    ],
    "cc.tickets": [
        {"type": "ticket.created", "ticket_id": f"{MARKER}-t"},
        {
            "type": "ticket.replied",
            "ticket_id": f"{MARKER}-t",
            "created_at": "2026-11-02T08:00:00+00:00",
            "author": "agent",
            "agent": "ana",
            "public": True,
        },
        {
            "type": "ticket.solved",
            "ticket_id": f"{MARKER}-t",
            "created_at": "2026-11-02T08:00:00+00:00",
            "agent": "ana",
        },
    ],
    "cc.surveys": [
        {"type": "survey.csat", "score": 5, "contact_id": f"{MARKER}-c", "agent": "ana"},
    ],
    "cc.quality": [
        {"type": "qa.evaluated", "agent": "ana", "score": 90, "ticket_id": f"{MARKER}-t"},
    ],
    "cc.agents": [
        {"type": "agent.certified", "agent": "ana", "certification": "gdpr", "valid_days": 30},
    ],
}


def _raw_messages(topic: str) -> list[bytes]:
    out = []
    for n, fields in enumerate(EVENTS[topic]):
        event = {**BASE, **fields, "event_id": f"{MARKER}-{topic}-{n}", "email": f"{MARKER}@x"}
        value = orjson.dumps(event)
        out += [
            value,
            value,  # a repeat
            orjson.dumps({**event, "event_id": f"{MARKER}-bad-{n}", "channel": "fax"}),
            value[:-3],  # truncated
            b"\xff" + value,  # invalid UTF-8
            orjson.dumps({**event, "pad": MARKER * 5000}),  # oversize
        ]
    return out


class _NoProducer:
    async def send(self, *args: Any, **kwargs: Any) -> None:  # pragma: no cover - unused
        raise AssertionError("nothing is sent in this test")


def test_folded_counted_merged_and_exported_without_identifiers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime = Runtime(load_settings(topic_prefix="unit."))
    runtime.publisher = True
    service = IngestService(runtime, _NoProducer())  # type: ignore[arg-type]
    results = []
    for topic in EVENTS:
        tp = TopicPartition(f"unit.{topic}", 0)
        state = runtime.source_state(source_id(tp))
        raw = _raw_messages(topic)
        result = state.fold(enumerate(raw))
        assert result.accepted, topic
        assert result.duplicates == len(EVENTS[topic]), topic
        assert len(result.dead_letters) == 4 * len(EVENTS[topic]), topic
        partial = encode_partial(state, result)
        runtime.merger.apply(f"unit.{topic}:0", orjson.loads(partial[: partial.index(b"\n")]))
        results.append((tp, state, result, len(raw)))
    service._count(results)  # noqa: SLF001
    exported = generate_latest(runtime.registry).decode()
    assert "cc_contacts_offered" in exported and "cc_events_invalid_total" in exported
    leaking = [line for line in exported.splitlines() if MARKER in line]
    assert not leaking, f"/metrics would show identifiers: {leaking[:3]}"
    logged = [r.getMessage() for r in caplog.records if MARKER in r.getMessage()]
    assert not logged, f"identifiers logged: {logged[:3]}"
    for window, scopes in runtime.merger.take_dirty().items():
        for value in runtime.merger.values(window, scopes):
            assert MARKER not in repr(value.scope), value
