"""Pure draws of customer and agent behaviour, and the rate calibration built on them.

Kept apart from the event heap so the calibration (how many events one arrival
yields on average) runs the very same outcome function the generator does:
when the behaviour changes, `rate` stays honest without retuning constants.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import lru_cache

from streams.simulate.scenario import Agent, Behaviour, ChannelProfile, Scenario, Shift, Team

HOUR_MS = 3_600_000
ANSWERED = "answered"
ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happens to one queued contact: answered or abandoned after `wait_ms`."""

    kind: str
    wait_ms: int
    reason: str | None = None


def on_shift(shift: Shift, weekday: int, previous_weekday: int, hour: int) -> bool:
    """Whether `shift` covers local `hour` of a day, including a night started the day before."""
    end = shift.start_hour + shift.hours
    if weekday in shift.days and shift.start_hour <= hour < end:
        return True
    return previous_weekday in shift.days and hour < end - 24


def contact_outcome(
    rng: random.Random,
    channel: str,
    profile: ChannelProfile,
    wait_factor: float,
    load: float,
    staffed: bool,
    behaviour: Behaviour,
) -> Outcome:
    """Race the time until an agent is free against the customer's patience.

    Waits grow with the hour's load; a few contacts hit a backlog. Patience is
    mostly exponential, with an impatient minority (short abandons) and a
    patient minority that stays until the queue's maximum wait (timeouts).
    """
    if not staffed or rng.random() < behaviour.no_agents_daytime:
        return Outcome(ABANDONED, int(rng.uniform(2_000, 30_000)), "no_agents")
    draw = rng.random()
    if draw < behaviour.immediate_answer:
        wait = rng.uniform(0.0, 3.0)
    elif draw < behaviour.immediate_answer + behaviour.backlog:
        wait = rng.expovariate(1.0 / behaviour.mean_backlog_wait)
    else:
        wait = rng.expovariate(1.0 / (profile.mean_wait * wait_factor * (0.4 + load)))
    draw = rng.random()
    if draw < behaviour.impatient:
        patience = rng.uniform(0.5, 6.0)
    elif draw < behaviour.impatient + behaviour.patient:
        patience = math.inf
    else:
        patience = rng.expovariate(1.0 / profile.mean_patience)
    if wait <= min(patience, profile.max_wait):
        return Outcome(ANSWERED, int(wait * 1000))
    if patience >= profile.max_wait:
        return Outcome(ABANDONED, int(profile.max_wait * 1000), "timeout")
    reason: str | None = "hangup"
    if channel == "voice" and patience > 20 and rng.random() < behaviour.exit_key:
        reason = "exit_key"
    elif rng.random() < behaviour.hangup_reason_omitted:
        reason = None
    return Outcome(ABANDONED, int(patience * 1000), reason)


def handle_times(rng: random.Random, profile: ChannelProfile, agent: Agent) -> tuple[int, int, int]:
    """Talk, hold and wrap in whole seconds, as PBX and chat platforms report them."""
    sigma = 0.6
    mu = math.log(profile.mean_talk * agent.speed) - sigma * sigma / 2
    talk = max(5, int(rng.lognormvariate(mu, sigma)))
    hold = 0
    if profile.hold_probability and rng.random() < profile.hold_probability:
        hold = int(rng.expovariate(1.0 / profile.mean_hold))
    wrap = int(rng.expovariate(1.0 / (profile.mean_wrap * agent.speed)))
    return talk, hold, wrap


def csat_score(rng: random.Random, quality: float, resolved: bool | None) -> int:
    """1..5, centred on the agent's quality and nudged by the outcome."""
    base = quality + (0.1 if resolved else -0.15 if resolved is False else 0.0)
    return min(5, max(1, round(rng.gauss(1 + 4 * base, 0.9))))


def nps_score(rng: random.Random, quality: float, resolved: bool | None) -> int:
    """0..10 with the wide spread real NPS answers have."""
    base = quality + (0.05 if resolved else -0.2 if resolved is False else 0.0)
    return min(10, max(0, round(rng.gauss(10 * base + 0.5, 2.0))))


QA_CRITERIA = ("greeting", "accuracy", "empathy", "compliance")


def qa_scores(rng: random.Random, quality: float) -> tuple[float, dict[str, float]]:
    """A QA form: per-criterion scores 0..100 and their mean as the overall score."""
    criteria = {
        name: round(min(100.0, max(0.0, rng.gauss(100 * quality, 8.0))), 1) for name in QA_CRITERIA
    }
    return round(sum(criteria.values()) / len(criteria), 1), criteria


def expected_rounds(continue_probability: float, max_rounds: int) -> float:
    """Mean of the capped geometric number of customer/agent exchanges."""
    return sum(continue_probability**k for k in range(1, max_rounds + 1))


@dataclass(frozen=True, slots=True)
class TeamCalibration:
    """Per team: mean daily-curve intensity over a week, its peak, events per arrival."""

    mean_intensity: float
    peak_intensity: float
    events_per_arrival: float


def _week_intensities(scenario: Scenario, team: Team) -> list[tuple[float, float, bool]]:
    """(intensity, load, staffed) for each of the 168 local hours of a week."""
    agents = [agent for agent in scenario.agents if agent.team == team.name]
    week = []
    for day in range(7):
        for hour in range(24):
            load = scenario.daily_curve[hour]
            staffed = any(on_shift(a.shift, day, (day - 1) % 7, hour) for a in agents)
            week.append((load * team.day_factors[day], load, staffed))
    return week


def _answer_probability(scenario: Scenario, team: Team, samples: int) -> float:
    """Monte Carlo over the team's week and queues with a fixed seed (reproducible)."""
    rng = random.Random(f"calibration:{team.name}")
    week = _week_intensities(scenario, team)
    hours = rng.choices(week, weights=[slot[0] for slot in week], k=samples)
    queues = rng.choices(team.queues, weights=[q.weight for q in team.queues], k=samples)
    answered = 0
    for (_, load, staffed), queue in zip(hours, queues, strict=True):
        names, weights = zip(*queue.channels, strict=True)
        channel = rng.choices(names, weights=weights)[0]
        outcome = contact_outcome(
            rng,
            channel,
            scenario.profile(channel),
            queue.wait_factor,
            load,
            staffed,
            scenario.behaviour,
        )
        answered += outcome.kind == ANSWERED
    return answered / samples


@lru_cache(maxsize=32)
def calibrate(scenario: Scenario, samples: int = 4000) -> dict[str, TeamCalibration]:
    """Expected events per arrival from the scenario's probabilities (see TrafficGenerator)."""
    b = scenario.behaviour
    result = {}
    for team in scenario.teams:
        week = _week_intensities(scenario, team)
        p_answer = _answer_probability(scenario, team, samples)
        per_contact = 2 + p_answer * (1 + b.contact_csat + b.contact_nps + b.contact_qa)
        exchange = 2 + b.ticket_round_note
        rounds = expected_rounds(b.ticket_more_rounds, b.ticket_max_rounds)
        reopen_rounds = expected_rounds(b.ticket_more_rounds, 2)
        per_ticket = (
            2  # created, first solve
            + (1 - b.ticket_without_reply)
            * (b.ticket_chaser + b.ticket_first_note + 1 + rounds * exchange)
            + b.ticket_reopen * (2 + exchange + reopen_rounds * exchange)
            + b.ticket_csat
            + b.ticket_nps
            + b.ticket_qa
        )
        cert = b.certification_fraction
        per_arrival = (1 - cert) * (
            team.contact_fraction * per_contact + (1 - team.contact_fraction) * per_ticket
        ) + cert
        result[team.name] = TeamCalibration(
            mean_intensity=sum(slot[0] for slot in week) / len(week),
            peak_intensity=max(slot[0] for slot in week),
            events_per_arrival=per_arrival,
        )
    return result
