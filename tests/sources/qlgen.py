"""Generated Asterisk queue_log files with the contract events they must give, known in advance.

Calls are drawn first (queue, wait, outcome, agent, talk time), then written
as the queue_log lines each Asterisk layout would write for them, in time
order with member, pause and queue events between them. The expected contract
events come from the drawn calls, not from parsing the lines, so they are an
independent reference for the parser and, through the oracle, for the KPIs.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

LAYOUTS = ("1.8", "11", "13", "22")
"""Asterisk 1.8 (ENTERQUEUE url|callerid, TRANSFER, EXITWITHTIMEOUT sometimes position
only), 11 (ENTERQUEUE with position), 13 (BLINDTRANSFER, ATTENDEDTRANSFER
BRIDGE/APP/LINK), 22 (ENTERQUEUE with the caller's name)."""
OUTCOMES = ("answered", "abandoned", "timeout", "empty", "key")
OTHER_LINES = (
    "{t}|NONE|{q}|{a}|ADDMEMBER|",
    "{t}|NONE|{q}|{a}|PAUSE|lunch",
    "{t}|NONE|{q}|{a}|UNPAUSE|",
    "{t}|NONE|NONE|{a}|PAUSEALL|",
    "{t}|NONE|NONE|{a}|UNPAUSEALL|",
    "{t}|MANAGER|{q}|{a}|REMOVEMEMBER|",
    "{t}|{c}|NONE|Agent/1001|AGENTLOGIN|PJSIP/1001-00000001",
    "{t}|NONE|NONE|NONE|CONFIGRELOAD|",
    "{t}|NONE|NONE|NONE|QUEUESTART|",
    "{t}|{c}|{q}|NONE|INFO|IVR|2",
    "{t}|{c}|{q}|NONE|DID|2015550199",
)


def line_id(line: str) -> str:
    """The id a line's event must get (the contract: deterministic from the line)."""
    return "ql-" + hashlib.blake2b(line.encode(), digest_size=15).hexdigest()


@dataclass
class Generated:
    lines: list[str] = field(default_factory=list)
    """In file order (time order)."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """The contract events the lines must give, in file order."""
    outcomes: dict[str, int] = field(default_factory=dict)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def generate(
    start: int,
    calls: int,
    seed: int = 1,
    layouts: tuple[str, ...] = LAYOUTS,
    queues: tuple[str, ...] = ("billing", "sales", "support"),
    agents: int = 8,
    teams: dict[str, tuple[str, str]] | None = None,
    spacing: float = 20.0,
    other_share: float = 0.3,
) -> Generated:
    """``calls`` calls from ``start`` (epoch seconds), about ``spacing`` s apart."""
    rng = random.Random(seed)
    labels = teams or {}
    rows: list[tuple[int, int, str, dict[str, Any] | None]] = []
    order = 0
    at = float(start)
    for number in range(calls):
        at += rng.expovariate(1 / spacing)
        enter = int(at)
        queue = rng.choice(queues)
        layout = rng.choice(layouts)
        callid = f"{enter}.{number}"
        agent = f"PJSIP/{100 + rng.randrange(agents)}"
        team, channel = labels.get(queue, (queue, "voice"))
        base = {"team": team, "channel": channel, "contact_id": callid, "queue": queue}

        def add(
            epoch: int, text: str, event: dict[str, Any] | None, base: dict[str, Any] = base
        ) -> None:
            nonlocal order
            if event is not None:
                event = {"event_id": line_id(text), "occurred_at": _iso(epoch), **base, **event}
            rows.append((epoch, order, text, event))
            order += 1

        position = 1 + rng.randrange(5)
        entry = f"{enter}|{callid}|{queue}|NONE|ENTERQUEUE||2015550{number % 1000:03d}"
        if layout != "1.8":
            entry += f"|{position}"
        if layout == "22":
            entry += f"|Caller {number}"
        add(enter, entry, {"type": "contact.offered"})
        outcome = rng.choices(OUTCOMES, weights=(70, 15, 6, 4, 5))[0]
        wait = int(rng.expovariate(1 / 25))
        left = enter + wait
        if rng.random() < 0.3:
            ring = f"{enter + min(wait, 3)}|{callid}|{queue}|PJSIP/199|RINGNOANSWER|15000"
            add(enter + min(wait, 3), ring, None)
        if outcome == "answered":
            connect = f"{left}|{callid}|{queue}|{agent}|CONNECT|{wait}|{callid}9|{rng.randrange(9)}"
            add(left, connect, {"type": "contact.answered", "agent": agent, "wait_seconds": wait})
            talk = int(rng.expovariate(1 / 180))
            end = left + talk
            ending = _ending(rng, layout, wait, talk, position)
            text = f"{end}|{callid}|{queue}|{agent}|{ending}"
            completed: dict[str, Any] = {
                "type": "contact.completed",
                "agent": agent,
                "talk_seconds": talk,
            }
            if "TRANSFER" in ending.split("|")[0]:
                completed["transferred"] = True
            add(end, text, completed)
        else:
            reason, text = _exit(rng, outcome, layout, wait, position)
            add(
                left,
                f"{left}|{callid}|{queue}|NONE|{text}",
                {"type": "contact.abandoned", "wait_seconds": wait, "reason": reason},
            )
        if rng.random() < other_share:
            template = rng.choice(OTHER_LINES)
            when = enter + rng.randrange(30)
            add(when, template.format(t=when, q=queue, a=agent, c=callid), None)
    rows.sort(key=lambda row: (row[0], row[1]))
    out = Generated()
    for _epoch, _order, text, event in rows:
        out.lines.append(text)
        if event is not None:
            out.events.append(event)
            kind = event["type"] + (f":{event['reason']}" if "reason" in event else "")
            out.outcomes[kind] = out.outcomes.get(kind, 0) + 1
    return out


def _ending(rng: random.Random, layout: str, wait: int, talk: int, position: int) -> str:
    if layout in ("13", "22"):
        kinds, weights = (
            ("COMPLETECALLER", "COMPLETEAGENT", "BLINDTRANSFER", "ATTENDEDTRANSFER"),
            (
                45,
                40,
                8,
                7,
            ),
        )
    else:
        kinds, weights = ("COMPLETECALLER", "COMPLETEAGENT", "TRANSFER"), (45, 40, 15)
    kind = rng.choices(kinds, weights=weights)[0]
    if kind.startswith("COMPLETE"):
        return f"{kind}|{wait}|{talk}|{position}"
    if kind in ("TRANSFER", "BLINDTRANSFER"):
        return f"{kind}|2000|from-internal|{wait}|{talk}|{position}"
    method = rng.choice(("BRIDGE|1f0e-b2", "APP|Voicemail", "LINK|PJSIP/100-01|PJSIP/200-02"))
    return f"ATTENDEDTRANSFER|{method}|{wait}|{talk}|{position}"


def _exit(
    rng: random.Random, outcome: str, layout: str, wait: int, position: int
) -> tuple[str, str]:
    now = max(1, position - rng.randrange(position))
    if outcome == "abandoned":
        return "hangup", f"ABANDON|{now}|{position}|{wait}"
    if outcome == "timeout":
        if layout == "1.8" and rng.random() < 0.5:
            return "timeout", f"EXITWITHTIMEOUT|{now}"  # 1.8 wrote the position only here
        return "timeout", f"EXITWITHTIMEOUT|{now}|{position}|{wait}"
    if outcome == "empty":
        return "no_agents", f"EXITEMPTY|{now}|{position}|{wait}"
    return "exit_key", f"EXITWITHKEY|{rng.choice('0123456789*#')}|{now}|{position}|{wait}"
