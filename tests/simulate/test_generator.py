"""The simulator's traffic, checked without a broker: contract shape, causality, realism."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from streams.simulate.generator import TOPICS, SimEvent, TrafficGenerator
from streams.simulate.runner import simulate_batch
from streams.simulate.scenario import DEFAULT_SCENARIO
from tests.simulate.contract import TOPIC_OF_TYPE, parse_time, problems

MONDAY = datetime(2026, 11, 2, tzinfo=UTC)
COUNT = 20_000
RATE = 0.1  # ~2.3 simulated days in COUNT events: long enough for solves, reopens and QA


@pytest.fixture(scope="module")
def events() -> list[SimEvent]:
    return simulate_batch(MONDAY, 7, COUNT, RATE)


def when(event: SimEvent) -> datetime:
    parsed = parse_time(event.value["occurred_at"])
    assert parsed is not None
    return parsed


def of_type(events: list[SimEvent], type_: str) -> list[dict[str, object]]:
    return [e.value for e in events if e.value["type"] == type_]


def test_same_seed_and_start_give_the_same_events(events: list[SimEvent]) -> None:
    again = list(islice(TrafficGenerator(start=MONDAY, seed=7, rate=RATE).events(), COUNT))
    assert again == events


def test_another_seed_start_or_rate_gives_other_events_and_ids(events: list[SimEvent]) -> None:
    ids = {e.value["event_id"] for e in events}
    for seed, start, rate in (
        (8, MONDAY, RATE),
        (7, MONDAY + timedelta(hours=1), RATE),
        (7, MONDAY, RATE * 2),
    ):
        other = simulate_batch(start, seed, 2_000, rate)
        assert other != events[:2_000]
        assert ids.isdisjoint(e.value["event_id"] for e in other)


def test_every_event_follows_the_contract(events: list[SimEvent]) -> None:
    bad = [(e, found) for e in events if (found := problems(e.topic, e.key, e.value))]
    assert bad == []


def test_event_ids_are_unique(events: list[SimEvent]) -> None:
    assert len({e.value["event_id"] for e in events}) == len(events)


def test_time_never_goes_backwards(events: list[SimEvent]) -> None:
    times = [when(e) for e in events]
    assert times == sorted(times)
    assert times[0] >= MONDAY
    assert all(e.value["occurred_at"].endswith("+00:00") for e in events)


def test_first_events_cover_every_topic_and_type(events: list[SimEvent]) -> None:
    assert {e.topic for e in events} == set(TOPICS)
    assert {e.value["type"] for e in events} == set(TOPIC_OF_TYPE)


def test_contacts_are_causal_and_waits_match_timestamps(events: list[SimEvent]) -> None:
    history: dict[str, list[SimEvent]] = defaultdict(list)
    for event in events:
        if event.topic == "cc.contacts":
            history[event.key].append(event)
    assert len(history) > 1_000
    order = ["contact.offered", "contact.answered", "contact.completed"]
    for contact_events in history.values():
        types = [e.value["type"] for e in contact_events]
        assert types[0] == "contact.offered"
        assert types in (order[:1], order[:2], order, ["contact.offered", "contact.abandoned"])
        offered = when(contact_events[0])
        queue, team = contact_events[0].value["queue"], contact_events[0].value["team"]
        for event in contact_events[1:]:
            assert (event.value["queue"], event.value["team"]) == (queue, team)
        if len(contact_events) > 1:
            second = contact_events[1]
            waited = (when(second) - offered).total_seconds()
            assert second.value["wait_seconds"] == pytest.approx(waited, abs=1e-6)
        if len(contact_events) == 3:
            answered, completed = contact_events[1].value, contact_events[2].value
            assert answered["agent"] == completed["agent"]
            handled = sum(
                completed.get(k, 0) for k in ("talk_seconds", "hold_seconds", "wrap_seconds")
            )
            assert (when(contact_events[2]) - when(contact_events[1])).total_seconds() >= handled


def test_tickets_are_causal(events: list[SimEvent]) -> None:
    created: dict[str, str] = {}
    state: dict[str, str] = {}
    for event in events:
        if event.topic != "cc.tickets":
            continue
        value, ticket = event.value, event.key
        if value["type"] == "ticket.created":
            assert ticket not in created
            created[ticket] = str(value["occurred_at"])
            state[ticket] = "open"
            continue
        assert ticket in created, "a ticket event before its creation"
        assert value["created_at"] == created[ticket]
        assert when(event) >= parse_time(created[ticket])
        if value["type"] == "ticket.solved":
            assert state[ticket] == "open"
            state[ticket] = "solved"
        elif value["type"] == "ticket.reopened":
            assert state[ticket] == "solved"
            state[ticket] = "open"
    assert Counter(state.values())["solved"] > 100


def test_ticket_replies_mix_authors_and_private_notes(events: list[SimEvent]) -> None:
    replies = of_type(events, "ticket.replied")
    kinds = Counter((r["author"], r["public"]) for r in replies)
    assert set(kinds) == {("agent", True), ("agent", False), ("customer", True)}


def test_solves_come_hours_or_days_later(events: list[SimEvent]) -> None:
    ages = [
        (parse_time(v["occurred_at"]) - parse_time(v["created_at"])).total_seconds() / 3600
        for v in of_type(events, "ticket.solved")
    ]
    assert max(ages) > 24
    assert sorted(ages)[len(ages) // 2] > 1


def test_followups_come_after_what_they_follow(events: list[SimEvent]) -> None:
    done: dict[str, datetime] = {}
    for event in events:
        value = event.value
        if value["type"] in ("contact.completed", "ticket.solved"):
            done.setdefault(str(value.get("contact_id") or value.get("ticket_id")), when(event))
        elif event.topic in ("cc.surveys", "cc.quality"):
            ref = value.get("contact_id") or value.get("ticket_id")
            assert ref in done and when(event) >= done[str(ref)]


def test_agents_belong_to_the_event_team(events: list[SimEvent]) -> None:
    team_of = {agent.name: agent.team for agent in DEFAULT_SCENARIO.agents}
    for event in events:
        if "agent" in event.value:
            assert team_of[str(event.value["agent"])] == event.value["team"]


def test_abandons_cover_every_reason_and_short_ones(events: list[SimEvent]) -> None:
    abandons = of_type(events, "contact.abandoned")
    reasons = Counter(a.get("reason", "(omitted)") for a in abandons)
    assert set(reasons) == {"hangup", "timeout", "exit_key", "no_agents", "(omitted)"}
    assert reasons["hangup"] + reasons["(omitted)"] > sum(reasons.values()) / 2
    short = [a for a in abandons if a.get("reason", "hangup") == "hangup" and a["wait_seconds"] < 5]
    assert len(short) > 10
    ratio = len(abandons) / len(of_type(events, "contact.offered"))
    assert 0.03 < ratio < 0.25


def test_completions_vary_like_real_sources(events: list[SimEvent]) -> None:
    completed = of_type(events, "contact.completed")
    resolved = Counter(repr(c.get("resolved", "absent")) for c in completed)
    assert {"True", "False", "None", "'absent'"} <= set(resolved)
    assert resolved["True"] > resolved["False"]
    assert any(c.get("transferred") for c in completed)
    assert any("hold_seconds" not in c for c in completed if c["channel"] == "voice")


def test_surveys_and_qa_carry_agent_when_known(events: list[SimEvent]) -> None:
    surveys = [e.value for e in events if e.topic == "cc.surveys"]
    assert any("agent" in s for s in surveys) and any("agent" not in s for s in surveys)
    assert any("ticket_id" in s for s in surveys) and any("contact_id" in s for s in surveys)
    assert all("criteria" in q for q in of_type(events, "qa.evaluated"))
    days = [c["valid_days"] for c in of_type(events, "agent.certified")]
    assert all(90 <= d <= 365 for d in days)


def test_arrivals_follow_the_local_daily_curve(events: list[SimEvent]) -> None:
    zone = ZoneInfo("Europe/Bucharest")
    by_hour = Counter(
        when(e).astimezone(zone).hour
        for e in events
        if e.value["type"] == "contact.offered" and e.value["team"] == "support"
    )
    assert by_hour[11] > 4 * max(by_hour[3], 1)


def test_weekends_are_quieter_than_weekdays() -> None:
    generator = TrafficGenerator(start=MONDAY, seed=3, rate=0.05)
    per_day: Counter[int] = Counter()
    for at_ms, event in generator.timed_events():
        day = (at_ms - generator.start_ms) // 86_400_000
        if day >= 7:
            break
        per_day[day] += event.value["type"] == "contact.offered"
    assert per_day[6] < per_day[2] / 2  # Sunday against Wednesday


def test_rate_is_the_weekly_mean_of_events_per_second() -> None:
    rate = 0.05
    generator = TrafficGenerator(start=MONDAY - timedelta(days=2), seed=5, rate=rate)
    begin, end = MONDAY, MONDAY + timedelta(days=7)  # after two days of ticket warm-up
    counted = 0
    for at_ms, _ in generator.timed_events():
        if at_ms >= end.timestamp() * 1000:
            break
        counted += at_ms >= begin.timestamp() * 1000
    assert counted / (7 * 86_400) == pytest.approx(rate, rel=0.1)


def test_rejects_naive_start_and_bad_rate() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        TrafficGenerator(start=datetime(2026, 11, 2), seed=1, rate=1)  # noqa: DTZ001
    with pytest.raises(ValueError, match="rate"):
        TrafficGenerator(start=MONDAY, seed=1, rate=0)


def test_high_rates_stay_ordered_and_valid() -> None:
    batch = simulate_batch(MONDAY + timedelta(hours=9), 11, 5_000, 2_000.0)
    times = [when(e) for e in batch]
    assert times == sorted(times)
    assert (times[-1] - times[0]).total_seconds() < 60
    assert all(not problems(e.topic, e.key, e.value) for e in batch)
