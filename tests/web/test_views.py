"""API payloads read the merger and the target book: the same values as the gauges."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.config import parse_config
from streams.output.metrics import KpiCollector
from streams.output.records import parse_scope
from streams.targets.evaluate import TargetBook
from streams.web.query import parse_kpis
from streams.web.views import certifications, kpi_records, target_rows
from tests.unit.kpi_helpers import (
    DAY_S,
    HOUR_S,
    T0,
    Engine,
    answered,
    certified,
    completed,
    offered,
    survey,
)

H = T0 + 10 * HOUR_S
TARGETS = """targets:
  - {id: sl, kpi: service_level_ratio, period: hour, scope: {team: support}, op: '>=', value: 0.8}
  - {id: aht, kpi: average_handle_time_seconds_team_agent_average, period: day,
     scope: {team: 'a,b'}, op: '<=', value: 60}
"""


def engine() -> tuple[Engine, TargetBook]:
    config = parse_config(TARGETS)
    eng = Engine(config, grace=DAY_S)
    eng.fold(
        [
            offered("o1", H - HOUR_S),
            answered("a1", H - HOUR_S + 5, 12, agent="ann"),
            completed("c1", H - HOUR_S + 90, 80, agent="ann", resolved=True),
            offered("o2", H, queue="vip"),
            answered("a2", H + 5, 40, queue="vip", agent="bob"),
            answered("a3", H + 6, 50, queue="q|x", agent="<script>alert(1)</script>", team="a,b"),
            completed(
                "c3", H + 70, 100, queue="q|x", agent="<script>alert(1)</script>", team="a,b"
            ),
            completed("c4", H + 71, 10, queue="q|x", agent="z=1", team="a,b"),
            survey("survey.csat", "s1", H + 80, 5, agent="bob"),
            certified("g1", H, "ann", "gdpr", 20),
        ]
    )
    book = TargetBook(config.targets)
    book.evaluate(eng.merger)
    return eng, book


def gauges(eng: Engine, book: TargetBook) -> set[tuple[str, str, str, str, str | None, float]]:
    registry = CollectorRegistry()
    registry.register(KpiCollector(eng.merger, book, lambda: True))
    out = set()
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for s in family.samples:
            if "window" not in s.labels or s.name.startswith("cc_target_"):
                continue  # target states carry a window too; they are no KPI values
            labels = dict(s.labels)
            period, window, clock = (
                labels.pop("period"),
                labels.pop("window"),
                labels.pop("clock", None),
            )
            scope = tuple(sorted(labels.items()))
            out.add((s.name.removeprefix("cc_"), period, window, repr(scope), clock, s.value))
    return out


def test_kpis_are_the_gauges() -> None:
    eng, book = engine()
    records = kpi_records(eng.merger, parse_kpis({}), datetime.now(UTC))
    got = {
        (
            r["kpi"],
            r["period"],
            r["window"],
            repr(parse_scope(r["scope_key"])),
            r["clock"],
            r["value"],
        )
        for r in records
    }
    assert got == gauges(eng, book)
    assert len(got) == len(records)
    assert {r["scope_key"] for r in records} >= {"queue=q\\|x,team=a\\,b", "agent=z\\=1,team=a\\,b"}


def test_filters_keep_exactly_the_matching_records() -> None:
    eng, _ = engine()
    now = datetime.now(UTC)
    every = kpi_records(eng.merger, parse_kpis({}), now)
    cases = [
        ({"team": ["a,b"]}, lambda r: r["scope"].get("team") == "a,b"),
        ({"scope": ["team=a\\,b"]}, lambda r: r["scope"] == {"team": "a,b"}),
        ({"scope": [""]}, lambda r: r["scope"] == {}),
        (
            {"kpi": ["contacts_answered"], "window": ["previous"]},
            lambda r: r["kpi"] == "contacts_answered" and r["window"] == "previous",
        ),
        (
            {"period": ["day"], "agent": ["bob"]},
            lambda r: r["period"] == "day" and r["scope"].get("agent") == "bob",
        ),
    ]
    for params, keep in cases:
        got = kpi_records(eng.merger, parse_kpis(params), now)
        assert got == [r for r in every if keep(r)], params
        assert got, params
    averages = kpi_records(
        eng.merger,
        parse_kpis(
            {"scope": ["team=a\\,b"], "kpi": ["average_handle_time_seconds_team_agent_average"]}
        ),
        now,
    )
    assert {r["value"] for r in averages} == {55.0}, "mean of the agents' 100 s and 10 s"


def test_targets_and_certifications_are_the_books() -> None:
    eng, book = engine()
    rows = target_rows(book.states.values(), eng.merger)
    assert {(r["target"], r["scope_key"], r["state"]) for r in rows} == {
        (s.target.id, ",".join(f"{k}={v}" for k, v in s.scope).replace("a,b", "a\\,b"), s.state)
        for s in book.states.values()
    }
    aht = next(r for r in rows if r["target"] == "aht")
    assert (aht["value"], aht["state"], aht["scope"]) == (55.0, "met", {"team": "a,b"})
    certs = certifications(eng.merger)
    assert certs["teams"] == [
        {"team": "support", "certifications_expired": 0, "certifications_expiring_30d": 1}
    ]
    assert certs["agents"][0]["agent"] == "ann"
