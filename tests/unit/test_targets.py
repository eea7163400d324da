"""TargetBook: met/breached against the current window (caps, ratios and means with
enough volume), and one record per transition."""

from __future__ import annotations

import pytest

from streams.config import parse_config
from streams.kpi.windows import DAY, HOUR
from streams.targets.evaluate import OPS, TargetBook, TargetState

from .kpi_helpers import (
    DAY_S,
    HOUR_S,
    T0,
    Engine,
    abandoned,
    answered,
    certified,
    completed,
    offered,
    qa,
    reply,
    scope,
)

H = T0 + 10 * HOUR_S


def setup(*targets: str) -> tuple[Engine, TargetBook]:
    config = parse_config("targets:\n" + "".join(f"  - {t}\n" for t in targets))
    return Engine(config, grace=DAY_S), TargetBook(config.targets)


def summary(states: list[TargetState]) -> list[tuple[str, tuple, float, bool]]:
    return sorted((s.target.id, s.scope, s.value, s.breached) for s in states)


ABANDON = (
    "{id: abandon, kpi: abandon_ratio, period: hour, scope: {team: support}, op: '<=', "
    "value: 0.25, min_volume: 0}"
)


def test_transitions_emit_once_each() -> None:
    engine, book = setup(ABANDON)
    assert book.evaluate(engine.merger) == []
    engine.fold([offered(f"o{i}", H + i) for i in range(4)])
    assert book.evaluate(engine.merger) == []  # met (0/4) on first sight: no record
    assert not book.states[("abandon", scope(team="support"))].breached
    engine.fold([abandoned("a1", H, 10), abandoned("a2", H, 10)])
    changed = book.evaluate(engine.merger)
    assert summary(changed) == [("abandon", scope(team="support"), 0.5, True)]
    assert changed[0].window == (HOUR, H)
    assert book.evaluate(engine.merger) == []
    engine.fold([offered(f"p{i}", H + i) for i in range(4)])
    assert summary(book.evaluate(engine.merger)) == [
        ("abandon", scope(team="support"), 0.25, False)
    ]
    assert book.evaluate(engine.merger) == []
    engine.fold([abandoned("a3", H, 10)])
    assert summary(book.evaluate(engine.merger)) == [
        ("abandon", scope(team="support"), 3 / 8, True)
    ]


def test_unknown_to_breached_emits_at_once() -> None:
    engine, book = setup(ABANDON)
    engine.fold([offered("o", H), abandoned("a", H, 30)])
    (state,) = book.evaluate(engine.merger)
    assert (state.value, state.breached, state.target.op, state.target.value) == (
        1,
        True,
        "<=",
        0.25,
    )


def test_the_current_window_is_the_one_holding_the_watermark() -> None:
    engine, book = setup(ABANDON)
    engine.fold([offered("o", H), abandoned("a", H, 30)])
    assert len(book.evaluate(engine.merger)) == 1
    engine.fold([offered("next", H + HOUR_S, team="sales")])
    assert book.evaluate(engine.merger) == []  # no value yet in the new hour
    assert ("abandon", scope(team="support")) not in book.states  # the gauge follows the window
    assert (
        book.last[("abandon", scope(team="support"))] == "breached"
    )  # the transition memory stays
    engine.fold([offered("n2", H + HOUR_S + 1)])
    (state,) = book.evaluate(engine.merger)
    assert (state.window, state.value, state.breached) == ((HOUR, H + HOUR_S), 0, False)


def test_wildcard_scopes_give_one_state_each() -> None:
    sl = (
        "{id: sl, kpi: service_level_ratio, period: hour, scope: {team: '*'}, op: '>=', "
        "value: 0.5, min_volume: 0}"
    )
    engine, book = setup(sl)
    engine.fold(
        [
            answered("s1", H, 5),
            answered("s2", H, 50, team="sales"),
            answered("s3", H, 5, team="sales", queue="vip"),
            answered("s4", H, 60, team="sales", queue="vip"),
        ]
    )
    changed = book.evaluate(engine.merger)
    assert summary(changed) == [("sl", scope(team="sales"), 1 / 3, True)]
    assert {key[1] for key in book.states} == {scope(team="support"), scope(team="sales")}
    engine.fold([answered(f"x{i}", H, 1, team="sales") for i in range(2)])
    assert summary(book.evaluate(engine.merger)) == [("sl", scope(team="sales"), 0.6, False)]


def test_agent_wildcard_and_exact_queue() -> None:
    engine, book = setup(
        "{id: aht, kpi: average_handle_time_seconds, period: day, scope: {team: support, "
        "agent: '*'}, op: '<=', value: 300, min_volume: 0}",
        "{id: vip, kpi: average_handle_time_seconds, period: day, scope: {queue: vip}, "
        "op: '<=', value: 100, min_volume: 0}",
    )
    engine.fold(
        [
            completed("c1", H, 400, agent="ann"),
            completed("c2", H, 100, agent="bob", queue="vip"),
            completed("c3", H, 500, agent="cy", team="sales", queue="vip"),
        ]
    )
    changed = book.evaluate(engine.merger)
    assert summary(changed) == [
        ("aht", scope(team="support", agent="ann"), 400, True),
        ("vip", scope(team="sales", queue="vip"), 500, True),
    ]
    assert changed[0].window == (DAY, T0)
    assert not book.states[("aht", scope(team="support", agent="bob"))].breached


def test_clocked_target_reads_its_own_clock() -> None:
    engine, book = setup(
        "{id: fr, kpi: first_reply_seconds, period: day, op: '<=', value: 3600, min_volume: 1}",
        "{id: frb, kpi: first_reply_seconds, period: day, op: '<=', value: 3600, clock: business, "
        "min_volume: 1}",
    )
    engine.fold([reply("r", H + 7200, "T1", H, "ann")])
    assert summary(book.evaluate(engine.merger)) == [
        ("fr", (), 7200, True),
        ("frb", (), 7200, True),
    ]
    assert book.states[("fr", ())].target.clock == "calendar"


def test_certification_targets() -> None:
    engine, book = setup(
        "{id: expired, kpi: certifications_expired, period: day, scope: {team: '*'}, "
        "op: '<=', value: 0}",
        "{id: expiring, kpi: certifications_expiring_30d, period: day, scope: {team: support}, "
        "op: '<', value: 2}",
    )
    assert book.evaluate(engine.merger) == []
    engine.fold(
        [
            certified("g1", T0, "ann", "gdpr", 1),
            certified("g2", T0, "bob", "gdpr", 20),
            certified("g3", T0, "cy", "pci", 400, team="sales"),
        ]
    )
    assert summary(book.evaluate(engine.merger)) == [
        ("expiring", scope(team="support"), 2, True),
    ]
    assert book.states[("expired", scope(team="sales"))].window is None
    engine.fold([certified("g4", T0 + 2 * DAY_S, "dan", "gdpr", 365)])
    assert summary(book.evaluate(engine.merger)) == [
        ("expired", scope(team="support"), 1, True),
        ("expiring", scope(team="support"), 1, False),
    ]
    engine.fold([certified("g5", T0 + 2 * DAY_S, "ann", "gdpr", 365)])
    assert summary(book.evaluate(engine.merger)) == [("expired", scope(team="support"), 0, False)]


@pytest.mark.parametrize(
    ("op", "value", "met"),
    [("<", 1, False), ("<=", 1, True), (">", 1, False), (">=", 1, True), ("==", 1, True)],
)
def test_operators(op: str, value: float, met: bool) -> None:
    assert OPS[op](1.0, value) is met


def test_team_agent_average_targets_are_evaluated() -> None:
    engine, book = setup(
        "{id: qa-avg, kpi: quality_score_team_agent_average, period: day, "
        "scope: {team: support}, op: '>=', value: 80}"
    )
    engine.fold([qa("q1", H, 70, agent="ann"), qa("q2", H, 80, agent="bob")])
    published = {(v.kpi, v.scope): v.value for v in engine.merger.values((DAY, int(T0)))}
    assert published[("quality_score_team_agent_average", scope(team="support"))] == 75
    assert summary(book.evaluate(engine.merger)) == [("qa-avg", scope(team="support"), 75, True)]
