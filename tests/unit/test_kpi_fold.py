"""Stage one and two on hand-made batches: every KPI formula, duplicates, lateness, finality."""

from __future__ import annotations

import orjson
import pytest

from streams.config import parse_config
from streams.kpi.windows import DAY, HOUR, MONTH

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
    raw,
    reply,
    scope,
    survey,
    ticket,
    values,
)

CONFIG = parse_config(
    """
queues:
  vip: {service_level_seconds: 5, short_abandon_seconds: 0}
calendars:
  support:
    timezone: Europe/Bucharest
    hours: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"],
            thu: ["09:00-17:00"], fri: ["09:00-17:00"]}
"""
)
H = T0 + 10 * HOUR_S  # Monday 10:00 UTC
SUPPORT = scope(team="support")
BILLING = scope(team="support", queue="billing")


def day_values(engine: Engine) -> dict[tuple[str, str | None, tuple[tuple[str, str], ...]], tuple]:
    return {(k[2], k[3], k[4]): v for k, v in values(engine.merger).items() if k[:2] == (DAY, T0)}


def contact_batch() -> list[dict[str, object]]:
    waits = [(10, {}), (20, {}), (30, {"agent": "bob"})]
    drops = [(3, {}), (5, {"reason": "hangup"}), (8, {"reason": "hangup"})]
    drops += [
        (2, {"reason": "timeout"}),
        (100, {"reason": "exit_key"}),
        (0, {"reason": "no_agents"}),
    ]
    return (
        [offered(f"o{i}", H + i) for i in range(6)]
        + [answered(f"a{i}", H + 10 + i, w, **kw) for i, (w, kw) in enumerate(waits)]
        + [abandoned(f"b{i}", H + 20 + i, w, **kw) for i, (w, kw) in enumerate(drops)]
    )


def test_contact_counts_and_service_level() -> None:
    engine = Engine(CONFIG)
    (result,) = engine.fold(contact_batch()).values()
    assert sum(result.accepted.values()) == 15
    got = day_values(engine)
    for at in [(), SUPPORT, scope(team="support", channel="voice"), BILLING]:
        assert got[("contacts_offered", None, at)] == (6, 6, None)
        assert got[("contacts_answered", None, at)] == (3, 3, None)
        assert got[("contacts_abandoned", None, at)] == (2, 2, None)
        assert got[("short_abandons", None, at)] == (1, 1, None)
        assert got[("contacts_exited", None, at)] == (3, 3, None)
        assert got[("service_level_ratio", None, at)] == (0.25, 2, 8)
        assert got[("abandon_ratio", None, at)] == (0.4, 2, 5)
        assert got[("average_speed_of_answer_seconds", None, at)] == (20, 60, 3)
        assert got[("max_queue_wait_seconds", None, at)] == (100, None, None)
    ann = scope(team="support", agent="ann")
    assert got[("contacts_answered", None, ann)] == (2, 2, None)
    assert ("service_level_ratio", None, ann) not in got
    assert ("contacts_offered", None, ann) not in got
    hour = values(engine.merger)
    assert hour[(HOUR, H, "contacts_offered", None, ())] == (6, 6, None)
    assert (HOUR, H - HOUR_S, "contacts_offered", None, ()) not in hour


def test_each_contact_is_judged_by_its_own_queue() -> None:
    engine = Engine(CONFIG)
    vip = [
        offered("v0", H, queue="vip"),
        answered("v1", H, 10, queue="vip"),
        answered("v2", H, 5, queue="vip"),
        abandoned("v3", H, 0, queue="vip"),
    ]
    engine.fold(contact_batch() + vip)
    got = day_values(engine)
    assert got[("service_level_ratio", None, scope(team="support", queue="vip"))] == (1 / 3, 1, 3)
    assert got[("short_abandons", None, scope(team="support", queue="vip"))] == (0, 0, None)
    assert got[("service_level_ratio", None, SUPPORT)] == (3 / 11, 3, 11)
    assert got[("abandon_ratio", None, SUPPORT)] == (3 / 6, 3, 6)


def test_handle_time_and_first_contact_resolution() -> None:
    engine = Engine(CONFIG)
    engine.fold(
        [
            completed("c1", H, 100, wrap_seconds=20, resolved=True),
            completed("c2", H, 50, hold_seconds=10, wrap_seconds=None, resolved=False),
            completed("c3", H, 30, agent="bob", resolved=None),
            completed("c4", H, 0, agent="bob", queue="vip"),
        ]
    )
    got = day_values(engine)
    assert got[("average_handle_time_seconds", None, ())] == (52.5, 210, 4)
    assert got[("average_handle_time_seconds", None, scope(team="support", agent="ann"))] == (
        90,
        180,
        2,
    )
    assert got[("average_handle_time_seconds", None, scope(team="support", queue="vip"))] == (
        0,
        0,
        1,
    )
    assert got[("first_contact_resolution_ratio", None, ())] == (0.5, 1, 2)
    assert got[("first_contact_resolution_ratio", None, BILLING)] == (0.5, 1, 2)
    assert ("first_contact_resolution_ratio", None, scope(team="support", agent="bob")) not in got
    assert got[("contacts_answered", None, ())] == (0, 0, None)
    assert ("average_speed_of_answer_seconds", None, ()) not in got
    assert ("max_queue_wait_seconds", None, ()) not in got


def test_surveys_and_quality() -> None:
    engine = Engine(CONFIG)
    engine.fold(
        [survey("nps", f"n{i}", H, s, agent="ann") for i, s in enumerate([10, 9, 8])]
        + [survey("nps", "n3", H, 6), survey("nps", "n4", H, 0)]
        + [survey("csat", "s0", H, 5, agent="bob"), survey("csat", "s1", H, 1, agent="bob")]
        + [survey("csat", "s2", H, 4), survey("csat", "s3", H, 3)]
        + [qa("q0", H, 80), qa("q1", H, 90), qa("q2", H, 70, agent="bob", channel="chat")]
    )
    got = day_values(engine)
    ann, bob = scope(team="support", agent="ann"), scope(team="support", agent="bob")
    assert got[("nps_score", None, ())] == (0, 0, 5)
    assert got[("nps_score", None, ann)] == (100 * 2 / 3, 2, 3)
    assert got[("csat_ratio", None, ())] == (0.5, 2, 4)
    assert got[("csat_ratio", None, bob)] == (0.5, 1, 2)
    assert got[("quality_score", None, ())] == (80, 240, 3)
    assert got[("quality_score", None, ann)] == (85, 170, 2)
    assert got[("quality_score", None, scope(team="support", channel="chat"))] == (70, 70, 1)
    for kpi in ("contacts_answered", "tickets_solved"):
        assert (kpi, None, ann) not in got


def test_resolution_and_reply_clocks_with_a_calendar_team() -> None:
    engine = Engine(CONFIG, grace=DAY_S)
    created = T0 + 6 * HOUR_S  # 08:00 in Bucharest, an hour before opening
    engine.fold(
        [
            ticket("solved", "t1", T0 + 8 * HOUR_S, "T1", created, agent="ann"),
            ticket("solved", "t2", T0 + 8 * HOUR_S, "T2", created, agent="ann", team="sales"),
            ticket("solved", "t3", T0 + 7.5 * HOUR_S, "T3", T0 - 12 * HOUR_S, agent="bob"),
            ticket("reopened", "t4", T0 + 9 * HOUR_S, "T1", created),
            reply("r1", T0 + 7.5 * HOUR_S, "T4", created, "ann"),
        ]
    )
    got = day_values(engine)
    ann = scope(team="support", agent="ann")
    assert got[("resolution_seconds", "calendar", ())] == (28200, 84600, 3)
    assert got[("resolution_seconds", "business", ())] == (4200, 12600, 3)
    assert got[("resolution_seconds", "business", SUPPORT)] == (2700, 5400, 2)
    assert got[("resolution_seconds", "business", scope(team="sales"))] == (7200, 7200, 1)
    assert got[("resolution_seconds", "business", ann)] == (3600, 3600, 1)
    assert got[("first_reply_seconds", "calendar", ann)] == (5400, 5400, 1)
    assert got[("first_reply_seconds", "business", ann)] == (1800, 1800, 1)
    assert got[("tickets_solved", None, ())] == (3, 3, None)
    assert got[("tickets_solved", None, ann)] == (1, 1, None)
    assert got[("reopen_ratio", None, ())] == (1 / 3, 1, 3)
    assert got[("reopen_ratio", None, SUPPORT)] == (0.5, 1, 2)
    assert ("reopen_ratio", None, ann) not in got
    assert ("contacts_offered", None, ()) not in got


def test_counts_are_published_as_zero_only_where_their_family_counted() -> None:
    engine = Engine(CONFIG)
    engine.fold(
        [
            ticket("created", "k1", H, "T9", H, team="quiet"),
            offered("k2", H, team="phones", queue="main"),
            survey("nps", "k3", H, 9, team="phones", agent="sam"),
        ]
    )
    got = day_values(engine)
    quiet, phones = scope(team="quiet"), scope(team="phones")
    assert got[("tickets_solved", None, quiet)] == (0, 0, None)
    assert ("contacts_offered", None, quiet) not in got
    assert got[("contacts_answered", None, phones)] == (0, 0, None)
    assert got[("contacts_answered", None, scope(team="phones", queue="main"))] == (0, 0, None)
    assert ("tickets_solved", None, phones) not in got
    assert got[("abandon_ratio", None, phones)] == (0, 0, 1)
    for kpi in ("service_level_ratio", "average_speed_of_answer_seconds", "max_queue_wait_seconds"):
        assert (kpi, None, phones) not in got
    sam = scope(team="phones", agent="sam")
    assert got[("nps_score", None, sam)] == (100, 1, 1)
    assert ("contacts_answered", None, sam) not in got


def test_duplicates_are_counted_not_folded() -> None:
    engine = Engine(CONFIG)
    first = engine.fold([offered("d1", H), offered("d1", H + 5), offered("d2", H)])
    second = engine.fold([answered("d1", H, 3), offered("d2", H)])
    assert (first["cc.contacts"].duplicates, second["cc.contacts"].duplicates) == (1, 2)
    assert second["cc.contacts"].dead_letters == []
    assert second["cc.contacts"].accepted["contact.answered"] == 0
    assert not second["cc.contacts"].cells
    assert day_values(engine)[("contacts_offered", None, ())] == (2, 2, None)


def test_invalid_ids_are_not_remembered() -> None:
    engine = Engine(CONFIG)
    bad = offered("x1", H, channel="fax")
    result = engine.fold([bad, offered("x1", H)])["cc.contacts"]
    assert [d.reason for _, _, d in result.dead_letters] == ["invalid_value"]
    assert result.dead_letters[0][:2] == (0, raw(bad))
    assert result.duplicates == 0
    assert day_values(engine)[("contacts_offered", None, ())] == (1, 1, None)


def test_late_is_judged_by_the_hour_window() -> None:
    engine = Engine(CONFIG, grace=300)
    end = H + HOUR_S
    result = engine.fold([offered("w", end + 299), offered("ok", H)])["cc.contacts"]
    assert result.late == 0
    result = engine.fold([offered("w2", end + 300), offered("late", H + 3599)])["cc.contacts"]
    assert result.late == 1
    ((offset, message, letter),) = result.dead_letters
    assert (offset, letter.reason) == (3, "late")
    assert orjson.loads(message)["event_id"] == "late"
    assert "2026-11-02T10:00:00+00:00" in letter.detail
    assert result.accepted["contact.offered"] == 1
    again = engine.fold([offered("late", H + 3599)])["cc.contacts"]
    assert (again.late, again.duplicates) == (1, 0)
    got = values(engine.merger)
    assert got[(HOUR, H, "contacts_offered", None, ())] == (1, 1, None)
    assert got[(DAY, T0, "contacts_offered", None, ())] == (3, 3, None)
    assert got[(MONTH, T0 - DAY_S, "contacts_offered", None, ())] == (3, 3, None)


def test_dedup_horizon_expires_with_watermark_advance() -> None:
    engine = Engine(CONFIG, grace=2 * HOUR_S, dedup=HOUR_S)
    engine.fold([offered("e1", H)])
    assert engine.fold([offered("x", H + HOUR_S), offered("e1", H)])["cc.contacts"].duplicates == 1
    assert engine.fold([offered("e1", H)])["cc.contacts"].duplicates == 1
    engine.fold([offered("y", H + HOUR_S + 1)])
    result = engine.fold([offered("e1", H)])["cc.contacts"]
    assert (result.duplicates, result.accepted["contact.offered"]) == (0, 1)
    assert values(engine.merger)[(HOUR, H, "contacts_offered", None, ())] == (2, 2, None)


def test_dedup_horizon_does_not_depend_on_batching() -> None:
    engine = Engine(CONFIG, grace=2 * HOUR_S, dedup=HOUR_S)
    result = engine.fold([offered("e1", H), offered("y", H + HOUR_S + 1), offered("e1", H)])
    assert result["cc.contacts"].duplicates == 0


def test_restore_keeps_the_dedup_order() -> None:
    engine = Engine(CONFIG, grace=2 * HOUR_S, dedup=100)
    state = engine.state("cc.contacts:0")
    checkpoints = []
    for batch in (["a@0", "b@10"], ["x@105"], ["a@105"], ["y@125"]):
        events = [offered(e.split("@")[0], H + int(e.split("@")[1])) for e in batch]
        result = state.fold(engine.records("cc.contacts:0", [raw(e) for e in events]))
        checkpoints.append(orjson.loads(orjson.dumps(state.checkpoint(result))))
    fresh = engine.new_state("cc.contacts")
    for checkpoint in checkpoints:
        fresh.restore(checkpoint)
    fresh.restored()
    assert fresh.fold([(99, raw(offered("b", H + 125)))]).duplicates == 0
    assert list(fresh.seen) == [*state.seen, "b"]


@pytest.mark.parametrize(
    ("zone", "occurred_at"),
    [
        ("UTC", "0001-01-01T00:00:00+01:00"),
        ("UTC", "9999-12-31T23:59:59-01:00"),
        ("Europe/Bucharest", "0001-01-01T00:30:00+00:00"),
        ("Europe/Bucharest", "9999-12-31T23:30:00+00:00"),
    ],
)
def test_extreme_timestamps_are_dead_letters(zone: str, occurred_at: str) -> None:
    engine = Engine(CONFIG, zone=zone)
    event = offered("far", H)
    event["occurred_at"] = occurred_at
    result = engine.fold([event])["cc.contacts"]
    assert [d.reason for _, _, d in result.dead_letters] == ["out_of_range"]


def test_windows_become_final_when_every_source_passes() -> None:
    sources = ["cc.contacts:0", "cc.tickets:0"]
    engine = Engine(CONFIG, grace=300, sources=sources)
    engine.fold([offered("f1", H)])
    engine.fold([offered("f2", H + HOUR_S + 300)])
    merger = engine.merger
    assert merger.due_finals() == []
    engine.fold([ticket("created", "f3", H + HOUR_S + 299, "T1", H)])
    assert merger.due_finals() == []
    engine.fold([ticket("created", "f4", H + HOUR_S + 300, "T1", H)])
    assert merger.due_finals() == [(HOUR, H)]
    hour = int(H)  # window starts are ints (a Window, as JSON gives them); compiled code checks
    merger.mark_final((HOUR, hour))
    assert merger.due_finals() == []
    assert (HOUR, H) in merger.windows  # the previous hour stays for the gauges
    header = {"watermark": None, "certs": [], "cells": [[HOUR, hour, "s", "voice", None, None, {}]]}
    merger.apply("cc.contacts:1", header)
    assert set(merger.windows[(HOUR, H)]) == {
        (),
        SUPPORT,
        BILLING,
        scope(team="support", channel="voice"),
    }
    assert merger.current(DAY) == (DAY, T0)
    assert merger.previous(HOUR) == (HOUR, H)


def test_certifications_keep_the_latest_expiry() -> None:
    engine = Engine(CONFIG)
    engine.fold(
        [
            certified("g1", T0, "ann", "gdpr", 40),
            certified("g0", T0 - DAY_S, "ann", "gdpr", 10),
            certified("g2", T0, "bob", "gdpr", 10),
            certified("g3", T0, "cy", "pci", 1, team="sales"),
        ]
    )
    merger = engine.merger
    assert merger.certifications[("support", "ann", "gdpr")] == T0 + 40 * DAY_S
    assert merger.certification_counts(T0 + 5 * DAY_S) == {"support": (0, 1), "sales": (1, 0)}
    assert merger.certification_counts(T0 + 11 * DAY_S) == {"support": (1, 1), "sales": (1, 0)}
    assert merger.windows == {}


def test_fractional_sums_do_not_depend_on_arrival_order() -> None:
    found = []
    for waits in ([0.1, 0.2, 0.3], [0.3, 0.2, 0.1]):
        engine = Engine(CONFIG)
        engine.fold([answered(f"w{w}", H, w) for w in waits])
        found.append(day_values(engine)[("average_speed_of_answer_seconds", None, ())])
    assert found[0] == found[1]


def test_team_agent_average_does_not_depend_on_arrival_order() -> None:
    found = []
    for agents in (["a", "b", "c"], ["c", "b", "a"]):
        engine = Engine(CONFIG)
        score = {"a": 0.1, "b": 0.2, "c": 0.3}
        engine.fold([qa(f"q{agent}", H, score[agent], agent=agent) for agent in agents])
        found.append(day_values(engine)[("quality_score_team_agent_average", None, SUPPORT)])
    assert found[0] == found[1]


def test_redelivered_offsets_are_skipped() -> None:
    engine = Engine(CONFIG)
    state = engine.state("cc.contacts:0")
    state.fold([(0, raw(offered("r0", H))), (1, raw(offered("r1", H)))])
    again = state.fold([(1, raw(offered("r1", H))), (2, raw(offered("r2", H)))])
    assert (again.duplicates, sum(again.accepted.values()), state.next_offset) == (0, 1, 3)
