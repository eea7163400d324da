"""KPI values from a scope cell's base measures: the formulas of CONTRACT.md.

Each function returns ``(value, numerator, denominator)`` or ``None`` when the
KPI has no value (zero denominator, or nothing of its kind counted).
"""

from __future__ import annotations

from collections.abc import Callable

from streams.kpi.catalogue import KPIS, ScopeKind
from streams.kpi.measures import SCALE, SLOT, Measures, wait_max

Value = tuple[float, float | None, float | None]
Formula = Callable[[Measures], Value | None]


def _count(measure: str, presence: str) -> Formula:
    get, present = _get(measure), _get(presence)

    def formula(m: Measures) -> Value | None:
        if present(m) <= 0:
            return None
        count = get(m) / SCALE
        return (count, count, None)

    return formula


def _ratio(num: Callable[[Measures], int], den: Callable[[Measures], int]) -> Formula:
    def formula(m: Measures) -> Value | None:
        denominator = den(m)
        if denominator <= 0:
            return None
        numerator = num(m)
        return (numerator / denominator, numerator / SCALE, denominator / SCALE)

    return formula


def _get(name: str) -> Callable[[Measures], int]:
    """Reads one additive measure of a cell (0 beyond the cell's end)."""
    slot = SLOT[name]
    return lambda m: m[slot] if slot < len(m) else 0


def _mean(total: str, count: str) -> Formula:
    return _ratio(_get(total), _get(count))


_wait_n, _nps_n, _nps_prom, _nps_det = map(_get, ("wait_n", "nps_n", "nps_prom", "nps_det"))
_answered, _abandoned, _exited = map(_get, ("answered", "abandoned", "exited"))
_offered, _short_abandons = map(_get, ("offered", "short_abandons"))


def _max(m: Measures) -> Value | None:
    if _wait_n(m) <= 0:
        return None
    value = wait_max(m)
    return None if value is None else (value, None, None)


def _nps(m: Measures) -> Value | None:
    responses = _nps_n(m)
    if responses <= 0:
        return None
    net = _nps_prom(m) - _nps_det(m)
    return (100 * net / responses, net / SCALE, responses / SCALE)


FORMULAS: dict[tuple[str, str | None], Formula] = {
    ("contacts_offered", None): _count("offered", "c_events"),
    ("contacts_answered", None): _count("answered", "c_events"),
    ("contacts_abandoned", None): _count("abandoned", "c_events"),
    ("short_abandons", None): _count("short_abandons", "c_events"),
    ("contacts_exited", None): _count("exited", "c_events"),
    ("service_level_ratio", None): _ratio(
        _get("answered_sl"),
        lambda m: _answered(m) + _abandoned(m) + _exited(m),
    ),
    ("abandon_ratio", None): _ratio(_abandoned, lambda m: _offered(m) - _short_abandons(m)),
    ("average_speed_of_answer_seconds", None): _mean("asa_sum", "answered"),
    ("max_queue_wait_seconds", None): _max,
    ("average_handle_time_seconds", None): _mean("handle_sum", "completed"),
    ("first_contact_resolution_ratio", None): _mean("resolved", "resolved_known"),
    ("tickets_solved", None): _count("solved", "t_events"),
    ("first_reply_seconds", "calendar"): _mean("fr_cal", "fr_n"),
    ("first_reply_seconds", "business"): _mean("fr_bus", "fr_n"),
    ("next_reply_seconds", "calendar"): _mean("nr_cal", "nr_n"),
    ("next_reply_seconds", "business"): _mean("nr_bus", "nr_n"),
    ("resolution_seconds", "calendar"): _mean("res_cal", "solved"),
    ("resolution_seconds", "business"): _mean("res_bus", "solved"),
    ("reopen_ratio", None): _mean("reopened", "solved"),
    ("nps_score", None): _nps,
    ("csat_ratio", None): _mean("csat_sat", "csat_n"),
    ("quality_score", None): _mean("qa_sum", "qa_n"),
}

BY_SCOPE: dict[ScopeKind, list[tuple[str, str | None, Formula]]] = {
    kind: [
        (kpi.name, clock, FORMULAS[(kpi.name, clock)])
        for kpi in KPIS
        if kind in kpi.scopes
        for clock in (("business", "calendar") if kpi.clocked else (None,))
    ]
    for kind in ScopeKind
}
"""Scope kind -> the (kpi, clock, formula) published at it."""


def derive(kind: ScopeKind, measures: Measures) -> list[tuple[str, str | None, Value]]:
    """Every KPI value of one scope cell."""
    out = []
    for name, clock, formula in BY_SCOPE[kind]:
        value = formula(measures)
        if value is not None:
            out.append((name, clock, value))
    return out
