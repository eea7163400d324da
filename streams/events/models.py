"""Pydantic models of every input event in CONTRACT.md v1.1.

Unknown extra fields are ignored (producers may add fields); every documented
field is checked for type and range. A model per event type, a discriminated
union per topic, so an event type on the wrong topic is refused as unknown.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic_core import PydanticCustomError

Channel = Literal["voice", "chat", "email", "social", "messaging"]
Id = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Seconds = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def _rfc3339(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise PydanticCustomError("datetime_parsing", "not an RFC 3339 date-time string")
    return value


Timestamp = Annotated[
    AwareDatetime, Field(strict=False, ge=EARLIEST, lt=LATEST), BeforeValidator(_rfc3339)
]
"""RFC 3339 with an offset, 1970..2999 (a year-9999 event would poison the watermark)."""


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    event_id: Id
    occurred_at: Timestamp
    team: Name
    channel: Channel


class _TicketTimed(Event):
    """A ticket event that restates when the ticket was created."""

    ticket_id: Id
    created_at: Timestamp

    @model_validator(mode="after")
    def _not_before_creation(self) -> _TicketTimed:
        if self.occurred_at < self.created_at:
            raise PydanticCustomError("out_of_range", "occurred_at is before created_at")
        return self


class ContactOffered(Event):
    type: Literal["contact.offered"]
    contact_id: Id
    queue: Name


class ContactAnswered(Event):
    type: Literal["contact.answered"]
    contact_id: Id
    queue: Name
    agent: Name
    wait_seconds: Seconds


class ContactAbandoned(Event):
    type: Literal["contact.abandoned"]
    contact_id: Id
    queue: Name
    wait_seconds: Seconds
    reason: Literal["hangup", "timeout", "exit_key", "no_agents"] | None = None


class ContactCompleted(Event):
    type: Literal["contact.completed"]
    contact_id: Id
    queue: Name
    agent: Name
    talk_seconds: Seconds
    hold_seconds: Seconds | None = None
    wrap_seconds: Seconds | None = None
    resolved: bool | None = None
    transferred: bool | None = None


class TicketCreated(Event):
    type: Literal["ticket.created"]
    ticket_id: Id


class TicketReplied(_TicketTimed):
    type: Literal["ticket.replied"]
    author: Literal["agent", "customer"]
    agent: Name | None = None
    public: bool

    @model_validator(mode="after")
    def _agent_named(self) -> TicketReplied:
        if self.author == "agent" and self.agent is None:
            raise PydanticCustomError("missing", "an agent reply needs the agent field")
        return self


class TicketSolved(_TicketTimed):
    type: Literal["ticket.solved"]
    agent: Name


class TicketReopened(_TicketTimed):
    type: Literal["ticket.reopened"]


class _Survey(Event):
    agent: Name | None = None
    contact_id: Id | None = None
    ticket_id: Id | None = None


class SurveyNps(_Survey):
    type: Literal["survey.nps"]
    score: Annotated[int, Field(ge=0, le=10, strict=True)]


class SurveyCsat(_Survey):
    type: Literal["survey.csat"]
    score: Annotated[int, Field(ge=1, le=5, strict=True)]


class QaEvaluated(Event):
    type: Literal["qa.evaluated"]
    agent: Name
    score: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    criteria: dict[Annotated[str, Field(max_length=128)], Annotated[float, Field(ge=0, le=100)]] = (
        Field(default_factory=dict, max_length=100)
    )
    contact_id: Id | None = None
    ticket_id: Id | None = None


class AgentCertified(Event):
    type: Literal["agent.certified"]
    agent: Name
    certification: Name
    valid_days: Annotated[int, Field(gt=0, le=36500, strict=True)]


ContactEvent = Annotated[
    ContactOffered | ContactAnswered | ContactAbandoned | ContactCompleted,
    Field(discriminator="type"),
]
TicketEvent = Annotated[
    TicketCreated | TicketReplied | TicketSolved | TicketReopened, Field(discriminator="type")
]
SurveyEvent = Annotated[SurveyNps | SurveyCsat, Field(discriminator="type")]
QualityEvent = Annotated[QaEvaluated, Field(discriminator="type")]
AgentEvent = Annotated[AgentCertified, Field(discriminator="type")]
AnyEvent = (
    ContactOffered
    | ContactAnswered
    | ContactAbandoned
    | ContactCompleted
    | TicketCreated
    | TicketReplied
    | TicketSolved
    | TicketReopened
    | SurveyNps
    | SurveyCsat
    | QaEvaluated
    | AgentCertified
)

TOPIC_EVENTS: dict[str, object] = {
    "cc.contacts": ContactEvent,
    "cc.tickets": TicketEvent,
    "cc.surveys": SurveyEvent,
    "cc.quality": QualityEvent,
    "cc.agents": AgentEvent,
}
"""Contract topic name -> the union of event types it carries."""
INPUT_TOPICS = tuple(TOPIC_EVENTS)
WINDOWED_TOPICS = ("cc.contacts", "cc.tickets", "cc.surveys", "cc.quality")
