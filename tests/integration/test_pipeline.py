"""End to end on each broker: events to metrics, bad input to the dead-letter topic."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.broker import EmbeddedBroker
from streams.kafka_local import LocalKafka
from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until

pytestmark = pytest.mark.integration

COMMON = {"occurred_at": "2026-11-02T10:00:00+00:00", "team": "support", "channel": "chat"}
VALID: dict[str, dict[str, object]] = {
    "cc.contacts": {"type": "contact.offered", "contact_id": "c1", "queue": "billing"},
    "cc.tickets": {"type": "ticket.created", "ticket_id": "t1"},
    "cc.surveys": {"type": "survey.nps", "score": 9},
    "cc.quality": {"type": "qa.evaluated", "agent": "ana", "score": 80},
    "cc.agents": {
        "type": "agent.certified",
        "agent": "ana",
        "certification": "gdpr",
        "valid_days": 365,
    },
}


def malformed(topic: str) -> list[tuple[bytes, str]]:
    """One message per dead-letter reason, each a valid event of ``topic`` broken one way."""
    good = {"event_id": f"{topic}-ok", **COMMON, **VALID[topic]}

    def broken(n: int, **changes: object) -> bytes:
        return orjson.dumps({**good, "event_id": f"{topic}-bad-{n}", **changes})

    return [
        (b"{not json", "not_json"),
        (b"\xff\xfe\x00garbage", "invalid_utf8"),
        (b"[1, 2, 3]", "not_object"),
        (broken(1, type="contact.teleported"), "unknown_type"),
        (orjson.dumps({k: v for k, v in good.items() if k != "team"}), "missing_field"),
        (broken(2, occurred_at="2026-11-02T10:00:00"), "naive_timestamp"),
        (broken(3, channel="fax"), "invalid_value"),
        (broken(4, team=["support"]), "wrong_type"),
        (b'{"pad": "' + b"x" * 70000 + b'"}', "oversize"),
    ]


TOPICS = tuple(VALID)


def test_events_flow_to_metrics_and_bad_input_to_deadletter(
    any_broker: EmbeddedBroker | LocalKafka, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    broker = any_broker
    worker = WorkerProcess(
        broker.bootstrap_servers, prefix, tmp_path, config=repo_root / "deploy" / "cckpi.yaml"
    ).start()
    try:
        events = simulate_batch(datetime(2026, 11, 2, 8, tzinfo=UTC), seed=3, count=20000, rate=0.3)
        sent = Counter(e.topic for e in events)
        assert set(sent) == set(TOPICS), f"simulator covered only {sorted(sent)}"
        messages = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in events]
        bad = [(prefix + topic, b"k", raw, None) for topic in TOPICS for raw, _ in malformed(topic)]
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
        for topic in TOPICS:
            assert metric_sum(samples, "cc_events_total", topic=topic) > 0, topic
            for _, reason in malformed(topic):
                assert (
                    metric_sum(samples, "cc_events_invalid_total", topic=topic, reason=reason) == 1
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
        for topic in TOPICS:
            for _, reason in malformed(topic):
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
