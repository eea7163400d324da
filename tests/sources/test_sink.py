"""The one producer path knows every contract event type, each on its own topic."""

from __future__ import annotations

import pytest

from streams.events.decode import DeadLetter
from streams.sources.sink import Checked, Checker

COMMON = {"occurred_at": "2026-11-02T09:00:00+00:00", "team": "support", "channel": "voice"}


@pytest.mark.parametrize(
    ("event", "topic", "key"),
    [
        ({"type": "contact.offered", "contact_id": "c1", "queue": "billing"}, "cc.contacts", "c1"),
        ({"type": "ticket.created", "ticket_id": "t1"}, "cc.tickets", "t1"),
        ({"type": "survey.nps", "score": 9}, "cc.surveys", "e1"),
        ({"type": "qa.evaluated", "agent": "ana", "score": 80}, "cc.quality", "e1"),
        (
            {
                "type": "agent.shift",
                "agent": "ana",
                "start": "2026-11-02T08:00:00+00:00",
                "end": "2026-11-02T16:00:00+00:00",
            },
            "cc.agents",
            "ana",
        ),
    ],
)
def test_each_type_goes_to_its_topic_under_its_key(
    event: dict[str, object], topic: str, key: str
) -> None:
    checked = Checker(65536).check({"event_id": "e1", **COMMON, **event})
    assert isinstance(checked, Checked), checked
    assert (checked.topic, checked.key) == (topic, key.encode())


def test_an_unknown_type_is_refused_with_its_reason() -> None:
    refused = Checker(65536).check({"event_id": "e1", **COMMON, "type": "agent.nap"})
    assert refused == DeadLetter("unknown_type", "type: not a contract event type")
