"""Partials written twice are merged once, end to end on a real broker.

A producer whose send the broker appended but never acknowledged (the broker died
in between) sends the record again. Apache Kafka SIGKILLed mid-run left two such
copies in 211 partials once, and about 650 contacts were counted twice. Here the
copies are written deliberately, byte for byte, as a retrying producer writes
them, so the check does not depend on when a broker happens to die.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker
from streams.pipeline.ingest import BARRIER_KEY
from streams.pipeline.publish import MARKER_KEY, SNAPSHOT_KEY
from streams.topics import read_all
from tests.integration.harness import metric_sum, produce, wait_until
from tests.integration.scenario import hard_stream
from tests.integration.test_reliability import (
    GRACE,
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

pytestmark = pytest.mark.integration


@pytest.mark.timeout(300)
def test_partials_written_twice_are_merged_once(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    config = repo_root / "deploy" / "cckpi.yaml"
    messages = interleaved(
        hard_stream(
            datetime(2026, 11, 16, 0, tzinfo=UTC), count=24_000, rate=0.3, seed=7, grace=GRACE
        )
    )
    oracle = Oracle(messages, config)
    bootstrap = broker.bootstrap_servers
    partials_topic = prefix + "cc.internal.partials"
    worker = start_worker(bootstrap, prefix, tmp_path, config, CCKPI_BATCH_MAX_RECORDS="500")
    try:
        wait_until(lambda: assigned_counts(worker), 90, "the first assignment")
        half = len(messages) // 2
        Feeder(bootstrap, prefix, messages[:half], chunks=2, pause=0.0).join(120)
        wait_until(lambda: counted(worker) >= half, 120, "the first half to be folded")
        records = asyncio.run(read_all({"bootstrap_servers": bootstrap}, partials_topic))
        partials = [
            (key, value)
            for key, value in records
            if value is not None and key not in (BARRIER_KEY, MARKER_KEY, SNAPSHOT_KEY)
        ]
        assert len(partials) >= 20, f"only {len(partials)} partials to copy"
        copies = partials[::3]
        asyncio.run(produce(bootstrap, [(partials_topic, k, v, 0) for k, v in copies]))
        Feeder(bootstrap, prefix, messages[half:], chunks=2, pause=0.0).join(120)
        expected = oracle.result()
        assert expected.finals, "the stream should close windows"
        wait_until(lambda: lag(worker) == 0, 180, "the worker to catch up")
        finals = wait_for_finals(bootstrap, prefix + "cc.kpi.aggregates", expected, 180)
        compare_finals(finals, expected)
        resent = metric_sum(worker.samples(), "cc_partials_repeated_total")
        assert resent == len(copies), f"{resent} copies counted, {len(copies)} written"
        print(
            f"\n{len(copies)} of {len(partials)} partials written twice; "
            f"{len(expected.finals)} finals equal the oracle"
        )
    finally:
        worker.stop()
