"""Properties of the Chatwoot mapping over random conversation histories and random JSON.

The reference is the builder's own account of each history (tests/sources/chatwoot_builder.py:
what each action means in contract terms), written apart from the mapping.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources.chatwoot import SKIP_REASONS, map_delivery
from streams.sources.sink import Checked, Checker
from tests.sources.chatwoot_builder import Account, Agent, Contact, Inbox, Team

CHECKER = Checker(65536)
INBOXES = (
    Inbox(2, "Website", "Channel::WebWidget", "chat", "website"),
    Inbox(5, "Mail", "Channel::Email", "email", "chatwoot"),
    Inbox(7, "WhatsApp", "Channel::Whatsapp", "messaging", "chatwoot"),
    Inbox(8, "Instagram", "Channel::Instagram", "social", "social-desk"),
)
INBOX_TEAMS = {2: "website", 8: "social-desk"}
AGENTS = (Agent(1, "Ana Pop"), Agent(2, "Bob Ionescu"), Agent(3, "Zoë <Ng> & Co"))
TEAMS = (None, Team(1, "support"), Team(2, "billing"))
ACTIONS = ("customer", "email", "agent", "note", "bot", "automation", "csat", "assign", "resolve")
ACTIONS += ("snooze", "reopen")


@st.composite
def histories(draw: st.DrawFn) -> Account:
    account = Account(id=draw(st.integers(1, 99)))
    at = datetime(2026, 10, 30, 6, tzinfo=UTC)
    for number in range(draw(st.integers(1, 4))):
        inbox = draw(st.sampled_from(INBOXES))
        conv = account.conversation(
            at, inbox, Contact(40 + number, "C"), draw(st.sampled_from(TEAMS))
        )
        for action in draw(st.lists(st.sampled_from(ACTIONS), max_size=12)):
            at += timedelta(
                seconds=draw(st.integers(1, 4000)), milliseconds=draw(st.integers(0, 999))
            )
            agent = draw(st.sampled_from(AGENTS))
            if action in ("agent", "note", "assign"):
                getattr(conv, action)(at, agent)
            elif action == "resolve" and conv.status != "resolved":
                conv.resolve(at)
            elif action == "snooze" and conv.status == "open":
                conv.snooze(at)
            elif action == "reopen" and conv.status == "resolved":
                conv.reopen(at)
            elif action not in ("resolve", "snooze", "reopen"):
                getattr(conv, action)(at)
        at += timedelta(seconds=1)
    return account


def without_id(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k != "event_id"}


@settings(max_examples=150, deadline=None)
@given(histories())
def test_deliveries_map_to_what_the_history_means(account: Account) -> None:
    seen: set[str] = set()
    produced: list[dict[str, Any]] = []
    for delivery in account.deliveries:
        mapped = map_delivery(orjson.loads(delivery.body), INBOX_TEAMS)
        assert mapped.skipped is None or mapped.skipped in SKIP_REASONS
        for event in mapped.events:
            assert isinstance(CHECKER.check(event), Checked), event
            if event["event_id"] not in seen:  # what the worker's dedup keeps
                seen.add(event["event_id"])
                produced.append(without_id(event))
    assert produced == account.expected


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(
        [
            "conversation_created",
            "message_created",
            "conversation_updated",
            "conversation_status_changed",
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "id",
                "created_at",
                "updated_at",
                "status",
                "message_type",
                "sender",
                "conversation",
                "account",
                "meta",
                "changed_attributes",
                "private",
                "channel",
                "inbox_id",
            ]
        ),
        json_values,
    ),
)
def test_any_json_maps_or_is_skipped_with_a_reason(event: str, fields: dict[str, Any]) -> None:
    mapped = map_delivery({**fields, "event": event})
    assert (mapped.skipped is None) != (mapped.events == [])
    assert mapped.skipped is None or mapped.skipped in SKIP_REASONS


@settings(max_examples=200, deadline=None)
@given(histories(), st.data())
def test_a_damaged_real_delivery_never_raises(account: Account, data: st.DataObject) -> None:
    delivery = orjson.loads(data.draw(st.sampled_from(account.deliveries)).body)
    target = delivery
    if "conversation" in delivery and data.draw(st.booleans()):
        target = delivery["conversation"]
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(json_values)
    mapped = map_delivery(delivery, INBOX_TEAMS)
    assert mapped.skipped is None or mapped.skipped in SKIP_REASONS
    for event in mapped.events:
        CHECKER.check(event)  # valid or a dead letter; never an exception
