"""The oracle itself, on small scenarios computed by hand.

Unless a test says otherwise: reporting zone UTC, grace 300 s, one partition per
windowed topic, team "support", channel "voice", events on Monday 2026-11-02
from 10:00Z, and `closers()` puts one event per partition two days later so the
hour and day windows of the scenario are final.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.oracle.clock import CalendarSpec
from tests.oracle.compare import diff_finals, diff_records
from tests.oracle.reference import (
    WINDOWED_TOPICS,
    Arrival,
    OracleConfig,
    OracleResult,
    compute,
)

BASE = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
HOUR10 = "2026-11-02T10:00:00+00:00"
HOUR11 = "2026-11-02T11:00:00+00:00"
DAY = "2026-11-02T00:00:00+00:00"
ONE_PARTITION = dict.fromkeys(WINDOWED_TOPICS, 1)
_ids = itertools.count()


def at(minutes: float) -> str:
    return (BASE + timedelta(minutes=minutes)).isoformat()


def msg(topic: str, kind: str, minutes: float, partition: int = 0, **fields: Any) -> Arrival:
    body = {
        "event_id": f"e{next(_ids)}",
        "type": kind,
        "occurred_at": at(minutes),
        "team": "support",
        "channel": "voice",
        **fields,
    }
    return Arrival(topic, partition, json.dumps(body).encode())


def contact(kind: str, minutes: float, cid: str, queue: str = "billing", **f: Any) -> Arrival:
    return msg("cc.contacts", f"contact.{kind}", minutes, contact_id=cid, queue=queue, **f)


def reply(minutes: float, author: str, public: bool = True, **fields: Any) -> Arrival:
    fields.setdefault("ticket_id", "t1")
    fields.setdefault("created_at", at(0))
    return msg("cc.tickets", "ticket.replied", minutes, author=author, public=public, **fields)


CLOSERS: dict[str, tuple[str, dict[str, Any]]] = {
    "cc.contacts": ("contact.offered", {"contact_id": "z", "queue": "z"}),
    "cc.tickets": ("ticket.created", {"ticket_id": "z"}),
    "cc.surveys": ("survey.csat", {"score": 5}),
    "cc.quality": ("qa.evaluated", {"agent": "z", "score": 50}),
}


def closers(minutes: float = 2 * 24 * 60, partitions: int = 1) -> list[Arrival]:
    """One event on every partition of every windowed topic, team "zz"."""
    return [
        msg(topic, kind, minutes, partition, team="zz", **fields)
        for topic, (kind, fields) in CLOSERS.items()
        for partition in range(partitions)
    ]


def run(arrivals: list[Arrival], **settings: Any) -> OracleResult:
    settings.setdefault("partitions", ONE_PARTITION)
    return compute(arrivals + closers(), OracleConfig(**settings))


def key(kpi: str, scope: str = "", start: str = HOUR10, period: str = "hour") -> str:
    return f"{kpi}|{period}|{start}|{scope}"


TEAM = "team=support"
BILLING = "queue=billing,team=support"
SALES = "queue=sales,team=support"


def test_contacts_service_level_short_abandons_and_exits() -> None:
    result = run(
        [contact("offered", 1, c) for c in ("c1", "c2", "c3", "c4", "c5")]
        + [
            contact("answered", 2, "c1", agent="a1", wait_seconds=10),
            contact("answered", 3, "c2", agent="a2", wait_seconds=25),
            contact("abandoned", 4, "c3", wait_seconds=3),  # hangup by default: short
            contact("abandoned", 5, "c4", wait_seconds=30, reason="hangup"),
            contact("abandoned", 6, "c5", wait_seconds=2, reason="timeout"),  # exited
            # queue sales: service level 30 s, short abandon 10 s
            contact("offered", 7, "s1", "sales"),
            contact("offered", 7, "s2", "sales"),
            contact("answered", 8, "s1", "sales", agent="a1", wait_seconds=25),
            contact("abandoned", 9, "s2", "sales", wait_seconds=8),
        ],
        queues={"sales": (30, 10)},
    )
    f = result.finals
    assert f[key("contacts_offered", BILLING)] == (5, 5, None)
    assert f[key("contacts_answered", BILLING)] == (2, 2, None)
    assert f[key("short_abandons", BILLING)] == (1, 1, None)
    assert f[key("contacts_abandoned", BILLING)] == (1, 1, None)
    assert f[key("contacts_exited", BILLING)] == (1, 1, None)
    assert f[key("service_level_ratio", BILLING)] == (0.25, 1, 4)
    assert f[key("abandon_ratio", BILLING)] == (0.25, 1, 4)
    assert f[key("average_speed_of_answer_seconds", BILLING)] == (17.5, 35, 2)
    assert f[key("max_queue_wait_seconds", BILLING)] == (30, None, None)
    assert f[key("service_level_ratio", SALES)] == (1.0, 1, 1)
    assert f[key("abandon_ratio", SALES)] == (0.0, 0, 1)
    assert f[key("contacts_abandoned", SALES)] == (0, 0, None)  # published as 0
    # each contact judged by its own queue's settings, at every scope
    assert f[key("service_level_ratio", TEAM)] == (0.4, 2, 5)
    assert f[key("abandon_ratio", "channel=voice," + TEAM)] == (0.2, 1, 5)
    assert f[key("max_queue_wait_seconds")] == (30, None, None)
    assert f[key("contacts_offered", period="day", start=DAY)] == (7, 7, None)
    # agent scope: answered only; beside-team values
    assert f[key("contacts_answered", "agent=a1,team=support")] == (2, 2, None)
    assert key("contacts_offered", "agent=a1,team=support") not in f
    assert key("service_level_ratio", "agent=a1,team=support") not in f
    assert f[key("contacts_answered_team_agent_average", TEAM)] == (1.5, None, None)
    assert f[key("contacts_answered_to_team_average", "agent=a1,team=support")] == (
        2 / 1.5,
        None,
        None,
    )
    # no cc.tickets event: tickets_solved is not published at all
    assert key("tickets_solved", TEAM) not in f


def test_handle_time_and_first_contact_resolution() -> None:
    result = run(
        [
            contact("completed", 1, "k1", agent="a1", talk_seconds=100, hold_seconds=20,
                    wrap_seconds=30, resolved=True),
            contact("completed", 2, "k2", agent="a1", talk_seconds=200, resolved=False),
            contact("completed", 3, "k3", agent="a2", talk_seconds=60, wrap_seconds=10,
                    resolved=None),
            contact("completed", 4, "k4", agent="a2", talk_seconds=40, hold_seconds=None),
        ]
    )  # fmt: skip
    f = result.finals
    assert f[key("average_handle_time_seconds", BILLING)] == (115, 460, 4)
    assert f[key("first_contact_resolution_ratio", BILLING)] == (0.5, 1, 2)
    assert f[key("average_handle_time_seconds", "agent=a2,team=support")] == (55, 110, 2)
    assert key("first_contact_resolution_ratio", "agent=a2,team=support") not in f
    assert f[key("first_contact_resolution_ratio_team_agent_average", TEAM)] == (0.5, None, None)
    assert f[key("first_contact_resolution_ratio_to_team_average", "agent=a1,team=support")] == (
        1.0,
        None,
        None,
    )
    assert f[key("average_handle_time_seconds_team_agent_average", TEAM)] == (115, None, None)
    assert f[key("contacts_answered", "agent=a2,team=support")] == (0, 0, None)
    assert f[key("contacts_offered")] == (0, 0, None)


def test_first_and_next_reply_with_an_earlier_reply_arriving_late() -> None:
    first = reply(20, "agent", agent="a1", event_id="m2")  # arrives after m5
    result = run(
        [
            reply(5, "customer"),
            reply(30, "customer"),  # starts a wait
            reply(40, "customer"),  # a wait already runs
            reply(50, "agent", agent="a2"),  # next reply: 50 - 30 min
            first,  # the earliest agent reply: first reply 20 min after created_at
            reply(55, "agent", agent="a1", public=False),  # private: nowhere
            reply(60, "customer"),
            reply(90, "agent", agent="a1"),  # next reply: 30 min, hour 11
            reply(100, "agent", agent="a2"),  # no wait running
            # ticket t2: ties on occurred_at are ordered by event_id
            reply(125, "agent", agent="a1", ticket_id="t2", created_at=at(120)),
            reply(130, "customer", ticket_id="t2", event_id="t2-z"),
            reply(130, "agent", agent="a1", ticket_id="t2", event_id="t2-a"),
        ]
    )
    f = result.finals
    cal, bus = "|clock=calendar", "|clock=business"
    assert f[key("first_reply_seconds") + cal] == (1200, 1200, 1)
    assert f[key("first_reply_seconds") + bus] == (1200, 1200, 1)  # no calendar: 24x7
    assert f[key("first_reply_seconds", "agent=a1,team=support") + cal] == (1200, 1200, 1)
    assert key("first_reply_seconds", "agent=a2,team=support") + cal not in f
    assert f[key("next_reply_seconds", "agent=a2,team=support") + cal] == (1200, 1200, 1)
    assert f[key("next_reply_seconds", "agent=a1,team=support", HOUR11) + cal] == (1800, 1800, 1)
    assert f[key("next_reply_seconds", TEAM, DAY, "day") + bus] == (1500, 3000, 2)
    assert f[key("first_reply_seconds", TEAM, DAY, "day") + cal] == (750, 1500, 2)
    assert key("next_reply_seconds", start="2026-11-02T12:00:00+00:00") + cal not in f
    assert f[key("tickets_solved", "agent=a1,team=support")] == (0, 0, None)
    assert result.late == 0 and result.duplicate == 0


def test_surveys_and_quality() -> None:
    result = run(
        [msg("cc.surveys", "survey.nps", 1, score=s) for s in (9, 7, 3)]
        + [msg("cc.surveys", "survey.nps", 2, score=10, agent="a1")]
        + [msg("cc.surveys", "survey.csat", 3, score=s) for s in (5, 4, 3, 1, 4)]
        + [msg("cc.quality", "qa.evaluated", 4, agent="a1", score=s) for s in (80, 90)]
        + [msg("cc.quality", "qa.evaluated", 4, agent="a2", score=70, criteria={"tone": 70})]
    )
    f = result.finals
    assert f[key("nps_score", TEAM)] == (25.0, 1, 4)
    assert f[key("nps_score", "agent=a1,team=support")] == (100.0, 1, 1)
    assert f[key("csat_ratio")] == (0.6, 3, 5)
    assert key("csat_ratio", "agent=a1,team=support") not in f  # surveys without agent
    assert f[key("quality_score", "agent=a1,team=support")] == (85, 170, 2)
    assert f[key("quality_score_team_agent_average", TEAM)] == (77.5, None, None)
    assert f[key("quality_score_to_team_average", "agent=a2,team=support")] == (
        70 / 77.5,
        None,
        None,
    )


def test_resolution_and_reopen_business_clock_over_a_weekend() -> None:
    calendar = CalendarSpec("Europe/Bucharest", {"mon": ["09:00-17:00"], "fri": ["09:00-17:00"]})
    friday_4pm = "2026-11-06T16:00:00+02:00"  # Bucharest; Monday 10:00 local is 08:00Z
    solved = (datetime(2026, 11, 9, 8, tzinfo=UTC) - BASE).total_seconds() / 60
    result = compute(
        [
            msg("cc.tickets", "ticket.solved", solved, ticket_id="t", created_at=friday_4pm,
                agent="a1"),
            msg("cc.tickets", "ticket.solved", solved, ticket_id="u", created_at=friday_4pm,
                agent="a1", team="other", channel="email"),
            msg("cc.tickets", "ticket.reopened", solved + 1, ticket_id="t",
                created_at=friday_4pm),
        ]
        + closers(solved + 2 * 24 * 60),
        OracleConfig(partitions=ONE_PARTITION, calendars={"support": calendar}),
    )  # fmt: skip
    f = result.finals
    monday = "2026-11-09T08:00:00+00:00"
    res = key("resolution_seconds", TEAM, monday)
    assert f[res + "|clock=calendar"] == (66 * 3600, 66 * 3600, 1)
    assert f[res + "|clock=business"] == (7200, 7200, 1)
    other = key("resolution_seconds", "team=other", monday)
    assert f[other + "|clock=business"] == (66 * 3600, 66 * 3600, 1)  # no calendar
    both = key("resolution_seconds", "", monday)
    assert f[both + "|clock=business"] == ((7200 + 66 * 3600) / 2, 7200 + 66 * 3600, 2)
    assert f[key("reopen_ratio", TEAM, monday)] == (1.0, 1, 1)
    assert f[key("reopen_ratio", "", monday)] == (0.5, 1, 2)
    assert key("reopen_ratio", "agent=a1,team=support", monday) not in f
    assert f[key("tickets_solved", "agent=a1,team=other", monday)] == (1, 1, None)
    avg = key("resolution_seconds_team_agent_average", TEAM, monday) + "|clock=business"
    assert f[avg] == (7200, None, None)
    record = result.finals_records[res + "|clock=business"]
    assert record["clock"] == "business" and record["scope"] == {"team": "support"}
    assert record["window_end"] == "2026-11-09T09:00:00+00:00" and record["final"] is True


def test_duplicates_late_and_invalid_are_counted_once_each() -> None:
    a = contact("offered", 1, "c1", event_id="same")
    b = contact("offered", 2, "c2", event_id="same")  # same partition: duplicate
    c = contact("offered", 2, "c3", event_id="same", partition=1)  # other partition
    arrivals = [
        a,
        b,
        c,
        contact("offered", 125, "c4"),  # watermark 12:05
        contact("offered", 89, "c5"),  # hour 11 is final at 11:00 + grace = 12:05: late
        contact("offered", 121, "c6"),  # hour 12: accepted
        Arrival("cc.contacts", 0, b"not json"),
        msg("cc.contacts", "contact.offered", 3, contact_id="c7"),  # no queue
        msg("cc.surveys", "survey.nps", 3, score=11),
        msg("cc.surveys", "survey.bogus", 3),
        Arrival("cc.surveys", 0, json.dumps({"event_id": "x", "type": "survey.csat",
                "occurred_at": "2026-11-02T10:00:00", "team": "s", "channel": "voice",
                "score": 3}).encode()),  # naive timestamp
        reply(5, "agent", agent="a1", created_at=at(10)),  # replied before created
    ]  # fmt: skip
    result = run(arrivals, partitions=ONE_PARTITION | {"cc.contacts": 2})
    assert result.duplicate == 1 and result.late == 1
    assert sum(result.invalid.values()) == 6
    assert result.accepted == 4 + len(closers())
    assert result.sent == len(arrivals) + len(closers())
    assert [d.reason for d in result.dead_letters][-1] == "out_of_range"
    # partition 1 of cc.contacts stays at 10:02: no window is final
    assert result.finals == {}
    assert result.records[key("contacts_offered")]["value"] == 2
    assert result.records[key("contacts_offered")]["final"] is False


def test_dedup_horizon_is_watermark_advance() -> None:
    again = contact("offered", 1, "c1", event_id="again")
    arrivals = [again, contact("offered", 50, "c2"), again, contact("offered", 62, "c3"), again]
    result = run(arrivals, dedup_horizon_seconds=3600)
    # accepted at watermark 10:01; 10:50 is within the hour, 11:02 is not (and 10:01's
    # hour is final only at 11:05), so the third copy is accepted again.
    assert result.duplicate == 1 and result.late == 0
    assert result.finals[key("contacts_offered")] == (3, 3, None)


def test_finality_needs_every_partition_past_window_end_plus_grace() -> None:
    events = [contact("offered", 1, "c1")]
    config = OracleConfig(partitions=dict.fromkeys(WINDOWED_TOPICS, 2))
    assert compute(events + closers(partitions=1), config).finals == {}
    # every partition at 11:04:59: hour 10 is still open (11:00 + 300 s grace)
    assert compute(events + closers(64.99, partitions=2), config).finals == {}
    result = compute(events + closers(65, partitions=2), config)
    expected = {}
    for scope in ("", TEAM, "channel=voice," + TEAM, BILLING):
        expected[key("contacts_offered", scope)] = (1, 1, None)
        for kpi in ("contacts_answered", "contacts_abandoned", "short_abandons", "contacts_exited"):
            expected[key(kpi, scope)] = (0, 0, None)
        expected[key("abandon_ratio", scope)] = (0.0, 0, 1)
    assert result.finals == expected


@pytest.mark.parametrize("zone", ["Europe/Bucharest", "America/New_York"])
def test_keys_carry_the_reporting_zone_offset(zone: str) -> None:
    result = run([contact("offered", 1, "c1")], reporting_timezone=zone)
    record = next(r for r in result.finals_records.values() if r["period"] == "hour")
    offset = "+02:00" if zone == "Europe/Bucharest" else "-05:00"
    assert record["window_start"].endswith(offset)
    day = [k for k in result.finals if k.startswith("contacts_offered|day|") and k.endswith("|")]
    assert day == [f"contacts_offered|day|2026-11-02T00:00:00{offset}|"]


def test_certifications_latest_expiry_wins() -> None:
    def certified(agent: str, name: str, days: int) -> Arrival:
        return msg("cc.agents", "agent.certified", 0, agent=agent, certification=name,
                   valid_days=days)  # fmt: skip

    result = run(
        [
            certified("a1", "pci", 10),
            certified("a1", "pci", 40),  # expires 2026-12-12: neither
            certified("a2", "gdpr", 1),  # expired by the closers' 2026-11-04 10:00
            certified("a3", "pci", 20),  # expires within 30 days
        ]
    )
    assert result.global_watermark == BASE + timedelta(days=2)
    assert result.certifications == {"support": (1, 1)}
    assert result.accepted_by_type[("cc.agents", "agent.certified")] == 4


def test_diff_finals_tolerates_rounding_only() -> None:
    expected = {"a|": (0.1 + 0.2, 3, 10), "b|": (5, 5, None), "c|": (1.0, 1, 1)}
    published = {
        "a|": {"value": 0.3, "numerator": 3, "denominator": 10},
        "b|": {"value": 5, "numerator": 5, "denominator": 0},
        "d|": {"value": 1, "numerator": None, "denominator": None},
    }
    problems = diff_finals(expected, published)
    assert problems == [
        "missing: c| expected (1.0, 1, 1)",
        "unexpected: d| = (1, None, None)",
        "differs: b| expected (5, 5, None) got (5, 5, 0)",
    ]
    result = run([contact("offered", 1, "c1")])
    published_records = {k: r | {"updated_at": "x"} for k, r in result.finals_records.items()}
    assert diff_records(result.finals_records, published_records) == []
    published_records[key("contacts_offered")]["window_end"] = "wrong"
    assert diff_records(result.finals_records, published_records) == [
        f"differs: {key('contacts_offered')} field window_end expected '2026-11-02T11:00:00+00:00'"
    ]
