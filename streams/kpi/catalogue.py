"""The KPI catalogue: every KPI of CONTRACT.md v1.1 with its kind, scopes and unit.

This is the shared vocabulary of the engine, the config validation, the alert
rules and the dashboards. Formulas live in :mod:`streams.kpi.derive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a KPI is computed and which record fields it fills."""

    COUNT = "count"
    RATIO = "ratio"
    MEAN = "mean"
    MAX = "max"
    NPS = "nps"
    GAUGE = "gauge"


class ScopeKind(StrEnum):
    """The label sets a KPI is published at."""

    CENTRE = "centre"
    TEAM = "team"
    CHANNEL = "channel"
    QUEUE = "queue"
    AGENT = "agent"


SCOPE_LABELS: dict[ScopeKind, tuple[str, ...]] = {
    ScopeKind.CENTRE: (),
    ScopeKind.TEAM: ("team",),
    ScopeKind.CHANNEL: ("team", "channel"),
    ScopeKind.QUEUE: ("team", "queue"),
    ScopeKind.AGENT: ("team", "agent"),
}
BASE_SCOPES = (ScopeKind.CENTRE, ScopeKind.TEAM, ScopeKind.CHANNEL)
PERIODS = ("hour", "day", "week", "month")
CLOCKS = ("business", "calendar")


@dataclass(frozen=True)
class Kpi:
    """One KPI: name, kind, finer scopes, unit (Grafana unit id) and a short description."""

    name: str
    kind: Kind
    finer: tuple[ScopeKind, ...]
    unit: str
    description: str
    clocked: bool = False
    higher_is_better: bool = True

    @property
    def scopes(self) -> tuple[ScopeKind, ...]:
        return BASE_SCOPES + self.finer

    @property
    def is_ratio(self) -> bool:
        return self.kind is Kind.RATIO

    @property
    def metric(self) -> str:
        return f"cc_{self.name}"


Q, A = ScopeKind.QUEUE, ScopeKind.AGENT
KPIS: tuple[Kpi, ...] = (
    Kpi("contacts_offered", Kind.COUNT, (Q,), "short", "Contacts offered to a queue"),
    Kpi("contacts_answered", Kind.COUNT, (Q, A), "short", "Contacts answered"),
    Kpi(
        "contacts_abandoned",
        Kind.COUNT,
        (Q,),
        "short",
        "Hang-ups after the short-abandon threshold",
        higher_is_better=False,
    ),
    Kpi(
        "short_abandons",
        Kind.COUNT,
        (Q,),
        "short",
        "Hang-ups before the short-abandon threshold",
        higher_is_better=False,
    ),
    Kpi(
        "contacts_exited",
        Kind.COUNT,
        (Q,),
        "short",
        "Contacts that left by timeout, exit key or no agents",
        higher_is_better=False,
    ),
    Kpi(
        "service_level_ratio",
        Kind.RATIO,
        (Q,),
        "percentunit",
        "Answered within the service-level threshold / (answered + abandoned + exited)",
    ),
    Kpi(
        "abandon_ratio",
        Kind.RATIO,
        (Q,),
        "percentunit",
        "Abandoned / (offered - short abandons)",
        higher_is_better=False,
    ),
    Kpi(
        "average_speed_of_answer_seconds",
        Kind.MEAN,
        (Q,),
        "s",
        "Mean queue wait of answered contacts",
        higher_is_better=False,
    ),
    Kpi(
        "max_queue_wait_seconds",
        Kind.MAX,
        (Q,),
        "s",
        "Longest queue wait of answered and abandoned contacts",
        higher_is_better=False,
    ),
    Kpi(
        "average_handle_time_seconds",
        Kind.MEAN,
        (Q, A),
        "s",
        "Mean talk + hold + wrap of completed contacts",
        higher_is_better=False,
    ),
    Kpi(
        "first_contact_resolution_ratio",
        Kind.RATIO,
        (Q, A),
        "percentunit",
        "Completed contacts resolved on first contact / those where it is known",
    ),
    Kpi("tickets_solved", Kind.COUNT, (A,), "short", "Tickets solved"),
    Kpi(
        "first_reply_seconds",
        Kind.MEAN,
        (A,),
        "s",
        "Mean time from ticket creation to the first public agent reply",
        clocked=True,
        higher_is_better=False,
    ),
    Kpi(
        "next_reply_seconds",
        Kind.MEAN,
        (A,),
        "s",
        "Mean wait of a customer message for the next public agent reply",
        clocked=True,
        higher_is_better=False,
    ),
    Kpi(
        "resolution_seconds",
        Kind.MEAN,
        (A,),
        "s",
        "Mean time from ticket creation to solve",
        clocked=True,
        higher_is_better=False,
    ),
    Kpi(
        "reopen_ratio",
        Kind.RATIO,
        (),
        "percentunit",
        "Reopened / solved tickets",
        higher_is_better=False,
    ),
    Kpi("nps_score", Kind.NPS, (A,), "none", "Net promoter score, -100..100"),
    Kpi("csat_ratio", Kind.RATIO, (A,), "percentunit", "Survey scores of 4 or 5 / responses"),
    Kpi("quality_score", Kind.MEAN, (A,), "none", "Mean QA evaluation score, 0..100"),
)
KPI_BY_NAME: dict[str, Kpi] = {kpi.name: kpi for kpi in KPIS}
AGENT_KPIS: tuple[Kpi, ...] = tuple(kpi for kpi in KPIS if A in kpi.finer)

CERTIFICATION_KPIS: dict[str, str] = {
    "certifications_expired": "Agents' certifications past expiry, per team",
    "certifications_expiring_30d": "Agents' certifications expiring within 30 days, per team",
}
"""Team-scoped, unwindowed gauges (targets may use them with any period)."""


TEAM_AVERAGE_SUFFIX = "_team_agent_average"


def team_average_name(kpi: str) -> str:
    return f"{kpi}{TEAM_AVERAGE_SUFFIX}"


def to_team_name(kpi: str) -> str:
    return f"{kpi}_to_team_average"


def target_kpi_names() -> set[str]:
    """Every KPI name a target may refer to."""
    names = {kpi.name for kpi in KPIS} | set(CERTIFICATION_KPIS)
    names |= {team_average_name(k.name) for k in AGENT_KPIS}
    return names
