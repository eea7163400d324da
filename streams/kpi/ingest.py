"""Stage one: fold a batch of one source partition into cell deltas, exactly once.

Per source partition (input topic + partition) this keeps the watermark, the
event ids seen within the dedup horizon and the reply memory of open tickets.
A batch of raw messages becomes one :class:`BatchResult`: the finest-grained
cell deltas of every hour window (the merger rolls each hour up into its day,
week and month), the dead letters, the counters and the state changes to
checkpoint. Nothing here knows about Kafka or Faust.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from streams.config import AppConfig
from streams.events.decode import DeadLetter, Decoder, epoch
from streams.events.models import (
    AgentCertified,
    AgentShift,
    AnyEvent,
    ContactAbandoned,
    ContactAnswered,
    ContactCompleted,
    ContactOffered,
    QaEvaluated,
    SurveyCsat,
    SurveyNps,
    TicketCreated,
    TicketReopened,
    TicketReplied,
    TicketSolved,
)
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.cell import Cell, MeasureFolder
from streams.kpi.dedup import DedupMemory
from streams.kpi.measures import Measures
from streams.kpi.replies import Sample, TicketMemory
from streams.kpi.windows import HOUR, WindowClock

_LABELS: dict[type, tuple[bool, bool]] = {
    model: ("queue" in model.model_fields, "agent" in model.model_fields)
    for model in typing.get_args(AnyEvent)
}
"""Event type -> (carries a queue, carries an agent): attribute look-ups without getattr."""

# (hour window start, team, channel, queue, agent): the finest cell an event counts in.
HourKey = tuple[int, str, str, str | None, str | None]
NEG_INF = float("-inf")


@dataclass(frozen=True)
class IngestSettings:
    grace_seconds: float
    dedup_horizon_seconds: float
    ticket_memory_seconds: float


@dataclass
class BatchResult:
    """What one batch of one source partition produced."""

    cells: dict[HourKey, Measures] = field(default_factory=dict)
    """Hour cells only: each hour lies in one day, week and month, which the merger adds."""
    certifications: list[tuple[str, str, str, float]] = field(default_factory=list)
    shifts: list[tuple[str, str, float, float]] = field(default_factory=list)
    """(team, agent, start, end) of the batch's ``agent.shift`` events."""
    dead_letters: list[tuple[int, bytes, DeadLetter]] = field(default_factory=list)
    accepted: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    late: int = 0
    waits: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(team, queue) -> the waits of its answered and abandoned contacts."""
    new_ids: list[tuple[str, float]] = field(default_factory=list)
    tickets: dict[str, TicketMemory | None] = field(default_factory=dict)


class PartitionState:
    """Everything one source partition needs to resume exactly."""

    def __init__(
        self,
        topic: str,
        config: AppConfig,
        clock: WindowClock,
        calendars: Callable[[str], BusinessCalendar],
        settings: IngestSettings,
        max_bytes: int,
    ) -> None:
        self.topic = topic
        self.watermark = NEG_INF
        self.next_offset: int | None = None
        self.seen = DedupMemory(settings.dedup_horizon_seconds)
        self.tickets: dict[str, TicketMemory] = {}
        self._clock = clock
        self._calendar = calendars
        self._settings = settings
        self._decoder = Decoder(topic, max_bytes)
        self._folder = MeasureFolder(config, calendars)

    def fold(self, records: Iterable[tuple[int, bytes | None]]) -> BatchResult:
        """Fold ``(offset, raw value)`` records, in offset order.

        Records below the next offset were folded already (a consumer may deliver
        them again after a reset or rebalance) and are skipped, so redelivery is
        harmless.
        """
        result = BatchResult()
        hours: dict[HourKey, Cell] = {}
        accepted: dict[str, int] = {}
        grace = self._settings.grace_seconds
        clock = self._clock
        decoder = self._decoder
        seen = self.seen
        for offset, raw in records:
            if self.next_offset is not None and offset < self.next_offset:
                continue
            self.next_offset = offset + 1
            decoded = decoder.decode_timed(raw)
            if isinstance(decoded, DeadLetter):
                result.dead_letters.append((offset, raw or b"", decoded))
                continue
            event, ts, created = decoded
            event_id = event.event_id
            if event_id in seen:
                result.duplicates += 1
                continue
            hour = clock.starts(ts)[HOUR]
            if clock.end(HOUR, hour) + grace <= self.watermark:
                detail = f"hour window {clock.iso(hour)} is final"
                result.dead_letters.append((offset, raw or b"", DeadLetter("late", detail)))
                result.late += 1
                continue
            if ts > self.watermark:
                self.watermark = ts
                seen.expire(ts)
            seen.remember(event_id, self.watermark)
            result.new_ids.append((event_id, self.watermark))
            event_type = event.type
            accepted[event_type] = accepted.get(event_type, 0) + 1
            # Exact types, not isinstance: pydantic's model classes are ABCs, and an
            # ABC's __instancecheck__ costs more than folding the event.
            kind = type(event)
            if kind is AgentCertified:
                certified: AgentCertified = event  # type: ignore[assignment]
                expires = ts + certified.valid_days * 86400.0
                certification = (event.team, certified.agent, certified.certification, expires)
                result.certifications.append(certification)
                continue
            if kind is AgentShift:
                shift_event: AgentShift = event  # type: ignore[assignment]
                start, end = epoch(shift_event.start), epoch(shift_event.end)
                result.shifts.append((event.team, shift_event.agent, start, end))
                continue
            queue: str | None = None
            agent: str | None = None
            if kind is TicketReplied:
                reply: TicketReplied = event  # type: ignore[assignment]
                self._reply(reply, ts, created, result, hours)
                if reply.author == "agent":
                    agent = reply.agent
            else:
                has_queue, has_agent = _LABELS[kind]
                if has_queue:
                    queue = event.queue  # type: ignore[union-attr]
                if has_agent:
                    agent = event.agent  # type: ignore[union-attr]
            key: HourKey = (hour, event.team, event.channel, queue, agent)
            cell = hours.get(key)
            if cell is None:
                cell = hours[key] = Cell()
            self._add(event, kind, ts, created, cell)
            if kind is ContactAnswered or kind is ContactAbandoned:
                waited: ContactAnswered | ContactAbandoned = event  # type: ignore[assignment]
                scope = (event.team, waited.queue)
                waits = result.waits.get(scope)
                if waits is None:
                    waits = result.waits[scope] = []
                waits.append(waited.wait_seconds)
        if accepted:
            result.accepted.update(accepted)
        cells = result.cells
        for key, cell in hours.items():
            cells[key] = cell.to_array()
        self._expire(result)
        return result

    def _add(self, event: AnyEvent, kind: type, ts: float, created: float, cell: Cell) -> None:
        """Add an event that has a cell (no certification or shift) to it; ``created``:
        its ticket's creation (ticket events)."""
        folder = self._folder
        if kind is ContactOffered:
            folder.offered(cell)
        elif kind is ContactAnswered:
            folder.answered(event, cell)  # type: ignore[arg-type]
        elif kind is ContactCompleted:
            folder.completed(event, cell)  # type: ignore[arg-type]
        elif kind is TicketCreated or kind is TicketReplied:
            folder.ticket_event(cell)
        elif kind is ContactAbandoned:
            folder.abandoned(event, cell)  # type: ignore[arg-type]
        elif kind is TicketSolved:
            folder.solved(event.team, created, ts, cell)
        elif kind is SurveyCsat:
            folder.csat(event, cell)  # type: ignore[arg-type]
        elif kind is SurveyNps:
            folder.nps(event, cell)  # type: ignore[arg-type]
        elif kind is TicketReopened:
            folder.reopened(cell)
        elif kind is QaEvaluated:
            folder.qa(event, cell)  # type: ignore[arg-type]
        else:
            raise TypeError(f"no cell for {kind.__name__}")

    def _reply(
        self,
        event: TicketReplied,
        ts: float,
        created: float,
        result: BatchResult,
        hours: dict[HourKey, Cell],
    ) -> None:
        if not event.public:
            return
        memory = self.tickets.get(event.ticket_id)
        if memory is None:
            memory = self.tickets[event.ticket_id] = TicketMemory()
        message = (
            ts,
            event.event_id,
            event.author == "agent",
            event.agent,
            event.team,
            event.channel,
            created,
        )
        added, gone = memory.add(message, self.watermark)
        result.tickets[event.ticket_id] = memory
        for sample in added:
            self._sample(sample, 1.0, hours)
        for sample in gone:
            self._sample(sample, -1.0, hours)

    def _sample(self, sample: Sample, sign: float, hours: dict[HourKey, Cell]) -> None:
        calendar_seconds = sample.at - sample.start
        business = self._calendar(sample.team).business_seconds(sample.start, sample.at)
        hour = self._clock.starts(sample.at)[HOUR]
        key: HourKey = (hour, sample.team, sample.channel, None, sample.agent)
        cell = hours.get(key)
        if cell is None:
            cell = hours[key] = Cell()
        cell.reply_sample(sample.kind == "fr", sign, calendar_seconds, business)

    def _expire(self, result: BatchResult) -> None:
        self.seen.expire(self.watermark)
        forget = self.watermark - self._settings.ticket_memory_seconds
        if len(result.tickets) or len(self.tickets) % 64 == 0:
            for ticket_id in [t for t, m in self.tickets.items() if m.last_seen < forget]:
                del self.tickets[ticket_id]
                result.tickets[ticket_id] = None

    def checkpoint(self, result: BatchResult) -> dict[str, Any]:
        """The state changes of a batch, as JSON-ready data."""
        return {
            "next_offset": self.next_offset,
            "watermark": None if self.watermark == NEG_INF else self.watermark,
            "ids": result.new_ids,
            "tickets": {t: (m.to_json() if m else None) for t, m in result.tickets.items()},
        }

    def restore(self, checkpoint: dict[str, Any]) -> None:
        """Apply one checkpoint written by :meth:`checkpoint` (in write order)."""
        self.next_offset = checkpoint["next_offset"]
        if checkpoint["watermark"] is not None:
            self.watermark = checkpoint["watermark"]
        for event_id, watermark in checkpoint["ids"]:
            self.seen.remember(event_id, watermark)
        for ticket_id, data in checkpoint["tickets"].items():
            if data is None:
                self.tickets.pop(ticket_id, None)
            else:
                self.tickets[ticket_id] = TicketMemory.from_json(data)

    def restored(self) -> None:
        """Drop what the restored checkpoints kept past the horizons."""
        self._expire(BatchResult())
