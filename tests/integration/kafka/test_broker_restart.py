"""Apache Kafka SIGKILLed and restarted on its log dir while a worker consumes.

What the embedded broker cannot show (it keeps nothing across its own restart):
nothing acknowledged before the crash is lost, nothing is counted twice. The
broker dies twice mid-run, each time while the worker is behind; the worker
keeps running through both outages; every final aggregate equals the
independent computation (tests/oracle), none differs when published twice.

To crash the broker while the worker is behind, each part of the stream is
produced while the worker is paused (SIGSTOP), and the broker is killed as soon as
the resumed worker has started on it.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.kafka_local import LocalKafka
from tests.conftest import KAFKA_VERSION, kafka_jars_or_skip
from tests.integration.harness import WorkerProcess, metric_sum, wait_until
from tests.integration.scenario import hard_stream
from tests.integration.test_reliability import (
    Feeder,
    Oracle,
    assigned_counts,
    compare_finals,
    counted,
    interleaved,
    lag,
    start_worker,
    wait_for_finals,
)

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

GRACE = 300.0
EVENTS = 60_000
DOWN_SECONDS = 8


def feed_while_paused(bootstrap: str, prefix: str, worker: WorkerProcess, part: list) -> None:
    """Produce ``part`` while the worker is stopped, so it is behind when resumed."""
    assert worker.process is not None
    os.kill(worker.process.pid, signal.SIGSTOP)
    try:
        Feeder(bootstrap, prefix, part, chunks=4, pause=0.0).join(120)
    finally:
        os.kill(worker.process.pid, signal.SIGCONT)


def crash_and_restart(
    kafka: LocalKafka, worker: WorkerProcess, before: int, fed: int
) -> dict[str, float]:
    """SIGKILL the broker as soon as ``worker`` classifies more than ``before`` of the
    ``fed`` messages; restart it on the same log dir and ports after ``DOWN_SECONDS``."""

    def started() -> float | None:
        n = counted(worker)
        return n if n > before else None

    seen = wait_until(started, 120, "the worker to start on the new part", interval=0.05)
    kafka.kill()
    time.sleep(DOWN_SECONDS)
    assert worker.process is not None and worker.process.poll() is None, (
        "the worker exited while the broker was down:\n" + worker.log_text()[-3000:]
    )
    began = time.monotonic()
    kafka.start()
    return {"classified": seen, "fed": fed, "restart_s": round(time.monotonic() - began, 1)}


@pytest.mark.timeout(420)
def test_broker_sigkill_and_restart_lose_nothing_and_count_nothing_twice(
    prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    kafka_jars_or_skip()
    config = repo_root / "deploy" / "cckpi.yaml"
    messages = interleaved(
        hard_stream(
            datetime(2026, 11, 16, 0, tzinfo=UTC), count=EVENTS, rate=0.3, seed=41, grace=GRACE
        )
    )
    oracle = Oracle(messages, config)
    kafka = LocalKafka(tmp_path / "kafka", version=KAFKA_VERSION).start()
    bootstrap = kafka.bootstrap_servers
    env = {"CCKPI_BATCH_MAX_RECORDS": "2000", "CCKPI_SNAPSHOT_MIN_BYTES": "262144"}
    worker = start_worker(bootstrap, prefix, tmp_path, config, **env)
    crashes: list[dict[str, float]] = []
    try:
        wait_until(lambda: assigned_counts(worker), 90, "the first assignment")
        third = len(messages) // 3
        fed = 0
        for part in (messages[:third], messages[third : 2 * third]):
            feed_while_paused(bootstrap, prefix, worker, part)
            crashes.append(crash_and_restart(kafka, worker, fed, fed + len(part)))
            fed += len(part)
        Feeder(bootstrap, prefix, messages[2 * third :], chunks=4, pause=0.2).join(120)
        expected = oracle.result()
        assert expected.late > 0 and expected.duplicate > 0
        behind = [c for c in crashes if c["classified"] < c["fed"]]
        assert len(behind) == len(crashes), f"a crash came after the worker caught up: {crashes}"
        wait_until(lambda: lag(worker) == 0, 180, "the worker to catch up")
        finals = wait_for_finals(bootstrap, prefix + "cc.kpi.aggregates", expected, 180)
        repeated = compare_finals(finals, expected)
        assert worker.process is not None and worker.process.poll() is None, "worker died"
        resent = metric_sum(worker.samples(), "cc_partials_repeated_total")
        print(
            f"\n{len(messages)} messages; broker crashes (classified of fed, restart s): "
            f"{crashes}; {len(expected.finals)} finals exact, {len(repeated)} keys published "
            "final more than once (identical); "
            f"{resent:.0f} partials the producer resent after a crash, merged once"
        )
    finally:
        worker.stop()
        kafka.stop()
