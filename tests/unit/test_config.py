"""The YAML config file: the contract's example, refusals with useful messages, scope matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.config import AppConfig, TargetConfig, load_config, parse_config
from streams.errors import CckpiError, ConfigError
from streams.pipeline.runtime import calendars_of

CONTRACT_EXAMPLE = """\
queues:            # per queue; a queue not listed gets the defaults
  billing: {service_level_seconds: 20, short_abandon_seconds: 5}
calendars:         # per team; a team not listed is open 24x7
  support:
    timezone: Europe/Bucharest
    hours: {mon: ["09:00-13:00", "14:00-18:00"], tue: ["09:00-18:00"]}  # days not listed are closed
    holidays: ["2026-12-25"]
targets:
  - {id: weekly-abandon, kpi: abandon_ratio, period: week, scope: {team: support},
     op: "<=", value: 0.03, severity: warning}
"""


def refused(text: str) -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "cckpi.yaml")
    message = str(info.value)
    assert message.startswith("cckpi.yaml: ")
    return message


def target(**fields: object) -> TargetConfig:
    spec: dict[str, object] = {"id": "t", "kpi": "abandon_ratio", "period": "day", "op": "<="}
    spec["value"] = 0.1
    spec.update(fields)
    return TargetConfig.model_validate(spec)


def test_contract_example_parses() -> None:
    config = parse_config(CONTRACT_EXAMPLE)
    billing = config.queue("billing")
    assert (billing.service_level_seconds, billing.short_abandon_seconds) == (20, 5)
    support = config.calendars["support"]
    assert support.timezone == "Europe/Bucharest"
    assert support.hours == {"mon": ["09:00-13:00", "14:00-18:00"], "tue": ["09:00-18:00"]}
    assert support.holidays == ["2026-12-25"]
    (weekly,) = config.targets
    assert (weekly.id, weekly.kpi, weekly.period, weekly.op) == (
        "weekly-abandon",
        "abandon_ratio",
        "week",
        "<=",
    )
    assert (weekly.scope, weekly.value, weekly.severity, weekly.clock) == (
        {"team": "support"},
        0.03,
        "warning",
        None,
    )
    assert set(calendars_of(config)) == {"support"}


def test_every_section_is_optional() -> None:
    for text in ("", "{}\n", "# only a comment\n", "queues: {}\n"):
        config = parse_config(text)
        assert config == AppConfig()
    defaults = AppConfig().queue("anything")
    assert (defaults.service_level_seconds, defaults.short_abandon_seconds) == (20, 5)


def test_service_level_bounds_are_sorted_and_include_the_default() -> None:
    config = parse_config("queues: {a: {service_level_seconds: 60}, b: {service_level_seconds: 5}}")
    assert config.service_level_bounds() == [5, 20, 60]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("queue: {}\n", "queue"),
        ("queues: {billing: {sla: 20}}\n", "sla"),
        ("calendars: {support: {timezone: UTC, tz: UTC}}\n", "tz"),
        (
            "targets:\n  - {id: a, kpi: abandon_ratio, period: day, op: '<=', value: 0.1,"
            " threshold: 2}\n",
            "threshold",
        ),
    ],
)
def test_unknown_keys_are_refused(text: str, where: str) -> None:
    message = refused(text)
    assert where in message
    assert "Extra inputs are not permitted" in message


def test_unknown_kpi_is_refused_with_its_line() -> None:
    text = (
        "# targets of the support team\n"
        "targets:\n"
        "  - {id: ok, kpi: abandon_ratio, period: day, op: '<=', value: 0.1}\n"
        "  - id: bad\n"
        "    kpi: happiness_index\n"
        "    period: day\n"
        "    op: '>='\n"
        "    value: 1\n"
    )
    message = refused(text)
    assert "line 4: targets.1" in message
    assert "unknown kpi 'happiness_index'" in message


def test_ratio_above_one_is_refused_with_its_line() -> None:
    text = (
        "\n\ntargets:\n  - {id: sl, kpi: service_level_ratio, period: hour, op: '>=', value: 80}\n"
    )
    message = refused(text)
    assert "line 4: targets.0" in message
    assert "ratio (0..1)" in message
    assert "80" in message


def test_every_problem_is_listed() -> None:
    text = (
        "targets:\n"
        "  - {id: a, kpi: nope, period: day, op: '<=', value: 1}\n"
        "  - {id: b, kpi: csat_ratio, period: day, op: '<=', value: 2}\n"
    )
    message = refused(text)
    assert "line 2: targets.0" in message
    assert "line 3: targets.1" in message


def test_duplicate_target_ids_are_refused() -> None:
    text = (
        "targets:\n"
        "  - {id: same, kpi: abandon_ratio, period: day, op: '<=', value: 0.1}\n"
        "  - {id: same, kpi: csat_ratio, period: day, op: '>=', value: 0.8}\n"
    )
    assert "target id 'same' is used twice" in refused(text)


TARGET = "targets:\n  - {id: a, period: day, "


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("not: [valid", "not valid YAML"),
        ("- a list\n- at the top\n", "top level must be a mapping"),
        ("queues: {billing: {service_level_seconds: -1}}\n", "queues.billing.service_level"),
        ("targets:\n  - {id: Bad_Id, kpi: csat_ratio, period: day, op: '<', value: 0}", "id"),
        ("targets:\n  - {id: a, kpi: csat_ratio, period: year, op: '<', value: 0}", "period"),
        (TARGET + "kpi: csat_ratio, op: '=<', value: 0.1}\n", "op"),
        (TARGET + "kpi: csat_ratio, op: '<', value: 0.1, severity: bad}\n", "severity"),
        (TARGET + "kpi: nps_score, op: '>=', value: 150}\n", "-100..100"),
        (TARGET + "kpi: reopen_ratio, scope: {agent: x}, op: '<', value: 1}\n", "not published"),
        (TARGET + "kpi: csat_ratio, scope: {site: x}, op: '<', value: 1}\n", "scope.site"),
        (TARGET + "kpi: csat_ratio, op: '<', value: 1, clock: business}\n", "has no clock"),
        (TARGET + "kpi: certifications_expired, op: '<=', value: 0}\n", "per team"),
        (TARGET + "kpi: csat_ratio, op: '<', value: 1, clock: wall}\n", "clock"),
        (TARGET + "kpi: csat_ratio, op: '<'}\n", "value"),
    ],
)
def test_other_invalid_files_are_refused(text: str, fragment: str) -> None:
    assert fragment in refused(text)


def test_config_error_is_a_cckpi_error() -> None:
    assert issubclass(ConfigError, CckpiError)


def test_clocked_kpis_default_to_the_calendar_clock() -> None:
    assert target(kpi="first_reply_seconds", value=60).clock == "calendar"
    assert target(kpi="resolution_seconds", value=60, clock="business").clock == "business"
    assert target(kpi="csat_ratio").clock is None


@pytest.mark.parametrize(
    "hours",
    [
        "{mon: ['9:00-17:00']}",
        "{mon: ['25:00-26:00']}",
        "{mon: ['09:00-17:60']}",
        "{mon: ['09:00']}",
    ]
    + ["{monday: ['09:00-17:00']}", "{mon: '09:00-17:00'}"],
)
def test_bad_calendar_ranges_are_refused(hours: str) -> None:
    message = refused(f"calendars:\n  support: {{timezone: UTC, hours: {hours}}}\n")
    assert "calendars.support.hours" in message


def test_calendar_range_to_midnight_is_accepted() -> None:
    config = parse_config("calendars: {night: {timezone: UTC, hours: {sun: ['18:00-24:00']}}}")
    assert calendars_of(config)["night"].business_seconds(0, 7 * 86400) == 6 * 3600


@pytest.mark.parametrize(
    "calendar",
    [
        pytest.param("{timezone: UTC, hours: {mon: ['17:00-09:00']}}", id="reversed"),
        pytest.param("{timezone: UTC, hours: {mon: ['09:00-09:00']}}", id="empty"),
        pytest.param("{timezone: UTC, hours: {mon: ['09:00-12:00', '11:00-13:00']}}", id="overlap"),
        pytest.param("{timezone: Mars/Olympus}", id="unknown-zone"),
        pytest.param("{timezone: UTC, holidays: ['2026-13-45']}", id="bad-holiday"),
    ],
)
def test_calendars_the_clock_refuses_are_refused_by_the_config(calendar: str) -> None:
    refused(f"calendars:\n  support: {calendar}\n")


def test_load_config(tmp_path: Path) -> None:
    assert load_config(None) == AppConfig()
    path = tmp_path / "cckpi.yaml"
    path.write_text(CONTRACT_EXAMPLE, encoding="utf-8")
    assert load_config(path) == parse_config(CONTRACT_EXAMPLE)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")
    path.write_text("queues: {x: {bogus: 1}}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=str(path)):
        load_config(path)


@pytest.mark.parametrize(
    ("selector", "published", "expected"),
    [
        ({}, {}, True),
        ({}, {"team": "support"}, False),
        ({"team": "support"}, {"team": "support"}, True),
        ({"team": "support"}, {"team": "sales"}, False),
        ({"team": "support"}, {}, False),
        ({"team": "support"}, {"team": "support", "queue": "billing"}, False),
        ({"team": "*"}, {"team": "sales"}, True),
        ({"team": "*"}, {"team": "sales", "channel": "voice"}, False),
        ({"team": "*"}, {}, False),
        ({"team": "support", "queue": "*"}, {"team": "support", "queue": "vip"}, True),
        ({"team": "support", "queue": "*"}, {"team": "sales", "queue": "vip"}, False),
        ({"team": "support", "queue": "*"}, {"team": "support", "agent": "vip"}, False),
        ({"queue": "billing"}, {"team": "anyone", "queue": "billing"}, True),
        ({"queue": "billing"}, {"team": "anyone", "queue": "vip"}, False),
        ({"queue": "billing"}, {"queue": "billing"}, False),
        ({"team": "*", "channel": "chat"}, {"team": "a", "channel": "chat"}, True),
        ({"team": "*", "channel": "chat"}, {"team": "a", "channel": "voice"}, False),
        ({"agent": "*"}, {"team": "a", "agent": "ann"}, True),
        ({"team": "a", "agent": "ann"}, {"team": "a", "agent": "bob"}, False),
    ],
)
def test_target_scope_matching(
    selector: dict[str, str], published: dict[str, str], expected: bool
) -> None:
    kpi = "average_handle_time_seconds"  # published at every scope kind but none of its own
    rule = target(kpi=kpi, value=300, scope=selector)
    assert rule.matches(published) is expected


def test_scope_labels_imply_the_team() -> None:
    assert target(scope={"queue": "billing"}).scope_labels == ("queue", "team")
    assert target(scope={}).scope_labels == ()
    assert target(kpi="csat_ratio", scope={"agent": "*"}).scope_labels == ("agent", "team")


def test_clocked_team_average_target_takes_a_clock() -> None:
    text = (
        "targets:\n  - {id: a, kpi: first_reply_seconds_team_agent_average, period: day,"
        " scope: {team: a}, op: '<', value: 9, clock: business}\n"
    )
    assert parse_config(text).targets[0].clock == "business"


def test_team_average_target_needs_a_team_scope() -> None:
    refused(
        "targets:\n  - {id: a, kpi: quality_score_team_agent_average, period: day,"
        " scope: {team: a, agent: b}, op: '<', value: 9}\n"
    )
