"""Asterisk ``queue_log`` lines to contract events: a pure parser (CONTRACT.md v1.2, Sources).

Asterisk writes one line per queue event (main/logger.c, ``ast_queue_log``)::

    epoch|callid|queue|agent|event|data...

``data`` is the event's own ``|``-joined fields (app_queue.c); the realtime
``data1..data5`` columns are the same fields split, so the file layout is one
for Asterisk 1.8 to 22. What changed between versions is how many fields some
events carry: ENTERQUEUE gained the position (and later the caller name),
1.8's EXITWITHTIMEOUT on one path wrote the position only, transfers gained
the original position, 12 added ATTENDEDTRANSFER with BRIDGE/APP (one field)
or LINK (two fields) before the times. So fields are read by position from the
start where the start is fixed and from the end where the front varies, and a
missing wait is taken from the call's ENTERQUEUE when it was seen
(:class:`EnterTimes`).

A line becomes a :class:`Contact` (a contract event), :class:`Other` (a known queue event
that is no contact: member, pause, queue start, dialplan ``INFO``/``DID``...),
or :class:`Bad` with a reason. Event ids are a hash of the line itself, so the
same line read twice (a re-import, overlapping rotated parts) is the same
event and the worker's dedup drops the repeat.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

ABANDONS: dict[str, tuple[str, int]] = {
    "ABANDON": ("hangup", 2),
    "EXITWITHTIMEOUT": ("timeout", 2),
    "EXITEMPTY": ("no_agents", 2),
    "EXITWITHKEY": ("exit_key", 3),
}
"""Event -> (contract abandon reason, index of its waittime field)."""

COMPLETES = ("COMPLETECALLER", "COMPLETEAGENT")
TRANSFERS = ("TRANSFER", "BLINDTRANSFER", "ATTENDEDTRANSFER")
CONTACT_EVENTS = frozenset(("ENTERQUEUE", "CONNECT", *ABANDONS, *COMPLETES, *TRANSFERS))

OTHER_EVENTS = frozenset(
    (
        "ADDMEMBER",
        "REMOVEMEMBER",
        "PAUSE",
        "UNPAUSE",
        "PAUSEALL",
        "UNPAUSEALL",
        "PAUSEREASON",
        "PENALTY",
        "RINGINUSE",
        "RINGNOANSWER",
        "RINGCANCELED",
        "AGENTLOGIN",
        "AGENTLOGOFF",
        "AGENTCALLBACKLOGIN",
        "AGENTCALLBACKLOGOFF",
        "AGENTDUMP",
        "SYSCOMPAT",
        "WITHDRAW",
        "OUTCALL",
        "CONFIGRELOAD",
        "QUEUESTART",
        "INFO",
        "DID",
        "CALLOUTBOUND",
        "CALLSTATUS",
        "EXITCODE",
    )
)
"""Queue events Asterisk (app_queue.c, logger.c) or common dialplans (FreePBX's
``QueueLog()`` INFO/DID, QueueMetrics' PAUSEREASON/CALLOUTBOUND) write that are no
contact: counted in the summary, never turned into contacts."""

MIN_EPOCH = 315_532_800  # 1980-01-01: an epoch below is a corrupt field, not a 1970s call
MAX_EPOCH = 32_503_680_000  # 3000-01-01: the decoder's own upper bound


@dataclass(frozen=True, slots=True)
class Contact:
    """A contact event read from a line of queue_log event ``event``."""

    event: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Other:
    """A known queue event that is not a contact event."""

    event: str


@dataclass(frozen=True, slots=True)
class Bad:
    """A line that is no valid queue_log line, and why."""

    reason: str
    detail: str


Outcome = Contact | Other | Bad
Labels = Callable[[str], tuple[str, str]]
"""Queue name -> (team, channel) from the config."""


def event_id(line: bytes) -> str:
    """A deterministic id of a (normalised) line: the same line is the same event."""
    return "ql-" + hashlib.blake2b(line, digest_size=15).hexdigest()


_ISO: dict[int, str] = {}


def iso(epoch: int) -> str:
    """RFC 3339 of an epoch; lines of one second share it (a small cache)."""
    text = _ISO.get(epoch)
    if text is None:
        if len(_ISO) > 4096:
            _ISO.clear()
        text = _ISO[epoch] = datetime.fromtimestamp(epoch, UTC).isoformat()
    return text


class EnterTimes:
    """When each recent call entered its queue, for exits that do not write their wait
    (Asterisk 1.8's ``EXITWITHTIMEOUT|position``). Bounded: the oldest are forgotten."""

    def __init__(self, limit: int = 200_000) -> None:
        self._limit = limit
        self._at: OrderedDict[str, int] = OrderedDict()

    def entered(self, callid: str, epoch: int) -> None:
        self._at[callid] = epoch
        if len(self._at) > self._limit:
            self._at.popitem(last=False)

    def wait(self, callid: str, epoch: int) -> int | None:
        entered = self._at.get(callid)
        return None if entered is None else max(0, epoch - entered)


def split_nul(raw: bytes) -> tuple[list[bytes], int]:
    """A raw line's segments between runs of NUL bytes (an unclean shutdown leaves
    a NUL run where the file was extended but never written), and the NUL count."""
    if b"\0" not in raw:
        return [raw], 0
    return [part for part in raw.split(b"\0") if part.strip()], raw.count(b"\0")


def _seconds(fields: list[str], index: int, name: str) -> int | Bad:
    try:
        text = fields[index]
    except IndexError:
        return Bad("missing_field", f"{name} (data field {index + 1}) missing")
    if not text.isdigit():
        return Bad("bad_field", f"{name} {text!r} is not a whole number of seconds")
    return int(text)


def parse_line(raw: bytes, labels: Labels, enters: EnterTimes | None = None) -> Outcome:
    """One line (without NULs, see :func:`split_nul`): :class:`Contact`, :class:`Other` or
    :class:`Bad`."""
    line = raw.strip()
    if not line:
        return Bad("blank", "empty line")
    text = line.decode("utf-8", "replace")
    parts = text.split("|")
    if len(parts) < 5:
        return Bad("missing_field", f"{len(parts)} fields; a line has at least 5")
    stamp, callid, queue, agent, event = parts[:5]
    data = parts[5:]
    if not stamp.isdigit() or not MIN_EPOCH <= int(stamp) < MAX_EPOCH:
        return Bad("bad_epoch", f"{stamp[:40]!r} is not a Unix time")
    epoch = int(stamp)
    if event not in CONTACT_EVENTS:
        if event in OTHER_EVENTS:
            return Other(event)
        return Bad("unknown_event", f"unknown event {event[:40]!r}")
    if not callid or callid == "NONE":
        return Bad("missing_field", f"{event} without a call id")
    team, channel = labels(queue)
    out: dict[str, Any] = {
        "event_id": event_id(line),
        "occurred_at": iso(epoch),
        "team": team,
        "channel": channel,
        "contact_id": callid,
        "queue": queue,
    }
    if event == "ENTERQUEUE":
        if enters is not None:
            enters.entered(callid, epoch)
        out["type"] = "contact.offered"
        return Contact(event, out)
    if event == "CONNECT":
        wait = _seconds(data, 0, "holdtime")
        if isinstance(wait, Bad):
            return wait
        out.update(type="contact.answered", agent=agent, wait_seconds=wait)
        return Contact(event, out)
    abandon = ABANDONS.get(event)
    if abandon is not None:
        reason, index = abandon
        if len(data) > index or enters is None:
            wait = _seconds(data, index, "waittime")
        else:
            known = enters.wait(callid, epoch)
            wait = known if known is not None else _seconds(data, index, "waittime")
        if isinstance(wait, Bad):
            return wait
        out.update(type="contact.abandoned", wait_seconds=wait, reason=reason)
        return Contact(event, out)
    # Completions and transfers: holdtime|calltime at fixed places from the start
    # (TRANSFER and BLINDTRANSFER after extension|context), except ATTENDEDTRANSFER,
    # whose method (BRIDGE|id, APP|app, LINK|chan|chan, ...) takes one or more fields
    # before holdtime|calltime|origposition: read from the end there.
    if event == "ATTENDEDTRANSFER":
        while data and not data[-1]:
            data.pop()
        index = len(data) - 2 if len(data) >= 4 else len(data)
    else:
        index = 3 if event in TRANSFERS else 1
    talk = _seconds(data, index, "calltime")
    if isinstance(talk, Bad):
        return talk
    out.update(type="contact.completed", agent=agent, talk_seconds=talk)
    if event in TRANSFERS:
        out["transferred"] = True
    return Contact(event, out)
