"""First- and next-reply samples: hand-made walks, retraction, restarts, and a property test."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.config import parse_config
from streams.kpi.measures import SLOT, get
from streams.kpi.windows import DAY, HOUR

from .kpi_helpers import DAY_S, HOUR_S, T0, Engine, Event, raw, reply, scope, split_partial, values

CONFIG = parse_config(
    """
calendars:
  support: {timezone: Europe/Bucharest, hours: {sun: ["23:00-24:00"], mon: ["02:30-03:30"]}}
"""
)
C = T0 + HOUR_S  # ticket creation, Monday 01:00 UTC
TICKET = "T1"
REPLY_KPIS = ("first_reply_seconds", "next_reply_seconds")


def replies(engine: Engine, period: int = DAY, start: float = T0) -> dict[Any, Any]:
    return {
        (k[2], k[3], k[4]): v
        for k, v in values(engine.merger).items()
        if k[:2] == (period, start) and k[2] in REPLY_KPIS and k[3] == "calendar"
    }


def msg(eid: str, after: int, agent: str | None, public: bool = True, **kw: Any) -> Event:
    kw.setdefault("team", "sales")
    return reply(eid, C + after, TICKET, C, agent, public, **kw)


def test_first_and_next_reply_walk() -> None:
    engine = Engine(CONFIG, grace=DAY_S)
    engine.fold(
        [
            msg("m1", 10, None),
            msg("m2", 50, "ann", public=False),
            msg("m3", 100, "ann"),
            msg("m4", 200, None),
            msg("m5", 300, None),
            msg("m6", 500, "bob"),
            msg("m7", 600, "bob"),
            msg("m8", 700, None, public=False),
            msg("m9", 800, "ann"),
        ]
    )
    got = replies(engine)
    ann, bob = scope(team="sales", agent="ann"), scope(team="sales", agent="bob")
    assert got[("first_reply_seconds", "calendar", ())] == (100, 100, 1)
    assert got[("first_reply_seconds", "calendar", ann)] == (100, 100, 1)
    assert got[("next_reply_seconds", "calendar", ())] == (300, 300, 1)
    assert got[("next_reply_seconds", "calendar", bob)] == (300, 300, 1)
    assert ("first_reply_seconds", "calendar", bob) not in got
    assert ("next_reply_seconds", "calendar", ann) not in got


def test_samples_count_in_the_team_channel_and_window_of_the_reply() -> None:
    engine = Engine(CONFIG, grace=DAY_S)
    engine.fold([msg("a", HOUR_S + 5, "ann", team="support", channel="chat")])
    got = values(engine.merger)
    where = scope(team="support", channel="chat")
    assert got[(HOUR, C + HOUR_S, "first_reply_seconds", "calendar", where)][0] == HOUR_S + 5
    assert (HOUR, C, "first_reply_seconds", "calendar", ()) not in got
    # 01:00 to 02:00:05 UTC is 03:00 to 04:00:05 in Bucharest: open 03:00-03:30 only
    assert got[(HOUR, C + HOUR_S, "first_reply_seconds", "business", where)][0] == 1800


def test_an_earlier_reply_arriving_later_moves_the_sample() -> None:
    engine = Engine(CONFIG, grace=DAY_S)
    engine.fold([msg("late-first", 500, "bob"), msg("c", 600, None)])
    bob, ann = scope(team="sales", agent="bob"), scope(team="sales", agent="ann")
    assert replies(engine)[("first_reply_seconds", "calendar", bob)] == (500, 500, 1)
    engine.fold([msg("early", 100, "ann"), msg("c0", 50, None), msg("z", 700, "bob")])
    got = replies(engine)
    assert got[("first_reply_seconds", "calendar", ())] == (100, 100, 1)
    assert got[("first_reply_seconds", "calendar", ann)] == (100, 100, 1)
    assert ("first_reply_seconds", "calendar", bob) not in got
    assert got[("next_reply_seconds", "calendar", bob)] == (100, 100, 1)


def test_first_reply_counts_once_even_after_a_restart() -> None:
    engine = Engine(CONFIG, grace=DAY_S)
    state = engine.state("cc.tickets:0")
    result = state.fold([(0, raw(msg("r1", 100, "ann")))])
    _, checkpoint = split_partial(state, result)
    fresh = engine.new_state("cc.tickets")
    fresh.restore(checkpoint)
    fresh.restored()
    again = fresh.fold([(1, raw(msg("r2", 200, "bob"))), (2, raw(msg("r1", 100, "ann")))])
    assert again.duplicates == 1
    assert all(get(cell, SLOT["fr_n"]) == 0 for cell in again.cells.values())


def test_ticket_memory_is_forgotten_after_its_horizon() -> None:
    engine = Engine(CONFIG, grace=DAY_S, memory=DAY_S)
    engine.fold([msg("r1", 100, "ann")])
    source = "cc.tickets:0"
    later = reply("other", C + 2 * DAY_S, "T2", C + 2 * DAY_S, None, team="sales")
    result = engine.fold([later])["cc.tickets"]
    assert result.tickets[TICKET] is None
    assert TICKET not in engine.states[source].tickets
    assert split_partial(engine.states[source], result)[1]["tickets"][TICKET] is None


# --- property: shuffled arrival within grace equals the reference walk ------------------------


@st.composite
def conversations(draw: st.DrawFn) -> list[Event]:
    created = {t: C - draw(st.integers(0, 2 * HOUR_S)) for t in ("T1", "T2", "T3")}
    events = []
    for i in range(draw(st.integers(1, 25))):
        ticket_id = draw(st.sampled_from(sorted(created)))
        at = C + 60 * draw(st.integers(0, 180))  # minute steps: many ties on occurred_at
        agent = draw(st.sampled_from([None, None, "ann", "bob"]))
        public = draw(st.sampled_from([True, True, True, False]))
        where = {
            "team": draw(st.sampled_from(["support", "sales"])),
            "channel": draw(st.sampled_from(["email", "chat"])),
        }
        events.append(reply(f"m{i}", at, ticket_id, created[ticket_id], agent, public, **where))
    return events


def instant(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def walk(messages: list[Event]) -> list[tuple[str, Event, int]]:
    """docs/semantics.md "Replies": (kind, agent reply, start of the measured wait)."""
    out = []
    first_done, waiting = False, None
    for m in sorted(messages, key=lambda m: (instant(m["occurred_at"]), m["event_id"])):
        if m["author"] == "customer":
            waiting = instant(m["occurred_at"]) if waiting is None else waiting
        elif not first_done:
            out.append(("first_reply_seconds", m, instant(m["created_at"])))
            first_done, waiting = True, None
        elif waiting is not None:
            out.append(("next_reply_seconds", m, waiting))
            waiting = None
    return out


def reference(events: list[Event], engine: Engine) -> dict[Any, Any]:
    by_ticket: dict[str, list[Event]] = defaultdict(list)
    for e in events:
        if e["public"]:
            by_ticket[e["ticket_id"]].append(e)
    sums: dict[Any, list[float]] = defaultdict(list)
    for messages in by_ticket.values():
        for kpi, m, start in walk(messages):
            end = instant(m["occurred_at"])
            clocks = {
                "calendar": end - start,
                "business": engine.calendar(m["team"]).business_seconds(start, end),
            }
            day = datetime.fromtimestamp(end, UTC).replace(hour=0, minute=0, second=0)
            windows = [(HOUR, end - end % 3600), (DAY, int(day.timestamp()))]
            team = ("team", m["team"])
            scopes = [(), (team,), (("channel", m["channel"]), team), (("agent", m["agent"]), team)]
            for window in windows:
                for at in scopes:
                    for clock, seconds in clocks.items():
                        sums[(*window, kpi, clock, at)].append(seconds)
    return {k: (sum(v) / len(v), sum(v), len(v)) for k, v in sums.items()}


@settings(max_examples=150, deadline=None)
@given(events=conversations(), data=st.data())
def test_shuffled_replies_give_the_reference_samples(events: list[Event], data: Any) -> None:
    engine = Engine(CONFIG, grace=6 * HOUR_S)
    arrival = data.draw(st.permutations(events))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(arrival)), max_size=5))))
    bounds = [0, *cuts, len(arrival)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        if b > a:
            result = engine.fold_raw("cc.tickets:0", [raw(e) for e in arrival[a:b]])
            assert (result.dead_letters, result.duplicates) == ([], 0)
    got = {
        k: v for k, v in values(engine.merger).items() if k[2] in REPLY_KPIS and k[0] in (HOUR, DAY)
    }
    assert got == reference(events, engine)
