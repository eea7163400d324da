"""``cckpi import queue-log``: queue_log files (and a followed live one) to ``cc.contacts``.

Wiring only: lines are parsed, checked and routed by :mod:`streams.sources.router`
(in a process pool by :mod:`streams.sources.parallel` for large imports), produced
by :mod:`streams.sources.sink`, followed by :mod:`streams.sources.follow`, and
events of windows a running deployment has closed are folded by
:mod:`streams.sources.history`.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiokafka.errors import KafkaConnectionError

from streams.config import AppConfig
from streams.errors import CckpiError
from streams.pipeline.batching import PARTITIONER
from streams.settings import Settings
from streams.sources import position as positions
from streams.sources.files import Opened, leading_epoch, open_part, time_ordered
from streams.sources.follow import Tail
from streams.sources.history import HistoryFold, live_watermark
from streams.sources.parallel import CHUNK_LINES, Chunk, check_chunk, init
from streams.sources.report import Report
from streams.sources.router import LineRouter, readable_lines
from streams.sources.sink import EventSink
from streams.topics import declare_topics

BATCH = 5000
"""Events produced per acknowledged batch (and lines per follow read)."""
PARALLEL_BYTES = 16 * 2**20
"""Above this much to read, parsing and checking go to a process pool by default."""
FOLLOW_POLL = 0.2


class SourceError(CckpiError):
    """A source cannot run as asked (a path missing, a bad option)."""


@dataclass
class ImportOptions:
    paths: list[Path]
    follow: bool = False
    position_file: Path | None = None
    history: str = "auto"
    """``auto`` (split at the live deployment's watermark), ``off`` (send everything to
    the input topics), or an ISO instant taken as the live watermark."""
    jobs: int = 0
    """Processes parsing and checking whole files: 1 in this process; 0 one per core
    when there is more than :data:`PARALLEL_BYTES` to read (a pool's start costs
    seconds), else 1. docs/sources.md has the measured figures."""
    notes: list[str] = field(default_factory=list)


async def declare(settings: Settings) -> None:
    """Declare the topics (the one place a missing broker shows: say so plainly)."""
    try:
        await declare_topics(settings, timeout=settings.broker_wait_seconds)
    except KafkaConnectionError as exc:
        raise SourceError(
            f"no broker answered at {settings.kafka_bootstrap_servers} "
            f"within {settings.broker_wait_seconds:.0f} s (CCKPI_BROKER_WAIT_SECONDS)"
        ) from exc


async def decide_cutoff(settings: Settings, history: str) -> float | None:
    """The live watermark to split history at, or None to send everything live."""
    if history == "off":
        return None
    if history == "auto":
        return await live_watermark(settings)
    try:
        moment = datetime.fromisoformat(history)
    except ValueError:
        raise SourceError(f"--history {history!r}: auto, off or an ISO instant") from None
    if moment.tzinfo is None:
        raise SourceError(f"--history {history!r} needs an offset, e.g. 2026-12-01T00:00:00+00:00")
    return moment.timestamp()


async def run_import(
    settings: Settings,
    config: AppConfig,
    options: ImportOptions,
    report: Report,
    stop: asyncio.Event,
) -> bool:
    """Import (and follow); True when every line was read (not stopped half-way)."""
    missing = [str(p) for p in options.paths if not p.exists() and not options.follow]
    if missing:
        raise SourceError(f"no such file: {', '.join(missing)}")
    await declare(settings)
    cutoff = await decide_cutoff(settings, options.history)
    history = None
    if cutoff is not None:
        history = HistoryFold(settings, config, cutoff)
        at = datetime.fromtimestamp(cutoff, UTC).isoformat(timespec="seconds")
        options.notes.append(
            f"live deployment's watermark {at}: events of hours it has closed are folded "
            "here and published as final records; later events go to the input topics"
        )
    router = LineRouter(settings, config, report, history)
    existing = [p for p in options.paths if p.exists()]
    ordered = time_ordered(existing, leading_epoch)
    followed = None
    if options.follow:
        followed = ordered.pop() if ordered else options.paths[-1]
    report.total_bytes = sum(p.stat().st_size for p in ordered)
    jobs = options.jobs or ((os.cpu_count() or 1) if report.total_bytes > PARALLEL_BYTES else 1)
    async with EventSink(settings, partitioner=PARTITIONER) as sink:
        if jobs > 1:
            await _import_parallel(settings, config, ordered, jobs, router, sink, stop)
        else:
            await _import_here(ordered, router, sink, stop)
        complete = not stop.is_set()
        if followed is not None and complete:
            complete = await _follow(settings, options, followed, router, sink, report, stop)
        await router.flush(sink)
        if history is not None:
            options.notes += await _publish_history(history, router, sink, complete)
    return complete


async def _import_here(
    ordered: list[Path], router: LineRouter, sink: EventSink, stop: asyncio.Event
) -> None:
    done = 0
    report = router.report
    for path in ordered:
        if stop.is_set():
            break
        opened = open_part(path)
        try:
            for number, raw in readable_lines(opened, str(path), report):
                router.line(str(path), number, raw)
                if len(router.batch) >= BATCH:
                    await router.flush(sink, overlap=True)
                    report.progress(done + opened.consumed())
                    if stop.is_set():
                        break
        finally:
            done += opened.size
            opened.close()
        await router.flush(sink)


def _chunks(opened: Opened, name: str, report: Report) -> Iterator[tuple[int, list[bytes]]]:
    lines: list[bytes] = []
    first = 1
    for number, raw in readable_lines(opened, name, report):
        lines.append(raw)
        if len(lines) >= CHUNK_LINES:
            yield first, lines
            first, lines = number + 1, []
    if lines:
        yield first, lines


async def _import_parallel(
    settings: Settings,
    config: AppConfig,
    ordered: list[Path],
    jobs: int,
    router: LineRouter,
    sink: EventSink,
    stop: asyncio.Event,
) -> None:
    """Chunks parsed and checked by ``jobs`` processes, taken and sent in file order."""
    report = router.report
    context = multiprocessing.get_context("spawn")
    init_args = (config, settings.max_message_bytes)
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=init, initargs=init_args
    ) as pool:
        try:
            done = 0
            for path in ordered:
                opened = open_part(path)
                waiting: deque[asyncio.Future[Chunk]] = deque()
                try:
                    for first, lines in _chunks(opened, str(path), report):
                        if stop.is_set():
                            break
                        future = pool.submit(check_chunk, str(path), first, lines)
                        waiting.append(asyncio.wrap_future(future))
                        if len(waiting) > 2 * jobs:
                            await _take(await waiting.popleft(), router, sink)
                            report.progress(done + opened.consumed())
                    while waiting and not stop.is_set():
                        await _take(await waiting.popleft(), router, sink)
                        report.progress(done + opened.consumed())
                finally:
                    done += opened.size
                    opened.close()
                if stop.is_set():
                    break
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


async def _take(chunk: Chunk, router: LineRouter, sink: EventSink) -> None:
    router.take(chunk)
    await router.flush(sink, overlap=True)


async def _publish_history(
    history: HistoryFold, router: LineRouter, sink: EventSink, complete: bool
) -> list[str]:
    if router.to_history == 0:
        return []
    if not complete:
        return [
            f"history: {history.windows:,} windows the files had closed were published final "
            f"({history.records:,} records); the import stopped before the end, so the "
            "others (a part of a window is no final value) were not: run it again"
        ]
    await history.publish(sink.producer)
    router.to_history = 0
    notes = [
        f"history: {history.folded:,} events folded ({history.duplicates:,} repeats, "
        f"{history.late:,} late within the files), {history.records:,} final records of "
        f"{history.windows:,} windows published"
    ]
    if history.open_windows:
        notes.append(
            "windows still open in the live deployment cannot take events of their closed "
            f"hours ({history.describe_open()}); those count in their closed windows only"
        )
    return notes


async def _follow(
    settings: Settings,
    options: ImportOptions,
    path: Path,
    router: LineRouter,
    sink: EventSink,
    report: Report,
    stop: asyncio.Event,
) -> bool:
    """Follow ``path`` until ``stop``; its position saved after every acknowledged batch."""
    position_file = options.position_file or positions.default_path(settings.data_dir, path)
    saved = positions.load(position_file)
    tail = Tail(path, saved, report.note)
    if saved is not None:
        report.out.write(f"{path}: resuming at line {saved.line + 1} (byte {saved.offset})\n")
    history = router.history
    lines_since_save = False
    try:
        while not stop.is_set():
            lines = tail.read(BATCH)
            for name, number, raw in lines:
                router.line(name, number, raw)
            await router.flush(sink)
            if not lines and history is not None and router.to_history:
                # The backlog is read: its closed windows are complete, publish them.
                options.notes += await _publish_history(history, router, sink, True)
                lines_since_save = True
            if (lines or lines_since_save) and router.to_history == 0:
                lines_since_save = False
                mark = tail.mark()
                if mark is not None:
                    positions.save(position_file, mark)
            report.progress(0)
            if not lines:
                # Lines are read while new ones come; the wait is only when there are none.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), FOLLOW_POLL)
    finally:
        tail.close()
    # Stopped while a backlog's closed windows were half read: not complete (not published).
    return router.to_history == 0
