"""What the memory scenario's state is made of: ``python -m bench.state`` (no broker).

Folds the memory section's events (35 days, 5,000 agents, 200 queues, grace 40
days) in-process, partition by partition like the worker, encodes every partial
record, merges the headers into a Merger under tracemalloc and reports: cells
per period, partial bytes (cells vs checkpoint), merged state bytes, and how many
KPI gauge samples /metrics would export.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections import Counter

import orjson

from bench.common import CONFIG, partition_of
from bench.memory import DAYS, SHAPE, START
from bench.synthetic import contact_events
from streams.kpi.catalogue import PERIODS
from streams.kpi.ingest import PartitionState
from streams.kpi.merge import Merger
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings


def partial_headers(
    runtime: Runtime, events: int, seed: int, batch: int
) -> tuple[list[tuple[str, bytes]], dict[str, int]]:
    """Fold the memory section's events partition by partition like the worker: the
    merger headers of the partial records, and their sizes."""
    settings = runtime.settings
    start = START.timestamp()
    data = contact_events(start, start + DAYS * 86400, events, SHAPE, seed, "state")
    partitions = settings.input_partitions
    by_partition: dict[int, list[bytes]] = {p: [] for p in range(partitions)}
    for _, _, key, value in data:
        by_partition[partition_of(key, partitions)].append(value)
    print(f"{len(data):,} events, {partitions} partitions of cc.contacts, batches of {batch:,}")
    headers: list[tuple[str, bytes]] = []
    sizes = {"events": len(data), "header_bytes": 0, "checkpoint_bytes": 0, "cells": 0}
    for partition, values in by_partition.items():
        state = PartitionState(
            "cc.contacts",
            runtime.config,
            runtime.clock,
            runtime.calendar,
            runtime.ingest_settings,
            settings.max_message_bytes,
        )
        for first in range(0, len(values), batch):
            result = state.fold(enumerate(values[first : first + batch], first))
            record = encode_partial(state, result)
            cut = record.index(b"\n")
            sizes["header_bytes"] += cut
            sizes["checkpoint_bytes"] += len(record) - cut - 1
            sizes["cells"] += len(result.cells)
            headers.append((f"cc.contacts:{partition}", record[:cut]))
    return headers, sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.state", description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20_000)
    args = parser.parse_args(argv)

    settings = load_settings(config=CONFIG, grace_seconds=40 * 86400)
    runtime = Runtime(settings)
    partitions = settings.input_partitions
    began = time.perf_counter()
    headers, sizes = partial_headers(runtime, args.events, args.seed, args.batch)
    events, cells = sizes["events"], sizes["cells"]
    header_bytes, checkpoint_bytes = sizes["header_bytes"], sizes["checkpoint_bytes"]
    fold_seconds = time.perf_counter() - began
    print(f"fold + encode: {fold_seconds:.1f} s ({events / fold_seconds:,.0f} events/s)")
    print(
        f"partials: {len(headers)} records, cells {header_bytes / 2**20:,.1f} MB, "
        f"checkpoints {checkpoint_bytes / 2**20:,.1f} MB; {cells:,} hour cells "
        f"({cells / events:.2f} per event; the merger rolls them up into days, weeks "
        f"and months)"
    )

    sources = [f"cc.contacts:{p}" for p in range(partitions)]
    began = time.perf_counter()
    timed = Merger(runtime.clock, settings.grace_seconds, sources)
    for source, header in headers:
        timed.apply(source, orjson.loads(header))
    merge_seconds = time.perf_counter() - began
    del timed
    merger = Merger(runtime.clock, settings.grace_seconds, sources)
    tracemalloc.start()
    for source, header in headers:
        merger.apply(source, orjson.loads(header))
    merger.take_dirty()
    held, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    scopes: Counter[int] = Counter()
    measures: Counter[int] = Counter()
    for (period, _start), window_cells in merger.windows.items():
        scopes[period] += len(window_cells)
        measures[period] += sum(len(m) for m in window_cells.values())
    total_scopes = sum(scopes.values())
    print(f"merge: {merge_seconds:.1f} s; merged state held {held / 2**20:,.0f} MB (tracemalloc)")
    print(f"  {len(merger.windows):,} windows, {total_scopes:,} scope cells:")
    for period, name in enumerate(PERIODS):
        windows = sum(1 for w in merger.windows if w[0] == period)
        print(
            f"    {name:5}  {windows:4} windows  {scopes[period]:9,} scope cells  "
            f"{measures[period] / max(1, scopes[period]):4.1f} slots per cell  "
            f"{100 * scopes[period] / max(1, total_scopes):5.1f}%"
        )
    print(f"  about {held / max(1, total_scopes):,.0f} bytes per scope cell")
    as_arrays = sum(
        sys.getsizeof(cell)
        for window_cells in merger.windows.values()
        for cell in window_cells.values()
    )
    keys = {id(scope) for window_cells in merger.windows.values() for scope in window_cells}
    print(
        f"  measure values: {as_arrays / 2**20:,.0f} MB in array('q') cells; "
        f"{len(keys):,} distinct scope keys shared by the windows"
    )
    kinds: Counter[tuple[int, str]] = Counter()
    for (period, _start), window_cells in merger.windows.items():
        for scope in window_cells:
            kinds[(period, ",".join(name for name, _ in scope) or "centre")] += 1
    print("  scope cells by period and scope kind:")
    for period, name in enumerate(PERIODS):
        row = sorted(((k, n) for (p, k), n in kinds.items() if p == period), key=lambda x: -x[1])
        print(f"    {name:5}  " + ", ".join(f"{k} {n:,}" for k, n in row))
    samples = 0
    for period in range(len(PERIODS)):
        for window in (merger.current(period), merger.previous(period)):
            if window is not None:
                samples += sum(1 for _ in merger.values(window))
    print(f"/metrics KPI gauge samples (current + previous of every period): {samples:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
