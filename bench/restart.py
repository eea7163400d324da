"""Restart: SIGKILL a worker that folded a million events; time until a new one is right again.

"Right again" means the new process's /metrics shows the same month KPIs of the
whole centre as the killed one did (the counters restart at zero and are not
compared). The new worker's group join and restore time come from its log line
``assigned N partitions (K restored) in X s``.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    CONFIG,
    counts,
    fetch,
    gauge,
    log,
    metrics_url,
    produce_contacts,
    topic_size,
)
from bench.synthetic import Shape
from bench.throughput import cckpi_pipeline
from tests.integration.harness import WorkerProcess

SHAPE = Shape(teams=10, queues=50, agents=500)
START = datetime(2026, 5, 1, tzinfo=UTC)
DAYS = 14
"""All events fall in May 2026, so the month window `current` holds every one of them."""
POLL = 0.25
"""Seconds between /metrics polls of the new worker (a scrape costs it tens of ms)."""
KPIS = (
    "cc_contacts_offered",
    "cc_contacts_answered",
    "cc_contacts_abandoned",
    "cc_average_handle_time_seconds",
    "cc_service_level_ratio",
)
_ASSIGNED = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\].*assigned (\d+) partitions "
    r"\((\d+) restored\) in ([\d.]+) s",
    re.MULTILINE,
)


def centre_month(text: str) -> dict[str, float | None]:
    """The month/current KPIs of the whole centre (no scope labels)."""
    return {kpi: gauge(text, kpi, period="month", window="current") for kpi in KPIS}


def same(a: dict[str, float | None], b: dict[str, float | None]) -> bool:
    """Equal KPIs: counts exactly, means and ratios to 1e-9 (summation order may differ)."""
    if a.keys() != b.keys():
        return False
    for key, x in a.items():
        y = b[key]
        if x is None or y is None:
            if x is not y:
                return False
        elif abs(x - y) > 1e-9 * max(1.0, abs(x)):
            return False
    return True


_READY = re.compile(
    r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3})\].*\[\^Worker\]: Ready", re.MULTILINE
)


def faust_ready(log_text: str) -> float | None:
    """Epoch of Faust's "Worker ready" (its own consumer group joined; tasks start after)."""
    match = _READY.search(log_text)
    if match is None:
        return None
    stamp = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
    return stamp + int(match.group(2)) / 1000


def assigned_line(log_text: str) -> tuple[float, int, int, float] | None:
    """(epoch of the line, partitions, restored, restore seconds) of the first non-empty one."""
    for match in _ASSIGNED.finditer(log_text):
        partitions, restored = int(match.group(3)), int(match.group(4))
        if partitions:
            stamp = time.mktime(time.strptime(match.group(1), "%Y-%m-%d %H:%M:%S"))
            return stamp + int(match.group(2)) / 1000, partitions, restored, float(match.group(5))
    return None


def restart(bootstrap: str, prefix: str, workdir: Path, events: int, seed: int) -> dict[str, Any]:
    settings, produced, types = produce_contacts(
        bootstrap, prefix, START.timestamp(), DAYS, events, SHAPE, seed
    )
    offered = types["contact.offered"]
    log(f"restart: {produced:,} events produced; first worker folding")
    # Static membership: the same member id for a killed worker and its replacement,
    # as a StatefulSet pod has. (On Tansu 0.6.0 a static member that joins while a
    # killed dynamic member is still in the group never gets an assignment, so the
    # static restart is measured first, then two dynamic workers.)
    identity = {"CCKPI_GROUP_INSTANCE_ID": f"{prefix}worker-0"}
    rate, timings, first = cckpi_pipeline(
        bootstrap,
        prefix,
        workdir,
        produced,
        interval=0.25,
        keep=True,
        via="offsets",
        extra_env=identity,
    )
    url = metrics_url(first.port)
    before: dict[str, float | None] = {}
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            before = centre_month(fetch(url) or "")
            if before["cc_contacts_offered"] == offered:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"first worker never showed {offered} offered: {before}")
    finally:
        first.stop(kill=True)
    log(f"restart: first worker SIGKILLed after folding {produced:,} events; starting its twin")
    worker, timing = recover(bootstrap, prefix, workdir, identity, before)
    worker.stop(kill=True)
    log("restart: SIGKILLed again; a worker without a static member id, killed once it is right")
    worker, _ = recover(bootstrap, prefix, workdir, {}, before)
    worker.stop(kill=True)
    log("restart: its replacement, also without a static member id")
    worker, dynamic = recover(bootstrap, prefix, workdir, {}, before)
    worker.stop()
    partial_records, partial_bytes = asyncio.run(
        topic_size(bootstrap, settings.topic("cc.internal.partials"))
    )
    result: dict[str, Any] = {
        "events": produced,
        "first_fold_rate": rate.rate,
        "first_redelivered": timings["redelivered"],
        "before": before,
        **timing,
        "dynamic": dynamic,
        "partials_records": partial_records,
        "partials_bytes": partial_bytes,
    }
    return result


def recover(
    bootstrap: str,
    prefix: str,
    workdir: Path,
    env: dict[str, str],
    before: dict[str, float | None],
) -> tuple[WorkerProcess, dict[str, Any]]:
    """Start a worker; poll its /metrics until it shows ``before``; its timeline."""
    worker = WorkerProcess(bootstrap, prefix, workdir, config=CONFIG, extra_env=env)
    wall_start, started = time.time(), time.monotonic()
    worker.start()
    up = right = None
    after: dict[str, float | None] = {}
    deadline = started + 180
    try:
        while time.monotonic() < deadline:
            text = fetch(metrics_url(worker.port), timeout=10)
            now = time.monotonic()
            if text is not None:
                up = up if up is not None else now
                after = centre_month(text)
                if same(after, before):
                    right = now
                    break
            time.sleep(POLL)
    except BaseException:
        worker.stop(kill=True)
        raise
    text = worker.log_text()
    result: dict[str, Any] = {
        "after": after,
        "recovered": right is not None,
        "recovery_s": (right - started) if right is not None else None,
        "web_up_s": (up - started) if up is not None else None,
        "refolded_events": sum(counts(fetch(metrics_url(worker.port)) or "").values()),
        "snapshot_load_s": snapshot_load(text),
    }
    ready = faust_ready(text)
    if ready is not None:
        result["faust_ready_s"] = ready - wall_start
    line = assigned_line(text)
    if line is not None:
        stamp, partitions, restored, restore_s = line
        result.update(
            assigned_s=stamp - wall_start,
            join_s=stamp - restore_s - wall_start,
            restore_s=restore_s,
            partitions=partitions,
            restored=restored,
        )
    return worker, result


_SNAPSHOT = re.compile(r"loaded the snapshot .* in ([\d.]+) s")


def snapshot_load(log_text: str) -> float | None:
    match = _SNAPSHOT.search(log_text)
    return float(match.group(1)) if match else None
