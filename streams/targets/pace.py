"""How much of a window has elapsed for a scope, and what a volume goal asks by now.

The elapsed share is counted in the team's business time where the team has a
calendar (a closed weekend puts nobody behind), in calendar time otherwise. An
agent with shifts (``agent.shift`` events) in the window is judged by the
agent's own staffed time instead: the share is the agent's staffed seconds so
far over the window's business seconds, or over the agent's staffed seconds in
the window where those are more. So an agent staffed for all the business hours
gets the team's pace, a part-timer a goal pro-rated by staffed time (paced the
same way), and the morning shift is not behind at noon for what the evening
shift will do.

The instant is the event-time watermark, never the wall clock: a replay of last
month is judged as last month was, and a stalled source does not push everyone
behind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from streams.kpi.business_hours import BusinessCalendar

Staffed = Callable[[float, float], float]
"""Staffed seconds of one agent in ``[lo, hi)``."""


@dataclass(frozen=True, slots=True)
class Pace:
    """Elapsed share at an instant, the pace value then, and the goal by the window's end.

    All three are None where the window holds no business time for the scope.
    """

    share: float | None
    expected: float | None
    goal: float | None


NO_PACE = Pace(None, None, None)


def pace(
    target: float,
    start: float,
    end: float,
    now: float,
    calendar: BusinessCalendar | None = None,
    staffed: Staffed | None = None,
) -> Pace:
    """The pace of a goal of ``target`` over ``[start, end)`` at ``now`` (clamped into it)."""
    now = min(max(now, start), end)
    if calendar is None:
        total = end - start
        done = now - start
    else:
        total = calendar.business_seconds(start, end)
        done = calendar.business_seconds(start, now)
    if total <= 0:
        return NO_PACE
    goal = target
    if staffed is not None:
        # Staffed longer than the business hours: the full goal, paced over the
        # agent's own hours; shorter: the goal pro-rated, paced over business hours.
        whole = staffed(start, end)
        done = staffed(start, now)
        total = max(total, whole)
        goal = target * whole / total
    share = min(1.0, done / total)
    return Pace(share, target * share, goal)
