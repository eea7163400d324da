"""Builders shared by the KPI engine tests: raw events, partition states and merger input.

Nothing here re-implements engine logic: events are plain contract JSON, a
batch goes through the real :class:`PartitionState` and the real
``encode_partial`` record, and the merger receives the decoded header exactly
as the pipeline would hand it over.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import orjson

from streams.config import AppConfig
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.ingest import BatchResult, IngestSettings, PartitionState
from streams.kpi.merge import Merger, Scope
from streams.kpi.windows import WindowClock
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import calendars_of

T0 = datetime(2026, 11, 2, tzinfo=UTC).timestamp()
"""Monday 2026-11-02 00:00 UTC."""
HOUR_S = 3600
DAY_S = 86400
TOPIC_OF_FAMILY = {
    "contact": "cc.contacts",
    "ticket": "cc.tickets",
    "survey": "cc.surveys",
    "qa": "cc.quality",
    "agent": "cc.agents",
}
Event = dict[str, Any]
ValueKey = tuple[int, int, str, str | None, Scope]
Value = tuple[float, float | None, float | None]


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def topic_of(event: Event) -> str:
    return TOPIC_OF_FAMILY[str(event["type"]).split(".")[0]]


def raw(event: Event) -> bytes:
    return orjson.dumps(event)


def ev(kind: str, eid: str, at: float, **fields: Any) -> Event:
    """A contract event: ``created_at`` may be given as epoch seconds."""
    out: Event = {
        "event_id": eid,
        "type": kind,
        "occurred_at": iso(at),
        "team": fields.pop("team", "support"),
        "channel": fields.pop("channel", "voice"),
    }
    if isinstance(fields.get("created_at"), int | float):
        fields["created_at"] = iso(fields["created_at"])
    out.update(fields)
    return out


def offered(eid: str, at: float, queue: str = "billing", **kw: Any) -> Event:
    return ev("contact.offered", eid, at, contact_id=f"c-{eid}", queue=queue, **kw)


def answered(eid: str, at: float, wait: float, queue: str = "billing", **kw: Any) -> Event:
    kw.setdefault("agent", "ann")
    return ev(
        "contact.answered", eid, at, contact_id=f"c-{eid}", queue=queue, wait_seconds=wait, **kw
    )


def abandoned(eid: str, at: float, wait: float, queue: str = "billing", **kw: Any) -> Event:
    return ev(
        "contact.abandoned", eid, at, contact_id=f"c-{eid}", queue=queue, wait_seconds=wait, **kw
    )


def completed(eid: str, at: float, talk: float, queue: str = "billing", **kw: Any) -> Event:
    kw.setdefault("agent", "ann")
    return ev(
        "contact.completed", eid, at, contact_id=f"c-{eid}", queue=queue, talk_seconds=talk, **kw
    )


def ticket(kind: str, eid: str, at: float, ticket_id: str, created: float, **kw: Any) -> Event:
    kw.setdefault("channel", "email")
    return ev(f"ticket.{kind}", eid, at, ticket_id=ticket_id, created_at=created, **kw)


def reply(
    eid: str,
    at: float,
    ticket_id: str,
    created: float,
    agent: str | None,
    public: bool = True,
    **kw: Any,
) -> Event:
    """A public or private reply; ``agent=None`` means the customer wrote it."""
    if agent is None:
        return ticket(
            "replied", eid, at, ticket_id, created, author="customer", public=public, **kw
        )
    return ticket(
        "replied", eid, at, ticket_id, created, author="agent", agent=agent, public=public, **kw
    )


def survey(kind: str, eid: str, at: float, score: int, **kw: Any) -> Event:
    kw.setdefault("channel", "chat")
    return ev(f"survey.{kind}", eid, at, score=score, **kw)


def qa(eid: str, at: float, score: float, agent: str = "ann", **kw: Any) -> Event:
    return ev("qa.evaluated", eid, at, agent=agent, score=score, **kw)


def certified(eid: str, at: float, agent: str, certification: str, days: int, **kw: Any) -> Event:
    return ev(
        "agent.certified", eid, at, agent=agent, certification=certification, valid_days=days, **kw
    )


def scope(**labels: str) -> Scope:
    return tuple(sorted(labels.items()))


def split_partial(state: PartitionState, result: BatchResult) -> tuple[dict[str, Any], Any]:
    """The merger header and the checkpoint, decoded from the real partials record."""
    record = encode_partial(state, result)
    head, _, tail = record.partition(b"\n")
    return orjson.loads(head), orjson.loads(tail)


class Engine:
    """Partition states (one per ``topic:partition``) feeding one merger, as in the worker."""

    def __init__(
        self,
        config: AppConfig | None = None,
        zone: str = "UTC",
        grace: float = 300.0,
        dedup: float = 86400.0,
        memory: float = 90 * 86400.0,
        sources: Iterable[str] = (),
        max_bytes: int = 65536,
    ) -> None:
        self.config = config if config is not None else AppConfig()
        self.clock = WindowClock(zone)
        self.settings = IngestSettings(grace, dedup, memory)
        self.max_bytes = max_bytes
        self.merger = Merger(self.clock, grace, sources)
        self.states: dict[str, PartitionState] = {}
        self.offsets: dict[str, int] = {}
        calendars = calendars_of(self.config)
        always = BusinessCalendar.always_open()
        self.calendar = lambda team: calendars.get(team, always)

    def new_state(self, topic: str) -> PartitionState:
        return PartitionState(
            topic, self.config, self.clock, self.calendar, self.settings, self.max_bytes
        )

    def state(self, source: str) -> PartitionState:
        if source not in self.states:
            self.states[source] = self.new_state(source.split(":")[0])
        return self.states[source]

    def records(self, source: str, raws: Iterable[bytes | None]) -> list[tuple[int, bytes | None]]:
        """``(offset, value)`` pairs at the next offsets of ``source``, as a consumer delivers."""
        start = self.offsets.get(source, 0)
        out = [(start + i, value) for i, value in enumerate(raws)]
        self.offsets[source] = start + len(out)
        return out

    def fold_raw(self, source: str, raws: Iterable[bytes | None]) -> BatchResult:
        """Fold one batch of one source partition and hand its header to the merger."""
        state = self.state(source)
        result = state.fold(self.records(source, raws))
        header, _ = split_partial(state, result)
        self.merger.apply(source, header)
        return result

    def fold(self, events: Iterable[Event], partition: int = 0) -> dict[str, BatchResult]:
        """One batch per topic (arrival order kept within each topic)."""
        by_topic: dict[str, list[bytes]] = {}
        for event in events:
            by_topic.setdefault(topic_of(event), []).append(raw(event))
        return {
            topic: self.fold_raw(f"{topic}:{partition}", raws) for topic, raws in by_topic.items()
        }

    def kpi(
        self, name: str, period: int, start: float, at: Scope = (), clock: str | None = None
    ) -> Value | None:
        found = values(self.merger).get((period, int(start), name, clock, at))
        return found


def values(merger: Merger) -> dict[ValueKey, Value]:
    """Every KPI value of every window the merger holds."""
    out: dict[ValueKey, Value] = {}
    for window in sorted(merger.windows):
        for v in merger.values(window):
            key = (window[0], window[1], v.kpi, v.clock, v.scope)
            assert key not in out, key
            out[key] = (v.value, v.numerator, v.denominator)
    return out


def is_beside_team(key: ValueKey) -> bool:
    return key[2].endswith(("_team_agent_average", "_to_team_average"))
