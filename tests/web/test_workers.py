"""Two workers of one group: the one that does not publish answers the same values."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.broker import EmbeddedBroker
from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, wait_until

pytestmark = pytest.mark.integration


def api(worker: WorkerProcess, path: str) -> Any:
    url = f"http://127.0.0.1:{worker.port}{path}"
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def meta(worker: WorkerProcess) -> Any:
    try:
        return api(worker, "/api/v1/meta")
    except OSError:
        return None


def comparable(answer: dict[str, Any]) -> list[str]:
    """Records without the time they were read at."""
    return sorted(json.dumps({**r, "updated_at": None}, sort_keys=True) for r in answer["records"])


def test_a_worker_that_does_not_publish_answers_like_the_publisher(
    broker: EmbeddedBroker, tmp_path: Path, repo_root: Path
) -> None:
    prefix = f"tw{uuid.uuid4().hex[:8]}."
    config = repo_root / "deploy" / "cckpi.yaml"
    workers = [
        WorkerProcess(broker.bootstrap_servers, prefix, tmp_path, config=config).start()
        for _ in range(2)
    ]
    try:
        wait_until(
            lambda: (
                sorted(bool((meta(w) or {}).get("publisher")) for w in workers) == [False, True]
            ),
            120,
            "one publisher and one other worker",
        )
        events = simulate_batch(datetime(2026, 11, 2, 8, tzinfo=UTC), seed=4, count=4000, rate=0.5)
        messages = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in events]
        asyncio.run(produce(broker.bootstrap_servers, messages))
        publisher, other = sorted(workers, key=lambda w: not meta(w)["publisher"])

        names = ("cc_events_total", "cc_events_invalid_total", "cc_events_duplicate_total")

        def counted() -> bool:
            samples = [s for w in workers for s in w.samples()]
            return sum(metric_sum(samples, name) for name in names) == len(events)

        wait_until(counted, 120, "every event counted")

        def same() -> bool:
            mine, theirs = api(publisher, "/api/v1/kpis"), api(other, "/api/v1/kpis")
            return bool(mine["records"]) and comparable(mine) == comparable(theirs)

        wait_until(same, 60, "the same KPI records from both workers")
        gauges = [s for s in other.samples() if s[0] == "cc_service_level_ratio"]
        assert gauges == [], "only the publisher exports KPI gauges"

        def same_targets() -> bool:
            """The publisher evaluates at its next publish, the other worker at most once
            per publish interval: both settle within a few intervals."""
            states = [
                sorted(
                    (t["target"], t["scope_key"], t["state"], t["value"])
                    for t in api(w, "/api/v1/targets")["targets"]
                )
                for w in (publisher, other)
            ]
            return bool(states[0]) and states[0] == states[1]

        wait_until(same_targets, 30, "the same target states from both workers")
    finally:
        for worker in workers:
            worker.stop()
