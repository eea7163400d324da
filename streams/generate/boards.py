"""The KPI dashboards: live queues, ticketing, customer experience, agents.

Gauges are read at ``window="current"`` of the ``period`` variable; a panel
whose KPI and scope kind have a target carries the target's threshold.

Each function returns an SDK dashboard builder; :mod:`streams.generate.dashboards`
numbers the panels and turns the builders into JSON models.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as db
from grafana_foundation_sdk.models import dashboard

from streams.config import AppConfig
from streams.generate.frame import (
    RATE,
    catalogue_kpi,
    custom_variable,
    kpi_bars,
    kpi_stat,
    kpi_timeseries,
    new_board,
)
from streams.generate.panels import (
    LEGENDS,
    bar_panel,
    heatmap_panel,
    kpi_selector,
    kpi_text,
    matching_targets,
    query,
    stat_panel,
    table_panel,
    team_average_selector,
    timeseries_panel,
    title,
    to_team_selector,
)
from streams.kpi.catalogue import AGENT_KPIS, ScopeKind

C, T, CH, Q, A = (
    ScopeKind.CENTRE,
    ScopeKind.TEAM,
    ScopeKind.CHANNEL,
    ScopeKind.QUEUE,
    ScopeKind.AGENT,
)


def queues_board(config: AppConfig) -> db.Dashboard:
    sl, abandon = catalogue_kpi("service_level_ratio"), catalogue_kpi("abandon_ratio")
    waits = 'cc_queue_wait_seconds_bucket{team=~"$team",queue=~"$queue"}'
    volumes = (
        "contacts_offered",
        "contacts_answered",
        "contacts_abandoned",
        "short_abandons",
        "contacts_exited",
    )
    return (
        new_board(
            "cckpi-queues",
            "cckpi / Live queues",
            "Service level, abandons and queue waits of the contact queues, live.",
        )
        .with_row(db.Row("Now: current window of the selected period"))
        .with_panel(kpi_stat(config, sl, Q, name="Service level by queue, now", span=12))
        .with_panel(kpi_stat(config, abandon, T, name="Abandon ratio by team, now"))
        .with_panel(kpi_stat(config, sl, C, name="Service level, whole centre"))
        .with_row(db.Row("Service level and abandons"))
        .with_panel(kpi_timeseries(config, sl, Q))
        .with_panel(kpi_timeseries(config, abandon, T))
        .with_panel(kpi_timeseries(config, abandon, Q))
        .with_panel(kpi_timeseries(config, catalogue_kpi("average_speed_of_answer_seconds"), Q))
        .with_panel(kpi_timeseries(config, catalogue_kpi("max_queue_wait_seconds"), Q))
        .with_row(db.Row("Volumes"))
        .with_panel(
            timeseries_panel(
                "Offered vs answered by queue",
                "Contacts offered, answered, abandoned, short-abandoned and exited per queue, "
                "in the current window of the selected period (counts so far).",
                "short",
                [
                    query(
                        kpi_selector(f"cc_{name}", Q),
                        f"{title(catalogue_kpi(name))} {LEGENDS[Q]}",
                        ref=chr(ord("A") + i),
                    )
                    for i, name in enumerate(volumes)
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Contact events per second",
                "Live rate of accepted cc.contacts events by type, whole centre (offered vs "
                "answered vs abandoned, as they arrive).",
                "ops",
                [
                    query(
                        f'sum by (type) (rate(cc_events_total{{topic="cc.contacts"}}[{RATE}]))',
                        "{{type}}",
                    )
                ],
            )
        )
        .with_row(db.Row("Queue waits (live, from the wait histogram)"))
        .with_panel(
            heatmap_panel(
                "Queue wait distribution",
                "Queue waits of the selected queues per histogram bucket (bucket bounds at "
                "every configured service-level threshold), live.",
                "s",
                [query(f"sum by (le) (increase({waits}[{RATE}]))", "{{le}}", fmt="heatmap")],
            )
        )
        .with_panel(
            timeseries_panel(
                "Queue wait percentiles",
                "Median and 90th percentile queue wait per queue, estimated from the "
                "wait histogram, live.",
                "s",
                [
                    query(
                        f"histogram_quantile({q}, sum by (le, team, queue) "
                        f"(rate({waits}[{RATE}])))",
                        f"p{int(q * 100)} {LEGENDS[Q]}",
                        ref=ref,
                    )
                    for q, ref in ((0.5, "A"), (0.9, "B"))
                ],
            )
        )
    )


def tickets_board(config: AppConfig) -> db.Dashboard:
    board = new_board(
        "cckpi-tickets",
        "cckpi / Ticketing",
        "Reply and resolution times (business and calendar clocks), solved tickets and reopens.",
    )
    for name in ("first_reply_seconds", "next_reply_seconds", "resolution_seconds"):
        kpi = catalogue_kpi(name)
        board = board.with_row(db.Row(f"{title(kpi)}: business hours vs calendar"))
        for clock in ("business", "calendar"):
            board = board.with_panel(
                kpi_timeseries(
                    config, kpi, T, clock=clock, name=f"{title(kpi)} by team ({clock} clock)"
                )
            )
        board = board.with_panel(
            kpi_bars(
                config,
                kpi,
                A,
                clock="business",
                name=f"{title(kpi)} by agent (business clock)",
                span=24,
            )
        )
    solved = catalogue_kpi("tickets_solved")
    return (
        board.with_row(db.Row("Solved and reopened"))
        .with_panel(kpi_bars(config, solved, A, name="Tickets solved per agent", span=24))
        .with_panel(kpi_timeseries(config, solved, T))
        .with_panel(kpi_timeseries(config, catalogue_kpi("reopen_ratio"), T))
    )


def experience_board(config: AppConfig) -> db.Dashboard:
    nps, csat, quality = (
        catalogue_kpi("nps_score"),
        catalogue_kpi("csat_ratio"),
        catalogue_kpi("quality_score"),
    )
    fcr = catalogue_kpi("first_contact_resolution_ratio")
    board = (
        new_board(
            "cckpi-experience",
            "cckpi / Customer experience",
            "NPS, CSAT, QA quality and first-contact resolution.",
        )
        .with_row(db.Row("Whole centre"))
        .with_panel(kpi_stat(config, nps, C, name="NPS, whole centre"))
        .with_panel(kpi_stat(config, csat, C, name="CSAT, whole centre"))
        .with_panel(kpi_stat(config, quality, C, name="Quality score, whole centre"))
        .with_panel(kpi_stat(config, fcr, C, name="First contact resolution, whole centre"))
        .with_row(db.Row("By team and channel"))
    )
    for kpi in (nps, csat, quality, fcr):
        board = board.with_panel(kpi_timeseries(config, kpi, T))
    board = board.with_panel(kpi_timeseries(config, nps, CH)).with_panel(
        kpi_timeseries(config, csat, CH)
    )
    board = board.with_row(db.Row("By agent"))
    for kpi in (nps, csat, quality, fcr):
        board = board.with_panel(kpi_bars(config, kpi, A))
    return board


def agents_board(config: AppConfig) -> db.Dashboard:
    board = new_board(
        "cckpi-agents",
        "cckpi / Agents",
        "Each agent beside the team's agent average, and certifications.",
    ).with_variable(
        custom_variable(
            "clock", ("business", "calendar"), "business", "Clock of reply and resolution times."
        )
    )
    for kpi in AGENT_KPIS:
        clock = "$clock" if kpi.clocked else None
        targets = matching_targets(config, kpi.name, A, None)
        note = " Clock: the clock variable." if kpi.clocked else ""
        board = (
            board.with_row(db.Row(title(kpi)))
            .with_panel(
                timeseries_panel(
                    f"{title(kpi)}: agent vs team average",
                    kpi_text(kpi, A, "The dashed series is the mean of the team's agents." + note),
                    kpi.unit,
                    [
                        query(kpi_selector(kpi.metric, A, clock=clock), LEGENDS[A]),
                        query(
                            team_average_selector(kpi, clock=clock),
                            "team average {{team}}",
                            ref="B",
                        ),
                    ],
                    targets,
                    span=16,
                )
            )
            .with_panel(
                bar_panel(
                    f"{title(kpi)}: agent / team average",
                    f"Each agent's {title(kpi).lower()} divided by the mean of the team's "
                    "agents (100% = team average), current window of the selected period." + note,
                    "percentunit",
                    [query(to_team_selector(kpi, clock=clock), LEGENDS[A], instant=True)],
                    span=8,
                )
            )
        )
    expiry = 'cc_agent_certification_expiry_timestamp_seconds{team=~"$team",agent=~"$agent"}'
    cert_targets = matching_targets(config, "certifications_expired", T)
    return (
        board.with_row(db.Row("Certifications"))
        .with_panel(
            stat_panel(
                "Certifications expired by team",
                "Agents' certifications past expiry, per team, relative to the event-time "
                "watermark.",
                "short",
                [query('cc_certifications_expired{team=~"$team"}', "{{team}}", instant=True)],
                cert_targets,
            )
        )
        .with_panel(
            stat_panel(
                "Certifications expiring within 30 days",
                "Agents' certifications that expire within 30 days of the watermark, per team.",
                "short",
                [query('cc_certifications_expiring_30d{team=~"$team"}', "{{team}}", instant=True)],
            )
        )
        .with_panel(
            table_panel(
                "Certification expiry by agent",
                "When each agent's certification expires, and the time left from the "
                "event-time watermark (negative: expired).",
                "dateTimeAsIso",
                [
                    query(f"{expiry} * 1000", "", instant=True, fmt="table"),
                    query(
                        f"{expiry} - scalar(max(cc_watermark_timestamp_seconds))",
                        "",
                        ref="B",
                        instant=True,
                        fmt="table",
                    ),
                ],
                [dashboard.DataTransformerConfig(id_val="merge", options={})],
                span=24,
            ).override_by_name("Value #B", [dashboard.DynamicConfigValue(id_val="unit", value="s")])
        )
    )
