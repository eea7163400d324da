"""KPI arithmetic over one (window, scope) cell, and the reply walk.

A `Cell` keeps plain counts and the full lists of samples of everything counted
in one window and scope; the KPI values are read off it at the end with the
formulas of CONTRACT.md and the table of docs/semantics.md. Sums use
`math.fsum`, which is correctly rounded and so independent of summation order.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from tests.oracle.validation import Event

Value = tuple[float | None, float | None, float | None]  # value, numerator, denominator
Scope = tuple[tuple[str, str], ...]  # sorted (name, value) pairs

CLOCKS = ("business", "calendar")
CLOCK_KPIS = ("first_reply_seconds", "next_reply_seconds", "resolution_seconds")
DEFAULT_QUEUE_SETTINGS = (20.0, 5.0)  # service_level_seconds, short_abandon_seconds

# The finer scope kinds of each KPI (CONTRACT.md table); {}, team and channel always.
FINER_SCOPES: dict[str, frozenset[str]] = {
    "contacts_offered": frozenset({"queue"}),
    "contacts_answered": frozenset({"queue", "agent"}),
    "contacts_abandoned": frozenset({"queue"}),
    "short_abandons": frozenset({"queue"}),
    "contacts_exited": frozenset({"queue"}),
    "service_level_ratio": frozenset({"queue"}),
    "abandon_ratio": frozenset({"queue"}),
    "average_speed_of_answer_seconds": frozenset({"queue"}),
    "max_queue_wait_seconds": frozenset({"queue"}),
    "average_handle_time_seconds": frozenset({"queue", "agent"}),
    "first_contact_resolution_ratio": frozenset({"queue", "agent"}),
    "tickets_solved": frozenset({"agent"}),
    "first_reply_seconds": frozenset({"agent"}),
    "next_reply_seconds": frozenset({"agent"}),
    "resolution_seconds": frozenset({"agent"}),
    "reopen_ratio": frozenset(),
    "nps_score": frozenset({"agent"}),
    "csat_ratio": frozenset({"agent"}),
    "quality_score": frozenset({"agent"}),
}
AGENT_KPIS = tuple(kpi for kpi, kinds in FINER_SCOPES.items() if "agent" in kinds)


@dataclass
class Cell:
    contact_events: int = 0
    ticket_events: int = 0
    offered: int = 0
    answered: int = 0
    answered_within_sl: int = 0
    abandoned: int = 0
    short_abandons: int = 0
    exited: int = 0
    answer_waits: list[float] = field(default_factory=list)
    queue_waits: list[float] = field(default_factory=list)  # answered and every abandon
    handle_times: list[float] = field(default_factory=list)
    resolved_true: int = 0
    resolved_known: int = 0
    solved: int = 0
    reopened: int = 0
    nps_scores: list[float] = field(default_factory=list)
    csat_scores: list[float] = field(default_factory=list)
    quality_scores: list[float] = field(default_factory=list)
    # (kpi, clock) -> samples in seconds, for the three clock KPIs
    durations: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))


def scope_kind(scope: Scope) -> str:
    names = {name for name, _ in scope}
    if not names:
        return "centre"
    if names == {"team"}:
        return "team"
    (finer,) = names - {"team"}
    return finer


def scopes_of(event: Event) -> list[Scope]:
    """Every scope an event counts in: the labels it carries."""
    team = ("team", event.team)
    scopes: list[Scope] = [(), (team,), tuple(sorted([team, ("channel", event.channel)]))]
    if event.queue is not None:
        scopes.append(tuple(sorted([team, ("queue", event.queue)])))
    if event.agent is not None:
        scopes.append(tuple(sorted([team, ("agent", event.agent)])))
    return scopes


def fold_event(cell: Cell, event: Event, queue_settings: tuple[float, float]) -> None:
    """Count one accepted event of a windowed topic in a cell (reply samples aside)."""
    service_level, short_abandon = queue_settings
    kind = event.type
    if event.topic == "cc.contacts":
        cell.contact_events += 1
    if event.topic == "cc.tickets":
        cell.ticket_events += 1
    if kind == "contact.offered":
        cell.offered += 1
    elif kind == "contact.answered":
        assert event.wait_seconds is not None
        cell.answered += 1
        if event.wait_seconds <= service_level:
            cell.answered_within_sl += 1
        cell.answer_waits.append(event.wait_seconds)
        cell.queue_waits.append(event.wait_seconds)
    elif kind == "contact.abandoned":
        assert event.wait_seconds is not None
        if event.reason != "hangup":
            cell.exited += 1
        elif event.wait_seconds < short_abandon:
            cell.short_abandons += 1
        else:
            cell.abandoned += 1
        cell.queue_waits.append(event.wait_seconds)
    elif kind == "contact.completed":
        assert event.talk_seconds is not None
        assert event.hold_seconds is not None and event.wrap_seconds is not None
        cell.handle_times.append(event.talk_seconds + event.hold_seconds + event.wrap_seconds)
        if event.resolved is not None:
            cell.resolved_known += 1
            if event.resolved:
                cell.resolved_true += 1
    elif kind == "ticket.solved":
        cell.solved += 1
    elif kind == "ticket.reopened":
        cell.reopened += 1
    elif kind == "survey.nps":
        assert event.score is not None
        cell.nps_scores.append(event.score)
    elif kind == "survey.csat":
        assert event.score is not None
        cell.csat_scores.append(event.score)
    elif kind == "qa.evaluated":
        assert event.score is not None
        cell.quality_scores.append(event.score)


def _count(count: int, present: int) -> Value | None:
    return (count, count, None) if present > 0 else None


def _ratio(numerator: int, denominator: int) -> Value | None:
    return (numerator / denominator, numerator, denominator) if denominator > 0 else None


def _mean(samples: list[float]) -> Value | None:
    if not samples:
        return None
    total = math.fsum(samples)
    return (total / len(samples), total, len(samples))


def _nps(scores: list[float]) -> Value | None:
    if not scores:
        return None
    net = sum(1 for s in scores if s >= 9) - sum(1 for s in scores if s <= 6)
    return (100 * net / len(scores), net, len(scores))


def _max_wait(cell: Cell) -> Value | None:
    return (max(cell.queue_waits), None, None) if cell.queue_waits else None


PLAIN_KPIS: dict[str, Callable[[Cell], Value | None]] = {
    "contacts_offered": lambda c: _count(c.offered, c.contact_events),
    "contacts_answered": lambda c: _count(c.answered, c.contact_events),
    "contacts_abandoned": lambda c: _count(c.abandoned, c.contact_events),
    "short_abandons": lambda c: _count(c.short_abandons, c.contact_events),
    "contacts_exited": lambda c: _count(c.exited, c.contact_events),
    "service_level_ratio": lambda c: _ratio(
        c.answered_within_sl, c.answered + c.abandoned + c.exited
    ),
    "abandon_ratio": lambda c: _ratio(c.abandoned, c.offered - c.short_abandons),
    "average_speed_of_answer_seconds": lambda c: _mean(c.answer_waits),
    "max_queue_wait_seconds": _max_wait,
    "average_handle_time_seconds": lambda c: _mean(c.handle_times),
    "first_contact_resolution_ratio": lambda c: _ratio(c.resolved_true, c.resolved_known),
    "tickets_solved": lambda c: _count(c.solved, c.ticket_events),
    "reopen_ratio": lambda c: _ratio(c.reopened, c.solved),
    "nps_score": lambda c: _nps(c.nps_scores),
    "csat_ratio": lambda c: _ratio(sum(1 for s in c.csat_scores if s >= 4), len(c.csat_scores)),
    "quality_score": lambda c: _mean(c.quality_scores),
}
assert set(PLAIN_KPIS) | set(CLOCK_KPIS) == set(FINER_SCOPES)


def kpi_values(cell: Cell, kind: str) -> Iterable[tuple[str, str | None, Value]]:
    """(kpi, clock, value) of every KPI published for a cell of this scope kind."""
    for kpi, formula in PLAIN_KPIS.items():
        if kind in ("centre", "team", "channel") or kind in FINER_SCOPES[kpi]:
            value = formula(cell)
            if value is not None:
                yield kpi, None, value
    for kpi in CLOCK_KPIS:
        if kind in ("centre", "team", "channel") or kind in FINER_SCOPES[kpi]:
            for clock in CLOCKS:
                value = _mean(cell.durations.get((kpi, clock), []))
                if value is not None:
                    yield kpi, clock, value


@dataclass(frozen=True)
class DurationSample:
    """One sample of a clock KPI, counted in the window and scopes of `event`."""

    kpi: str  # one of CLOCK_KPIS
    event: Event  # the agent reply or the solve that gives the sample
    since: datetime  # where the measured wait started: created_at or the wait start

    @property
    def until(self) -> datetime:
        return self.event.occurred_at


def resolution_samples(events: Iterable[Event]) -> list[DurationSample]:
    """Every `ticket.solved` is one sample (a ticket solved twice gives two)."""
    samples = []
    for event in events:
        if event.type == "ticket.solved":
            assert event.created_at is not None
            samples.append(DurationSample("resolution_seconds", event, event.created_at))
    return samples


def reply_samples(events: Iterable[Event]) -> list[DurationSample]:
    """Walk every ticket's public messages in (occurred_at, event_id) order.

    A customer message starts a wait unless one runs; the first agent message
    gives the first-reply sample (from its created_at) and ends any wait; a later
    agent message that ends a running wait gives a next-reply sample.
    """
    by_ticket: dict[str, list[tuple[int, Event]]] = defaultdict(list)
    for position, event in enumerate(events):
        if event.type == "ticket.replied" and event.public:
            assert event.ticket_id is not None
            by_ticket[event.ticket_id].append((position, event))
    samples: list[DurationSample] = []
    for messages in by_ticket.values():
        # position (arrival order) only breaks ties between equal (occurred_at, event_id)
        messages.sort(key=lambda item: (item[1].occurred_at, item[1].event_id, item[0]))
        wait_start: datetime | None = None
        first_done = False
        for _, message in messages:
            if message.author == "customer":
                if wait_start is None:
                    wait_start = message.occurred_at
            elif not first_done:
                assert message.created_at is not None
                samples.append(DurationSample("first_reply_seconds", message, message.created_at))
                first_done = True
                wait_start = None
            elif wait_start is not None:
                samples.append(DurationSample("next_reply_seconds", message, wait_start))
                wait_start = None
    return samples
