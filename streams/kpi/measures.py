"""Base measures: what one event adds to its cell, from which every KPI is derived.

A cell holds additive measures (sums and counts) and one max measure. Additive
measures are kept as integers in millionths (micro-seconds, micro-counts):
integer addition is exact, so a cell is the same whatever order its events
arrived in, and a retraction cancels exactly. The max measure merges by max
(it is never retracted). Each contact is judged by its own queue's settings
here, at fold time, so coarser scopes need no per-queue knowledge.

A cell is an ``array('q')`` with one fixed slot per measure (:data:`NAMES`),
about a quarter of the memory of a dict of numbers. The array only reaches as
far as the highest slot a cell has used (contact measures come first, so a
contact-only cell stops after 14 slots); a slot beyond its end reads as zero.
The max measure is stored as :func:`max_key` of its value: a 64-bit integer
ordered like the float, decoded exactly by :func:`max_value`; :data:`ABSENT`
means no value yet.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Callable, Iterable, Mapping
from typing import TypeAlias

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

NAMES: tuple[str, ...] = (
    # contacts: most cells hold nothing else
    "c_events",
    "offered",
    "answered",
    "answered_sl",
    "asa_sum",
    "wait_n",
    "wait_max",
    "abandoned",
    "short_abandons",
    "exited",
    "completed",
    "handle_sum",
    "resolved_known",
    "resolved",
    # tickets and reply samples
    "t_events",
    "solved",
    "res_cal",
    "res_bus",
    "reopened",
    "fr_n",
    "fr_cal",
    "fr_bus",
    "nr_n",
    "nr_cal",
    "nr_bus",
    # surveys and quality
    "nps_n",
    "nps_prom",
    "nps_det",
    "csat_n",
    "csat_sat",
    "qa_n",
    "qa_sum",
)
"""Every measure, in slot order."""
SLOT: dict[str, int] = {name: index for index, name in enumerate(NAMES)}
MAX_MEASURES = frozenset({"wait_max"})
WAIT_MAX = SLOT["wait_max"]
SCALE = 1_000_000
"""Additive measures are stored as ``round(value * SCALE)``."""
ABSENT = -(2**63)
"""The max slot of a cell without a value (below :func:`max_key` of every float)."""

Measures: TypeAlias = "array[int]"
"""One cell: ``array('q')``, slot ``SLOT[name]`` holds measure ``name``."""
Contribution = list[tuple[int, float]]
"""(slot, value in natural units) pairs."""

_EMPTY = array("q", [ABSENT if slot == WAIT_MAX else 0 for slot in range(len(NAMES))])
_DOUBLE = struct.Struct("<d")
_INT64 = struct.Struct("<q")
_UINT64 = struct.Struct("<Q")
_MAGNITUDE = 2**63 - 1

C_EVENTS = SLOT["c_events"]
OFFERED = SLOT["offered"]
ANSWERED = SLOT["answered"]
ANSWERED_SL = SLOT["answered_sl"]
ASA_SUM = SLOT["asa_sum"]
WAIT_N = SLOT["wait_n"]
ABANDONED = SLOT["abandoned"]
SHORT_ABANDONS = SLOT["short_abandons"]
EXITED = SLOT["exited"]
COMPLETED = SLOT["completed"]
HANDLE_SUM = SLOT["handle_sum"]
RESOLVED_KNOWN = SLOT["resolved_known"]
RESOLVED = SLOT["resolved"]
T_EVENTS = SLOT["t_events"]
SOLVED = SLOT["solved"]
RES_CAL = SLOT["res_cal"]
RES_BUS = SLOT["res_bus"]
REOPENED = SLOT["reopened"]
NPS_N = SLOT["nps_n"]
NPS_PROM = SLOT["nps_prom"]
NPS_DET = SLOT["nps_det"]
CSAT_N = SLOT["csat_n"]
CSAT_SAT = SLOT["csat_sat"]
QA_N = SLOT["qa_n"]
QA_SUM = SLOT["qa_sum"]


def max_key(value: float) -> int:
    """A 64-bit integer that orders like ``value`` (IEEE 754 bits, negatives flipped)."""
    bits: int = _INT64.unpack(_DOUBLE.pack(value))[0]
    return bits if bits >= 0 else -(bits & _MAGNITUDE) - 1


def max_value(key: int) -> float:
    """The float :func:`max_key` was computed from (bit for bit)."""
    packed = _INT64.pack(key) if key >= 0 else _UINT64.pack((-key - 1) | (1 << 63))
    value: float = _DOUBLE.unpack(packed)[0]
    return value


def new_cell() -> Measures:
    return array("q")


def get(cell: Measures, slot: int) -> int:
    """An additive slot's value (0 beyond the cell's end)."""
    return cell[slot] if slot < len(cell) else 0


def wait_max(cell: Measures) -> float | None:
    """The max wait, or None when nothing was counted."""
    if len(cell) <= WAIT_MAX or cell[WAIT_MAX] == ABSENT:
        return None
    return max_value(cell[WAIT_MAX])


def add_items(target: Measures, items: Iterable[tuple[int, float]]) -> None:
    """Fold contributions ``(slot, value in natural units)`` into ``target``."""
    for slot, value in items:
        if slot >= len(target):
            target.extend(_EMPTY[len(target) : slot + 1])
        if slot == WAIT_MAX:
            key = max_key(value)
            if key > target[slot]:
                target[slot] = key
        else:
            target[slot] += round(value * SCALE)


def merge_into(target: Measures, delta: Measures) -> None:
    """Fold one cell's stored measures into another."""
    if len(delta) > len(target):
        target.extend(_EMPTY[len(target) : len(delta)])
    for slot, value in enumerate(delta):
        if slot == WAIT_MAX:
            if value > target[slot]:
                target[slot] = value
        elif value:
            target[slot] += value


def from_names(measures: Mapping[str, float]) -> Measures:
    """A cell from stored measures by name (partials written before the slot layout)."""
    cell = new_cell()
    for name, value in measures.items():
        slot = SLOT[name]
        if slot >= len(cell):
            cell.extend(_EMPTY[len(cell) : slot + 1])
        cell[slot] = max_key(value) if slot == WAIT_MAX else int(value)
    return cell


def as_names(cell: Measures) -> dict[str, float]:
    """The measures of a cell by name, natural units for the max (zeros and no max left out)."""
    out: dict[str, float] = {}
    for slot, value in enumerate(cell):
        if slot == WAIT_MAX:
            if value != ABSENT:
                out[NAMES[slot]] = max_value(value)
        elif value:
            out[NAMES[slot]] = value
    return out


class MeasureFolder:
    """Turns validated events into measure contributions (reply samples excluded)."""

    def __init__(self, config: AppConfig, calendars: Callable[[str], BusinessCalendar]) -> None:
        self._config = config
        self._calendar = calendars

    def contributions(self, event: AnyEvent, ts: float) -> Contribution:
        if isinstance(event, ContactOffered):
            return [(C_EVENTS, 1), (OFFERED, 1)]
        if isinstance(event, ContactAnswered):
            queue = self._config.queue(event.queue)
            wait = event.wait_seconds
            in_sl = 1.0 if wait <= queue.service_level_seconds else 0.0
            return [
                (C_EVENTS, 1),
                (ANSWERED, 1),
                (ANSWERED_SL, in_sl),
                (ASA_SUM, wait),
                (WAIT_N, 1),
                (WAIT_MAX, wait),
            ]
        if isinstance(event, ContactAbandoned):
            queue = self._config.queue(event.queue)
            wait = event.wait_seconds
            if event.reason not in (None, "hangup"):
                kind = EXITED
            elif wait < queue.short_abandon_seconds:
                kind = SHORT_ABANDONS
            else:
                kind = ABANDONED
            return [(C_EVENTS, 1), (kind, 1), (WAIT_N, 1), (WAIT_MAX, wait)]
        if isinstance(event, ContactCompleted):
            handle = event.talk_seconds + (event.hold_seconds or 0) + (event.wrap_seconds or 0)
            out: Contribution = [(C_EVENTS, 1), (COMPLETED, 1), (HANDLE_SUM, handle)]
            if event.resolved is not None:
                out += [(RESOLVED_KNOWN, 1), (RESOLVED, 1.0 if event.resolved else 0.0)]
            return out
        if isinstance(event, TicketSolved):
            created = event.created_at.timestamp()
            business = self._calendar(event.team).business_seconds(created, ts)
            return [
                (T_EVENTS, 1),
                (SOLVED, 1),
                (RES_CAL, ts - created),
                (RES_BUS, business),
            ]
        if isinstance(event, TicketReopened):
            return [(T_EVENTS, 1), (REOPENED, 1)]
        if isinstance(event, SurveyNps):
            score = event.score
            return [
                (NPS_N, 1),
                (NPS_PROM, 1.0 if score >= 9 else 0.0),
                (NPS_DET, 1.0 if score <= 6 else 0.0),
            ]
        if isinstance(event, SurveyCsat):
            return [(CSAT_N, 1), (CSAT_SAT, 1.0 if event.score >= 4 else 0.0)]
        if isinstance(event, QaEvaluated):
            return [(QA_N, 1), (QA_SUM, event.score)]
        return [(T_EVENTS, 1)]
