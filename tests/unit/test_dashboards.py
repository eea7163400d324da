"""The generated Grafana dashboards: panel basics, target thresholds, metric names, drift."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from streams.config import AppConfig, load_config, parse_config
from streams.generate.dashboards import (
    DEFAULT_VARIABLES,
    UnknownVariable,
    build_dashboards,
    iter_panels,
    panel_queries,
    substitute,
    write_dashboards,
)
from streams.kpi.catalogue import AGENT_KPIS, KPIS

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "deploy" / "cckpi.yaml"
DASHBOARDS = REPO / "grafana" / "dashboards"
UIDS = {
    "cckpi-queues",
    "cckpi-tickets",
    "cckpi-experience",
    "cckpi-agents",
    "cckpi-targets",
    "cckpi-pipeline",
}
SCOPE = {"team", "queue", "agent", "channel"}


def exposed_metrics() -> dict[str, set[str]]:
    """Every metric the worker exposes, with the labels it may carry."""
    metrics: dict[str, set[str]] = {}
    for kpi in KPIS:
        clock = {"clock"} if kpi.clocked else set()
        metrics[kpi.metric] = {"period", "window"} | SCOPE | clock
    for kpi in AGENT_KPIS:
        clock = {"clock"} if kpi.clocked else set()
        metrics[f"cc_{kpi.name}_team_agent_average"] = {"period", "window", "team"} | clock
        metrics[f"cc_{kpi.name}_to_team_average"] = {"period", "window", "team", "agent"} | clock
    metrics |= {
        "cc_certifications_expired": {"team"},
        "cc_certifications_expiring_30d": {"team"},
        "cc_agent_certification_expiry_timestamp_seconds": {"team", "agent", "certification"},
        "cc_target": {"target", "kpi", "period", "clock"} | SCOPE,
        "cc_target_breached": {"target", "kpi", "period", "clock"} | SCOPE,
        "cc_target_state": {"target", "kpi", "period", "clock", "window", "state", "window_start"}
        | SCOPE,
        "cc_target_expected": {"target", "kpi", "period", "clock"} | SCOPE,
        "cc_events_total": {"topic", "type"},
        "cc_events_invalid_total": {"topic", "reason"},
        "cc_events_duplicate_total": {"topic"},
        "cc_events_late_total": {"topic"},
        "cc_deadletter_total": {"topic", "reason"},
        "cc_queue_wait_seconds_bucket": {"team", "queue", "le"},
        "cc_queue_wait_seconds_sum": {"team", "queue"},
        "cc_queue_wait_seconds_count": {"team", "queue"},
        "cc_consumer_lag_messages": {"topic"},
        "cc_last_batch_timestamp_seconds": set(),
        "cc_watermark_timestamp_seconds": set(),
    }
    return metrics


@pytest.fixture(scope="module")
def config() -> AppConfig:
    return load_config(CONFIG)


@pytest.fixture(scope="module")
def boards(config: AppConfig) -> dict[str, dict[str, Any]]:
    return build_dashboards(config)


def all_panels(boards: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    return [(uid, panel) for uid, board in boards.items() for panel in iter_panels(board)]


def step_values(panel: dict[str, Any]) -> list[float]:
    steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
    return [step["value"] for step in steps if step["value"] is not None]


def test_every_board_is_built(boards: dict[str, dict[str, Any]]) -> None:
    assert set(boards) == UIDS
    for uid, board in boards.items():
        assert board["uid"] == uid
        assert board["title"].startswith("cckpi / ")
        assert "cckpi" in board["tags"]


def test_every_panel_has_unit_description_datasource_and_query(
    boards: dict[str, dict[str, Any]],
) -> None:
    for uid, panel in all_panels(boards):
        where = f"{uid}: {panel['title']}"
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
        assert len(panel.get("description", "")) > 20, f"{where}: no description"
        assert panel.get("datasource") == {"type": "prometheus", "uid": "${datasource}"}, where
        assert panel.get("targets"), f"{where}: no query"
        assert all(target.get("expr") for target in panel["targets"]), where
        assert panel["fieldConfig"]["defaults"]["thresholds"]["steps"], where
        assert panel.get("options"), f"{where}: options unset"


def test_dashboards_round_trip_through_the_sdk_schema(boards: dict[str, dict[str, Any]]) -> None:
    """The JSON parses back into grafana-foundation-sdk's dashboard model unchanged."""
    for uid, board in boards.items():
        model = Dashboard.from_json(board)
        assert json.loads(json.dumps(model, cls=JSONEncoder)) == board, uid


def test_panel_ids_and_titles_are_unique(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        panels = iter_panels(board)
        titles = [panel["title"] for panel in panels]
        assert len(titles) == len(set(titles)), f"{uid}: duplicate panel titles"
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)) and 0 not in ids, uid


def test_variables(boards: dict[str, dict[str, Any]]) -> None:
    for uid, board in boards.items():
        variables = {var["name"]: var for var in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        if uid in {"cckpi-targets", "cckpi-pipeline"}:
            continue
        for name in ("team", "queue", "agent"):
            assert variables[name]["type"] == "query", (uid, name)
            assert variables[name]["allValue"] == ".+", (uid, name)
            assert variables[name]["datasource"]["uid"] == "${datasource}"
        period = variables["period"]
        assert period["type"] == "custom"
        assert period["query"] == "hour,day,week,month"
        assert period["current"]["value"] == "day"


def test_every_target_shows_its_threshold_on_a_board_and_the_overview(
    config: AppConfig, boards: dict[str, dict[str, Any]]
) -> None:
    for target in config.targets:
        marker = f"Target {target.id}:"
        carrying = [(uid, p) for uid, p in all_panels(boards) if marker in p["description"]]
        uids = {uid for uid, _ in carrying}
        assert "cckpi-targets" in uids, f"{target.id} missing from the overview"
        assert uids - {"cckpi-targets"}, f"{target.id} is on no KPI board"
        for uid, panel in carrying:
            assert target.value in step_values(panel), f"{uid}: {panel['title']}"


def test_only_targets_put_thresholds_on_kpi_panels(boards: dict[str, dict[str, Any]]) -> None:
    for uid, panel in all_panels(boards):
        if uid == "cckpi-pipeline" or "Target " in panel["description"]:
            continue
        assert step_values(panel) == [], f"{uid}: {panel['title']} has thresholds but no target"


def test_boundary_value_is_coloured_as_met(boards: dict[str, dict[str, Any]]) -> None:
    """Grafana steps start at their value; a `<=` target's own value must still be green."""
    panel = next(p for _, p in all_panels(boards) if p["title"] == "Certifications expired by team")
    assert step_values(panel) == [0]
    mapping = panel["fieldConfig"]["defaults"]["mappings"][0]
    assert mapping["type"] == "value"
    assert mapping["options"]["0"]["color"] == "green"


def test_several_targets_on_one_panel_carry_every_value() -> None:
    config = parse_config(
        """
targets:
  - {id: a, kpi: abandon_ratio, period: week, scope: {team: support}, op: "<=", value: 0.03}
  - {id: b, kpi: abandon_ratio, period: week, scope: {team: sales}, op: "<=", value: 0.05}
"""
    )
    panels = [p for _, p in all_panels(build_dashboards(config))]
    panel = next(p for p in panels if p["title"] == "Abandon ratio by team")
    assert step_values(panel) == [0.03, 0.05]


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan",
}  # fmt: skip


def metrics_and_matchers(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, label names matched) for every series selector in a PromQL expression."""
    found: list[tuple[str, set[str]]] = []
    text = _STRING.sub('""', expr)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    for match in re.finditer(r"([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?\s*(\()?", text):
        name, braces, call = match.groups()
        if call or name.lower() in _KEYWORDS:
            continue
        labels = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", braces or ""))
        found.append((name, labels))
    return found


def test_queries_use_only_exposed_metrics_and_labels(boards: dict[str, dict[str, Any]]) -> None:
    exposed = exposed_metrics()
    used = set()
    for uid, board in boards.items():
        for title, expr in panel_queries(board):
            for metric, labels in metrics_and_matchers(expr):
                assert metric in exposed, f"{uid}: {title}: {metric} is not exposed ({expr})"
                assert labels <= exposed[metric], f"{uid}: {title}: {metric} has no {labels}"
                used.add(metric)
    assert not {kpi.metric for kpi in KPIS} - used, "some KPI is on no dashboard"


def test_metric_parser_sees_selectors() -> None:
    parsed = metrics_and_matchers(
        'sum by (le) (rate(cc_x_bucket{team=~"a{b}"}[5m])) / on() cc_y or vector(0)'
    )
    assert parsed == [("cc_x_bucket", {"team"}), ("cc_y", set())]


def test_substitute_forms() -> None:
    values = {"team": "support", "period": "day", "__rate_interval": "1m"}
    assert substitute('x{team=~"$team"}[$__rate_interval]', values) == 'x{team=~"support"}[1m]'
    assert substitute('x{period="${period}"}', values) == 'x{period="day"}'
    assert substitute('x{period="${period:regex}"}', values) == 'x{period="day"}'
    assert substitute('x{period="[[period]]"}', values) == 'x{period="day"}'
    with pytest.raises(UnknownVariable):
        substitute('x{agent=~"$agent"}', values)


def test_panel_queries_substitute_every_variable(boards: dict[str, dict[str, Any]]) -> None:
    for board in boards.values():
        queries = panel_queries(board, {"team": "support", "queue": "billing"})
        assert queries
        for title, expr in queries:
            assert "$" not in expr and "[[" not in expr, (title, expr)
    queues = dict(panel_queries(boards["cckpi-queues"], {"team": "support"}))
    assert 'team=~"support"' in queues["Service level by queue"]
    assert set(DEFAULT_VARIABLES) >= {"team", "queue", "agent", "period", "clock"}


@pytest.mark.prometheus
def test_every_query_parses_in_promtool(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: apt-get install prometheus (make test installs it)")
    rules = [
        {"record": f"cckpi:panel_query:{i}", "expr": expr}
        for i, (_, expr) in enumerate(
            query for board in boards.values() for query in panel_queries(board)
        )
    ]
    path = tmp_path / "queries.rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_committed_dashboards_match_generated(config: AppConfig, tmp_path: Path) -> None:
    written = write_dashboards(config, tmp_path)
    assert {path.stem for path in written} == UIDS
    committed = {path.name for path in DASHBOARDS.glob("*.json")}
    assert committed == {path.name for path in written}, "stale or missing files in grafana/"
    for path in written:
        assert (DASHBOARDS / path.name).read_text(encoding="utf-8") == path.read_text(
            encoding="utf-8"
        ), f"grafana/dashboards/{path.name} is stale: regenerate from deploy/cckpi.yaml"
