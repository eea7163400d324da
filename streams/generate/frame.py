"""The frame every dashboard shares: variables, the board itself, KPI panel shortcuts.

Variables: ``datasource`` (Prometheus), ``team``, ``queue``, ``agent`` (multi,
"All" = ``.+`` so a selected label must be present) and ``period``.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import bargauge, stat, timeseries
from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard

from streams.config import AppConfig
from streams.generate.panels import (
    DATASOURCE,
    LEGENDS,
    bar_panel,
    kpi_selector,
    kpi_text,
    matching_targets,
    query,
    stat_panel,
    timeseries_panel,
    title,
)
from streams.kpi.catalogue import KPI_BY_NAME, Kpi, ScopeKind

RATE = "$__rate_interval"
ANY_CC = '__name__=~"cc_.+"'


# --------------------------------------------------------------------------- variables


def option(value: str, selected: bool) -> dashboard.VariableOption:
    return dashboard.VariableOption(selected=selected, text=value, value=value)


def query_variable(name: str, source: str, description: str) -> db.QueryVariable:
    return (
        db.QueryVariable(name)
        .label(name.capitalize())
        .description(description)
        .datasource(DATASOURCE)
        .query(source)
        .refresh(dashboard.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .all_value(".+")
        .current(dashboard.VariableOption(selected=True, text="All", value="$__all"))
    )


def custom_variable(
    name: str, values: tuple[str, ...], default: str, description: str
) -> db.CustomVariable:
    return (
        db.CustomVariable(name)
        .label(name.capitalize())
        .description(description)
        .values(",".join(values))
        .options([option(value, value == default) for value in values])
        .current(option(default, True))
    )


def new_board(uid: str, name: str, description: str, *, scoped: bool = True) -> db.Dashboard:
    """A dashboard with the datasource variable and, when ``scoped``, team/queue/agent/period."""
    board = (
        db.Dashboard(name)
        .uid(uid)
        .description(description)
        .tags(["cckpi"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .editable()
        .with_variable(
            db.DatasourceVariable("datasource")
            .label("Data source")
            .description("The Prometheus that scrapes the cckpi worker.")
            .type("prometheus")
        )
    )
    if not scoped:
        return board
    return (
        board.with_variable(
            query_variable("team", f'label_values({{{ANY_CC},team!=""}}, team)', "Teams.")
        )
        .with_variable(
            query_variable(
                "queue",
                'label_values(cc_contacts_offered{team=~"$team",queue!=""}, queue)',
                "Queues of the selected teams.",
            )
        )
        .with_variable(
            query_variable(
                "agent",
                f'label_values({{{ANY_CC},team=~"$team",agent!=""}}, agent)',
                "Agents of the selected teams.",
            )
        )
        .with_variable(
            custom_variable(
                "period",
                ("hour", "day", "week", "month"),
                "day",
                "Window length of the KPI gauges (tumbling, in the reporting time zone).",
            )
        )
    )


# --------------------------------------------------------------------------- KPI panels


def kpi_timeseries(
    config: AppConfig,
    kpi: Kpi,
    scope: ScopeKind,
    *,
    clock: str | None = None,
    name: str = "",
    span: int = 12,
) -> timeseries.Panel:
    return timeseries_panel(
        name or f"{title(kpi)} by {scope.value}",
        kpi_text(kpi, scope),
        kpi.unit,
        [query(kpi_selector(kpi.metric, scope, clock=clock), LEGENDS[scope])],
        matching_targets(config, kpi.name, scope, clock),
        span=span,
    )


def kpi_stat(
    config: AppConfig, kpi: Kpi, scope: ScopeKind, *, name: str = "", span: int = 6
) -> stat.Panel:
    return stat_panel(
        name or f"{title(kpi)}, {scope.value}",
        kpi_text(kpi, scope),
        kpi.unit,
        [query(kpi_selector(kpi.metric, scope), LEGENDS[scope], instant=True)],
        matching_targets(config, kpi.name, scope),
        span=span,
    )


def kpi_bars(
    config: AppConfig,
    kpi: Kpi,
    scope: ScopeKind,
    *,
    clock: str | None = None,
    name: str = "",
    span: int = 12,
) -> bargauge.Panel:
    return bar_panel(
        name or f"{title(kpi)} by {scope.value}",
        kpi_text(kpi, scope),
        kpi.unit,
        [query(kpi_selector(kpi.metric, scope, clock=clock), LEGENDS[scope], instant=True)],
        matching_targets(config, kpi.name, scope, clock),
        span=span,
    )


def catalogue_kpi(name: str) -> Kpi:
    return KPI_BY_NAME[name]
