"""The operations dashboards: every target at a glance, and the pipeline's health."""

from __future__ import annotations

from typing import Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.builders import timeseries
from grafana_foundation_sdk.models import common, dashboard

from streams.config import AppConfig, TargetConfig
from streams.generate.frame import RATE, new_board
from streams.generate.panels import bar_panel, query, stat_panel, table_panel, timeseries_panel
from streams.generate.promql import describe_target, is_windowed, target_selector, target_unit
from streams.generate.rules import DEFAULT_OPTIONS, RuleOptions, message_ratio_expr
from streams.targets.states import is_volume_goal


def _target_panels(board: db.Dashboard, target: TargetConfig) -> db.Dashboard:
    legend = " ".join(f"{{{{{name}}}}}" for name in target.scope_labels) or "centre"
    text = describe_target(target)
    state = dashboard.ValueMap(
        options={
            "0": dashboard.ValueMappingResult(text="Met", color="green", index=0),
            "1": dashboard.ValueMappingResult(text="Breached", color="red", index=1),
        }
    )
    board = (
        board.with_row(db.Row(f"{target.id}: {text}"))
        .with_panel(
            bar_panel(
                f"{target.id}: current value",
                f"Current-window value of every scope target {target.id} watches (the alert "
                "rule's own selector).",
                target_unit(target),
                [query(target_selector(target), legend, instant=True)],
                [target],
                span=12,
            )
        )
        .with_panel(
            stat_panel(
                f"{target.id}: threshold",
                f"The threshold the worker publishes for target {target.id} (cc_target).",
                target_unit(target),
                [query(f'cc_target{{target="{target.id}"}}', legend, instant=True)],
                [target],
                span=6,
            )
        )
        .with_panel(
            stat_panel(
                f"{target.id}: state",
                f"Met or breached, per scope, as the worker judges target {target.id} "
                "(cc_target_breached).",
                "none",
                [query(f'cc_target_breached{{target="{target.id}"}}', legend, instant=True)],
                span=6,
            ).mappings([state])
        )
    )
    for panel in _judgement_panels(target, legend):
        board = board.with_panel(panel)
    return board


def _judgement_panels(target: TargetConfig, legend: str) -> list[Any]:
    """Value, target and pace over time, and the state of every scope by name."""
    if not is_windowed(target):
        return []
    queries = [query(target_selector(target), f"{legend} value")]
    about = "the value of the current window and the target (dashed)"
    if is_volume_goal(target):
        expected = f'cc_target_expected{{target="{target.id}"}}'
        queries.append(query(expected, f"{legend} pace", ref="B"))
        about += (
            ", with the pace line: the target times the elapsed share of the window "
            "(business hours, or the agent's shifts)"
        )
    states = f'cc_target_state{{target="{target.id}",window=~"current|previous"}} == 1'
    return [
        timeseries_panel(
            f"{target.id}: value, target and pace",
            f"For target {target.id}, {about}.",
            target_unit(target),
            queries,
            [target],
            span=16,
        ),
        table_panel(
            f"{target.id}: state by scope",
            f"The state of each scope of target {target.id} in the current window (met, "
            "breached, on_pace, behind_pace, insufficient_data) and the verdict on the "
            "previous one (met, missed, insufficient_data).",
            "none",
            [query(states, "", instant=True, fmt="table")],
            [],
            span=8,
        ),
    ]


def targets_board(config: AppConfig) -> db.Dashboard:
    board = (
        new_board(
            "cckpi-targets",
            "cckpi / Targets overview",
            "Every target of the config file: threshold, current value, met or breached.",
            scoped=False,
        )
        .with_panel(
            stat_panel(
                "Targets breached now",
                "Number of (target, scope) pairs breached in the current window.",
                "none",
                [query("sum(cc_target_breached) or vector(0)", "breached", instant=True)],
                span=6,
            )
        )
        .with_panel(
            stat_panel(
                "Targets by state now",
                "(target, scope) pairs per state in the current window: behind pace (volume "
                "goals below their pace), breached, insufficient data (too few contacts or "
                "responses to judge), on pace, met.",
                "none",
                [
                    query(
                        'sum by (state) (cc_target_state{window="current"})',
                        "{{state}}",
                        instant=True,
                    )
                ],
                span=12,
            )
        )
        .with_panel(
            table_panel(
                "Every target",
                "Each target and scope with its threshold (Value #A) and state (Value #B: "
                "1 breached, 0 met).",
                "none",
                [
                    query("cc_target", "", instant=True, fmt="table"),
                    query("cc_target_breached", "", ref="B", instant=True, fmt="table"),
                ],
                [dashboard.DataTransformerConfig(id_val="merge", options={})],
                span=18,
            )
        )
    )
    for target in config.targets:
        board = _target_panels(board, target)
    return board


def _alert_line(panel: timeseries.Panel, value: float) -> timeseries.Panel:
    """Draw a pipeline alert's threshold (red above) on a time series panel."""
    steps = [
        dashboard.Threshold(value=None, color="green"),
        dashboard.Threshold(value=value, color="red"),
    ]
    style = common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED)
    return panel.thresholds(
        db.ThresholdsConfig().mode(dashboard.ThresholdsMode.ABSOLUTE).steps(steps)
    ).thresholds_style(style)


def pipeline_board(options: RuleOptions = DEFAULT_OPTIONS) -> db.Dashboard:
    def rate(metric: str, by: str) -> str:
        return f"sum by ({by}) (rate({metric}[{RATE}]))"

    return (
        new_board(
            "cckpi-pipeline",
            "cckpi / Pipeline health",
            "Input rates, rejects, lag and freshness of the cckpi worker.",
            scoped=False,
        )
        .with_panel(
            timeseries_panel(
                "Accepted events per second",
                "Accepted input events by topic.",
                "ops",
                [query(rate("cc_events_total", "topic"), "{{topic}}")],
            )
        )
        .with_panel(
            timeseries_panel(
                "Rejected events per second",
                "Invalid (by reason), duplicate and late input events, by topic.",
                "ops",
                [
                    query(
                        rate("cc_events_invalid_total", "topic, reason"),
                        "invalid {{topic}} {{reason}}",
                    ),
                    query(
                        rate("cc_events_duplicate_total", "topic"), "duplicate {{topic}}", ref="B"
                    ),
                    query(rate("cc_events_late_total", "topic"), "late {{topic}}", ref="C"),
                    query(
                        rate("cc_deadletter_total", "reason"), "dead-lettered {{reason}}", ref="D"
                    ),
                ],
            )
        )
        .with_panel(
            _alert_line(
                timeseries_panel(
                    "Invalid share of input",
                    f"Share of input messages dead-lettered as invalid over 5m; the "
                    f"DeadLetterSurge alert fires above {options.deadletter_ratio:.0%}.",
                    "percentunit",
                    [query(message_ratio_expr("cc_events_invalid_total"), "invalid share")],
                ),
                options.deadletter_ratio,
            )
        )
        .with_panel(
            _alert_line(
                timeseries_panel(
                    "Consumer lag",
                    "Messages behind the log end per input topic, summed over the worker "
                    "replicas; the ConsumerLagGrowing alert needs more than "
                    f"{options.lag_messages}.",
                    "short",
                    [query("sum by (topic) (cc_consumer_lag_messages)", "{{topic}}")],
                ),
                float(options.lag_messages),
            )
        )
        .with_panel(
            stat_panel(
                "Since the last folded batch",
                "Wall-clock time since the worker last folded a batch of events.",
                "s",
                [
                    query(
                        "time() - max(cc_last_batch_timestamp_seconds)", "last batch", instant=True
                    )
                ],
            )
        )
        .with_panel(
            stat_panel(
                "Watermark behind wall clock",
                "Wall-clock time minus the event-time watermark (largest occurred_at seen).",
                "s",
                [
                    query(
                        "time() - max(cc_watermark_timestamp_seconds)",
                        "watermark lag",
                        instant=True,
                    )
                ],
            )
        )
    )
