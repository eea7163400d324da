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
from streams.events.decode import epoch
from streams.events.models import (
    AnyEvent,
    ContactAbandoned,
    ContactAnswered,
    ContactCompleted,
    ContactOffered,
    QaEvaluated,
    SurveyCsat,
    SurveyNps,
    TicketCreated,
    TicketReopened,
    TicketReplied,
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
        reach(target, slot)
        if slot == WAIT_MAX:
            key = max_key(value)
            if key > target[slot]:
                target[slot] = key
        else:
            target[slot] += round(value * SCALE)


def merge_into(target: Measures, delta: Measures) -> None:
    """Fold one cell's stored measures into another."""
    reach(target, len(delta) - 1)
    for slot, value in enumerate(delta):
        if slot == WAIT_MAX:
            if value > target[slot]:
                target[slot] = value
        elif value:
            target[slot] += value


Delta: TypeAlias = tuple[list[tuple[int, int]], int, int]
"""A cell prepared for merging into many: (non-zero additive slots, max key, length)."""


def delta_of(cell: Measures) -> Delta:
    """``cell`` as a :data:`Delta`: a partial's hour cell merges into about 30 cells
    (every scope, hour to month), so its zeros and its max slot are sorted out once."""
    additive = [(slot, value) for slot, value in enumerate(cell) if value and slot != WAIT_MAX]
    top = cell[WAIT_MAX] if len(cell) > WAIT_MAX else ABSENT
    return additive, top, len(cell)


def merge_delta(target: Measures, delta: Delta) -> None:
    """Fold a :func:`delta_of` into a cell: the same as :func:`merge_into` of its cell."""
    additive, top, length = delta
    reach(target, length - 1)
    for slot, value in additive:
        target[slot] += value
    if length > WAIT_MAX and top > target[WAIT_MAX]:
        target[WAIT_MAX] = top


def from_names(measures: Mapping[str, float]) -> Measures:
    """A cell from stored measures by name (partials written before the slot layout)."""
    cell = new_cell()
    for name, value in measures.items():
        slot = SLOT[name]
        reach(cell, slot)
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


def reach(cell: Measures, slot: int) -> None:
    """Extend ``cell`` so that ``slot`` exists."""
    if len(cell) <= slot:
        cell.extend(_EMPTY[len(cell) : slot + 1])


def raise_max(cell: Measures, value: float) -> None:
    """Fold ``value`` into the max measure of a cell that reaches it."""
    key = max_key(value)
    if key > cell[WAIT_MAX]:
        cell[WAIT_MAX] = key


_MAX_QUEUES = 4096


class MeasureFolder:
    """Adds a validated event to its cell (reply samples excluded).

    One method per event type writes its slots in place: counts add the constant
    :data:`SCALE`, only natural-unit values are rounded, and no list of
    contributions is built per event (docs/performance.md, "Trim the fold"). A cell
    is extended as far as the highest slot the event type writes.
    """

    def __init__(self, config: AppConfig, calendars: Callable[[str], BusinessCalendar]) -> None:
        self._config = config
        self._calendar = calendars
        self._service_level: dict[str, float] = {}
        self._short_abandon: dict[str, float] = {}

    def add(self, event: AnyEvent, ts: float, cell: Measures) -> None:
        """Add ``event`` (occurred at epoch ``ts``) to ``cell``; certifications have no cell.

        Dispatch on the exact type: ``isinstance`` on a pydantic model class goes
        through ``ABCMeta.__instancecheck__``, which costs more than the adding."""
        kind = type(event)
        if kind is ContactOffered:
            self._offered(cell)
        elif kind is ContactAnswered:
            self._answered(event, cell)  # type: ignore[arg-type]
        elif kind is ContactCompleted:
            self._completed(event, cell)  # type: ignore[arg-type]
        elif kind is TicketCreated or kind is TicketReplied:
            self._ticket_event(cell)
        elif kind is ContactAbandoned:
            self._abandoned(event, cell)  # type: ignore[arg-type]
        elif kind is TicketSolved:
            self._solved(event, ts, cell)  # type: ignore[arg-type]
        elif kind is SurveyCsat:
            self._csat(event, cell)  # type: ignore[arg-type]
        elif kind is SurveyNps:
            self._nps(event, cell)  # type: ignore[arg-type]
        elif kind is TicketReopened:
            self._reopened(cell)
        elif kind is QaEvaluated:
            self._qa(event, cell)  # type: ignore[arg-type]
        else:
            raise KeyError(kind)

    def _threshold(self, cache: dict[str, float], queue: str, short: bool) -> float:
        """A queue's threshold from the config, kept per queue name (a bounded cache:
        queue names come from events)."""
        found = cache.get(queue)
        if found is None:
            settings = self._config.queue(queue)
            found = settings.short_abandon_seconds if short else settings.service_level_seconds
            if len(cache) < _MAX_QUEUES:
                cache[queue] = found
        return found

    def _offered(self, cell: Measures) -> None:
        reach(cell, OFFERED)
        cell[C_EVENTS] += SCALE
        cell[OFFERED] += SCALE

    def _answered(self, event: ContactAnswered, cell: Measures) -> None:
        wait = event.wait_seconds
        reach(cell, WAIT_MAX)
        cell[C_EVENTS] += SCALE
        cell[ANSWERED] += SCALE
        if wait <= self._threshold(self._service_level, event.queue, False):
            cell[ANSWERED_SL] += SCALE
        cell[ASA_SUM] += round(wait * SCALE)
        cell[WAIT_N] += SCALE
        raise_max(cell, wait)

    def _abandoned(self, event: ContactAbandoned, cell: Measures) -> None:
        wait = event.wait_seconds
        if event.reason not in (None, "hangup"):
            kind = EXITED
        elif wait < self._threshold(self._short_abandon, event.queue, True):
            kind = SHORT_ABANDONS
        else:
            kind = ABANDONED
        reach(cell, kind)
        cell[C_EVENTS] += SCALE
        cell[kind] += SCALE
        cell[WAIT_N] += SCALE
        raise_max(cell, wait)

    def _completed(self, event: ContactCompleted, cell: Measures) -> None:
        handle = event.talk_seconds + (event.hold_seconds or 0) + (event.wrap_seconds or 0)
        resolved = event.resolved
        reach(cell, HANDLE_SUM if resolved is None else RESOLVED)
        cell[C_EVENTS] += SCALE
        cell[COMPLETED] += SCALE
        cell[HANDLE_SUM] += round(handle * SCALE)
        if resolved is not None:
            cell[RESOLVED_KNOWN] += SCALE
            if resolved:
                cell[RESOLVED] += SCALE

    def _ticket_event(self, cell: Measures) -> None:
        reach(cell, T_EVENTS)
        cell[T_EVENTS] += SCALE

    def _solved(self, event: TicketSolved, ts: float, cell: Measures) -> None:
        created = epoch(event.created_at)
        business = self._calendar(event.team).business_seconds(created, ts)
        reach(cell, RES_BUS)
        cell[T_EVENTS] += SCALE
        cell[SOLVED] += SCALE
        cell[RES_CAL] += round((ts - created) * SCALE)
        cell[RES_BUS] += round(business * SCALE)

    def _reopened(self, cell: Measures) -> None:
        reach(cell, REOPENED)
        cell[T_EVENTS] += SCALE
        cell[REOPENED] += SCALE

    def _nps(self, event: SurveyNps, cell: Measures) -> None:
        reach(cell, NPS_DET)
        cell[NPS_N] += SCALE
        if event.score >= 9:
            cell[NPS_PROM] += SCALE
        elif event.score <= 6:
            cell[NPS_DET] += SCALE

    def _csat(self, event: SurveyCsat, cell: Measures) -> None:
        reach(cell, CSAT_SAT)
        cell[CSAT_N] += SCALE
        if event.score >= 4:
            cell[CSAT_SAT] += SCALE

    def _qa(self, event: QaEvaluated, cell: Measures) -> None:
        reach(cell, QA_SUM)
        cell[QA_N] += SCALE
        cell[QA_SUM] += round(event.score * SCALE)
