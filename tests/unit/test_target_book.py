"""TargetBook on the real engine: pace at the start of a month, minimum volume,
shifts, one verdict per window at close, and the target gauges."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from streams.config import parse_config
from streams.kpi.windows import DAY, MONTH
from streams.output.metrics import KpiCollector
from streams.pipeline.publish import summary_line
from streams.targets.evaluate import TargetBook, TargetState

from .kpi_helpers import HOUR_S, Engine, answered, ev, offered, scope, ticket

M0 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
"""Tuesday 1 December 2026, 00:00 UTC: the first of a 31-day month."""
DAY_S = 86400
MONTH_S = 31 * DAY_S
TICKETS = (
    "{id: tickets, kpi: tickets_solved, period: month, scope: {agent: '*'}, op: '>=', value: 1200}"
)
SL = "{id: sl, kpi: service_level_ratio, period: day, scope: {queue: '*'}, op: '>=', value: 0.8}"
SUPPORT_CALENDAR = """
calendars:
  support:
    timezone: UTC
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
"""


def setup(
    *targets: str, calendars: str = "", sources: tuple[str, ...] = ("cc.contacts:0", "cc.tickets:0")
) -> tuple[Engine, TargetBook]:
    text = calendars + "targets:\n" + "".join(f"  - {t}\n" for t in targets)
    config = parse_config(text)
    engine = Engine(config, grace=300, sources=sources)
    return engine, TargetBook(config.targets, engine.calendar)


def solved(n: int, agent: str, at: float, prefix: str = "") -> list[dict[str, object]]:
    return [
        ticket("solved", f"{prefix}{agent}-{i}", at, f"T-{prefix}{agent}-{i}", at - 60, agent=agent)
        for i in range(n)
    ]


def states(book: TargetBook) -> dict[tuple[str, tuple[tuple[str, str], ...]], str]:
    return {key: s.state for key, s in book.states.items()}


def test_first_minutes_of_a_month_are_on_pace_not_breached() -> None:
    engine, book = setup(TICKETS)
    engine.fold(solved(1, "ann", M0 + 300) + solved(1, "bob", M0 + 600))
    changed = book.evaluate(engine.merger)
    assert changed == []  # on pace on first sight: nothing to report
    ann = book.states[("tickets", scope(team="support", agent="ann"))]
    assert (ann.state, ann.breached, ann.volume) == ("on_pace", False, None)
    assert ann.expected == pytest.approx(1200 * 600 / MONTH_S)
    assert ann.share == pytest.approx(600 / MONTH_S)


def test_ten_days_in_one_agent_is_behind_and_one_on_pace() -> None:
    engine, book = setup(TICKETS)
    at = M0 + 10 * DAY_S
    engine.fold(solved(340, "ann", at) + solved(360, "bob", at))
    expected = 1200 * 10 / 31  # 387.1; on pace from 348.4
    (changed,) = book.evaluate(engine.merger)
    assert (changed.scope, changed.state) == (scope(team="support", agent="ann"), "behind_pace")
    assert changed.expected == pytest.approx(expected)
    assert states(book)[("tickets", scope(team="support", agent="bob"))] == "on_pace"
    engine.fold(solved(20, "ann", at + 60, prefix="x"))
    (caught_up,) = book.evaluate(engine.merger)
    assert (caught_up.scope, caught_up.state) == (scope(team="support", agent="ann"), "on_pace")


def test_business_calendar_closed_days_do_not_count() -> None:
    engine, book = setup(TICKETS, calendars=SUPPORT_CALENDAR)
    saturday = datetime(2026, 12, 5, 12, tzinfo=UTC).timestamp()
    engine.fold(solved(100, "ann", saturday))
    ann = book.states.get(("tickets", scope(team="support", agent="ann")))
    book.evaluate(engine.merger)
    ann = book.states[("tickets", scope(team="support", agent="ann"))]
    # Tue..Fri of 23 working days in December 2026 (no holidays configured): 4/23
    assert ann.share == pytest.approx(4 / 23)
    assert ann.expected == pytest.approx(1200 * 4 / 23)
    assert ann.state == "behind_pace"  # 100 < 208.7 x 0.9


def shift(eid: str, agent: str, start: float, end: float, at: float) -> dict[str, object]:
    """A shift of the roster published at ``at`` (its ``occurred_at``)."""
    return ev(
        "agent.shift",
        eid,
        at,
        agent=agent,
        start=datetime.fromtimestamp(start, UTC).isoformat(),
        end=datetime.fromtimestamp(end, UTC).isoformat(),
    )


def test_an_agent_with_shifts_is_paced_by_staffed_time() -> None:
    engine, book = setup(TICKETS, calendars=SUPPORT_CALENDAR)
    # The morning agent's shift is 06:00-14:00; the evening one's 14:00-22:00.
    shifts = []
    for day in range(31):
        base = M0 + day * DAY_S
        shifts.append(shift(f"m{day}", "morning", base + 6 * HOUR_S, base + 14 * HOUR_S, M0))
        shifts.append(shift(f"e{day}", "evening", base + 14 * HOUR_S, base + 22 * HOUR_S, M0))
    engine.fold(shifts)
    noon = M0 + 12 * HOUR_S
    engine.fold(solved(27, "morning", noon) + solved(1, "evening", noon))
    book.evaluate(engine.merger)
    morning = book.states[("tickets", scope(team="support", agent="morning"))]
    evening = book.states[("tickets", scope(team="support", agent="evening"))]
    # Both are staffed 248 h, more than the 184 business hours: paced over their own.
    assert morning.expected == pytest.approx(1200 * 6 / 248)
    assert evening.expected == 0
    assert (morning.state, evening.state) == ("on_pace", "on_pace")
    part_timer = [
        shift(f"p{d}", "part", M0 + d * DAY_S, M0 + d * DAY_S + 4 * HOUR_S, M0) for d in range(23)
    ]
    engine.fold(part_timer + solved(1, "part", noon + 60))
    book.evaluate(engine.merger)
    part = book.states[("tickets", scope(team="support", agent="part"))]
    # 92 h staffed of 184 business hours: half the goal, 4 h of it done by noon.
    assert part.expected == pytest.approx(1200 * 4 / 184)
    assert part.state == "behind_pace"


def test_service_level_below_minimum_volume_is_insufficient_data() -> None:
    engine, book = setup(SL)
    at = M0 + 9 * HOUR_S
    engine.fold([offered(f"o{i}", at + i) for i in range(3)])
    engine.fold([answered(f"a{i}", at + i, 60) for i in range(3)])
    assert book.evaluate(engine.merger) == []
    sl = book.states[("sl", scope(team="support", queue="billing"))]
    assert (sl.value, sl.volume, sl.state) == (0.0, 3, "insufficient_data")
    engine.fold([answered(f"b{i}", at + 10 + i, 60) for i in range(17)])
    (breached,) = book.evaluate(engine.merger)
    assert (breached.state, breached.volume) == ("breached", 20)


def close_all(engine: Engine, book: TargetBook) -> list[TargetState]:
    """What the publisher does: judge each due window, then mark it final."""
    out = []
    for window in engine.merger.due_finals():
        out += book.close(engine.merger, window)
        engine.merger.mark_final(window)
    return out


def test_one_verdict_per_target_scope_and_window_at_close() -> None:
    engine, book = setup(TICKETS, SL)
    late_in_month = M0 + 30 * DAY_S + 20 * HOUR_S
    engine.fold(solved(1250, "ann", late_in_month) + solved(900, "bob", late_in_month))
    engine.fold([answered(f"a{i}", late_in_month, 5) for i in range(25)])
    book.evaluate(engine.merger)
    assert close_all(engine, book) == []  # nothing final yet
    # Every windowed source moves past the month's end plus grace.
    after = M0 + MONTH_S + 600
    engine.fold([offered("next", after), *solved(1, "cy", after, prefix="n")])
    verdicts = close_all(engine, book)
    got = sorted(
        (v.target.id, v.scope, v.window[0] if v.window else None, v.state) for v in verdicts
    )
    assert got == [
        ("sl", scope(team="support", queue="billing"), DAY, "met"),
        ("tickets", scope(team="support", agent="ann"), MONTH, "met"),
        ("tickets", scope(team="support", agent="bob"), MONTH, "missed"),
    ]
    assert all(v.final for v in verdicts)
    bob = book.verdicts[("tickets", scope(team="support", agent="bob"))]
    assert (bob.value, bob.expected) == (900, 1200)
    assert close_all(engine, book) == []  # judged once
    # A new book (a restarted publisher) recalls the previous window's verdicts
    # without returning them as new records.
    fresh = TargetBook(book.targets, engine.calendar)
    fresh.evaluate(engine.merger)
    assert fresh.verdicts[("tickets", scope(team="support", agent="bob"))].state == "missed"


def test_gauges_carry_state_and_pace() -> None:
    engine, book = setup(TICKETS)
    engine.fold(solved(340, "ann", M0 + 10 * DAY_S))
    book.evaluate(engine.merger)
    registry = CollectorRegistry()
    registry.register(KpiCollector(engine.merger, book, lambda: True))
    labels = {"target": "tickets", "kpi": "tickets_solved", "period": "month"}
    labels |= {"team": "support", "agent": "ann"}

    def state(name: str) -> float | None:
        sample = labels | {"window": "current", "state": name}
        return registry.get_sample_value("cc_target_state", sample)

    assert (state("behind_pace"), state("on_pace"), state("met")) == (1.0, 0.0, 0.0)
    assert state("breached") is None  # a volume goal is never "breached" while open
    expected = registry.get_sample_value("cc_target_expected", labels)
    assert expected == pytest.approx(1200 * 10 / 31)
    assert registry.get_sample_value("cc_target_breached", labels) == 0.0


def test_summary_line_counts_states_and_names_misses() -> None:
    engine, book = setup(TICKETS)
    engine.fold(solved(340, "ann", M0 + 10 * DAY_S) + solved(400, "bob", M0 + 10 * DAY_S))
    book.evaluate(engine.merger)
    assert summary_line(book.summary(), []) == "targets: 1 on_pace, 1 behind_pace"
    assert summary_line(book.summary().__class__(), []) == ""
    after = M0 + MONTH_S + 600
    engine.fold([offered("next", after), *solved(1, "cy", after, prefix="n")])
    verdicts = close_all(engine, book)
    assert summary_line(book.summary(), verdicts) == (
        "targets: 1 on_pace, 1 behind_pace; verdicts: 2 missed (missed: tickets)"
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["ann", "bob"]), st.integers(0, 40), st.integers(1, 30)),
        min_size=1,
        max_size=12,
    )
)
def test_transitions_follow_the_states_one_record_per_change(
    batches: list[tuple[str, int, int]],
) -> None:
    """Whatever arrives in whatever order: a record exactly when a scope's state changes
    (a first sight only when it is bad), and each window judged once at close."""
    engine, book = setup(
        "{id: daily, kpi: contacts_answered, period: day, scope: {agent: '*'}, op: '>=', "
        "value: 40}",
        "{id: sl, kpi: service_level_ratio, period: day, scope: {queue: '*'}, op: '>=', "
        "value: 0.8, min_volume: 10}",
        sources=("cc.contacts:0",),
    )
    opened: set[tuple[str, tuple[tuple[str, str], ...], object]] = set()
    known: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    judged: Counter[tuple[str, tuple[tuple[str, str], ...], object]] = Counter()
    for n, (agent, count, hours) in enumerate(batches):
        at = M0 + hours * HOUR_S
        waits = [5 if i % 3 else 60 for i in range(count)]
        engine.fold([answered(f"{n}-{i}", at + i, w, agent=agent) for i, w in enumerate(waits)])
        changed = book.evaluate(engine.merger)
        want = {
            key
            for key, state in book.states.items()
            if (key not in known and state.state in ("breached", "behind_pace"))
            or (key in known and known[key] != state.state)
        }
        assert {(s.target.id, s.scope) for s in changed} == want
        assert len(changed) == len(want)
        known |= {key: state.state for key, state in book.states.items()}
        opened |= {(k[0], k[1], s.window) for k, s in book.states.items()}
        for verdict in close_all(engine, book):
            judged[(verdict.target.id, verdict.scope, verdict.window)] += 1
    engine.fold([offered("end", M0 + 5 * DAY_S, team="later")])  # every day so far closes
    for verdict in close_all(engine, book):
        judged[(verdict.target.id, verdict.scope, verdict.window)] += 1
    assert opened <= set(judged)
    assert set(judged) == windows_with_accepted_answers(batches)
    assert set(judged.values()) <= {1}


def windows_with_accepted_answers(
    batches: list[tuple[str, int, int]],
) -> set[tuple[str, tuple[tuple[str, str], ...], object]]:
    """Every (target, scope, day) that took an answer: a day still open when its answer
    arrived is judged at close even if the watermark had moved on to the next day
    (within grace) and it was never a current window. An answer whose hour was
    already final is late and counts nowhere (CONTRACT.md: a late event is
    dead-lettered)."""
    watermark = float("-inf")
    out: set[tuple[str, tuple[tuple[str, str], ...], object]] = set()
    for agent, count, hours in batches:
        for i in range(count):
            at = M0 + hours * HOUR_S + i
            day = M0 + (at - M0) // DAY_S * DAY_S
            hour = M0 + (at - M0) // HOUR_S * HOUR_S
            if hour + HOUR_S + 300 > watermark:  # its hour not yet final: accepted
                window = (1, int(day))
                out.add(("daily", (("agent", agent), ("team", "support")), window))
                out.add(("sl", (("queue", "billing"), ("team", "support")), window))
            watermark = max(watermark, at)
    return out
