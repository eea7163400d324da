"""What one event adds to its hour cell, while a batch is folded, in native fields.

:mod:`streams.kpi.measures` stores a cell as ``array('q')``, compact for the many
cells the merger keeps; but mypyc does not know the array's type, so every slot
access on it is a generic call. While a batch is folded, each of its hour cells
is a :class:`Cell` instead, a compiled class with an integer field per measure
(``cell.offered += SCALE`` is a field access on a C struct), and
:meth:`Cell.to_array` gives the array the fold used to build slot by slot, its
length included: a cell reaches as far as the highest slot any of its events
writes. The fields follow :data:`streams.kpi.measures.NAMES` (checked in
tests/unit/test_cell.py).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Final, final

from streams.config import AppConfig
from streams.events.records import Record
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.measures import ABSENT, SCALE, Measures, max_key

OFFERED: Final = 1
WAIT_MAX: Final = 6
ABANDONED: Final = 7
SHORT_ABANDONS: Final = 8
EXITED: Final = 9
HANDLE_SUM: Final = 11
RESOLVED: Final = 13
T_EVENTS: Final = 14
RES_BUS: Final = 17
REOPENED: Final = 18
FR_BUS: Final = 21
NR_BUS: Final = 24
NPS_DET: Final = 27
CSAT_SAT: Final = 29
QA_SUM: Final = 31
_MAX_QUEUES: Final = 4096


def exact_round(value: float) -> int:
    """``round(value)`` of a finite float (half to even), computed in place: mypyc calls
    the builtin through a look-up in ``builtins`` and a boxed float."""
    whole = int(value)
    rest = value - whole  # exact: trunc(value) and value share their leading bits
    if rest > 0.5 or (rest == 0.5 and whole & 1):
        return whole + 1
    if rest < -0.5 or (rest == -0.5 and whole & 1):
        return whole - 1
    return whole


@final
class Cell:
    """Additive measures in millionths, the max wait as its ``max_key`` (and as a float,
    to compare before computing a key), and how many slots the cell reaches."""

    length: int
    c_events: int
    offered: int
    answered: int
    answered_sl: int
    asa_sum: int
    wait_n: int
    abandoned: int
    short_abandons: int
    exited: int
    completed: int
    handle_sum: int
    resolved_known: int
    resolved: int
    t_events: int
    solved: int
    res_cal: int
    res_bus: int
    reopened: int
    fr_n: int
    fr_cal: int
    fr_bus: int
    nr_n: int
    nr_cal: int
    nr_bus: int
    nps_n: int
    nps_prom: int
    nps_det: int
    csat_n: int
    csat_sat: int
    qa_n: int
    qa_sum: int
    wait_key: int
    wait_top: float

    def __init__(self) -> None:
        self.length = 0
        self.c_events = 0
        self.offered = 0
        self.answered = 0
        self.answered_sl = 0
        self.asa_sum = 0
        self.wait_n = 0
        self.abandoned = 0
        self.short_abandons = 0
        self.exited = 0
        self.completed = 0
        self.handle_sum = 0
        self.resolved_known = 0
        self.resolved = 0
        self.t_events = 0
        self.solved = 0
        self.res_cal = 0
        self.res_bus = 0
        self.reopened = 0
        self.fr_n = 0
        self.fr_cal = 0
        self.fr_bus = 0
        self.nr_n = 0
        self.nr_cal = 0
        self.nr_bus = 0
        self.nps_n = 0
        self.nps_prom = 0
        self.nps_det = 0
        self.csat_n = 0
        self.csat_sat = 0
        self.qa_n = 0
        self.qa_sum = 0
        self.wait_key = ABSENT
        self.wait_top = 0.0

    def reach(self, slot: int) -> None:
        if self.length <= slot:
            self.length = slot + 1

    def raise_max(self, value: float) -> None:
        """Fold ``value`` into the max measure; equal floats (0.0 and -0.0) compare keys."""
        if self.wait_key == ABSENT or value > self.wait_top:
            self.wait_key = max_key(value)
            self.wait_top = value
        elif value == self.wait_top:
            key = max_key(value)
            if key > self.wait_key:
                self.wait_key = key

    def reply_sample(self, first: bool, sign: float, calendar: float, business: float) -> None:
        """A first-reply (``first``) or next-reply sample, ``sign`` -1.0 to retract it."""
        count = exact_round(sign * SCALE)
        calendar_micros = exact_round(sign * calendar * SCALE)
        business_micros = exact_round(sign * business * SCALE)
        if first:
            self.reach(FR_BUS)
            self.fr_n += count
            self.fr_cal += calendar_micros
            self.fr_bus += business_micros
        else:
            self.reach(NR_BUS)
            self.nr_n += count
            self.nr_cal += calendar_micros
            self.nr_bus += business_micros

    def to_array(self) -> Measures:
        """The cell as :mod:`streams.kpi.measures` stores it."""
        values = [
            self.c_events,
            self.offered,
            self.answered,
            self.answered_sl,
            self.asa_sum,
            self.wait_n,
            self.wait_key,
            self.abandoned,
            self.short_abandons,
            self.exited,
            self.completed,
            self.handle_sum,
            self.resolved_known,
            self.resolved,
            self.t_events,
            self.solved,
            self.res_cal,
            self.res_bus,
            self.reopened,
            self.fr_n,
            self.fr_cal,
            self.fr_bus,
            self.nr_n,
            self.nr_cal,
            self.nr_bus,
            self.nps_n,
            self.nps_prom,
            self.nps_det,
            self.csat_n,
            self.csat_sat,
            self.qa_n,
            self.qa_sum,
        ]
        return array("q", values[: self.length])


class MeasureFolder:
    """Adds a validated event to its cell (reply samples excluded): one method per
    event type writes its fields; counts add the constant :data:`SCALE`, only
    natural-unit values are rounded; a cell reaches the highest slot the event type
    writes. The fold calls the method of the event's type, with the event as its dict."""

    def __init__(self, config: AppConfig, calendars: Callable[[str], BusinessCalendar]) -> None:
        self._config = config
        self._calendar = calendars
        self._service_level: dict[str, float] = {}
        self._short_abandon: dict[str, float] = {}

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

    def offered(self, cell: Cell) -> None:
        cell.reach(OFFERED)
        cell.c_events += SCALE
        cell.offered += SCALE

    def answered(self, event: Record, cell: Cell) -> None:
        wait: float = event["wait_seconds"]
        cell.reach(WAIT_MAX)
        cell.c_events += SCALE
        cell.answered += SCALE
        if wait <= self._threshold(self._service_level, event["queue"], False):
            cell.answered_sl += SCALE
        cell.asa_sum += exact_round(wait * SCALE)
        cell.wait_n += SCALE
        cell.raise_max(wait)

    def abandoned(self, event: Record, cell: Cell) -> None:
        wait: float = event["wait_seconds"]
        reason: str | None = event.get("reason")
        cell.c_events += SCALE
        if reason is not None and reason != "hangup":
            cell.reach(EXITED)
            cell.exited += SCALE
        elif wait < self._threshold(self._short_abandon, event["queue"], True):
            cell.reach(SHORT_ABANDONS)
            cell.short_abandons += SCALE
        else:
            cell.reach(ABANDONED)
            cell.abandoned += SCALE
        cell.wait_n += SCALE
        cell.raise_max(wait)

    def completed(self, event: Record, cell: Cell) -> None:
        talk: float = event["talk_seconds"]
        hold: float | None = event.get("hold_seconds")
        wrap: float | None = event.get("wrap_seconds")
        handle = talk + (hold or 0) + (wrap or 0)
        resolved: bool | None = event.get("resolved")
        cell.reach(HANDLE_SUM if resolved is None else RESOLVED)
        cell.c_events += SCALE
        cell.completed += SCALE
        cell.handle_sum += exact_round(handle * SCALE)
        if resolved is not None:
            cell.resolved_known += SCALE
            if resolved:
                cell.resolved += SCALE

    def ticket_event(self, cell: Cell) -> None:
        cell.reach(T_EVENTS)
        cell.t_events += SCALE

    def solved(self, team: str, created: float, ts: float, cell: Cell) -> None:
        business = self._calendar(team).business_seconds(created, ts)
        cell.reach(RES_BUS)
        cell.t_events += SCALE
        cell.solved += SCALE
        cell.res_cal += exact_round((ts - created) * SCALE)
        cell.res_bus += exact_round(business * SCALE)

    def reopened(self, cell: Cell) -> None:
        cell.reach(REOPENED)
        cell.t_events += SCALE
        cell.reopened += SCALE

    def nps(self, event: Record, cell: Cell) -> None:
        score: int = event["score"]
        cell.reach(NPS_DET)
        cell.nps_n += SCALE
        if score >= 9:
            cell.nps_prom += SCALE
        elif score <= 6:
            cell.nps_det += SCALE

    def csat(self, event: Record, cell: Cell) -> None:
        score: int = event["score"]
        cell.reach(CSAT_SAT)
        cell.csat_n += SCALE
        if score >= 4:
            cell.csat_sat += SCALE

    def qa(self, event: Record, cell: Cell) -> None:
        score: float = event["score"]
        cell.reach(QA_SUM)
        cell.qa_n += SCALE
        cell.qa_sum += exact_round(score * SCALE)
