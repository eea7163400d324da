"""Pydantic models of every input event in CONTRACT.md v1.1.

Unknown extra fields are ignored (producers may add fields); every documented
field is checked for type and range. A model per event type, a discriminated
union per topic, so an event type on the wrong topic is refused as unknown.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

Channel = Literal["voice", "chat", "email", "social", "messaging"]
Id = Annotated[str, Field(min_length=1, max_length=128)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Seconds = Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$"
"""An RFC 3339 date-time with its offset (the pattern is checked in pydantic's Rust core)."""

Timestamp = Annotated[str, Field(pattern=RFC3339, json_schema_extra={"format": "date-time"})]
"""RFC 3339 with an offset. The models check the form only: :mod:`streams.events.decode`
turns it into epoch seconds and checks that it is a real instant in 1970..2999 (a
year-9999 event would poison the watermark) and that a ticket event is not before its
ticket's creation. Converting there, not in a validator of the model, keeps pydantic's
Python callbacks out of the per-event path (docs/performance.md, "Trim the fold")."""


class Event(BaseModel):
    """Fields every event carries."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    event_id: Id
    occurred_at: Timestamp
    team: Name
    channel: Channel


class TicketTimed(Event):
    """A ticket event that restates when the ticket was created (never after ``occurred_at``)."""

    ticket_id: Id
    created_at: Timestamp


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


class TicketReplied(TicketTimed):
    type: Literal["ticket.replied"]
    author: Literal["agent", "customer"]
    agent: Name | None = None
    public: bool

    @model_validator(mode="after")
    def _agent_named(self) -> TicketReplied:
        if self.author == "agent" and self.agent is None:
            raise PydanticCustomError("missing", "an agent reply needs the agent field")
        return self


class TicketSolved(TicketTimed):
    type: Literal["ticket.solved"]
    agent: Name


class TicketReopened(TicketTimed):
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


class AgentShift(Event):
    """(v1.2 extension) An agent's staffed interval ``[start, end)``, planned or worked;
    targets judge the agent's pace by it. Repeats and overlaps count once."""

    type: Literal["agent.shift"]
    agent: Name
    start: Timestamp
    end: Timestamp


ContactEvent = Annotated[
    ContactOffered | ContactAnswered | ContactAbandoned | ContactCompleted,
    Field(discriminator="type"),
]
TicketEvent = Annotated[
    TicketCreated | TicketReplied | TicketSolved | TicketReopened, Field(discriminator="type")
]
SurveyEvent = Annotated[SurveyNps | SurveyCsat, Field(discriminator="type")]
QualityEvent = Annotated[QaEvaluated, Field(discriminator="type")]
AgentEvent = Annotated[AgentCertified | AgentShift, Field(discriminator="type")]
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
    | AgentShift
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
