"""The default scenario and its example config file."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import yaml

from streams.simulate.scenario import CHANNELS, DEFAULT_SCENARIO, example_config_yaml

RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-4]):[0-5]\d$")
DAYS = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"}


def test_scenario_has_three_teams_and_about_forty_agents() -> None:
    teams = {team.name for team in DEFAULT_SCENARIO.teams}
    assert teams == {"support", "sales", "social-care"}
    names = [agent.name for agent in DEFAULT_SCENARIO.agents]
    assert 35 <= len(names) <= 45 and len(set(names)) == len(names)
    assert {agent.team for agent in DEFAULT_SCENARIO.agents} == teams
    assert any(agent.shift.start_hour + agent.shift.hours > 24 for agent in DEFAULT_SCENARIO.agents)
    assert any(5 in agent.shift.days for agent in DEFAULT_SCENARIO.agents)


def test_channels_and_queues_are_valid() -> None:
    queue_names = [q.name for team in DEFAULT_SCENARIO.teams for q in team.queues]
    assert len(set(queue_names)) == len(queue_names)
    for team in DEFAULT_SCENARIO.teams:
        ZoneInfo(team.timezone)
        for queue in team.queues:
            assert {channel for channel, _ in queue.channels} <= set(CHANNELS) - {"email"}
        assert {channel for channel, _ in team.ticket_channels} <= set(CHANNELS)
    assert len(DEFAULT_SCENARIO.daily_curve) == 24


def test_example_config_uses_only_contract_keys() -> None:
    config = yaml.safe_load(example_config_yaml())
    assert set(config) <= {"queues", "calendars", "targets"}
    assert config["queues"]["billing"] == {"service_level_seconds": 20, "short_abandon_seconds": 5}
    assert config["queues"]["technical"] == {
        "service_level_seconds": 30,
        "short_abandon_seconds": 10,
    }
    for settings in config["queues"].values():
        assert set(settings) == {"service_level_seconds", "short_abandon_seconds"}
    assert set(config["calendars"]) == {"support", "sales"}
    assert config["calendars"]["support"]["timezone"] == "Europe/Bucharest"
    assert config["calendars"]["sales"]["timezone"] == "America/New_York"
    assert config["calendars"]["support"]["hours"]["mon"] == ["09:00-13:00", "14:00-18:00"]
    for calendar in config["calendars"].values():
        assert set(calendar) <= {"timezone", "hours", "holidays"}
        ZoneInfo(calendar["timezone"])
        assert set(calendar["hours"]) <= DAYS
        assert all(RANGE.match(r) for ranges in calendar["hours"].values() for r in ranges)
        assert all(isinstance(day, str) for day in calendar.get("holidays", []))
    assert config["calendars"]["support"]["holidays"]
    for target in config["targets"]:
        assert set(target) == {"id", "kpi", "period", "scope", "op", "value", "severity"}
        assert target["period"] in {"hour", "day", "week", "month"}
        assert target["op"] in {"<=", ">=", "<", ">"}
        assert set(target["scope"]) <= {"team", "queue", "agent", "channel"}
    assert len({t["id"] for t in config["targets"]}) == len(config["targets"])
