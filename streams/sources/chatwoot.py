"""Chatwoot webhook deliveries -> contract ticket events (CONTRACT.md v1.2, "HTTP ingest").

Pure: the parsed JSON of one delivery and the ``chatwoot.inbox_teams`` config in,
contract events (plain mappings, validated later by :mod:`streams.sources.sink`) or
the reason the delivery makes none out. What Chatwoot sends is described in
/work/shared/CHATWOOT.md and tests/data/chatwoot/README.md; the parts this module
relies on:

- a conversation is Chatwoot's ``Conversations::EventDataPresenter#push_data``:
  ``id`` (display id), ``inbox_id``, ``channel`` (``Channel::Email`` ...), ``status``,
  ``meta.team``/``meta.assignee``/``meta.assignee_type``, ``created_at`` (unix
  seconds, integer), ``updated_at`` (unix seconds, float), ``account {id, name}``;
- a message delivery is ``Message#webhook_data``: ``created_at`` an ISO 8601 string,
  ``message_type`` a string, ``private``, ``sender`` (an agent has ``type: "user"``,
  a contact no type, a bot ``agent_bot``), ``conversation``, ``account``;
- a status change arrives twice, as ``conversation_status_changed`` (its
  ``changed_attributes`` null) and ``conversation_updated`` (``changed_attributes``
  holding ``status`` before and after). Both map to the same event id (the
  conversation, the new status and ``updated_at``), so the worker counts it once.

Nothing here reads message content or customer data: the only personal datum taken
is an agent's display name, which the contract makes the ``agent`` label.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from streams.errors import CckpiError

CHANNELS: dict[str, str] = {
    "Channel::Email": "email",
    "Channel::TwitterProfile": "social",
    "Channel::FacebookPage": "social",
    "Channel::Instagram": "social",
    "Channel::Tiktok": "social",
    "Channel::Whatsapp": "messaging",
    "Channel::Sms": "messaging",
    "Channel::TwilioSms": "messaging",
    "Channel::Telegram": "messaging",
    "Channel::Line": "messaging",
}
"""Chatwoot inbox channel type -> contract channel; any other type (WebWidget, Api, ...) is chat."""
DEFAULT_CHANNEL = "chat"
DEFAULT_TEAM = "chatwoot"
UNASSIGNED = "unassigned"
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
"""Message types as integers (nested ``push_event_data``) and their names (``webhook_data``)."""

SKIP_REASONS = (
    "event_not_mapped",
    "not_a_reply",
    "status_not_counted",
    "previous_status_unknown",
    "no_status_change",
    "malformed",
)
"""Every reason a genuine delivery makes no event (bounded metric label values)."""


@dataclass(frozen=True, slots=True)
class Mapped:
    """What one delivery becomes: events, or none and why."""

    events: list[dict[str, Any]] = field(default_factory=list)
    skipped: str | None = None
    """A :data:`SKIP_REASONS` entry when the delivery makes no event."""
    detail: str = ""
    """Which field or value decided it (never content or personal data)."""


class Malformed(CckpiError):
    """A field the mapping needs is missing or of the wrong type (never leaves this module)."""


def _skip(reason: str, detail: str) -> Mapped:
    return Mapped(skipped=reason, detail=detail)


def _mapping(parent: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = parent.get(name)
    if not isinstance(value, Mapping):
        raise Malformed(f"{name}: not an object")
    return value


def _integer(parent: Mapping[str, Any], name: str) -> int:
    value = parent.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"{name}: not an integer")
    return value


def instant(value: object, name: str) -> datetime:
    """A Chatwoot time: unix seconds (integer or float) or an ISO 8601 string with an offset."""
    if isinstance(value, bool):
        raise Malformed(f"{name}: not a time")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError) as exc:
            raise Malformed(f"{name}: not a time") from exc
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise Malformed(f"{name}: not an ISO 8601 time") from exc
        if moment.tzinfo is None:
            raise Malformed(f"{name}: no offset")
        return moment
    raise Malformed(f"{name}: not a time")


def rfc3339(moment: datetime) -> str:
    """UTC, milliseconds kept (Chatwoot's own precision), ``+00:00``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def channel_of(conversation: Mapping[str, Any]) -> str:
    kind = conversation.get("channel")
    return CHANNELS.get(kind, DEFAULT_CHANNEL) if isinstance(kind, str) else DEFAULT_CHANNEL


def team_of(conversation: Mapping[str, Any], inbox_teams: Mapping[int, str]) -> str:
    """``meta.team.name``, else the config's team of the inbox, else ``chatwoot``."""
    meta = conversation.get("meta")
    team = meta.get("team") if isinstance(meta, Mapping) else None
    name = team.get("name") if isinstance(team, Mapping) else None
    if isinstance(name, str) and name.strip():
        return name.strip()
    inbox = conversation.get("inbox_id")
    if isinstance(inbox, int) and not isinstance(inbox, bool) and inbox in inbox_teams:
        return inbox_teams[inbox]
    return DEFAULT_TEAM


def account_id(delivery: Mapping[str, Any], conversation: Mapping[str, Any]) -> int:
    """``account.id`` (Chatwoot 4.14.2+), else an ``account_id`` where an older one sent it."""
    for holder in (delivery, conversation):
        account = holder.get("account")
        if isinstance(account, Mapping):
            return _integer(account, "id")
    for holder in (delivery, conversation):
        if "account_id" in holder:
            return _integer(holder, "account_id")
    raise Malformed("account: missing (Chatwoot before 4.14.2 sends no account id)")


def ticket_id(account: int, conversation: int) -> str:
    return f"chatwoot-{account}-{conversation}"


@dataclass(frozen=True, slots=True)
class _Ticket:
    """The contract fields a conversation gives every event."""

    ticket_id: str
    created_at: str
    team: str
    channel: str

    def event(self, event_id: str, kind: str, occurred_at: str, **fields: Any) -> dict[str, Any]:
        return {
            "event_id": event_id,
            "type": kind,
            "occurred_at": occurred_at,
            "team": self.team,
            "channel": self.channel,
            "ticket_id": self.ticket_id,
            "created_at": self.created_at,
            **fields,
        }


def _ticket(
    delivery: Mapping[str, Any], conversation: Mapping[str, Any], inbox_teams: Mapping[int, str]
) -> _Ticket:
    return _Ticket(
        ticket_id=ticket_id(account_id(delivery, conversation), _integer(conversation, "id")),
        created_at=rfc3339(instant(conversation.get("created_at"), "created_at")),
        team=team_of(conversation, inbox_teams),
        channel=channel_of(conversation),
    )


def _conversation_created(delivery: Mapping[str, Any], inbox_teams: Mapping[int, str]) -> Mapped:
    ticket = _ticket(delivery, delivery, inbox_teams)
    event = ticket.event(f"{ticket.ticket_id}:created", "ticket.created", ticket.created_at)
    del event["created_at"]  # ticket.created carries no created_at (CONTRACT.md)
    return Mapped([event])


def _message_created(delivery: Mapping[str, Any], inbox_teams: Mapping[int, str]) -> Mapped:
    kind = delivery.get("message_type")
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = MESSAGE_TYPES.get(kind)
    if kind not in ("incoming", "outgoing"):
        return _skip("not_a_reply", f"message_type {kind if isinstance(kind, str) else '?'}")
    sender = delivery.get("sender")
    fields: dict[str, Any]
    if kind == "incoming":
        fields = {"author": "customer"}
    else:
        sender_type = sender.get("type") if isinstance(sender, Mapping) else None
        if sender_type != "user":
            return _skip("not_a_reply", f"outgoing from sender type {sender_type or 'none'}")
        assert isinstance(sender, Mapping)  # noqa: S101 - type "user" implies a mapping
        name = sender.get("name")
        if not isinstance(name, str):
            raise Malformed("sender.name: not a string")
        fields = {"author": "agent", "agent": name}
    private = delivery.get("private", False)
    if not isinstance(private, bool):
        raise Malformed("private: not a boolean")
    conversation = _mapping(delivery, "conversation")
    ticket = _ticket(delivery, conversation, inbox_teams)
    occurred = rfc3339(instant(delivery.get("created_at"), "created_at"))
    message = _integer(delivery, "id")
    event_id = f"{ticket.ticket_id}:message:{message}"
    return Mapped(
        [ticket.event(event_id, "ticket.replied", occurred, public=not private, **fields)]
    )


def _status_change(
    conversation: Mapping[str, Any],
) -> tuple[str | None, str] | None:
    """(previous, current) status from ``changed_attributes``, or None when it names none."""
    changes = conversation.get("changed_attributes")
    if not isinstance(changes, list):
        return None
    for change in changes:
        if isinstance(change, Mapping) and isinstance(change.get("status"), Mapping):
            status = change["status"]
            before, after = status.get("previous_value"), status.get("current_value")
            if isinstance(after, str):
                return (before if isinstance(before, str) else None), after
    return None


def _status_event(delivery: Mapping[str, Any], inbox_teams: Mapping[int, str]) -> Mapped:
    status = delivery.get("status")
    if not isinstance(status, str):
        raise Malformed("status: not a string")
    change = _status_change(delivery)
    if delivery.get("event") == "conversation_updated" and change is None:
        return _skip("no_status_change", "conversation_updated without a status change")
    previous = change[0] if change is not None and change[1] == status else None
    if status == "resolved":
        kind = "ticket.solved"
    elif status in ("open", "pending"):
        if previous is None:
            return _skip("previous_status_unknown", f"to {status}; conversation_updated tells")
        if previous != "resolved":
            return _skip("status_not_counted", f"{previous} -> {status}")
        kind = "ticket.reopened"
    else:
        return _skip("status_not_counted", f"to {status}")
    ticket = _ticket(delivery, delivery, inbox_teams)
    updated = instant(delivery.get("updated_at"), "updated_at")
    stamp = round(updated.timestamp() * 1000)
    event_id = f"{ticket.ticket_id}:{status}:{stamp}"
    fields: dict[str, Any] = {}
    if kind == "ticket.solved":
        fields["agent"] = _assignee(delivery)
    return Mapped([ticket.event(event_id, kind, rfc3339(updated), **fields)])


def _assignee(conversation: Mapping[str, Any]) -> str:
    """The assigned user's name where the assignee is a user, else ``unassigned``."""
    meta = conversation.get("meta")
    if not isinstance(meta, Mapping):
        return UNASSIGNED
    assignee = meta.get("assignee")
    if not isinstance(assignee, Mapping):
        return UNASSIGNED
    kind = meta.get("assignee_type")
    is_user = kind == "User" or (kind is None and assignee.get("type") == "user")
    name = assignee.get("name")
    return name if is_user and isinstance(name, str) and name else UNASSIGNED


_HANDLERS = {
    "conversation_created": _conversation_created,
    "message_created": _message_created,
    "conversation_status_changed": _status_event,
    "conversation_updated": _status_event,
}
MAPPED_EVENTS = tuple(_HANDLERS)


def map_delivery(delivery: object, inbox_teams: Mapping[int, str] | None = None) -> Mapped:
    """The contract events of one parsed Chatwoot delivery, or why there are none.

    Never raises on any JSON value: a delivery lacking what the mapping needs is
    skipped as ``malformed`` with the field named."""
    if not isinstance(delivery, Mapping):
        return _skip("malformed", "the delivery is not a JSON object")
    event = delivery.get("event")
    handler = _HANDLERS.get(event) if isinstance(event, str) else None
    if handler is None:
        return _skip("event_not_mapped", f"event {event if isinstance(event, str) else '?'}"[:80])
    try:
        return handler(delivery, inbox_teams or {})
    except Malformed as exc:
        return _skip("malformed", f"{event}: {exc}")
