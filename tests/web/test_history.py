"""The history store against a plain dict of the final records it was given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.output.records import aggregate_key
from streams.web.history import HistoryStore
from streams.web.query import BadRequest, parse_history

T0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
SCOPES = [(), (("team", "a,b"),), (("team", "c"),), (("agent", "x"), ("team", "c"))]
OFFSETS = [0, 120, -300, 330]


def record(
    kpi: str,
    period: str,
    start: float,
    scope: tuple[tuple[str, str], ...],
    offset: int,
    value: float,
    final: bool = True,
    numerator: float | None = None,
    clock: str | None = None,
) -> dict[str, Any]:
    zone = timezone(timedelta(minutes=offset))
    length = 3600 if period == "hour" else 86400
    return {
        "kpi": kpi,
        "period": period,
        "window_start": datetime.fromtimestamp(start, zone).isoformat(),
        "window_end": datetime.fromtimestamp(start + length, zone).isoformat(),
        "scope": dict(scope),
        "clock": clock,
        "value": value,
        "numerator": numerator,
        "denominator": None if numerator is None else numerator * 2,
        "final": final,
        "updated_at": datetime.fromtimestamp(start + length + 301, UTC).isoformat(
            timespec="seconds"
        ),
    }


records = st.builds(
    record,
    kpi=st.sampled_from(["csat_ratio", "contacts_offered"]),
    period=st.sampled_from(["hour", "day"]),
    start=st.integers(0, 40).map(lambda n: T0 + n * 3600),
    scope=st.sampled_from(SCOPES),
    offset=st.sampled_from(OFFSETS),
    value=st.floats(-1e6, 1e6, allow_nan=False),
    final=st.booleans(),
    numerator=st.none() | st.floats(0, 1e6, allow_nan=False),
    clock=st.none() | st.just("business"),
)
queries = st.fixed_dictionaries(
    {},
    optional={
        "kpi": st.sampled_from(["csat_ratio", "contacts_offered"]),
        "period": st.sampled_from(["hour", "day"]),
        "team": st.sampled_from(["a,b", "c"]),
        "scope": st.sampled_from(["", "team=a\\,b", "agent=x,team=c"]),
        "clock": st.just("business"),
        "from": st.integers(0, 40).map(
            lambda n: datetime.fromtimestamp(T0 + n * 3600, UTC).isoformat()
        ),
        "to": st.integers(0, 40).map(
            lambda n: datetime.fromtimestamp(T0 + n * 3600, UTC).isoformat()
        ),
    },
)


def reference(
    given_records: list[dict[str, Any]],
    tombstones: list[dict[str, Any]],
    params: dict[str, str],
) -> list[dict[str, Any]]:
    def window(kpi: str, period: str, start: str, scope: Any, clock: Any) -> tuple[Any, ...]:
        # one window per instant, whatever offset its start was written with
        return (kpi, period, datetime.fromisoformat(start).timestamp(), scope, clock)

    latest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in given_records:
        scope = tuple(sorted(r["scope"].items()))
        if r["final"]:
            latest[window(r["kpi"], r["period"], r["window_start"], scope, r["clock"])] = r
    for r in tombstones:
        scope = tuple(sorted(r["scope"].items()))
        latest.pop(window(r["kpi"], r["period"], r["window_start"], scope, r["clock"]), None)
    out = []
    for r in latest.values():
        scope = tuple(sorted(r["scope"].items()))
        start = datetime.fromisoformat(r["window_start"]).timestamp()
        text = ",".join(f"{n}={v.replace(',', chr(92) + ',')}" for n, v in scope)
        if any(
            [
                "kpi" in params and r["kpi"] != params["kpi"],
                "period" in params and r["period"] != params["period"],
                "clock" in params and r["clock"] != params["clock"],
                "team" in params and r["scope"].get("team") != params["team"],
                "scope" in params and text != params["scope"],
                "from" in params and start < datetime.fromisoformat(params["from"]).timestamp(),
                "to" in params and start >= datetime.fromisoformat(params["to"]).timestamp(),
            ]
        ):
            continue
        out.append({**r, "scope_key": text})
    return out


def canonical(rows: list[dict[str, Any]]) -> list[str]:
    """Comparable rows (repr: clocks and numerators may be None)."""
    return sorted(
        repr(
            (
                datetime.fromisoformat(r["window_start"]).timestamp(),
                r["kpi"],
                r["period"],
                r["window_end"],
                r["scope_key"],
                r["clock"],
                r["value"],
                r["numerator"],
                r["denominator"],
                r["updated_at"],
                tuple(sorted(r["scope"].items())),
            )
        )
        for r in rows
    )


@settings(deadline=None, max_examples=150)
@given(st.lists(records, max_size=40), st.data(), queries)
def test_store_answers_like_the_reference(
    given_records: list[dict[str, Any]], data: st.DataObject, params: dict[str, str]
) -> None:
    store = HistoryStore(hour_days=365)
    for r in given_records:
        store.add(r)
    finals = [r for r in given_records if r["final"]]
    tombstones = []
    if finals:
        for r in data.draw(st.lists(st.sampled_from(finals), max_size=3)):
            scope = tuple(sorted(r["scope"].items()))
            key = aggregate_key(r["kpi"], r["period"], r["window_start"], scope, r["clock"])
            tombstones.append(r)
            store.remove_key(key)
    if "from" in params and "to" in params and params["to"] < params["from"]:
        params["from"], params["to"] = params["to"], params["from"]
    got = store.query(parse_history({k: [v] for k, v in params.items()}))
    want = reference(given_records, tombstones, params)
    assert canonical(got) == canonical(want)
    starts = [datetime.fromisoformat(r["window_start"]).timestamp() for r in got]
    assert starts == sorted(starts), "oldest first"
    assert store.windows == len(reference(given_records, tombstones, {}))
    assert store.skipped == sum(not r["final"] for r in given_records)


def test_hour_windows_are_kept_for_hour_days_only() -> None:
    store = HistoryStore(hour_days=2)
    for n in range(24 * 5):
        store.add(record("contacts_offered", "hour", T0 + n * 3600, (), 0, float(n)))
    store.add(record("contacts_offered", "day", T0, (), 0, 1.0))
    hours = store.query(parse_history({"period": ["hour"]}))
    newest = T0 + (24 * 5 - 1) * 3600
    oldest = datetime.fromisoformat(hours[0]["window_start"]).timestamp()
    assert newest - 3 * 86400 <= oldest <= newest - 2 * 86400 + 3600
    assert len(hours) <= 3 * 24 + 1
    assert hours[-1]["value"] == 24 * 5 - 1
    assert store.query(parse_history({"period": ["day"]}))[0]["value"] == 1.0
    # a final for an hour older than the horizon is not kept
    assert not store.add(record("contacts_offered", "hour", T0, (), 0, 0.0))


def test_bad_records_are_counted_not_kept() -> None:
    store = HistoryStore(hour_days=1)
    assert not store.add({"final": True, "kpi": "x"})
    assert not store.add(
        {**record("csat_ratio", "day", T0, (), 0, 1.0), "window_start": "nonsense"}
    )
    assert not store.remove_key("no|key")
    assert store.skipped == 3 and store.windows == 0


def test_a_query_over_the_limit_is_refused_with_its_size() -> None:
    store = HistoryStore(hour_days=30)
    for n in range(50):
        store.add(record("contacts_offered", "hour", T0 + n * 3600, (), 0, float(n)))
    query = parse_history({"period": ["hour"]})
    assert len(store.select(query, limit=50)) == 1
    with pytest.raises(BadRequest, match="matches 50 windows, more than 49"):
        store.select(query, limit=49)
    assert (
        len(
            store.query(parse_history({"to": [datetime.fromtimestamp(T0 + 7200, UTC).isoformat()]}))
        )
        == 2
    )
