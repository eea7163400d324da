"""Base measures: what one event adds to its cell, from which every KPI is derived.

A cell holds additive measures (sums and counts) and a few max measures.
Additive measures are kept as integers in millionths (micro-seconds, micro-
counts): integer addition is exact, so a cell is the same whatever order its
events arrived in, and a retraction cancels exactly. Max measures merge by max
(they are never retracted). Each contact is judged by its own queue's settings here,
at fold time, so coarser scopes need no per-queue knowledge.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from streams.config import AppConfig
from streams.events.models import (
    AnyEvent,
    ContactAbandoned,
    ContactAnswered,
    ContactCompleted,
    ContactOffered,
    QaEvaluated,
    SurveyCsat,
    SurveyNps,
    TicketReopened,
    TicketSolved,
)
from streams.kpi.business_hours import BusinessCalendar

Measures = dict[str, float]
MAX_MEASURES = frozenset({"wait_max"})
Contribution = list[tuple[str, float]]
SCALE = 1_000_000
"""Additive measures are stored as ``round(value * SCALE)``."""


def add_items(target: Measures, items: Iterable[tuple[str, float]]) -> None:
    """Fold contributions (in natural units) into ``target``."""
    for name, value in items:
        if name in MAX_MEASURES:
            if value > target.get(name, float("-inf")):
                target[name] = value
        else:
            target[name] = target.get(name, 0) + round(value * SCALE)


def merge_into(target: Measures, delta: Measures) -> None:
    """Fold one cell's stored measures into another."""
    for name, value in delta.items():
        if name in MAX_MEASURES:
            if value > target.get(name, float("-inf")):
                target[name] = value
        else:
            target[name] = target.get(name, 0) + value


class MeasureFolder:
    """Turns validated events into measure contributions (reply samples excluded)."""

    def __init__(self, config: AppConfig, calendars: Callable[[str], BusinessCalendar]) -> None:
        self._config = config
        self._calendar = calendars

    def contributions(self, event: AnyEvent, ts: float) -> Contribution:
        if isinstance(event, ContactOffered):
            return [("c_events", 1), ("offered", 1)]
        if isinstance(event, ContactAnswered):
            queue = self._config.queue(event.queue)
            wait = event.wait_seconds
            in_sl = 1.0 if wait <= queue.service_level_seconds else 0.0
            return [
                ("c_events", 1),
                ("answered", 1),
                ("answered_sl", in_sl),
                ("asa_sum", wait),
                ("wait_n", 1),
                ("wait_max", wait),
            ]
        if isinstance(event, ContactAbandoned):
            queue = self._config.queue(event.queue)
            wait = event.wait_seconds
            if event.reason not in (None, "hangup"):
                kind = "exited"
            elif wait < queue.short_abandon_seconds:
                kind = "short_abandons"
            else:
                kind = "abandoned"
            return [("c_events", 1), (kind, 1), ("wait_n", 1), ("wait_max", wait)]
        if isinstance(event, ContactCompleted):
            handle = event.talk_seconds + (event.hold_seconds or 0) + (event.wrap_seconds or 0)
            out: Contribution = [("c_events", 1), ("completed", 1), ("handle_sum", handle)]
            if event.resolved is not None:
                out += [("resolved_known", 1), ("resolved", 1.0 if event.resolved else 0.0)]
            return out
        if isinstance(event, TicketSolved):
            created = event.created_at.timestamp()
            business = self._calendar(event.team).business_seconds(created, ts)
            return [
                ("t_events", 1),
                ("solved", 1),
                ("res_cal", ts - created),
                ("res_bus", business),
            ]
        if isinstance(event, TicketReopened):
            return [("t_events", 1), ("reopened", 1)]
        if isinstance(event, SurveyNps):
            score = event.score
            return [
                ("nps_n", 1),
                ("nps_prom", 1.0 if score >= 9 else 0.0),
                ("nps_det", 1.0 if score <= 6 else 0.0),
            ]
        if isinstance(event, SurveyCsat):
            return [("csat_n", 1), ("csat_sat", 1.0 if event.score >= 4 else 0.0)]
        if isinstance(event, QaEvaluated):
            return [("qa_n", 1), ("qa_sum", event.score)]
        return [("t_events", 1)]
