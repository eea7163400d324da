"""The generated alert rules: shape, PromQL, drift, and `promtool test rules` for every rule.

The promtool tests are generated here from the rules themselves. A windowed
target's rules read the worker's ``cc_target_state``: for each rule, one case
per state its window can be in (it fires, with exact labels and annotations,
on its own state only: ``behind_pace``, ``breached`` or ``missed``; never on
``on_pace``, ``met`` or ``insufficient_data``, nor with its state set for
another target, window or scope), and one where the state holds for less than
``for`` (pending, then firing). Certification rules compare their gauge: one
case breached, one met (with breaching decoys), one pending.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.config import SCOPE_NAMES, AppConfig, TargetConfig, load_config, parse_config
from streams.generate.promql import breach_expr, format_number, is_windowed
from streams.generate.rules import (
    PIPELINE_FILE,
    TARGETS_FILE,
    RuleOptions,
    build_pipeline_rules,
    build_rules,
    missed_alert_name,
    target_alert_name,
    target_alert_names,
    write_rules,
)
from streams.kpi.catalogue import KPI_BY_NAME, PERIODS
from streams.targets.states import (
    BEHIND_PACE,
    BREACHED,
    MISSED,
    OPEN_OTHER_STATES,
    OPEN_VOLUME_STATES,
    VERDICTS,
    is_volume_goal,
)

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "cckpi.yaml"
RULES_DIR = REPO / "deploy" / "prometheus" / "rules"
RUNBOOK = REPO / "docs" / "runbook.md"

# Every op, every scope kind, "*" and exact selectors, a clock, a team average
# and a certification target: the generator's whole input space in one file.
SYNTHETIC = """
targets:
  - {id: centre-aht, kpi: average_handle_time_seconds, period: hour, op: "<", value: 300}
  - {id: team-reopen, kpi: reopen_ratio, period: week, scope: {team: "*"}, op: "<=", value: 0.1}
  - {id: chat-csat, kpi: csat_ratio, period: day, scope: {team: support, channel: chat},
     op: ">", value: 0.9, severity: critical}
  - {id: billing-offered, kpi: contacts_offered, period: hour,
     scope: {team: support, queue: billing}, op: "==", value: 0}
  - {id: ann-quality, kpi: quality_score, period: month, scope: {agent: ann}, op: ">=", value: 85}
  - {id: next-reply-cal, kpi: next_reply_seconds, period: day, scope: {team: sales},
     op: "<=", value: 7200}
  - {id: team-avg-nps, kpi: nps_score_team_agent_average, period: month,
     scope: {team: "*"}, op: ">=", value: 40}
  - {id: expiring, kpi: certifications_expiring_30d, period: day, scope: {team: support},
     op: "<", value: 3}
  - {id: agent-answered, kpi: contacts_answered, period: week, scope: {agent: "*"},
     op: ">=", value: 300, pace_tolerance: 0.2}
  - {id: queue-cap, kpi: contacts_abandoned, period: day, scope: {queue: "*"}, op: "<=", value: 50}
"""


def shipped_config() -> AppConfig:
    return load_config(CONFIG)


def synthetic_config() -> AppConfig:
    return parse_config(SYNTHETIC, "synthetic")


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.skip("promtool not found: apt-get install prometheus (make test installs it)")
    return path


def minutes(duration: str) -> int:
    match = re.fullmatch(r"(\d+)([smh])", duration)
    assert match, f"unsupported duration {duration}"
    value, unit = int(match.group(1)), match.group(2)
    seconds = value * {"s": 1, "m": 60, "h": 3600}[unit]
    assert seconds % 60 == 0, "test cases step by minutes"
    return seconds // 60


def go_value(value: float) -> str:
    """``{{ $value }}`` as Go's text/template prints a float64 (shortest repr, %g style)."""
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return repr(value)


def render(template: str, labels: dict[str, str], value: float) -> str:
    """The subset of Prometheus alert templating the generated rules use."""
    text = template.replace("{{ $value }}", go_value(value))
    text = text.replace("{{ $value | humanizePercentage }}", "%.4g%%" % (value * 100))
    text = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)
    assert "{{" not in text, f"test renderer cannot render {template!r}"
    return text


def series(metric: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{name}="{value}"' for name, value in labels.items())
    return f"{metric}{{{inner}}}"


def rules_by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


# --------------------------------------------------------------------------- shape


def test_rules_per_target_with_required_fields() -> None:
    config = shipped_config()
    rules = build_rules(config)["groups"][0]["rules"]
    names = [name for t in config.targets for name in target_alert_names(t)]
    assert [rule["alert"] for rule in rules] == names
    owner = {name: t for t in config.targets for name in target_alert_names(t)}
    for rule in rules:
        target = owner[rule["alert"]]
        kind = "Missed" if rule["alert"] == missed_alert_name(target) else None
        kind = kind or ("BehindPace" if is_volume_goal(target) else "Breached")
        assert re.fullmatch(rf"CckpiTarget[A-Z][A-Za-z0-9]*{kind}", rule["alert"])
        assert rule["labels"] == {
            "severity": target.severity,
            "target": target.id,
            "kpi": target.kpi,
        }
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["for"] == ("0m" if kind == "Missed" else "5m")
    missed = [r for r in rules if r["alert"].endswith("Missed")]
    assert len(missed) == sum(1 for t in config.targets if is_windowed(t))


def test_every_pipeline_rule_is_named_and_documented() -> None:
    for rule in build_pipeline_rules()["groups"][0]["rules"]:
        assert re.fullmatch(r"Cckpi[A-Z][A-Za-z]+", rule["alert"])
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}


def runbook_anchors() -> set[str]:
    anchors = set()
    for line in RUNBOOK.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def test_runbook_has_a_section_for_every_alert() -> None:
    documents = [build_rules(shipped_config()), build_rules(synthetic_config())]
    documents.append(build_pipeline_rules())
    anchors = runbook_anchors()
    for document in documents:
        for rule in rules_by_name(document).values():
            base, _, anchor = rule["annotations"]["runbook_url"].partition("#")
            assert base == "docs/runbook.md"
            assert anchor in anchors, f"{rule['alert']}: no section #{anchor} in docs/runbook.md"


def test_options_change_for_and_runbook_base() -> None:
    options = RuleOptions(target_for="15m", runbook_base="https://example.invalid/runbook.md")
    rule = build_rules(shipped_config(), options)["groups"][0]["rules"][0]
    assert rule["for"] == "15m"
    assert (
        rule["annotations"]["runbook_url"] == "https://example.invalid/runbook.md#target-breached"
    )


ON = " and on(team, queue, agent, channel) "
EXPECTED_EXPRS = {
    "CckpiTargetWeeklyAbandonBreached": 'cc_abandon_ratio{period="week",window="current",'
    'team="support",queue="",agent="",channel=""}' + ON + "(cc_target_state{target="
    '"weekly-abandon",window="current",state="breached"} == 1)',
    "CckpiTargetWeeklyAbandonMissed": 'cc_abandon_ratio{period="week",window="previous",'
    'team="support",queue="",agent="",channel=""} * on(team, queue, agent, channel) '
    'group_left(window_start) (cc_target_state{target="weekly-abandon",window="previous",'
    'state="missed"} == 1)',
    "CckpiTargetTicketsPerAgentBehindPace": 'cc_tickets_solved{period="month",'
    'window="current",team!="",queue="",agent!="",channel=""}' + ON + "(cc_target_state{"
    'target="tickets-per-agent",window="current",state="behind_pace"} == 1)',
    "CckpiTargetSupportFirstReplyBreached": 'cc_first_reply_seconds{period="day",'
    'window="current",team="support",queue="",agent="",channel="",clock="business"}'
    + ON
    + '(cc_target_state{target="support-first-reply",window="current",state="breached"} == 1)',
    "CckpiTargetCertificationCurrentBreached": 'cc_certifications_expired{team!=""} > 0',
}


@pytest.mark.parametrize("alert", sorted(EXPECTED_EXPRS))
def test_expr_selects_the_scope_and_negates_the_op(alert: str) -> None:
    assert rules_by_name(build_rules(shipped_config()))[alert]["expr"] == EXPECTED_EXPRS[alert]


@pytest.mark.parametrize(
    ("op", "negated"), [("<=", ">"), ("<", ">="), (">=", "<"), (">", "<="), ("==", "!=")]
)
def test_every_op_is_negated(op: str, negated: str) -> None:
    config = parse_config(
        "targets: [{id: t, kpi: certifications_expired, period: day, scope: {team: a}, "
        f'op: "{op}", value: 80}}]'
    )
    assert build_rules(config)["groups"][0]["rules"][0]["expr"].endswith(f"}} {negated} 80")
    assert breach_expr(config.targets[0]).endswith(f"}} {negated} 80")


def test_committed_rules_match_generated(tmp_path: Path) -> None:
    written = write_rules(shipped_config(), tmp_path)
    assert sorted(path.name for path in written) == sorted([TARGETS_FILE, PIPELINE_FILE])
    for path in written:
        committed = RULES_DIR / path.name
        assert committed.exists(), f"{committed} missing: run `cckpi rules` and commit"
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"{committed} is stale: regenerate it from deploy/cckpi.yaml and commit"
        )


# --------------------------------------------------------------------------- promtool


@pytest.mark.prometheus
def test_promtool_check_rules(tmp_path: Path) -> None:
    files = [str(RULES_DIR / TARGETS_FILE), str(RULES_DIR / PIPELINE_FILE)]
    files += [str(p) for p in write_rules(synthetic_config(), tmp_path)]
    result = subprocess.run(
        [promtool(), "check", "rules", *files], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _delta(target: TargetConfig) -> float:
    kpi = KPI_BY_NAME.get(target.kpi)
    return 0.01 if kpi is not None and kpi.is_ratio else 1.0


def _values(target: TargetConfig) -> tuple[float, float]:
    """(breaching value, met value) for a target, the met one on the boundary where allowed."""
    v, d = target.value, _delta(target)
    return {
        "<=": (v + d, v),
        "<": (v, v - d),
        ">=": (v - d, v),
        ">": (v, v + d),
        "==": (v + d, v),
    }[target.op]


def _labels(target: TargetConfig) -> dict[str, str]:
    labels: dict[str, str] = {}
    if is_windowed(target):
        labels |= {"period": target.period, "window": "current"}
    for name in SCOPE_NAMES:
        if name in target.scope_labels:
            value = target.scope.get(name, "*")
            labels[name] = f"some-{name}" if value == "*" else value
    if target.clock is not None:
        labels["clock"] = target.clock
    return labels


def _decoys(target: TargetConfig) -> list[dict[str, str]]:
    """Series the rule must ignore: neighbouring scopes, other windows, periods, clocks."""
    base = _labels(target)
    decoys = [base | {name: "other"} for name, value in target.scope.items() if value != "*"]
    if is_windowed(target):
        decoys += [base | {n: "decoy"} for n in SCOPE_NAMES if n not in target.scope_labels]
        decoys.append(base | {"window": "previous"})
        decoys += [base | {"period": p} for p in PERIODS if p != target.period]
    if target.clock is not None:
        decoys.append(base | {"clock": "calendar" if target.clock == "business" else "business"})
    return decoys


def gauge_cases(rule: dict[str, Any], target: TargetConfig) -> list[dict[str, Any]]:
    """Certification rules: the gauge on the wrong side fires, on the right side not."""
    hold = minutes(rule["for"])
    metric = f"cc_{target.kpi}"
    labels = _labels(target)
    breach, met = _values(target)
    b, m = format_number(breach), format_number(met)
    length = hold + 20
    alert_labels = labels | rule["labels"]
    firing = [
        {
            "exp_labels": alert_labels,
            "exp_annotations": {
                key: render(text, labels, breach) for key, text in rule["annotations"].items()
            },
        }
    ]
    name = rule["alert"]
    breached = {
        "interval": "1m",
        "input_series": [{"series": series(metric, labels), "values": f"{b}x{length}"}],
        "alert_rule_test": [{"eval_time": f"{hold + 5}m", "alertname": name, "exp_alerts": firing}],
    }
    decoys = [{"series": series(metric, d), "values": f"{b}x{length}"} for d in _decoys(target)]
    met_case = {
        "interval": "1m",
        "input_series": [{"series": series(metric, labels), "values": f"{m}x{length}"}, *decoys],
        "alert_rule_test": [{"eval_time": f"{hold + 5}m", "alertname": name, "exp_alerts": []}],
    }
    pending = {
        "interval": "1m",
        "input_series": [{"series": series(metric, labels), "values": f"{m}x9 {b}x{length}"}],
        "alert_rule_test": [
            {"eval_time": f"{10 + hold - 1}m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{10 + hold}m", "alertname": name, "exp_alerts": firing},
        ],
    }
    return [breached, met_case, pending]


def _pipeline_case(
    name: str, inputs: dict[str, str], evals: list[tuple[int, list[dict[str, Any]]]]
) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": [{"series": s, "values": v} for s, v in inputs.items()],
        "alert_rule_test": [
            {"eval_time": f"{t}m", "alertname": name, "exp_alerts": alerts} for t, alerts in evals
        ],
    }


EVENTS = 'cc_events_total{topic="cc.contacts",type="contact.offered"}'
INVALID = 'cc_events_invalid_total{topic="cc.contacts",reason="schema"}'
LATE = 'cc_events_late_total{topic="cc.contacts"}'
LAG = 'cc_consumer_lag_messages{topic="cc.contacts",instance="w1:6066"}'
BATCH = 'cc_last_batch_timestamp_seconds{instance="w1:6066"}'
UP = 'up{job="cckpi",instance="w1:6066"}'

# name -> (breached, met, pending): input series, then (eval minute, alert labels, $value)
# where "fires" means the alert is firing at that minute with those labels.
PIPELINE_CASES: dict[
    str, list[tuple[dict[str, str], list[tuple[int, dict[str, str] | None, float]]]]
] = {
    "CckpiWorkerDown": [
        ({UP: "0x20"}, [(10, {"job": "cckpi", "instance": "w1:6066"}, 0)]),
        ({UP: "1x20"}, [(10, None, 0)]),
        ({UP: "1x9 0x10"}, [(10, None, 0), (12, {"job": "cckpi", "instance": "w1:6066"}, 0)]),
    ],
    "CckpiPipelineStalled": [
        ({EVENTS: "100x30"}, [(20, {}, 0)]),
        ({EVENTS: "0+60x30"}, [(20, None, 0)]),
        ({EVENTS: "0+60x9 600x30"}, [(15, None, 0)]),
    ],
    "CckpiConsumerLagGrowing": [
        ({LAG: "20000+1000x30"}, [(20, {"topic": "cc.contacts"}, 40000)]),
        (
            {LAG: "20000x30", 'cc_consumer_lag_messages{topic="cc.tickets"}': "0+100x30"},
            [(20, None, 0)],
        ),
        ({LAG: "20000x9 20000+1000x30"}, [(15, None, 0), (30, {"topic": "cc.contacts"}, 40000)]),
    ],
    "CckpiPipelineStuck": [
        ({BATCH: "0x30", LAG: "500x30"}, [(20, {}, 1200)]),
        ({BATCH: "0+60x30", LAG: "500x30"}, [(20, None, 0)]),
        ({BATCH: "0x30", LAG: "500x30"}, [(8, None, 0), (11, {}, 660)]),
    ],
    "CckpiDeadLetterSurge": [
        ({EVENTS: "0+100x30", INVALID: "0+10x30"}, [(15, {}, 10 / 110)]),
        ({EVENTS: "0+100x30", INVALID: "0+1x30"}, [(15, None, 0)]),
        ({EVENTS: "0+100x30", INVALID: "0x9 0+10x20"}, [(13, None, 0), (20, {}, 10 / 110)]),
    ],
    "CckpiLateEventsSurge": [
        ({EVENTS: "0+100x30", LATE: "0+5x30"}, [(15, {}, 5 / 105)]),
        ({EVENTS: "0+100x30", LATE: "0x30"}, [(15, None, 0)]),
        ({EVENTS: "0+100x30", LATE: "0x9 0+5x20"}, [(13, None, 0), (20, {}, 5 / 105)]),
    ],
}


def pipeline_cases(rule: dict[str, Any]) -> list[dict[str, Any]]:
    name = rule["alert"]
    assert name in PIPELINE_CASES, f"{name} has no promtool test cases"
    cases = []
    for inputs, evals in PIPELINE_CASES[name]:
        expected = []
        for minute, labels, value in evals:
            alerts = []
            if labels is not None:
                annotations = {k: render(t, labels, value) for k, t in rule["annotations"].items()}
                alerts = [{"exp_labels": labels | rule["labels"], "exp_annotations": annotations}]
            expected.append((minute, alerts))
        cases.append(_pipeline_case(name, inputs, expected))
    return cases


def run_promtool_tests(tmp_path: Path, rule_files: list[Path], tests: list[dict[str, Any]]) -> None:
    test_file = tmp_path / "rules.test.yml"
    document = {
        "rule_files": [str(path) for path in rule_files],
        "evaluation_interval": "1m",
        "tests": tests,
    }
    test_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    result = subprocess.run(
        [promtool(), "test", "rules", str(test_file)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def _state_labels(target: TargetConfig, window: str, state: str) -> dict[str, str]:
    """The labels of a ``cc_target_state`` sample as the worker exports it."""
    scope = {k: v for k, v in _labels(target).items() if k in SCOPE_NAMES}
    labels = {"target": target.id, "kpi": target.kpi, "period": target.period, **scope}
    if target.clock is not None:
        labels["clock"] = target.clock
    labels |= {"window": window, "state": state}
    if window == "previous":
        labels["window_start"] = WINDOW_START
    return labels


WINDOW_START = "2026-11-01T00:00:00+01:00"
"""The ``window_start`` label a verdict carries (the previous window's start)."""


def state_cases(
    rule: dict[str, Any], target: TargetConfig, window: str, fires_on: str, states: tuple[str, ...]
) -> list[dict[str, Any]]:
    """One case per state the window can be in (fires on ``fires_on`` only), and a pending one."""
    hold = minutes(rule["for"])
    length = hold + 20
    labels = _labels(target) | {"window": window}
    value = 0.42 if _delta(target) < 1 else 7.0
    kpi = {
        "series": series(f"cc_{target.kpi}", labels),
        "values": f"{format_number(value)}x{length}",
    }
    # A verdict's alert carries its window's start (copied from cc_target_state).
    alerted = labels | ({"window_start": WINDOW_START} if window == "previous" else {})
    firing = [
        {
            "exp_labels": alerted | rule["labels"],
            "exp_annotations": {
                key: render(text, alerted, value) for key, text in rule["annotations"].items()
            },
        }
    ]
    name = rule["alert"]
    cases = []
    for state in states:
        inputs = [kpi]
        for each in states:
            one = "1" if each == state else "0"
            inputs.append(
                {
                    "series": series("cc_target_state", _state_labels(target, window, each)),
                    "values": f"{one}x{length}",
                }
            )
        # The rule's own state, set for what it must ignore: another target, the other
        # window, a neighbouring scope (with its own KPI series).
        other_window = "previous" if window == "current" else "current"
        decoys = [
            _state_labels(target, window, fires_on) | {"target": "someone-else"},
            _state_labels(target, other_window, fires_on),
        ]
        scope_decoy = {n: "decoy" for n in SCOPE_NAMES if n not in target.scope_labels}
        if scope_decoy:
            decoys.append(_state_labels(target, window, fires_on) | scope_decoy)
            inputs.append(
                {
                    "series": series(f"cc_{target.kpi}", labels | scope_decoy),
                    "values": f"{format_number(value)}x{length}",
                }
            )
        inputs += [
            {"series": series("cc_target_state", d), "values": f"1x{length}"} for d in decoys
        ]
        expect = firing if state == fires_on else []
        cases.append(
            {
                "interval": "1m",
                "input_series": inputs,
                "alert_rule_test": [
                    {"eval_time": f"{hold + 5}m", "alertname": name, "exp_alerts": expect}
                ],
            }
        )
    pending = {
        "interval": "1m",
        "input_series": [
            kpi,
            {
                "series": series("cc_target_state", _state_labels(target, window, fires_on)),
                "values": f"0x9 1x{length}",
            },
        ],
        "alert_rule_test": [
            {"eval_time": f"{10 + hold - 1}m", "alertname": name, "exp_alerts": []},
            {"eval_time": f"{10 + hold}m", "alertname": name, "exp_alerts": firing},
        ],
    }
    return [*cases, pending]


def target_cases(rules: dict[str, dict[str, Any]], target: TargetConfig) -> list[dict[str, Any]]:
    """Every rule of one target, every state of its window."""
    if not is_windowed(target):
        return gauge_cases(rules[target_alert_name(target)], target)
    if is_volume_goal(target):
        open_case = ("current", BEHIND_PACE, OPEN_VOLUME_STATES)
    else:
        open_case = ("current", BREACHED, OPEN_OTHER_STATES)
    return [
        *state_cases(rules[target_alert_name(target)], target, *open_case),
        *state_cases(rules[missed_alert_name(target)], target, "previous", MISSED, VERDICTS),
    ]


def _target_tests(config: AppConfig, document: dict[str, Any]) -> list[dict[str, Any]]:
    rules = rules_by_name(document)
    tests = []
    for target in config.targets:
        tests += target_cases(rules, target)
    windowed = sum(1 for t in config.targets if is_windowed(t))
    assert len(tests) == 3 * (len(config.targets) - windowed) + 2 * 4 * windowed
    return tests


@pytest.mark.prometheus
def test_promtool_unit_tests_cover_every_shipped_rule(tmp_path: Path) -> None:
    config = shipped_config()
    tests = _target_tests(config, build_rules(config))
    pipeline = build_pipeline_rules()["groups"][0]["rules"]
    for rule in pipeline:
        tests += pipeline_cases(rule)
    assert set(PIPELINE_CASES) == {rule["alert"] for rule in pipeline}
    run_promtool_tests(tmp_path, [RULES_DIR / TARGETS_FILE, RULES_DIR / PIPELINE_FILE], tests)


@pytest.mark.prometheus
def test_promtool_unit_tests_cover_every_op_and_scope(tmp_path: Path) -> None:
    config = synthetic_config()
    rule_file = write_rules(config, tmp_path / "rules")[0]
    run_promtool_tests(tmp_path, [rule_file], _target_tests(config, build_rules(config)))
