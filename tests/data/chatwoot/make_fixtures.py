"""Write the fixture deliveries of this directory (``python -m tests.data.chatwoot.make_fixtures``).

One conversation's life on a web-widget inbox of team ``support``, and one e-mail
conversation without a team, as Chatwoot delivers them; bodies byte for byte as
Rails serialises them. The tests read the files, not this script.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.sources.chatwoot_builder import Account, Agent, Contact, Inbox, Team

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 10, 30, 7, 0, 5, tzinfo=UTC)


def main() -> None:
    account = Account()
    web = Inbox(2, "Website", "Channel::WebWidget", "chat", "website")
    mail = Inbox(5, "Support mail", "Channel::Email", "email", "chatwoot")
    ana, bob = Agent(1, "Ana Pop"), Agent(2, "Bob Ionescu")
    conv = account.conversation(T0, web, Contact(41, "Maria Customer"), Team(1, "support"))
    conv.customer(T0 + timedelta(seconds=1, milliseconds=250))
    conv.bot(T0 + timedelta(seconds=2))
    conv.assign(T0 + timedelta(minutes=1), ana)
    conv.agent(T0 + timedelta(minutes=3, milliseconds=500), ana)
    conv.note(T0 + timedelta(minutes=4), bob)
    conv.resolve(T0 + timedelta(minutes=10))
    conv.csat(T0 + timedelta(minutes=10, seconds=1))
    conv.customer(T0 + timedelta(minutes=30), "Still broken")
    mail_conv = account.conversation(T0 + timedelta(hours=1), mail, Contact(42, "Ion Client"))
    mail_conv.email(T0 + timedelta(hours=1, seconds=3))
    mail_conv.automation(T0 + timedelta(hours=1, seconds=4))
    names = [
        "conversation_created",
        "message_created_incoming",
        "message_created_bot",
        "conversation_updated_assignee",
        "message_created_outgoing_agent",
        "conversation_updated_first_reply",
        "message_created_private_note",
        "conversation_status_changed_resolved",
        "conversation_updated_resolved",
        "message_created_template_csat",
        "conversation_status_changed_open",
        "conversation_updated_reopened",
        "message_created_incoming_on_resolved",
        "conversation_created_email",
        "message_created_incoming_email",
        "message_created_automation",
    ]
    assert len(names) == len(account.deliveries)  # noqa: S101
    for name, delivery in zip(names, account.deliveries, strict=True):
        assert name.startswith(delivery.event)  # noqa: S101
        (HERE / f"{name}.json").write_bytes(delivery.body)


if __name__ == "__main__":
    main()
