"""Panel building blocks for the dashboards: selectors, queries, thresholds, panel kinds.

Every panel made here has a unit, a description and the Prometheus datasource
of the ``datasource`` variable; a panel given targets carries their thresholds
(the same numbers as the alert rules, :mod:`streams.generate.promql`) and names
them in its description.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from grafana_foundation_sdk.builders import bargauge, heatmap, prometheus, stat, table, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import common, dashboard
from grafana_foundation_sdk.models import prometheus as prometheus_models

from streams.config import AppConfig, TargetConfig
from streams.generate.promql import HIGHER_IS_MET, describe_target, format_number
from streams.kpi.catalogue import KPI_BY_NAME, Kpi, ScopeKind

DATASOURCE = dashboard.DataSourceRef(type_val="prometheus", uid="${datasource}")
NEUTRAL = "blue"
TITLES: dict[str, str] = {
    "contacts_offered": "Contacts offered",
    "contacts_answered": "Contacts answered",
    "contacts_abandoned": "Contacts abandoned",
    "short_abandons": "Short abandons",
    "contacts_exited": "Contacts exited",
    "service_level_ratio": "Service level",
    "abandon_ratio": "Abandon ratio",
    "average_speed_of_answer_seconds": "Average speed of answer",
    "max_queue_wait_seconds": "Longest queue wait",
    "average_handle_time_seconds": "Average handle time",
    "first_contact_resolution_ratio": "First contact resolution",
    "tickets_solved": "Tickets solved",
    "first_reply_seconds": "First reply time",
    "next_reply_seconds": "Next reply time",
    "resolution_seconds": "Resolution time",
    "reopen_ratio": "Reopen ratio",
    "nps_score": "NPS",
    "csat_ratio": "CSAT",
    "quality_score": "Quality score",
}
SCOPE_WORDS: dict[ScopeKind, str] = {
    ScopeKind.CENTRE: "the whole centre",
    ScopeKind.TEAM: "each team",
    ScopeKind.CHANNEL: "each team and channel",
    ScopeKind.QUEUE: "each queue",
    ScopeKind.AGENT: "each agent",
}
LEGENDS: dict[ScopeKind, str] = {
    ScopeKind.CENTRE: "centre",
    ScopeKind.TEAM: "{{team}}",
    ScopeKind.CHANNEL: "{{team}} {{channel}}",
    ScopeKind.QUEUE: "{{team}}/{{queue}}",
    ScopeKind.AGENT: "{{team}}/{{agent}}",
}
_SCOPE_MATCHERS: dict[ScopeKind, str] = {
    ScopeKind.CENTRE: 'team=""',
    ScopeKind.TEAM: 'team=~"$team",queue="",agent="",channel=""',
    ScopeKind.CHANNEL: 'team=~"$team",channel!=""',
    ScopeKind.QUEUE: 'team=~"$team",queue=~"$queue"',
    ScopeKind.AGENT: 'team=~"$team",agent=~"$agent"',
}

Panel = TypeVar("Panel", timeseries.Panel, stat.Panel, bargauge.Panel, table.Panel, heatmap.Panel)


def title(kpi: Kpi) -> str:
    return TITLES.get(kpi.name, kpi.name.replace("_", " ").capitalize())


def kpi_selector(
    metric: str, scope: ScopeKind, *, clock: str | None = None, period: str = "$period"
) -> str:
    """A windowed gauge at exactly one scope kind, current window, filtered by the variables."""
    matchers = f'period="{period}",window="current",{_SCOPE_MATCHERS[scope]}'
    if clock is not None:
        matchers += f',clock="{clock}"'
    return f"{metric}{{{matchers}}}"


def team_average_selector(kpi: Kpi, *, clock: str | None = None) -> str:
    matchers = 'period="$period",window="current",team=~"$team"'
    if clock is not None:
        matchers += f',clock="{clock}"'
    return f"cc_{kpi.name}_team_agent_average{{{matchers}}}"


def to_team_selector(kpi: Kpi, *, clock: str | None = None) -> str:
    matchers = 'period="$period",window="current",team=~"$team",agent=~"$agent"'
    if clock is not None:
        matchers += f',clock="{clock}"'
    return f"cc_{kpi.name}_to_team_average{{{matchers}}}"


def query(
    expr: str, legend: str = "", ref: str = "A", *, instant: bool = False, fmt: str = ""
) -> prometheus.Dataquery:
    built = prometheus.Dataquery().expr(expr).ref_id(ref).legend_format(legend or "__auto")
    built = built.instant() if instant else built.range()
    if fmt:
        built = built.format(prometheus_models.PromQueryFormat(fmt))
    return built


def matching_targets(
    config: AppConfig, kpi: str, scope: ScopeKind | None, clock: str | None = None
) -> list[TargetConfig]:
    """Targets on ``kpi`` at ``scope`` (any clock when ``clock`` is None)."""
    return [
        target
        for target in config.targets
        if target.kpi == kpi
        and target.scope_kind is scope
        and (clock is None or target.clock in (None, clock))
    ]


def thresholds(
    targets: Sequence[TargetConfig],
) -> tuple[dashboard_builders.ThresholdsConfig, list[dashboard.ValueMapping]]:
    """Threshold steps at the targets' values, coloured by which side meets them.

    A Grafana step starts *at* its value, which is right for ``>=`` and ``<``;
    for ``<=``, ``>`` and ``==`` a value mapping colours the boundary itself.
    """
    steps = [dashboard.Threshold(value=None, color=NEUTRAL)]
    mappings: list[dashboard.ValueMapping] = []
    if targets:
        higher = HIGHER_IS_MET[targets[0].op]
        values = sorted({target.value for target in targets})
        good, bad = ("green", "red") if higher else ("red", "green")
        steps = [dashboard.Threshold(value=None, color=bad if higher else good)]
        for i, value in enumerate(values):
            last = i == len(values) - 1
            colour = (good if higher else bad) if last else "orange"
            steps.append(dashboard.Threshold(value=value, color=colour))
        if len(targets) == 1:
            target = targets[0]
            boundary = {"<=": "green", ">": "red", "==": "green"}.get(target.op)
            if target.op == "==":
                steps = [
                    dashboard.Threshold(value=None, color="red"),
                    dashboard.Threshold(value=target.value, color="red"),
                ]
            if boundary is not None:
                result = dashboard.ValueMappingResult(color=boundary, index=0)
                mappings.append(dashboard.ValueMap(options={format_number(target.value): result}))
    config = (
        dashboard_builders.ThresholdsConfig().mode(dashboard.ThresholdsMode.ABSOLUTE).steps(steps)
    )
    return config, mappings


def describe(text: str, targets: Sequence[TargetConfig]) -> str:
    parts = [text.rstrip(".") + "."]
    parts += [f"Target {target.id}: {describe_target(target)}." for target in targets]
    return " ".join(parts)


def finish(
    panel: Panel,
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    targets: Sequence[TargetConfig] = (),
    *,
    span: int = 12,
    height: int = 8,
) -> Panel:
    """Title, description, unit, datasource, queries, thresholds and size: every panel's basics."""
    steps, mappings = thresholds(targets)
    panel = (
        panel.title(name)
        .description(describe(text, targets))
        .unit(unit)
        .datasource(DATASOURCE)
        .targets(list(queries))
        .thresholds(steps)
        .span(span)
        .height(height)
    )
    if mappings:
        panel = panel.mappings(mappings)
    return panel


def timeseries_panel(
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    targets: Sequence[TargetConfig] = (),
    *,
    span: int = 12,
    height: int = 8,
) -> timeseries.Panel:
    legend = (
        common_builders.VizLegendOptions()
        .show_legend(True)
        .display_mode(common.LegendDisplayMode.LIST)
        .placement(common.LegendPlacement.BOTTOM)
    )
    tooltip = (
        common_builders.VizTooltipOptions()
        .mode(common.TooltipDisplayMode.MULTI)
        .sort(common.SortOrder.DESCENDING)
    )
    panel = timeseries.Panel().fill_opacity(10).line_width(1).legend(legend).tooltip(tooltip)
    if targets:
        mode = common_builders.GraphThresholdsStyleConfig().mode(
            common.GraphTresholdsStyleMode.DASHED
        )
        panel = panel.thresholds_style(mode)
    return finish(panel, name, text, unit, queries, targets, span=span, height=height)


def stat_panel(
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    targets: Sequence[TargetConfig] = (),
    *,
    span: int = 12,
    height: int = 5,
) -> stat.Panel:
    panel = (
        stat.Panel()
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.AREA)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    return finish(panel, name, text, unit, queries, targets, span=span, height=height)


def bar_panel(
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    targets: Sequence[TargetConfig] = (),
    *,
    span: int = 12,
    height: int = 8,
) -> bargauge.Panel:
    panel = (
        bargauge.Panel()
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    return finish(panel, name, text, unit, queries, targets, span=span, height=height)


def table_panel(
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    transformations: Sequence[dashboard.DataTransformerConfig] = (),
    *,
    span: int = 12,
    height: int = 8,
) -> table.Panel:
    panel = table.Panel().show_header(True)
    for transformation in transformations:
        panel = panel.with_transformation(transformation)
    return finish(panel, name, text, unit, queries, span=span, height=height)


def heatmap_panel(
    name: str,
    text: str,
    unit: str,
    queries: Sequence[prometheus.Dataquery],
    span: int = 12,
    height: int = 8,
) -> heatmap.Panel:
    panel = heatmap.Panel().calculate(False).y_axis(heatmap.YAxisConfig().unit(unit))
    return finish(panel, name, text, unit, queries, span=span, height=height)


def kpi_text(kpi: Kpi, scope: ScopeKind, extra: str = "") -> str:
    """Panel description: what the KPI is, at which scope, in which window."""
    text = (
        f"{KPI_BY_NAME[kpi.name].description}, for {SCOPE_WORDS[scope]}, in the current "
        "window of the selected period (event time, reporting time zone)"
    )
    return f"{text}. {extra}" if extra else text
