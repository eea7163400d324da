"""Compare what the worker published with what the oracle expects.

Values are compared with a relative tolerance: the oracle sums with `math.fsum`
(correctly rounded), the engine in whatever order its batches and merges give,
so means may differ in the last bits while counts, numerators of counts and
denominators must match exactly.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tests.oracle.kpis import Value

_FIELDS = ("value", "numerator", "denominator")


def _same(expected: float | None, actual: Any, rel_tol: float) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return False
    return math.isclose(expected, actual, rel_tol=rel_tol, abs_tol=rel_tol)


def diff_finals(
    expected: Mapping[str, Value],
    published: Mapping[str, Mapping[str, Any]],
    rel_tol: float = 1e-9,
    limit: int = 50,
) -> list[str]:
    """Human-readable differences, empty when they agree.

    `expected` is `OracleResult.finals`; `published` maps aggregate key to the
    record published with `final: true` for it (the record's own fields are read).
    """
    problems: list[str] = []
    for key in sorted(expected.keys() - published.keys()):
        problems.append(f"missing: {key} expected {expected[key]}")
    for key in sorted(published.keys() - expected.keys()):
        record = published[key]
        problems.append(f"unexpected: {key} = {tuple(record.get(f) for f in _FIELDS)}")
    for key in sorted(expected.keys() & published.keys()):
        record = published[key]
        actual = tuple(record.get(name) for name in _FIELDS)
        if not all(_same(e, a, rel_tol) for e, a in zip(expected[key], actual, strict=True)):
            problems.append(f"differs: {key} expected {expected[key]} got {actual}")
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return problems


def diff_records(
    expected: Mapping[str, Mapping[str, Any]],
    published: Mapping[str, Mapping[str, Any]],
    rel_tol: float = 1e-9,
) -> list[str]:
    """Like `diff_finals`, on whole records: also checks every other field but updated_at."""
    values = {key: tuple(record[name] for name in _FIELDS) for key, record in expected.items()}
    problems = diff_finals(values, published, rel_tol, limit=10**9)
    for key in sorted(expected.keys() & published.keys()):
        for name, want in expected[key].items():
            if name not in _FIELDS and published[key].get(name) != want:
                problems.append(f"differs: {key} field {name} expected {want!r}")
    return problems
