"""Stage one: fold a batch of one source partition into cell deltas, exactly once.

Per source partition (input topic + partition) this keeps the watermark, the
event ids seen within the dedup horizon and the reply memory of open tickets.
A batch of raw messages becomes one :class:`BatchResult`: the finest-grained
cell deltas of every hour window (the merger rolls each hour up into its day,
week and month), the dead letters, the counters and the state changes to
checkpoint. Nothing here knows about Kafka or Faust.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from streams.config import AppConfig
from streams.events.decode import DeadLetter, Decoder, epoch
from streams.events.records import Record
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.cell import Cell, MeasureFolder
from streams.kpi.dedup import DedupMemory
from streams.kpi.measures import Measures
from streams.kpi.replies import Sample, TicketMemory
from streams.kpi.windows import HOUR, WindowClock

_OFFERED: Final = 0
_ANSWERED: Final = 1
_ABANDONED: Final = 2
_COMPLETED: Final = 3
_CREATED: Final = 4
_REPLIED: Final = 5
_SOLVED: Final = 6
_REOPENED: Final = 7
_NPS: Final = 8
_CSAT: Final = 9
_QA: Final = 10
_CERTIFIED: Final = 11
_SHIFT: Final = 12
_KINDS: Final[dict[str, int]] = {
    "contact.offered": _OFFERED,
    "contact.answered": _ANSWERED,
    "contact.abandoned": _ABANDONED,
    "contact.completed": _COMPLETED,
    "ticket.created": _CREATED,
    "ticket.replied": _REPLIED,
    "ticket.solved": _SOLVED,
    "ticket.reopened": _REOPENED,
    "survey.nps": _NPS,
    "survey.csat": _CSAT,
    "qa.evaluated": _QA,
    "agent.certified": _CERTIFIED,
    "agent.shift": _SHIFT,
}
"""Event type -> a small number the fold branches on (every type of the contract)."""
# (hour window start, team, channel, queue, agent): the finest cell an event counts in.
HourKey = tuple[int, str, str, str | None, str | None]
NEG_INF: Final = float("-inf")


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
    first_offset: int = 0
    """The input offset the batch starts at: with the state's next offset after it,
    the input ``[first_offset, next_offset)`` the batch covers (offsets it skipped as
    folded already lie below; the first batch of a partition covers from 0)."""


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
        if self.next_offset is not None:
            result.first_offset = self.next_offset
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
            event_id: str = event["event_id"]
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
            event_type: str = event["type"]
            accepted[event_type] = accepted.get(event_type, 0) + 1
            kind = _KINDS[event_type]
            team: str = event["team"]
            if kind == _CERTIFIED:
                expires = ts + event["valid_days"] * 86400.0
                certification = (team, event["agent"], event["certification"], expires)
                result.certifications.append(certification)
                continue
            if kind == _SHIFT:
                start, end = epoch(event["start"]), epoch(event["end"])
                result.shifts.append((team, event["agent"], start, end))
                continue
            # Validation dropped every key the event type does not have: a queue and
            # an agent are read where the type has them (and agent replies only).
            queue: str | None = event.get("queue")
            agent: str | None = event.get("agent")
            if kind == _REPLIED:
                self._reply(event, ts, created, result, hours)
                if event["author"] != "agent":
                    agent = None
            key: HourKey = (hour, team, event["channel"], queue, agent)
            cell = hours.get(key)
            if cell is None:
                cell = hours[key] = Cell()
            self._add(event, kind, ts, created, cell)
            if kind in (_ANSWERED, _ABANDONED):
                scope = (team, event["queue"])
                waits = result.waits.get(scope)
                if waits is None:
                    waits = result.waits[scope] = []
                waits.append(event["wait_seconds"])
        if accepted:
            result.accepted.update(accepted)
        cells = result.cells
        for key, cell in hours.items():
            cells[key] = cell.to_array()
        self._expire(result)
        return result

    def _add(self, event: Record, kind: int, ts: float, created: float, cell: Cell) -> None:
        """Add an event that has a cell (no certification or shift) to it; ``created``:
        its ticket's creation (ticket events)."""
        folder = self._folder
        if kind == _OFFERED:
            folder.offered(cell)
        elif kind == _ANSWERED:
            folder.answered(event, cell)
        elif kind == _COMPLETED:
            folder.completed(event, cell)
        elif kind in (_CREATED, _REPLIED):
            folder.ticket_event(cell)
        elif kind == _ABANDONED:
            folder.abandoned(event, cell)
        elif kind == _SOLVED:
            folder.solved(event["team"], created, ts, cell)
        elif kind == _CSAT:
            folder.csat(event, cell)
        elif kind == _NPS:
            folder.nps(event, cell)
        elif kind == _REOPENED:
            folder.reopened(cell)
        else:
            folder.qa(event, cell)

    def _reply(
        self,
        event: Record,
        ts: float,
        created: float,
        result: BatchResult,
        hours: dict[HourKey, Cell],
    ) -> None:
        if not event["public"]:
            return
        ticket_id: str = event["ticket_id"]
        memory = self.tickets.get(ticket_id)
        if memory is None:
            memory = self.tickets[ticket_id] = TicketMemory()
        message = (
            ts,
            event["event_id"],
            event["author"] == "agent",
            event.get("agent"),
            event["team"],
            event["channel"],
            created,
        )
        added, gone = memory.add(message, self.watermark)
        result.tickets[ticket_id] = memory
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
