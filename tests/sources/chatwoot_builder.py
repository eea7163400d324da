"""Chatwoot webhook deliveries shaped as Chatwoot builds them, and the contract events they mean.

Shapes follow Chatwoot's source (develop at 1e33bfd553369b58b9cfb7858d7e7c7539f23bdc;
tests/data/chatwoot/README.md names the file behind every field): a conversation is
``Conversations::EventDataPresenter#push_data`` plus ``account``; a top-level message
is ``Message#webhook_data``; the message nested in a conversation's ``messages`` is
``Message#push_event_data`` (integer ``message_type`` and ``created_at``, ISO
``updated_at``). Bodies are serialised like Rails' ``to_json`` (compact, UTF-8,
``<`` ``>`` ``&`` U+2028 U+2029 escaped) and signed like ``lib/webhooks/trigger.rb``.

The expected contract events are written here from what each action means (a
customer wrote, an agent replied publicly, the conversation was resolved), not by
the mapping under test, so tests compare two independent accounts of the same history.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_RAILS_ESCAPES = (
    ("<", "\\u003c"),
    (">", "\\u003e"),
    ("&", "\\u0026"),
    ("\u2028", "\\u2028"),
    ("\u2029", "\\u2029"),
)


def rails_json(value: Any) -> bytes:
    """``value.to_json`` as ActiveSupport writes it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in _RAILS_ESCAPES:
        text = text.replace(char, escaped)
    return text.encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The headers ``Webhooks::Trigger#request_headers`` adds for a webhook with a secret."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-Chatwoot-Timestamp": str(timestamp),
        "X-Chatwoot-Signature": "sha256=" + digest.hexdigest(),
    }


def iso_ms(at: datetime) -> str:
    """Rails' JSON time: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def contract_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Inbox:
    id: int
    name: str
    channel_type: str
    channel: str  # the contract channel this inbox's conversations count in
    default_team: str  # the team expected when a conversation has no Chatwoot team


@dataclass(frozen=True)
class Team:
    id: int
    name: str


@dataclass(frozen=True)
class Agent:
    id: int
    name: str

    @property
    def email(self) -> str:
        return f"{self.name.split()[0].lower()}@acme.example"

    def push_event_data(self) -> dict[str, Any]:  # User#push_event_data
        return {
            "id": self.id,
            "name": self.name,
            "available_name": self.name,
            "avatar_url": "",
            "type": "user",
            "availability_status": "online",
            "thumbnail": "",
        }

    def webhook_data(self) -> dict[str, Any]:  # User#webhook_data
        return {"id": self.id, "name": self.name, "email": self.email, "type": "user"}


@dataclass(frozen=True)
class Contact:
    id: int
    name: str

    def push_event_data(self) -> dict[str, Any]:  # Contact#push_event_data
        return {
            "additional_attributes": {"city": "Cluj", "country": "Romania"},
            "custom_attributes": {},
            "email": f"customer{self.id}@mail.example",
            "id": self.id,
            "identifier": None,
            "name": self.name,
            "phone_number": f"+4072{self.id:07d}",
            "thumbnail": "",
            "blocked": False,
            "type": "contact",
        }

    def webhook_data(self, account: dict[str, Any]) -> dict[str, Any]:  # Contact#webhook_data
        data = self.push_event_data()
        del data["type"]
        return {"account": account, **data, "avatar": ""}


@dataclass
class Delivery:
    event: str
    payload: dict[str, Any]
    body: bytes
    delivery_id: str
    at: datetime  # when Chatwoot sent it (the action's time)


@dataclass
class Account:
    """One Chatwoot account: its conversations, the deliveries they caused, and the truth."""

    id: int = 3
    name: str = "Acme & Co <support>"
    deliveries: list[Delivery] = field(default_factory=list)
    expected: list[dict[str, Any]] = field(default_factory=list)
    _display_ids: int = 0
    _message_ids: int = 1000

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}

    def conversation(
        self, at: datetime, inbox: Inbox, contact: Contact, team: Team | None = None
    ) -> Conversation:
        self._display_ids += 1
        conv = Conversation(self, self._display_ids, inbox, contact, team, at)
        conv.deliver("conversation_created", conv.webhook_data())
        conv.expect("ticket.created", conv.created, created=False)
        return conv

    def in_time_order(self) -> None:
        """Deliveries and expected events of interleaved conversations, sorted (stable) by time."""
        self.deliveries.sort(key=lambda d: d.at)
        self.expected.sort(key=lambda e: e["occurred_at"])

    def next_message_id(self) -> int:
        self._message_ids += 1
        return self._message_ids


@dataclass
class Conversation:
    account: Account
    display_id: int
    inbox: Inbox
    contact: Contact
    team: Team | None
    created: datetime
    status: str = "open"
    assignee: Agent | None = None
    bot_assigned: bool = False
    updated: float = 0.0
    last_chat: dict[str, Any] | None = None
    first_reply: datetime | None = None
    waiting_since: int = 0
    last_activity: int = 0
    clock: datetime = datetime.min.replace(tzinfo=UTC)

    def __post_init__(self) -> None:
        self.created = self.created.replace(microsecond=0)  # created_at is sent as whole seconds
        self.clock = self.created
        self.updated = self.created.timestamp() + 0.000321
        self.last_activity = int(self.created.timestamp())

    @property
    def ticket_id(self) -> str:
        return f"chatwoot-{self.account.id}-{self.display_id}"

    @property
    def expected_team(self) -> str:
        return self.team.name if self.team else self.inbox.default_team

    # -------------------------------------------------------------- payloads

    def webhook_data(self) -> dict[str, Any]:
        """Conversation#webhook_data: EventDataPresenter#push_data (+ account since 4.14.2)."""
        assignee = self.assignee.push_event_data() if self.assignee else None
        assignee_type = "User" if self.assignee else None
        if self.bot_assigned:
            assignee = {"id": 9, "name": "Captain", "avatar_url": "", "type": "agent_bot"}
            assignee_type = "AgentBot"
        return {
            "additional_attributes": {
                "browser": {"browser_name": "Firefox", "platform_name": "Linux"},
                "referer": "https://shop.example/help?a=1&b=<2>",
                "initiated_at": {"timestamp": "Fri Oct 30 2026 09:00:00 GMT+0200"},
            },
            "can_reply": True,
            "channel": self.inbox.channel_type,
            "contact_inbox": {
                "id": 500 + self.display_id,
                "contact_id": self.contact.id,
                "inbox_id": self.inbox.id,
                "source_id": str(uuid.UUID(int=self.display_id)),
                "created_at": iso_ms(self.created),
                "updated_at": iso_ms(self.created),
                "hmac_verified": False,
                "pubsub_token": "pT" + str(self.display_id) * 3,
            },
            "id": self.display_id,
            "inbox_id": self.inbox.id,
            "messages": [self.last_chat] if self.last_chat else [],
            "labels": ["billing"],
            "meta": {
                "sender": self.contact.push_event_data(),
                "assignee": assignee,
                "assignee_type": assignee_type,
                "team": (
                    {"id": self.team.id, "name": self.team.name, "icon": "", "icon_color": ""}
                    if self.team
                    else None
                ),
                "hmac_verified": False,
            },
            "status": self.status,
            "custom_attributes": {},
            "snoozed_until": None,
            "unread_count": 1,
            "first_reply_created_at": iso_ms(self.first_reply) if self.first_reply else None,
            "priority": None,
            "waiting_since": self.waiting_since,
            "agent_last_seen_at": 0,
            "contact_last_seen_at": 0,
            "last_activity_at": self.last_activity,
            "timestamp": self.last_activity,
            "created_at": int(self.created.timestamp()),
            "updated_at": self.updated,
            "account": self.account.ref,
        }

    def deliver(self, event: str, payload: dict[str, Any], **extra: Any) -> Delivery:
        payload = {**payload, "event": event, **extra}
        delivery = Delivery(event, payload, rails_json(payload), str(uuid.uuid4()), self.clock)
        self.account.deliveries.append(delivery)
        return delivery

    def expect(self, kind: str, at: datetime, created: bool = True, **fields: Any) -> None:
        event = {
            "type": kind,
            "ticket_id": self.ticket_id,
            "occurred_at": contract_time(at),
            "team": self.expected_team,
            "channel": self.inbox.channel,
            **fields,
        }
        if created:
            event["created_at"] = contract_time(self.created)
        self.account.expected.append(event)

    def _touch(self, at: datetime) -> None:
        self.clock = at
        self.updated = at.timestamp() + 0.000456  # to_f keeps microseconds; the mapping keeps ms

    def _message(
        self,
        at: datetime,
        message_type: str,
        sender: dict[str, Any] | None,
        content: str | None,
        private: bool = False,
        content_type: str = "text",
        content_attributes: dict[str, Any] | None = None,
    ) -> None:
        message_id = self.account.next_message_id()
        number = {"incoming": 0, "outgoing": 1, "template": 3}[message_type]
        self.last_activity = int(at.timestamp())
        self._touch(at)
        if not private:
            self.last_chat = {  # Message#push_event_data, nested in the conversation
                "id": message_id,
                "content": content,
                "account_id": self.account.id,
                "inbox_id": self.inbox.id,
                "conversation_id": self.display_id,
                "message_type": number,
                "created_at": int(at.timestamp()),
                "updated_at": iso_ms(at),
                "private": private,
                "status": "sent",
                "source_id": None,
                "content_type": content_type,
                "content_attributes": content_attributes or {},
                "sender_type": "Contact" if message_type == "incoming" else "User",
                "sender_id": self.contact.id,
                "external_source_ids": {},
                "additional_attributes": {},
                "processed_message_content": content,
                "sentiment": {},
                "conversation": {"assignee_id": None, "unread_count": 1},
            }
        payload = {  # Message#webhook_data
            "account": self.account.ref,
            "additional_attributes": {},
            "content_attributes": content_attributes or {},
            "content_type": content_type,
            "content": content,
            "conversation": self.webhook_data(),
            "created_at": iso_ms(at),
            "id": message_id,
            "inbox": {"id": self.inbox.id, "name": self.inbox.name},
            "message_type": message_type,
            "private": private,
            "sender": sender,
            "source_id": None,
        }
        self.deliver("message_created", payload)

    # -------------------------------------------------------------- actions

    def customer(self, at: datetime, content: str = "Hello, my order <#42> & invoice?") -> None:
        reopening = self.status == "resolved"
        if reopening:  # Message#reopen_conversation: open! before the message is delivered
            self._status("open", at)
        if not self.waiting_since:
            self.waiting_since = int(at.timestamp())
        self._message(at, "incoming", self.contact.webhook_data(self.account.ref), content)
        self.expect("ticket.replied", at, author="customer", public=True)

    def email(self, at: datetime) -> None:
        """An incoming e-mail: the whole mail rides in content_attributes."""
        attributes = {
            "email": {
                "bcc": None,
                "cc": None,
                "content_type": "multipart/alternative",
                "date": "Fri, 30 Oct 2026 09:00:00 +0200",
                "from": [f"customer{self.contact.id}@mail.example"],
                "html_content": {
                    "full": "<html><body><p>Where is my <b>parcel</b>? A&amp;B</p></body></html>",
                    "reply": "<p>Where is my <b>parcel</b>?</p>",
                    "quoted": "<p>Where is my <b>parcel</b>?</p>",
                },
                "message_id": f"abc{self.display_id}@mail.example",
                "subject": "Parcel <late> & lost",
                "text_content": {
                    "full": "Where is my parcel?\u2028Thanks",
                    "reply": "",
                    "quoted": "",
                },
                "to": ["support@acme.example"],
            }
        }
        if not self.waiting_since:
            self.waiting_since = int(at.timestamp())
        self._message(
            at,
            "incoming",
            self.contact.webhook_data(self.account.ref),
            "Where is my parcel?",
            content_type="incoming_email",
            content_attributes=attributes,
        )
        self.expect("ticket.replied", at, author="customer", public=True)

    def agent(self, at: datetime, agent: Agent, content: str = "Sure <b>now</b>") -> None:
        self._message(at, "outgoing", agent.webhook_data(), content)
        self.expect("ticket.replied", at, author="agent", agent=agent.name, public=True)
        if self.first_reply is None:
            self.first_reply = at
            self.waiting_since = 0
            changes = [
                {"first_reply_created_at": {"previous_value": None, "current_value": iso_ms(at)}},
                {"waiting_since": {"previous_value": iso_ms(at), "current_value": None}},
            ]
            self.deliver("conversation_updated", self.webhook_data(), changed_attributes=changes)

    def note(self, at: datetime, agent: Agent) -> None:
        """A private note: outgoing, private; a reply that is not public."""
        self._message(at, "outgoing", agent.webhook_data(), "internal: VIP", private=True)
        self.expect("ticket.replied", at, author="agent", agent=agent.name, public=False)

    def bot(self, at: datetime) -> None:
        """An agent bot's outgoing message: no reply (Chatwoot's human_response? is false)."""
        self._message(at, "outgoing", {"id": 9, "name": "Captain", "type": "agent_bot"}, "Hi!")

    def automation(self, at: datetime) -> None:
        """An automation rule's message: outgoing with no sender: no reply."""
        self._message(at, "outgoing", None, "We got your message")

    def csat(self, at: datetime) -> None:
        """The CSAT survey: a template message without a sender: no reply."""
        self._message(at, "template", None, "Rate us", content_type="input_csat")

    def assign(self, at: datetime, agent: Agent) -> None:
        before = self.assignee.id if self.assignee else None
        self.assignee = agent
        self._touch(at)
        changes = [{"assignee_id": {"previous_value": before, "current_value": agent.id}}]
        self.deliver("conversation_updated", self.webhook_data(), changed_attributes=changes)

    def _status(self, status: str, at: datetime) -> None:
        before = self.status
        self.status = status
        self._touch(at)
        if status == "resolved":
            self.waiting_since = 0
        data = self.webhook_data()
        # conversation_status_changed: changed_attributes is nil after commit (CHATWOOT.md)
        self.deliver("conversation_status_changed", data, changed_attributes=None)
        changes = [
            {"status": {"previous_value": before, "current_value": status}},
            {"updated_at": {"previous_value": iso_ms(at), "current_value": iso_ms(at)}},
        ]
        self.deliver("conversation_updated", data, changed_attributes=changes)
        agent = self.assignee.name if self.assignee else "unassigned"
        if status == "resolved":
            self.expect("ticket.solved", at, agent=agent)
        elif before == "resolved" and status in ("open", "pending"):
            self.expect("ticket.reopened", at)

    def resolve(self, at: datetime) -> None:
        self._status("resolved", at)

    def snooze(self, at: datetime) -> None:
        self._status("snoozed", at)

    def reopen(self, at: datetime) -> None:
        """An agent reopens a resolved conversation by hand."""
        self._status("open", at)
