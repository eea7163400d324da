"""The same pipeline against a real Kafka (testcontainers), wherever a Docker engine runs."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.docker]


def docker_engine_running() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def kafka() -> Iterator[str]:
    if not docker_engine_running():
        pytest.skip("no Docker engine here: the real-Kafka tests run where Docker does")
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as container:
        yield container.get_bootstrap_server()


def test_worker_counts_events_from_real_kafka(
    kafka: str, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    worker = WorkerProcess(
        kafka, prefix, tmp_path, config=repo_root / "deploy" / "cckpi.yaml"
    ).start()
    try:
        events = simulate_batch(datetime(2026, 11, 2, 8, tzinfo=UTC), seed=5, count=5000, rate=2.0)
        wait_until(lambda: worker.samples(), 120, "the worker's /metrics")
        asyncio.run(
            produce(
                kafka,
                [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in events],
            )
        )
        wait_until(
            lambda: metric_sum(worker.samples(), "cc_events_total") == len(events),
            180,
            "every event counted",
        )
        assert any(name == "cc_service_level_ratio" for name, _, _ in worker.samples())
    finally:
        worker.stop()
