"""Invariants of the oracle on seeded random traffic (a cross-check of the fold)."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.oracle.clock import CalendarSpec
from tests.oracle.reference import WINDOWED_TOPICS, Arrival, OracleConfig, compute

START = datetime(2026, 10, 24, 20, 0, tzinfo=UTC)  # spans the Bucharest autumn change
TEAMS = ("support", "sales")
COUNTS = ("contacts_offered", "contacts_answered", "contacts_abandoned", "short_abandons")


def random_traffic(seed: int, n: int) -> list[Arrival]:
    """Roughly time-ordered events with jitter, repeats and a little garbage."""
    rng = random.Random(seed)
    arrivals: list[Arrival] = []
    for i in range(n):
        occurred = START + timedelta(seconds=i * 30 + rng.uniform(-900, 60))
        body: dict[str, Any] = {
            "event_id": f"r{i}",
            "occurred_at": occurred.isoformat(),
            "team": rng.choice(TEAMS),
            "channel": rng.choice(("voice", "chat", "email")),
        }
        agent = f"a{rng.randrange(4)}"
        topic = rng.choice(WINDOWED_TOPICS)
        if topic == "cc.contacts":
            body |= {"contact_id": f"c{i}", "queue": rng.choice(("billing", "tech"))}
            kind = rng.choice(("offered", "answered", "abandoned", "completed"))
            body["type"] = f"contact.{kind}"
            body["wait_seconds"] = rng.choice((0, 3, 7, 19.5, 20, 45))
            body["agent"] = agent
            body["talk_seconds"] = rng.uniform(0, 600)
            body["resolved"] = rng.choice((True, False, None))
            body["reason"] = rng.choice(("hangup", "hangup", "timeout"))
        elif topic == "cc.tickets":
            created = occurred - timedelta(hours=rng.uniform(0, 80))
            body |= {"ticket_id": f"t{rng.randrange(n // 10 + 1)}", "agent": agent}
            body |= {"created_at": created.isoformat(), "public": rng.random() < 0.9}
            body["type"] = rng.choice(("ticket.replied", "ticket.solved", "ticket.reopened"))
            body["author"] = rng.choice(("agent", "customer"))
        elif topic == "cc.surveys":
            body |= {"type": "survey.nps", "score": rng.randrange(11)}
            if rng.random() < 0.5:
                body["agent"] = agent
        else:
            body |= {"type": "qa.evaluated", "agent": agent, "score": rng.uniform(0, 100)}
        value = json.dumps(body).encode()
        if rng.random() < 0.01:
            value = value[:-5]
        arrival = Arrival(topic, rng.randrange(2), value)
        arrivals.append(arrival)
        if rng.random() < 0.02:
            arrivals.append(arrival)
    return arrivals


def test_days_are_the_sum_of_their_hours_and_everything_is_classified() -> None:
    arrivals = random_traffic(seed=7, n=6000)
    config = OracleConfig(
        reporting_timezone="Europe/Bucharest",
        partitions=dict.fromkeys(WINDOWED_TOPICS, 2),
        calendars={"support": CalendarSpec("Europe/Bucharest", {"mon": ["09:00-17:00"]})},
    )
    result = compute(arrivals, config)
    assert result.sent == len(arrivals)
    assert result.duplicate > 0 and result.late > 0 and result.invalid
    assert result.finals, "the random traffic should close some windows"

    hourly: dict[tuple[str, str, str], float] = defaultdict(float)
    days = {}
    for record in result.records.values():
        if record["kpi"] not in COUNTS:
            continue
        scope = json.dumps(record["scope"], sort_keys=True)
        if record["period"] == "hour":
            local_day = record["window_start"][:10]
            hourly[(record["kpi"], scope, local_day)] += record["value"]
        elif record["period"] == "day":
            days[(record["kpi"], scope, record["window_start"][:10])] = record["value"]
    assert days and days == dict(hourly)

    for key, (value, numerator, denominator) in result.finals.items():
        assert key in result.records and result.records[key]["final"] is True
        if denominator is not None and numerator is not None:
            assert denominator > 0 and value is not None
            assert abs(value * denominator - numerator * (100 if "nps" in key else 1)) < 1e-6
        if key.endswith("|clock=business") and "team=sales" in key:
            calendar_key = key.replace("|clock=business", "|clock=calendar")
            assert result.records[calendar_key]["value"] == value  # no calendar: 24x7
