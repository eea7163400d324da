"""``cckpi replay``: recorded contract events (JSON lines, optionally gzipped) to their topics.

Every line is checked with the worker's decoders first (:class:`Checker`), in a
pass that sends nothing: ``--check`` stops there and lists every bad line. Then
the good lines are sent in file order, as fast as the broker takes them or at
``--speed X`` (X seconds of event time per wall second). ``--shift-to ISO``
moves the recording in time so its earliest event happens at ISO: every
``occurred_at`` and ``created_at`` moves by the same amount, and event ids get
the shift as a suffix, so a shifted replay is a new set of events (replaying it
twice at the same shift still counts once).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from streams.events.decode import DeadLetter
from streams.settings import Settings
from streams.sources.files import numbered, open_part
from streams.sources.importer import declare
from streams.sources.report import Report
from streams.sources.sink import Checked, Checker, EventSink

BATCH = 5000
SHIFTED_FIELDS = ("occurred_at", "created_at")


@dataclass
class ReplayOptions:
    paths: list[Path]
    check: bool = False
    speed: float | None = None
    shift_to: datetime | None = None


def lines(paths: list[Path]) -> Iterator[tuple[str, int, bytes]]:
    """(file, line number, line) of every non-blank line, gzipped files too."""
    for path in paths:
        opened = open_part(path)
        try:
            for number, raw in numbered(opened):
                if raw.strip():
                    yield str(path), number, raw
        finally:
            opened.close()


def shifted(event: dict[str, Any], delta: timedelta, suffix: str) -> dict[str, Any]:
    """The event moved by ``delta``: its timestamps, and its id made its own."""
    out = dict(event)
    for name in SHIFTED_FIELDS:
        value = out.get(name)
        if isinstance(value, str):
            out[name] = (datetime.fromisoformat(value) + delta).isoformat()
    new_id = f"{out['event_id']}{suffix}"
    if len(new_id) > 128:
        new_id = "r-" + hashlib.blake2b(new_id.encode(), digest_size=24).hexdigest()
    out["event_id"] = new_id
    return out


def check_all(options: ReplayOptions, checker: Checker, report: Report) -> float | None:
    """First pass: count every line, report the bad ones; the earliest event time."""
    earliest: float | None = None
    for where, number, raw in lines(options.paths):
        report.lines += 1
        checked = checker.check(raw.strip())
        if isinstance(checked, DeadLetter):
            report.bad_line(f"{where}:{number}", checked.reason, checked.detail)
            continue
        report.kinds[orjson.loads(checked.value)["type"]] += 1
        if earliest is None or checked.occurred_at < earliest:
            earliest = checked.occurred_at
    return earliest


async def send_all(
    settings: Settings,
    options: ReplayOptions,
    checker: Checker,
    earliest: float,
    report: Report,
    stop: asyncio.Event,
) -> bool:
    """Second pass: send every good line; True unless stopped."""
    delta = timedelta(0)
    suffix = ""
    if options.shift_to is not None:
        seconds = round(options.shift_to.timestamp() - earliest)
        delta, suffix = timedelta(seconds=seconds), f"~{seconds:+d}"
    await declare(settings)
    batch: list[Checked] = []
    started = time.monotonic()
    first: float | None = None
    async with EventSink(settings) as sink:
        for _where, _number, raw in lines(options.paths):
            if stop.is_set():
                return False
            checked = checker.check(raw.strip())
            if isinstance(checked, DeadLetter):
                continue
            if suffix:
                moved = checker.check(shifted(orjson.loads(checked.value), delta, suffix))
                if isinstance(moved, DeadLetter):
                    continue
                checked = moved
            if options.speed:
                first = checked.occurred_at if first is None else first
                due = started + (checked.occurred_at - first) / options.speed
                wait = due - time.monotonic()
                if wait > 0:
                    report.sent += await sink.send_batched(batch)
                    batch = []
                    try:
                        await asyncio.wait_for(stop.wait(), wait)
                        return False
                    except TimeoutError:
                        pass
            batch.append(checked)
            if len(batch) >= BATCH:
                report.sent += await sink.send_batched(batch)
                batch = []
                report.progress(0)
        report.sent += await sink.send_batched(batch)
    return True


async def run_replay(
    settings: Settings, options: ReplayOptions, report: Report, stop: asyncio.Event
) -> int:
    """0 when every line was good (and sent, unless checking), 1 otherwise."""
    checker = Checker(settings.max_message_bytes)
    if options.check:
        report.shown = 1 << 62  # --check lists every bad line
    earliest = check_all(options, checker, report)
    if options.check or earliest is None:
        return 1 if report.bad_total else 0
    report.started = time.monotonic()
    complete = await send_all(settings, options, checker, earliest, report, stop)
    return 0 if complete and not report.bad_total else 1
