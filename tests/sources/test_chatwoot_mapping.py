"""The Chatwoot mapping on deliveries shaped as Chatwoot sends them, against hand-written events."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.sources.chatwoot import CHANNELS, SKIP_REASONS, map_delivery
from streams.sources.sink import Checked, Checker

DATA = Path(__file__).resolve().parents[1] / "data" / "chatwoot"
CHECKER = Checker(65536)


def load(name: str) -> Any:
    return orjson.loads((DATA / f"{name}.json").read_bytes())


def events(name: str, inbox_teams: dict[int, str] | None = None) -> list[dict[str, Any]]:
    mapped = map_delivery(load(name), inbox_teams)
    assert mapped.skipped is None, (mapped.skipped, mapped.detail)
    for event in mapped.events:
        assert isinstance(CHECKER.check(event), Checked), event  # the worker accepts it
    return mapped.events


def skipped(name: str) -> str | None:
    mapped = map_delivery(load(name))
    assert mapped.events == []
    return mapped.skipped


def ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


CREATED = "2026-10-30T07:00:05.000+00:00"
WEB = {"team": "support", "channel": "chat", "ticket_id": "chatwoot-3-1"}


def test_conversation_created_is_a_ticket_created() -> None:
    assert events("conversation_created") == [
        {
            "event_id": "chatwoot-3-1:created",
            "type": "ticket.created",
            "occurred_at": CREATED,
            **WEB,
        }
    ]


def test_incoming_message_is_a_public_customer_reply_at_its_iso_time() -> None:
    assert events("message_created_incoming") == [
        {
            "event_id": "chatwoot-3-1:message:1001",
            "type": "ticket.replied",
            "occurred_at": "2026-10-30T07:00:06.250+00:00",
            **WEB,
            "created_at": CREATED,
            "public": True,
            "author": "customer",
        }
    ]


def test_outgoing_message_of_a_user_is_an_agent_reply() -> None:
    [event] = events("message_created_outgoing_agent")
    assert event == {
        "event_id": "chatwoot-3-1:message:1003",
        "type": "ticket.replied",
        "occurred_at": "2026-10-30T07:03:05.500+00:00",
        **WEB,
        "created_at": CREATED,
        "public": True,
        "author": "agent",
        "agent": "Ana Pop",
    }


def test_private_note_is_an_agent_reply_that_is_not_public() -> None:
    [event] = events("message_created_private_note")
    assert (event["author"], event["agent"], event["public"]) == ("agent", "Bob Ionescu", False)
    assert event["occurred_at"] == "2026-10-30T07:04:05.000+00:00"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("message_created_bot", "not_a_reply"),
        ("message_created_template_csat", "not_a_reply"),
        ("message_created_automation", "not_a_reply"),
        ("conversation_updated_assignee", "no_status_change"),
        ("conversation_updated_first_reply", "no_status_change"),
        ("conversation_status_changed_open", "previous_status_unknown"),
    ],
)
def test_deliveries_that_make_no_event(name: str, reason: str) -> None:
    assert skipped(name) == reason


def test_resolve_arrives_twice_and_is_one_event() -> None:
    [changed] = events("conversation_status_changed_resolved")
    [updated] = events("conversation_updated_resolved")
    assert changed == updated
    at = "2026-10-30T07:10:05.000+00:00"
    assert changed == {
        "event_id": f"chatwoot-3-1:resolved:{ms(at)}",
        "type": "ticket.solved",
        "occurred_at": at,
        **WEB,
        "created_at": CREATED,
        "agent": "Ana Pop",
    }


def test_reopen_is_named_by_conversation_updated() -> None:
    [event] = events("conversation_updated_reopened")
    at = "2026-10-30T07:30:05.000+00:00"
    assert event == {
        "event_id": f"chatwoot-3-1:open:{ms(at)}",
        "type": "ticket.reopened",
        "occurred_at": at,
        **WEB,
        "created_at": CREATED,
    }
    [reply] = events("message_created_incoming_on_resolved")
    assert (reply["author"], reply["occurred_at"]) == ("customer", at)


def test_email_conversation_without_team_takes_the_inbox_team_or_chatwoot() -> None:
    [created] = events("conversation_created_email")
    assert (created["ticket_id"], created["team"], created["channel"]) == (
        "chatwoot-3-2",
        "chatwoot",
        "email",
    )
    [mail] = events("message_created_incoming_email", {5: "mail-desk"})
    assert (mail["team"], mail["channel"], mail["author"]) == ("mail-desk", "email", "customer")
    assert mail["created_at"] == "2026-10-30T08:00:05.000+00:00"


def test_fixture_bodies_are_rails_json_with_escapes() -> None:
    raw = (DATA / "message_created_incoming_email.json").read_bytes()
    assert b"\\u003c" in raw and b"\\u0026" in raw and b"<" not in raw
    nested = load("message_created_incoming")["conversation"]["messages"][0]
    top = load("message_created_incoming")
    # the nested message is push_event_data: integer type and time; the top one strings
    assert (nested["message_type"], type(nested["created_at"])) == (0, int)
    assert (top["message_type"], type(top["created_at"])) == ("incoming", str)
    assert isinstance(top["conversation"]["updated_at"], float)


def test_no_personal_data_leaves_the_mapping() -> None:
    for path in DATA.glob("*.json"):
        text = orjson.dumps(map_delivery(orjson.loads(path.read_bytes())).events).decode()
        for secret in ("Maria", "Ion Client", "@", "parcel", "order", "+4072", "Acme"):
            assert secret not in text, (path.name, secret)


def test_channel_table_of_the_contract() -> None:
    conversation = load("conversation_created")
    expected = {
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
        "Channel::WebWidget": "chat",
        "Channel::Api": "chat",
        "Channel::Voice": "chat",
    }
    assert {k: v for k, v in expected.items() if v != "chat"} == CHANNELS
    for kind, channel in expected.items():
        [event] = map_delivery({**conversation, "channel": kind}).events
        assert event["channel"] == channel


def test_older_chatwoot_account_id_and_missing_account() -> None:
    conversation = load("conversation_created")
    del conversation["account"]
    assert map_delivery(conversation).skipped == "malformed"
    [event] = map_delivery({**conversation, "account_id": 7}).events
    assert event["ticket_id"] == "chatwoot-7-1"


def test_integer_message_type_and_unix_message_time_are_understood() -> None:
    message = load("message_created_outgoing_agent")
    message["message_type"] = 1
    message["created_at"] = 1793343785.5
    [event] = map_delivery(message).events
    assert event["occurred_at"] == "2026-10-30T07:03:05.500+00:00"
    assert event["author"] == "agent"


def test_unassigned_or_bot_assignee_solves_as_unassigned() -> None:
    resolved = load("conversation_updated_resolved")
    resolved["meta"]["assignee"] = None
    resolved["meta"]["assignee_type"] = None
    assert map_delivery(resolved).events[0]["agent"] == "unassigned"
    resolved["meta"]["assignee"] = {"id": 9, "name": "Captain", "type": "agent_bot"}
    resolved["meta"]["assignee_type"] = "AgentBot"
    assert map_delivery(resolved).events[0]["agent"] == "unassigned"


@pytest.mark.parametrize(
    ("previous", "current", "outcome"),
    [
        ("open", "resolved", "ticket.solved"),
        ("pending", "resolved", "ticket.solved"),
        ("resolved", "open", "ticket.reopened"),
        ("resolved", "pending", "ticket.reopened"),
        ("pending", "open", "status_not_counted"),
        ("open", "snoozed", "status_not_counted"),
        ("snoozed", "open", "status_not_counted"),
        ("resolved", "snoozed", "status_not_counted"),
    ],
)
def test_every_status_transition(previous: str, current: str, outcome: str) -> None:
    delivery = load("conversation_updated_resolved")
    delivery["status"] = current
    delivery["changed_attributes"][0]["status"] = {
        "previous_value": previous,
        "current_value": current,
    }
    mapped = map_delivery(delivery)
    got = mapped.events[0]["type"] if mapped.events else mapped.skipped
    assert got == outcome
    assert mapped.skipped is None or mapped.skipped in SKIP_REASONS


def test_unmapped_events_and_non_objects() -> None:
    assert map_delivery({"event": "contact_created", "id": 1}).skipped == "event_not_mapped"
    assert map_delivery({"event": "webwidget_triggered"}).skipped == "event_not_mapped"
    assert map_delivery([1, 2]).skipped == "malformed"
    assert map_delivery({"event": "message_created"}).skipped == "not_a_reply"
    broken = load("message_created_incoming")
    broken["created_at"] = "yesterday"
    assert map_delivery(broken).skipped == "malformed"
    broken["created_at"] = "2026-10-30T07:00:06"
    assert map_delivery(broken).skipped == "malformed"  # no offset


def test_created_after_the_message_is_refused_by_the_worker_decoder() -> None:
    message = load("message_created_incoming")
    message["conversation"]["created_at"] += 3600
    [event] = map_delivery(message).events
    refused = CHECKER.check(event)
    assert not isinstance(refused, Checked) and refused.reason == "out_of_range"


def test_utc_times() -> None:
    [event] = events("conversation_created")
    assert datetime.fromisoformat(event["occurred_at"]).tzinfo == UTC


def test_status_changed_with_its_changes_maps_like_conversation_updated() -> None:
    """Should Chatwoot fill ``changed_attributes`` of conversation_status_changed (it is
    null under Rails 7.1), the reopen is read from it and still counts once."""
    changed = load("conversation_status_changed_open")
    updated = load("conversation_updated_reopened")
    changed["changed_attributes"] = updated["changed_attributes"]
    assert map_delivery(changed).events == map_delivery(updated).events != []
