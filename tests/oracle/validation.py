"""Decode and validate one raw input message, just enough to classify it.

`parse_event` returns an `Event` or an `Invalid(reason, detail)`; it never raises.
The reason names are the oracle's own; only their total has to match the engine.
Types are strict JSON types: an integer field takes a JSON integer (not 9.0, not
"9"), a number field an integer or a finite float, a bool field true/false; a
string field is a non-empty string. An optional field that is null counts as
absent. Fields the contract does not define are ignored (the contract may grow
new optional fields), and so never give a scope label.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

TOPIC_OF_TYPE = {
    "contact.offered": "cc.contacts",
    "contact.answered": "cc.contacts",
    "contact.abandoned": "cc.contacts",
    "contact.completed": "cc.contacts",
    "ticket.created": "cc.tickets",
    "ticket.replied": "cc.tickets",
    "ticket.solved": "cc.tickets",
    "ticket.reopened": "cc.tickets",
    "survey.nps": "cc.surveys",
    "survey.csat": "cc.surveys",
    "qa.evaluated": "cc.quality",
    "agent.certified": "cc.agents",
    "agent.shift": "cc.agents",
}
INPUT_TOPICS = frozenset(TOPIC_OF_TYPE.values())
CHANNELS = frozenset({"voice", "chat", "email", "social", "messaging"})
ABANDON_REASONS = frozenset({"hangup", "timeout", "exit_key", "no_agents"})

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)
# Far enough from datetime's limits that window ends plus grace never overflow.
_EARLIEST = datetime(2, 1, 1, tzinfo=UTC)
_LATEST = datetime(9998, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    """An accepted-shape event. Instants are aware UTC datetimes."""

    topic: str
    type: str
    event_id: str
    occurred_at: datetime
    team: str
    channel: str
    queue: str | None = None
    agent: str | None = None  # the agent scope label, only where the contract defines one
    contact_id: str | None = None
    ticket_id: str | None = None
    wait_seconds: float | None = None
    reason: str | None = None  # abandon reason, "hangup" when absent
    talk_seconds: float | None = None
    hold_seconds: float | None = None  # 0 when absent
    wrap_seconds: float | None = None  # 0 when absent
    resolved: bool | None = None
    created_at: datetime | None = None
    author: str | None = None
    public: bool | None = None
    score: float | None = None
    certification: str | None = None
    valid_days: int | None = None
    start: datetime | None = None  # agent.shift
    end: datetime | None = None


@dataclass(frozen=True)
class Invalid:
    reason: str
    detail: str


class _Bad(Exception):
    """Internal: carries an invalid reason up to `parse_event`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _decode(value: bytes) -> dict[str, Any]:
    try:
        text = value.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant)
        json.dumps(obj, ensure_ascii=False).encode("utf-8")  # lone surrogates
    except (UnicodeError, ValueError) as exc:
        raise _Bad("not_json", str(exc)) from None
    if not isinstance(obj, dict):
        raise _Bad("not_object", f"JSON {type(obj).__name__}, not an object")
    return obj


def _get(obj: dict[str, Any], name: str, optional: bool) -> Any:
    value = obj.get(name)
    if value is None and not optional:
        raise _Bad("missing_field", name)
    return value


def _string(obj: dict[str, Any], name: str, max_len: int = 0, optional: bool = False) -> Any:
    value = _get(obj, name, optional)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise _Bad("wrong_type", f"{name} must be a non-empty string")
    if max_len and len(value) > max_len:
        raise _Bad("out_of_range", f"{name} longer than {max_len}")
    return value


def _choice(obj: dict[str, Any], name: str, choices: frozenset[str], optional: bool = False) -> Any:
    value = _string(obj, name, optional=optional)
    if value is not None and value not in choices:
        raise _Bad("out_of_range", f"{name}={value!r}")
    return value


def _number(
    obj: dict[str, Any],
    name: str,
    low: float = 0,
    high: float = math.inf,
    optional: bool = False,
    integer: bool = False,
) -> Any:
    value = _get(obj, name, optional)
    if value is None:
        return None
    kinds: tuple[type, ...] = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise _Bad("wrong_type", f"{name} must be {'an integer' if integer else 'a number'}")
    if not (low <= value <= high):
        raise _Bad("out_of_range", f"{name}={value!r} outside {low}..{high}")
    return value


def _boolean(obj: dict[str, Any], name: str, optional: bool = False) -> Any:
    value = _get(obj, name, optional)
    if value is not None and not isinstance(value, bool):
        raise _Bad("wrong_type", f"{name} must be a bool")
    return value


def _timestamp(obj: dict[str, Any], name: str) -> datetime:
    value = _get(obj, name, optional=False)
    if not isinstance(value, str):
        raise _Bad("wrong_type", f"{name} must be an RFC 3339 string")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise _Bad("bad_timestamp", f"{name}={value!r}")
    if match.group("offset") is None:
        raise _Bad("naive_timestamp", f"{name}={value!r} has no offset")
    try:
        text = value[:10] + "T" + value[11:].upper()
        instant = datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Bad("bad_timestamp", f"{name}={value!r}") from None
    if not (_EARLIEST <= instant <= _LATEST):
        raise _Bad("out_of_range", f"{name}={value!r}")
    return instant


def _criteria(obj: dict[str, Any]) -> None:
    criteria = obj.get("criteria")
    if criteria is None:
        return
    if not isinstance(criteria, dict):
        raise _Bad("wrong_type", "criteria must be an object")
    for key in criteria:
        _number(criteria, key, 0, 100)


def _type_fields(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    """The type-specific fields, checked."""
    if kind.startswith("contact."):
        fields: dict[str, Any] = {
            "contact_id": _string(obj, "contact_id"),
            "queue": _string(obj, "queue"),
        }
        if kind in ("contact.answered", "contact.completed"):
            fields["agent"] = _string(obj, "agent")
        if kind in ("contact.answered", "contact.abandoned"):
            fields["wait_seconds"] = _number(obj, "wait_seconds")
        if kind == "contact.abandoned":
            fields["reason"] = _choice(obj, "reason", ABANDON_REASONS, optional=True) or "hangup"
        if kind == "contact.completed":
            fields["talk_seconds"] = _number(obj, "talk_seconds")
            fields["hold_seconds"] = _number(obj, "hold_seconds", optional=True) or 0
            fields["wrap_seconds"] = _number(obj, "wrap_seconds", optional=True) or 0
            fields["resolved"] = _boolean(obj, "resolved", optional=True)
            _boolean(obj, "transferred", optional=True)
        return fields
    if kind.startswith("ticket."):
        fields = {"ticket_id": _string(obj, "ticket_id")}
        if kind != "ticket.created":
            fields["created_at"] = _timestamp(obj, "created_at")
        if kind == "ticket.replied":
            fields["author"] = _choice(obj, "author", frozenset({"agent", "customer"}))
            fields["public"] = _boolean(obj, "public")
            if fields["author"] == "agent":
                fields["agent"] = _string(obj, "agent")
        if kind == "ticket.solved":
            fields["agent"] = _string(obj, "agent")
        return fields
    if kind.startswith("survey."):
        low, high = (0, 10) if kind == "survey.nps" else (1, 5)
        return {
            "score": _number(obj, "score", low, high, integer=True),
            "agent": _string(obj, "agent", optional=True),
            "contact_id": _string(obj, "contact_id", optional=True),
            "ticket_id": _string(obj, "ticket_id", optional=True),
        }
    if kind == "qa.evaluated":
        _criteria(obj)
        return {
            "agent": _string(obj, "agent"),
            "score": _number(obj, "score", 0, 100),
            "contact_id": _string(obj, "contact_id", optional=True),
            "ticket_id": _string(obj, "ticket_id", optional=True),
        }
    if kind == "agent.shift":
        start, end = _timestamp(obj, "start"), _timestamp(obj, "end")
        if not start < end <= start + timedelta(days=7):
            raise _Bad("out_of_range", "a shift ends after its start, within 7 days")
        return {"agent": _string(obj, "agent"), "start": start, "end": end}
    return {
        "agent": _string(obj, "agent"),
        "certification": _string(obj, "certification"),
        "valid_days": _number(obj, "valid_days", 1, integer=True),
    }


def _parse(topic: str, value: bytes) -> Event:
    obj = _decode(value)
    event_id = _string(obj, "event_id", max_len=128)
    kind = _string(obj, "type")
    if kind not in TOPIC_OF_TYPE:
        raise _Bad("unknown_type", f"type={kind!r}")
    if TOPIC_OF_TYPE[kind] != topic:
        raise _Bad("wrong_topic", f"{kind} on {topic}")
    occurred_at = _timestamp(obj, "occurred_at")
    team = _string(obj, "team", max_len=64)
    channel = _choice(obj, "channel", CHANNELS)
    fields = _type_fields(obj, kind)
    created_at = fields.get("created_at")
    if created_at is not None and occurred_at < created_at:
        raise _Bad("out_of_range", "occurred_at before created_at")
    return Event(
        topic=topic,
        type=kind,
        event_id=event_id,
        occurred_at=occurred_at,
        team=team,
        channel=channel,
        **fields,
    )


def parse_event(topic: str, value: bytes) -> Event | Invalid:
    """Classify one raw message from `topic` (a base topic name)."""
    if topic not in INPUT_TOPICS:
        raise ValueError(f"not an input topic: {topic!r}")
    try:
        return _parse(topic, value)
    except _Bad as bad:
        return Invalid(bad.reason, bad.detail)
