"""The simulated contact centre: who works where, when, and how customers behave.

This module is data only. The generator reads it and never hard-codes a team,
queue or agent, so another scenario (a bigger centre, a stress mix) is a new
`Scenario` value, not a change to the generation logic. Every type is a frozen
dataclass of tuples so a scenario is hashable: the generator caches its rate
calibration per scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

CHANNELS = ("voice", "chat", "email", "social", "messaging")


@dataclass(frozen=True)
class Shift:
    """Working hours in the team's time zone; `hours` may run past midnight."""

    name: str
    start_hour: int
    hours: int
    days: frozenset[int]  # 0 = Monday, as datetime.weekday()


@dataclass(frozen=True)
class Agent:
    """`speed` multiplies handle and reply times; `quality` (0..1) drives QA, CSAT, FCR."""

    name: str
    team: str
    shift: Shift
    speed: float
    quality: float


@dataclass(frozen=True)
class ChannelProfile:
    """Queue and handling behaviour of one channel (seconds)."""

    mean_wait: float
    mean_patience: float
    max_wait: float
    mean_talk: float
    hold_probability: float
    mean_hold: float
    mean_wrap: float


@dataclass(frozen=True)
class Queue:
    """A queue with its contract settings and its channel mix (weights)."""

    name: str
    channels: tuple[tuple[str, float], ...]
    service_level_seconds: int
    short_abandon_seconds: int
    weight: float = 1.0
    wait_factor: float = 1.0


@dataclass(frozen=True)
class Calendar:
    """The team's business hours, published in the config for the business clock."""

    hours: tuple[tuple[str, tuple[str, ...]], ...]
    holidays: tuple[str, ...] = ()


@dataclass(frozen=True)
class Team:
    """A team: its zone, queues, ticket channels and share of the centre's events."""

    name: str
    timezone: str
    queues: tuple[Queue, ...]
    ticket_channels: tuple[tuple[str, float], ...]
    traffic_share: float
    contact_fraction: float
    day_factors: tuple[float, ...]  # Monday..Sunday multiplier of the daily curve
    mean_reply_hours: float
    calendar: Calendar | None = None
    holidays: tuple[str, ...] = ()  # dates that run like a Sunday (traffic and shifts)


@dataclass(frozen=True)
class Behaviour:
    """Probabilities of the customer and agent behaviours the generator draws."""

    immediate_answer: float = 0.45
    backlog: float = 0.05
    mean_backlog_wait: float = 360.0
    impatient: float = 0.06
    patient: float = 0.15
    exit_key: float = 0.25
    no_agents_daytime: float = 0.004
    hangup_reason_omitted: float = 0.2
    pbx_like_voice: float = 0.3
    resolved_null: float = 0.03
    transferred: float = 0.07
    contact_csat: float = 0.12
    contact_nps: float = 0.05
    contact_qa: float = 0.06
    survey_without_agent: float = 0.1
    ticket_without_reply: float = 0.05
    ticket_chaser: float = 0.15
    ticket_first_note: float = 0.2
    ticket_round_note: float = 0.1
    ticket_more_rounds: float = 0.45
    ticket_max_rounds: int = 6
    ticket_reopen: float = 0.08
    ticket_csat: float = 0.2
    ticket_nps: float = 0.07
    ticket_qa: float = 0.03
    mean_customer_reply_hours: float = 3.0
    mean_reopen_hours: float = 36.0
    certification_fraction: float = 0.004


@dataclass(frozen=True)
class Scenario:
    """Everything the generator needs; `daily_curve` is arrivals by local hour, peak 1."""

    teams: tuple[Team, ...]
    agents: tuple[Agent, ...]
    channels: tuple[tuple[str, ChannelProfile], ...]
    daily_curve: tuple[float, ...]
    certifications: tuple[str, ...]
    behaviour: Behaviour = field(default_factory=Behaviour)

    def profile(self, channel: str) -> ChannelProfile:
        return dict(self.channels)[channel]


WEEKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
EVERY_DAY = frozenset(range(7))

_DAILY_CURVE = (
    0.05, 0.03, 0.03, 0.03, 0.04, 0.08, 0.2, 0.45, 0.8, 1.0, 1.0, 1.0,
    0.85, 0.9, 1.0, 0.95, 0.85, 0.65, 0.45, 0.35, 0.28, 0.2, 0.12, 0.08,
)  # fmt: skip

_CHANNELS = (
    ("voice", ChannelProfile(20, 220, 300, 280, 0.3, 60, 35)),
    ("chat", ChannelProfile(30, 360, 600, 540, 0.0, 0, 25)),
    ("social", ChannelProfile(90, 900, 1800, 420, 0.0, 0, 30)),
    ("messaging", ChannelProfile(75, 900, 1800, 480, 0.0, 0, 30)),
    ("email", ChannelProfile(0, 0, 0, 0, 0.0, 0, 0)),  # tickets only, never queued
)

_SUPPORT = Team(
    name="support",
    timezone="Europe/Bucharest",
    queues=(
        Queue("billing", (("voice", 0.7), ("chat", 0.3)), 20, 5, weight=0.45),
        Queue("technical", (("voice", 0.5), ("chat", 0.5)), 30, 10, 0.55, wait_factor=1.3),
    ),
    ticket_channels=(("email", 0.85), ("chat", 0.15)),
    traffic_share=0.5,
    contact_fraction=0.7,
    day_factors=(1.0, 0.95, 0.9, 0.9, 0.85, 0.35, 0.2),
    mean_reply_hours=2.0,
    calendar=Calendar(
        hours=tuple((day, ("09:00-13:00", "14:00-18:00")) for day in ("mon", "tue", "wed", "thu"))
        + (("fri", ("09:00-13:00", "14:00-17:00")),),
        holidays=("2026-12-01", "2026-12-25", "2026-12-26", "2027-01-01"),
    ),
    holidays=("2026-12-01", "2026-12-25", "2026-12-26", "2027-01-01"),
)

_SALES = Team(
    name="sales",
    timezone="America/New_York",
    queues=(
        Queue("new-business", (("voice", 0.6), ("chat", 0.4)), 15, 5, weight=0.6),
        Queue("renewals", (("voice", 1.0),), 30, 5, weight=0.4, wait_factor=0.8),
    ),
    ticket_channels=(("email", 1.0),),
    traffic_share=0.2,
    contact_fraction=0.8,
    day_factors=(1.0, 1.0, 0.95, 0.95, 0.8, 0.15, 0.05),
    mean_reply_hours=4.0,
    calendar=Calendar(
        hours=tuple((day, ("08:00-20:00",)) for day in ("mon", "tue", "wed", "thu", "fri"))
        + (("sat", ("10:00-14:00",)),),
        holidays=("2026-11-26", "2026-12-25"),
    ),
    holidays=("2026-11-26", "2026-12-25"),
)

_SOCIAL_CARE = Team(
    name="social-care",
    timezone="Europe/London",
    queues=(
        Queue("social-dm", (("social", 1.0),), 120, 15, weight=0.35),
        Queue("messaging", (("messaging", 1.0),), 180, 20, weight=0.35),
        Queue("web-chat", (("chat", 1.0),), 60, 10, weight=0.3),
    ),
    ticket_channels=(("social", 0.5), ("messaging", 0.35), ("email", 0.15)),
    traffic_share=0.3,
    contact_fraction=0.55,
    day_factors=(1.0, 1.0, 1.0, 1.0, 1.0, 0.8, 0.7),
    mean_reply_hours=0.75,
)

_SHIFTS = {
    ("support", "day"): Shift("day", 9, 9, WEEKDAYS),
    ("support", "early"): Shift("early", 7, 8, WEEKDAYS),
    ("support", "late"): Shift("late", 13, 9, WEEKDAYS),
    ("support", "night"): Shift("night", 22, 9, EVERY_DAY),
    ("support", "weekend-early"): Shift("weekend-early", 7, 8, WEEKEND),
    ("support", "weekend-late"): Shift("weekend-late", 14, 8, WEEKEND),
    ("sales", "day"): Shift("day", 8, 9, WEEKDAYS),
    ("sales", "early"): Shift("early", 7, 8, WEEKDAYS),
    ("sales", "late"): Shift("late", 13, 9, WEEKDAYS),
    ("sales", "weekend"): Shift("weekend", 10, 4, frozenset({5})),
    ("social-care", "early"): Shift("early", 6, 8, EVERY_DAY),
    ("social-care", "late"): Shift("late", 14, 8, EVERY_DAY),
    ("social-care", "night"): Shift("night", 22, 8, EVERY_DAY),
}

# name, team, shift, speed (handle-time multiplier), quality
_ROSTER = (
    ("ana.popescu", "support", "day", 0.9, 0.92),
    ("mihai.ionescu", "support", "day", 1.1, 0.78),
    ("elena.dumitru", "support", "day", 1.0, 0.85),
    ("andrei.stan", "support", "day", 1.25, 0.7),
    ("ioana.marin", "support", "early", 0.85, 0.88),
    ("radu.georgescu", "support", "early", 1.0, 0.8),
    ("maria.constantin", "support", "early", 1.05, 0.9),
    ("vlad.rusu", "support", "late", 0.95, 0.83),
    ("cristina.matei", "support", "late", 1.15, 0.75),
    ("alex.munteanu", "support", "late", 1.0, 0.87),
    ("diana.barbu", "support", "day", 0.8, 0.95),
    ("stefan.lazar", "support", "late", 1.3, 0.65),
    ("laura.nistor", "support", "day", 1.0, 0.82),
    ("bogdan.tudor", "support", "night", 1.1, 0.8),
    ("irina.dobre", "support", "night", 1.0, 0.84),
    ("paul.ene", "support", "weekend-early", 1.05, 0.79),
    ("oana.preda", "support", "weekend-late", 0.95, 0.86),
    ("tudor.vasile", "support", "early", 1.2, 0.72),
    ("james.miller", "sales", "day", 0.9, 0.88),
    ("olivia.brown", "sales", "day", 1.0, 0.9),
    ("liam.davis", "sales", "day", 1.15, 0.76),
    ("emma.wilson", "sales", "late", 0.85, 0.93),
    ("noah.moore", "sales", "late", 1.05, 0.81),
    ("ava.taylor", "sales", "early", 1.0, 0.85),
    ("ethan.anderson", "sales", "late", 1.2, 0.7),
    ("mia.thomas", "sales", "weekend", 0.95, 0.87),
    ("lucas.jackson", "sales", "early", 1.1, 0.8),
    ("sofia.white", "sales", "late", 0.9, 0.89),
    ("chloe.martin", "social-care", "early", 0.9, 0.9),
    ("leo.bernard", "social-care", "early", 1.0, 0.82),
    ("nina.kowalski", "social-care", "early", 1.1, 0.78),
    ("omar.haddad", "social-care", "early", 0.95, 0.86),
    ("priya.shah", "social-care", "late", 0.85, 0.94),
    ("sam.okafor", "social-care", "late", 1.05, 0.8),
    ("yuki.tanaka", "social-care", "late", 1.0, 0.88),
    ("zara.ahmed", "social-care", "late", 1.2, 0.73),
    ("ben.fischer", "social-care", "night", 1.0, 0.83),
    ("ines.costa", "social-care", "night", 0.9, 0.87),
    ("marco.rossi", "social-care", "early", 1.15, 0.77),
    ("lena.berg", "social-care", "late", 0.95, 0.91),
)

DEFAULT_SCENARIO = Scenario(
    teams=(_SUPPORT, _SALES, _SOCIAL_CARE),
    agents=tuple(
        Agent(name, team, _SHIFTS[(team, shift)], speed, quality)
        for name, team, shift, speed, quality in _ROSTER
    ),
    channels=_CHANNELS,
    daily_curve=_DAILY_CURVE,
    certifications=("gdpr-basics", "product-core", "de-escalation", "pci-dss", "billing-advanced"),
)

_TARGETS: tuple[dict[str, object], ...] = (
    {"id": "weekly-abandon", "kpi": "abandon_ratio", "period": "week",
     "scope": {"team": "support"}, "op": "<=", "value": 0.05, "severity": "warning"},
    {"id": "billing-service-level", "kpi": "service_level_ratio", "period": "hour",
     "scope": {"team": "support", "queue": "billing"}, "op": ">=", "value": 0.8,
     "severity": "critical"},
    {"id": "sales-answer-speed", "kpi": "average_speed_of_answer_seconds", "period": "day",
     "scope": {"team": "sales"}, "op": "<=", "value": 30, "severity": "warning"},
    {"id": "centre-csat", "kpi": "csat_ratio", "period": "day", "scope": {},
     "op": ">=", "value": 0.75, "severity": "warning"},
    {"id": "social-care-nps", "kpi": "nps_score", "period": "month",
     "scope": {"team": "social-care"}, "op": ">=", "value": 20, "severity": "warning"},
    {"id": "support-fcr", "kpi": "first_contact_resolution_ratio", "period": "week",
     "scope": {"team": "support", "channel": "voice"}, "op": ">=", "value": 0.7,
     "severity": "warning"},
)  # fmt: skip


def example_config_yaml(scenario: Scenario = DEFAULT_SCENARIO) -> str:
    """The CCKPI config file (CONTRACT.md "The config file") matching `scenario`.

    Built from the same values the generator uses, so a demo's service levels,
    short-abandon thresholds and business hours agree with the traffic.
    """
    config: dict[str, object] = {
        "queues": {
            queue.name: {
                "service_level_seconds": queue.service_level_seconds,
                "short_abandon_seconds": queue.short_abandon_seconds,
            }
            for team in scenario.teams
            for queue in team.queues
        },
        "calendars": {
            team.name: {
                "timezone": team.timezone,
                "hours": {day: list(ranges) for day, ranges in team.calendar.hours},
                "holidays": list(team.calendar.holidays),
            }
            for team in scenario.teams
            if team.calendar is not None
        },
        "targets": [dict(target) for target in _TARGETS],
    }
    header = "# cckpi config for the simulator's default scenario (streams/simulate).\n"
    body = yaml.safe_dump(config, sort_keys=False, default_flow_style=None, width=100)
    return header + body
