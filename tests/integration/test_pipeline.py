"""End to end on the embedded broker: events to metrics, bad input to the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.broker import EmbeddedBroker
from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until

pytestmark = pytest.mark.integration

GOOD_OFFER = {
    "event_id": "e-good",
    "type": "contact.offered",
    "occurred_at": "2026-11-02T10:00:00+00:00",
    "team": "support",
    "channel": "voice",
    "contact_id": "c1",
    "queue": "billing",
}
MALFORMED: list[tuple[bytes, str]] = [
    (b"{not json", "not_json"),
    (b"\xff\xfe\x00garbage", "invalid_utf8"),
    (b"[1, 2, 3]", "not_object"),
    (orjson.dumps({**GOOD_OFFER, "event_id": "m1", "type": "contact.teleported"}), "unknown_type"),
    (
        orjson.dumps({k: v for k, v in GOOD_OFFER.items() if k != "team"} | {"event_id": "m2"}),
        "missing_field",
    ),
    (
        orjson.dumps({**GOOD_OFFER, "event_id": "m3", "occurred_at": "2026-11-02T10:00:00"}),
        "naive_timestamp",
    ),
    (orjson.dumps({**GOOD_OFFER, "event_id": "m4", "channel": "fax"}), "invalid_value"),
    (b"{" + b'"pad": "' + b"x" * 70000 + b'"}', "oversize"),
]
TOPIC_TYPES = {
    "cc.contacts": ("contact.offered", "c1"),
    "cc.tickets": ("ticket.created", "t1"),
    "cc.surveys": ("survey.nps", None),
    "cc.quality": ("qa.evaluated", None),
    "cc.agents": ("agent.certified", None),
}


def test_events_flow_to_metrics_and_bad_input_to_deadletter(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    worker = WorkerProcess(
        broker.bootstrap_servers, prefix, tmp_path, config=repo_root / "deploy" / "cckpi.yaml"
    ).start()
    try:
        events = simulate_batch(datetime(2026, 11, 2, 8, tzinfo=UTC), seed=3, count=20000, rate=2.0)
        sent = Counter(e.topic for e in events)
        assert set(sent) == set(TOPIC_TYPES), f"simulator covered only {sorted(sent)}"
        messages = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in events]
        bad = [(prefix + topic, b"k", raw, None) for topic in TOPIC_TYPES for raw, _ in MALFORMED]
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")
        asyncio.run(produce(broker.bootstrap_servers, messages[:10000] + bad + messages[10000:]))

        def all_counted() -> bool:
            samples = worker.samples()
            total = (
                metric_sum(samples, "cc_events_total")
                + metric_sum(samples, "cc_events_invalid_total")
                + metric_sum(samples, "cc_events_duplicate_total")
                + metric_sum(samples, "cc_events_late_total")
            )
            return total == len(messages) + len(bad)

        wait_until(all_counted, 120, "every message to be counted")
        samples = worker.samples()
        for topic in TOPIC_TYPES:
            assert metric_sum(samples, "cc_events_total", topic=prefix + topic) > 0, topic
            for _, reason in MALFORMED:
                assert (
                    metric_sum(
                        samples, "cc_events_invalid_total", topic=prefix + topic, reason=reason
                    )
                    == 1
                ), (topic, reason)
        queues = {e.value["queue"] for e in events if e.topic == "cc.contacts"}
        sl_queues = {
            labels.get("queue")
            for name, labels, _ in samples
            if name == "cc_service_level_ratio" and "queue" in labels
        }
        assert queues <= sl_queues, f"no service level for {queues - sl_queues}"

        letters = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.deadletter"))
        reasons = Counter((record["topic"], record["reason"]) for _, record in letters)
        for topic in TOPIC_TYPES:
            for _, reason in MALFORMED:
                assert reasons[(prefix + topic, reason)] == 1, (topic, reason, reasons)
        first = next(r for _, r in letters if r["reason"] == "invalid_utf8")
        assert first["raw"].startswith("base64:")
        assert all(
            {"reason", "detail", "topic", "partition", "offset", "raw"} <= set(r)
            for _, r in letters
        )
        assert worker.process is not None and worker.process.poll() is None, "worker stopped"
    finally:
        worker.stop()
        print(worker.log_text()[-3000:])
