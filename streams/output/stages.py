"""CPU seconds of the worker's event-loop thread per pipeline stage, on /metrics.

``cc_stage_cpu_seconds_total{stage}`` counts the thread's CPU time spent in the
synchronous part of each stage, measured per batch (two clock reads a batch, not
per event): ``fold`` (validation, dedup and every KPI of a batch), ``partials``
(encoding the batch's partial record), ``merge`` (merging partials read back),
``publish`` (building and partitioning aggregate records), ``metrics``
(rendering the KPI gauges). Awaits are outside every stage (another task's time
would count), so reading (aiokafka's fetch and record building), the producer's
own work and Faust are not in any stage: the bench reports them as the rest.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter

STAGES = ("fold", "partials", "merge", "publish", "metrics")


class StageClock:
    """Adds the event-loop thread's CPU time to a stage's counter."""

    def __init__(self, registry: CollectorRegistry) -> None:
        counter = Counter(
            "cc_stage_cpu_seconds",
            "CPU seconds of the worker's event-loop thread in each pipeline stage",
            ["stage"],
            registry=registry,
        )
        self._children = {stage: counter.labels(stage) for stage in STAGES}

    def add(self, stage: str, seconds: float) -> None:
        self._children[stage].inc(seconds)

    @contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Time a block that does not await."""
        began = time.thread_time()
        try:
            yield
        finally:
            self._children[stage].inc(time.thread_time() - began)
