"""Parsing and checking queue_log lines in worker processes, results in file order.

Checking an event with the worker's decoder costs more than producing it, so a
bulk import parses and checks chunks of lines in a process pool while the
parent only routes and produces, in file order (``map`` keeps the order, so the
worker sees events as the file has them and nothing becomes late).

One thing crosses chunks: an exit without its wait (Asterisk 1.8's
``EXITWITHTIMEOUT|position``) takes it from the call's ENTERQUEUE, which may be
in an earlier chunk. A chunk returns its ENTERQUEUE times and such exits as
:class:`Pending`; the parent, which has seen every earlier chunk, completes them.
"""

from __future__ import annotations

import signal
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from streams.config import AppConfig
from streams.events.decode import DeadLetter
from streams.sources.queue_log import (
    ABANDONS,
    Bad,
    EnterTimes,
    Other,
    parse_line,
    split_nul,
)
from streams.sources.sink import Checker

CHUNK_LINES = 20_000


@dataclass(frozen=True, slots=True)
class Pending:
    """An exit whose wait is the time since its call's ENTERQUEUE, in an earlier chunk."""

    where: str
    body: dict[str, Any]
    event: str
    epoch: int
    problem: Bad
    """What the line is if no ENTERQUEUE of its call was seen."""


@dataclass
class Chunk:
    """What a chunk of lines gave, in line order."""

    items: list[tuple[str, bytes, bytes, str, float] | Pending] = field(default_factory=list)
    """Checked events as plain tuples (:class:`Checked`'s fields: a frozen dataclass
    pickles four times slower), and exits waiting for their wait."""
    enters: list[tuple[str, int]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    bad: list[tuple[str, str, str]] = field(default_factory=list)
    """(file:line, reason, detail) of each bad line."""
    lines: int = 0


_STATE: dict[str, Any] = {}


def init(config: AppConfig, max_bytes: int) -> None:
    """Process pool initializer: the config's labels and a checker, once per process.
    Ctrl-C reaches the whole process group; the parent alone decides how to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE["labels"] = config.queue_labels
    _STATE["checker"] = Checker(max_bytes)


class _ChunkEnters(EnterTimes):
    """Enter times of one chunk, also kept as a list for the parent."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def entered(self, callid: str, epoch: int) -> None:
        super().entered(callid, epoch)
        self.seen.append((callid, epoch))


def check_chunk(name: str, first: int, lines: list[bytes]) -> Chunk:
    """Parse and check lines ``first``, ``first + 1``... of file ``name``."""
    labels = _STATE["labels"]
    checker: Checker = _STATE["checker"]
    chunk = Chunk(lines=len(lines))
    enters = _ChunkEnters()
    items, kinds, bad = chunk.items, chunk.kinds, chunk.bad
    for number, raw in enumerate(lines, first):
        segments, nuls = split_nul(raw)
        if nuls:
            bad.append((f"{name}:{number}", "nul_run", f"{nuls} NUL bytes (unclean shutdown)"))
        for segment in segments:
            outcome = parse_line(segment, labels, enters)
            if isinstance(outcome, Other):
                kinds[outcome.event] += 1
                continue
            if isinstance(outcome, Bad):
                if outcome.reason == "blank":
                    kinds["(blank line)"] += 1
                elif outcome.reason == "missing_field" and _short_exit(segment):
                    items.append(_pending(f"{name}:{number}", segment, labels, outcome))
                else:
                    bad.append((f"{name}:{number}", outcome.reason, outcome.detail))
                continue
            checked = checker.check(outcome.body)
            if isinstance(checked, DeadLetter):
                bad.append((f"{name}:{number}", f"invalid_{checked.reason}", checked.detail))
                continue
            kinds[outcome.event] += 1
            items.append(
                (checked.topic, checked.key, checked.value, checked.event_id, checked.occurred_at)
            )
    chunk.enters = enters.seen
    return chunk


def _short_exit(segment: bytes) -> bool:
    parts = segment.split(b"|", 6)
    return len(parts) >= 5 and parts[4].decode(errors="replace") in ABANDONS


def _pending(where: str, segment: bytes, labels: Any, problem: Bad) -> Pending:
    """The exit parsed as if its wait were known (0); the parent fills it in."""
    fields = segment.strip().decode("utf-8", "replace").split("|")
    epoch, callid, event = int(fields[0]), fields[1], fields[4]
    probe = EnterTimes()
    probe.entered(callid, epoch)
    outcome = parse_line(segment, labels, probe)
    body = outcome.body if not isinstance(outcome, Bad | Other) else {}
    return Pending(where, body, event, epoch, problem)


def complete(pending: Pending, enters: EnterTimes) -> dict[str, Any] | Bad:
    """The pending exit with its wait, or what the line is without one."""
    wait = enters.wait(pending.body.get("contact_id", ""), pending.epoch)
    if not pending.body or wait is None:
        return pending.problem
    return {**pending.body, "wait_seconds": wait}
