"""Where the engine's time goes: ``python -m bench.profile``.

Default: ``PartitionState.fold`` over a list of raw event bytes, in-process (no
broker), sampled by py-spy when it is installed (``.venv/bin/pip install
py-spy``), else by cProfile. ``--worker`` instead runs a real ``cckpi worker`` on
an embedded broker over pre-produced events and samples its main thread with
py-spy, which shows the whole hot path (fold, partials, merge, publishing, scrapes).

``--shape simulated`` (default) uses the realistic simulator (3 teams, tens of
agents); ``--shape agents`` uses synthetic contacts over 10 teams, 50 queues and
500 agents, 14 days: many more cells per batch.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bench.common import (
    CONFIG,
    REPO,
    Record,
    counts,
    declare_cckpi_topics,
    fetch,
    metrics_url,
    produce_fast,
    unique_prefix,
)
from bench.synthetic import Shape, contact_events
from streams.events.models import INPUT_TOPICS

AGENTS_SHAPE = Shape(teams=10, queues=50, agents=500)


def raw_events(shape: str, events: int, seed: int) -> list[tuple[str, bytes, bytes]]:
    """(base topic, key, value) in production order."""
    if shape == "agents":
        start = datetime(2026, 5, 1, tzinfo=UTC).timestamp()
        data = contact_events(start, start + 14 * 86400, events, AGENTS_SHAPE, seed, "prof")
        return [(topic, key, value) for _, topic, key, value in data]
    from bench.throughput import make_dataset

    dataset = make_dataset(events, seed)
    return [(topic, key, value) for topic, key, value, _ in dataset.values]


def fold_all(events: list[tuple[str, bytes, bytes]], batch: int = 20000) -> float:
    """Fold every event, per topic in batches like the worker; returns events/s."""
    from streams.pipeline.runtime import Runtime
    from streams.settings import load_settings

    settings = load_settings(config=CONFIG)
    runtime = Runtime(settings)
    by_topic: dict[str, list[bytes]] = {}
    for topic, _key, value in events:
        by_topic.setdefault(topic, []).append(value)
    started = time.perf_counter()
    for topic, values in by_topic.items():
        state = runtime.source_state(f"{topic}:0")
        for first in range(0, len(values), batch):
            state.fold(enumerate(values[first : first + batch], first))
    return len(events) / (time.perf_counter() - started)


# ---------------------------------------------------------------- py-spy raw output


def frame_name(frame: str, lines: bool) -> str:
    """``func (path/file.py:123)`` -> ``file.py:func`` (or with :123 when ``lines``)."""
    if " (" not in frame:
        return frame
    func, where = frame.split(" (", 1)
    where = where.rstrip(")")
    path, _, line = where.rpartition(":")
    short = "/".join(Path(path).parts[-2:]) if path else where
    return f"{short}:{func}" + (f":{line}" if lines and line else "")


def aggregate(
    raw: Path, must_contain: str | None, drop_threads: bool
) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """(samples, self time, inclusive time, self time per line) from py-spy's raw format."""
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    lines: Counter[str] = Counter()
    for row in raw.read_text().splitlines():
        stack, _, count = row.rpartition(" ")
        if not stack:
            continue
        if must_contain and must_contain not in stack:
            continue
        frames = stack.split(";")
        if drop_threads and any("Thread._bootstrap" in f for f in frames):
            continue  # not the event-loop thread
        leaf = frames[-1]
        if "select (selectors.py" in leaf:
            continue  # idle in the event loop
        n = int(count)
        total += n
        own[frame_name(leaf, False)] += n
        lines[frame_name(leaf, True)] += n
        for name in {frame_name(f, False) for f in frames}:
            inclusive[name] += n
    return total, own, inclusive, lines


def report(
    total: int, own: Counter[str], inclusive: Counter[str], lines: Counter[str], top: int
) -> None:
    print(f"\n  {total} samples\n\n  self %  function (time spent in the function itself)")
    for name, n in own.most_common(top):
        print(f"  {100 * n / total:5.1f}  {name}")
    print("\n  total %  function (including what it calls; entry points omitted)")
    shown = 0
    for name, n in inclusive.most_common():
        if 100 * n / total > 99.5:
            continue
        print(f"  {100 * n / total:6.1f}  {name}")
        shown += 1
        if shown >= top:
            break
    print("\n  self %  line")
    for name, n in lines.most_common(top):
        print(f"  {100 * n / total:5.1f}  {name}")


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


# ---------------------------------------------------------------- modes


def profile_fold(args: argparse.Namespace) -> None:
    spy = py_spy() if args.tool in ("auto", "py-spy") else None
    if args.tool == "py-spy" and spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    tool = "py-spy" if spy else "cProfile"
    print(f"fold profile: {args.events:,} events, shape {args.shape}, tool {tool}")
    if spy is None:
        events = raw_events(args.shape, args.events, args.seed)
        fold_all(events)  # warm caches and imports
        profiler = cProfile.Profile()
        profiler.enable()
        rate = fold_all(events)
        profiler.disable()
        print(f"  fold rate under cProfile: {rate:,.0f} events/s (cProfile slows it down)")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        print(out.getvalue())
        return
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "fold.txt"
        child = [
            sys.executable,
            "-m",
            "bench.profile",
            "--child",
            "--events",
            str(args.events),
            "--seed",
            str(args.seed),
            "--shape",
            args.shape,
        ]
        subprocess.run(
            [spy, "record", "-r", str(args.rate), "-f", "raw", "-o", str(raw), "--", *child],
            cwd=REPO,
            check=True,
            stderr=subprocess.DEVNULL,
        )
        report(*aggregate(raw, "PartitionState.fold", drop_threads=False), args.top)


def child(args: argparse.Namespace) -> None:
    events = raw_events(args.shape, args.events, args.seed)
    fold_all(events)
    print(f"  fold rate (sampled at {args.rate} Hz): {fold_all(events):,.0f} events/s", flush=True)


def profile_worker(args: argparse.Namespace) -> None:
    from bench.throughput import CommittedOffsets
    from streams.broker import EmbeddedBroker, free_port
    from tests.integration.harness import WorkerProcess

    spy = py_spy()
    if spy is None:
        raise SystemExit("--worker needs py-spy: .venv/bin/pip install py-spy")
    events = raw_events(args.shape, args.events, args.seed)
    print(f"worker profile: {len(events):,} events, shape {args.shape}, py-spy at {args.rate} Hz")
    with tempfile.TemporaryDirectory() as tmp, EmbeddedBroker(free_port()) as broker:
        bootstrap = broker.bootstrap_servers
        prefix = unique_prefix("prof")
        settings = declare_cckpi_topics(bootstrap, prefix)
        parts = {settings.topic(t): settings.input_partitions for t in INPUT_TOPICS}
        records: list[Record] = [(prefix + t, k, v, None) for t, k, v in events]
        asyncio.run(produce_fast(bootstrap, records, parts))
        worker = WorkerProcess(bootstrap, prefix, Path(tmp), config=CONFIG).start()
        assert worker.process is not None
        url = metrics_url(worker.port)
        raw = Path(tmp) / "worker.txt"
        # Progress from the ingest group's committed offsets: a /metrics scrape would run
        # on the worker's event loop and show up in the profile.
        offsets = CommittedOffsets(
            bootstrap, f"{worker.env['CCKPI_APP_ID']}-ingest", prefix, settings.input_partitions
        )
        try:
            while not offsets.read():
                time.sleep(0.2)
            spy_process = subprocess.Popen(
                [
                    spy,
                    "record",
                    "-p",
                    str(worker.process.pid),
                    "-r",
                    str(args.rate),
                    "-f",
                    "raw",
                    "-o",
                    str(raw),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started = time.monotonic()
            judged = 0.0
            while (offsets.read() or 0) < len(events) and time.monotonic() - started < 600:
                time.sleep(0.2)
            elapsed = time.monotonic() - started
            time.sleep(args.tail)  # let merging and publishing of the last batches finish
            spy_process.send_signal(signal.SIGINT)
            spy_process.wait(30)
            found = counts(fetch(url, timeout=60) or "")
            judged = sum(v for k, v in found.items() if k != "cc_events_duplicate_total")
        finally:
            offsets.close()
            worker.stop()
        print(
            f"  {judged:,.0f} events judged; all folded {elapsed:.1f} s after sampling began "
            f"(+{args.tail:.0f} s sampled after)"
        )
        report(*aggregate(raw, None, drop_threads=True), args.top)


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds: the worker and broker stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--shape", choices=("simulated", "agents"), default="simulated")
    parser.add_argument("--tool", choices=("auto", "py-spy", "cprofile"), default="auto")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--worker", action="store_true", help="profile a live worker process")
    parser.add_argument(
        "--tail", type=float, default=3.0, help="--worker: seconds after the last event"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.child:
        child(args)
    elif args.worker:
        profile_worker(args)
    else:
        profile_fold(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
