"""An independent check of input events against CONTRACT.md v1.1, written from its tables.

Deliberately not shared with the service's own validation: the simulator's
tests must not pass just because both sides made the same mistake.
"""

from __future__ import annotations

import re
from datetime import datetime

CHANNELS = {"voice", "chat", "email", "social", "messaging"}
REASONS = {"hangup", "timeout", "exit_key", "no_agents"}
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

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
    "agent.shift": "cc.agents",  # v1.2
}

# type -> (required fields, optional fields)
FIELDS: dict[str, tuple[set[str], set[str]]] = {
    "contact.offered": ({"contact_id", "queue"}, set()),
    "contact.answered": ({"contact_id", "queue", "agent", "wait_seconds"}, set()),
    "contact.abandoned": ({"contact_id", "queue", "wait_seconds"}, {"reason"}),
    "contact.completed": (
        {"contact_id", "queue", "agent", "talk_seconds"},
        {"hold_seconds", "wrap_seconds", "resolved", "transferred"},
    ),
    "ticket.created": ({"ticket_id"}, set()),
    "ticket.replied": ({"ticket_id", "created_at", "author", "public"}, {"agent"}),
    "ticket.solved": ({"ticket_id", "created_at", "agent"}, set()),
    "ticket.reopened": ({"ticket_id", "created_at"}, set()),
    "survey.nps": ({"score"}, {"agent", "contact_id", "ticket_id"}),
    "survey.csat": ({"score"}, {"agent", "contact_id", "ticket_id"}),
    "qa.evaluated": ({"agent", "score"}, {"criteria", "contact_id", "ticket_id"}),
    "agent.certified": ({"agent", "certification", "valid_days"}, set()),
    "agent.shift": ({"agent", "start", "end"}, set()),
}
COMMON = {"event_id", "type", "occurred_at", "team", "channel"}


def parse_time(text: object) -> datetime | None:
    """An RFC 3339 timestamp with an offset, or None when it is not one."""
    if not isinstance(text, str) or not RFC3339.match(text):
        return None
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.utcoffset() is not None else None


def _text(value: object, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems(topic: str, key: str, event: dict[str, object]) -> list[str]:
    """Every way `event` breaks the contract; empty when it is valid."""
    found: list[str] = []
    type_ = event.get("type")
    if type_ not in FIELDS:
        return [f"unknown type {type_!r}"]
    assert isinstance(type_, str)
    required, optional = FIELDS[type_]
    missing = (COMMON | required) - event.keys()
    extra = event.keys() - COMMON - required - optional
    if missing:
        found.append(f"missing {sorted(missing)}")
    if extra:
        found.append(f"unexpected {sorted(extra)}")
    if TOPIC_OF_TYPE[type_] != topic:
        found.append(f"{type_} on {topic}")
    if not _text(event.get("event_id"), 1, 128):
        found.append("event_id")
    if parse_time(event.get("occurred_at")) is None:
        found.append("occurred_at")
    if not _text(event.get("team"), 1, 64):
        found.append("team")
    if event.get("channel") not in CHANNELS:
        found.append("channel")
    for name in ("contact_id", "ticket_id", "queue", "agent", "certification"):
        if name in event and not _text(event[name], 1, 128):
            found.append(name)
    for name in ("wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds"):
        if name in event and not (_number(event[name]) and event[name] >= 0):
            found.append(name)
    if "reason" in event and event["reason"] not in REASONS:
        found.append("reason")
    if "resolved" in event and event["resolved"] not in (True, False, None):
        found.append("resolved")
    if "transferred" in event and not isinstance(event["transferred"], bool):
        found.append("transferred")
    if "created_at" in event:
        created = parse_time(event["created_at"])
        occurred = parse_time(event.get("occurred_at"))
        if created is None or (occurred is not None and occurred < created):
            found.append("created_at")
    if "public" in event and not isinstance(event["public"], bool):
        found.append("public")
    if type_ == "ticket.replied":
        author = event.get("author")
        if author not in ("agent", "customer"):
            found.append("author")
        if author == "agent" and "agent" not in event:
            found.append("agent reply without agent")
    score = event.get("score")
    if type_ == "survey.nps" and not (_integer(score) and 0 <= score <= 10):
        found.append("score")
    if type_ == "survey.csat" and not (_integer(score) and 1 <= score <= 5):
        found.append("score")
    if type_ == "qa.evaluated":
        if not (_number(score) and 0 <= score <= 100):
            found.append("score")
        criteria = event.get("criteria", {})
        if not isinstance(criteria, dict) or not all(
            isinstance(k, str) and _number(v) for k, v in criteria.items()
        ):
            found.append("criteria")
    if type_ == "agent.certified":
        days = event.get("valid_days")
        if not (_integer(days) and days > 0):
            found.append("valid_days")
    if type_ == "agent.shift":
        start, end = parse_time(event.get("start")), parse_time(event.get("end"))
        if start is None or end is None or not start < end:
            found.append("start/end")
    expected_key = {
        "cc.contacts": event.get("contact_id"),
        "cc.tickets": event.get("ticket_id"),
        "cc.surveys": event.get("event_id"),
        "cc.quality": event.get("event_id"),
        "cc.agents": event.get("agent"),
    }[topic]
    if key != expected_key:
        found.append(f"key {key!r} is not {expected_key!r}")
    return found
