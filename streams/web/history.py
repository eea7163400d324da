"""History of closed windows: the final records of the aggregates topic, held compactly.

Read back from the compacted ``cc.kpi.aggregates`` topic (whoever published
them: this worker, another, or an import), so history survives restarts and
outlives Prometheus retention. Each series (kpi, period, scope, clock) keeps
parallel arrays sorted by window start: about 60 bytes a window instead of a
record dict's kilobyte. Day, week and month windows are all kept; hour windows
only for the last ``hour_days`` days before the newest hour seen (hour finals
over months are many).
"""

from __future__ import annotations

import bisect
import math
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from streams.kpi.merge import Scope
from streams.output.records import BadKey, parse_key, scope_text
from streams.web.query import BadRequest, HistoryQuery

NAN = float("nan")
_ZONES: dict[int, timezone] = {}


def _zone(minutes: int) -> timezone:
    found = _ZONES.get(minutes)
    if found is None:
        found = _ZONES[minutes] = timezone(timedelta(minutes=minutes))
    return found


def _instant(text: str) -> tuple[float, int]:
    """Epoch seconds and UTC offset (minutes) of an ISO time, to write it back as read."""
    moment = datetime.fromisoformat(text)
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment.timestamp(), int(offset.total_seconds() // 60)


def _iso(ts: float, minutes: int) -> str:
    return datetime.fromtimestamp(ts, _zone(minutes)).isoformat()


@dataclass
class Series:
    """One (kpi, period, scope, clock): its final windows, oldest first."""

    starts: array[float] = field(default_factory=lambda: array("d"))
    offsets: array[int] = field(default_factory=lambda: array("h"))
    ends: array[float] = field(default_factory=lambda: array("d"))
    end_offsets: array[int] = field(default_factory=lambda: array("h"))
    values: array[float] = field(default_factory=lambda: array("d"))
    numerators: array[float] = field(default_factory=lambda: array("d"))
    denominators: array[float] = field(default_factory=lambda: array("d"))
    updated: array[float] = field(default_factory=lambda: array("d"))

    def columns(self) -> tuple[array[Any], ...]:
        return (
            self.starts,
            self.offsets,
            self.ends,
            self.end_offsets,
            self.values,
            self.numerators,
            self.denominators,
            self.updated,
        )

    def put(self, row: tuple[float, int, float, int, float, float, float, float]) -> bool:
        """Insert or replace the window starting at ``row[0]``; True when new."""
        index = bisect.bisect_left(self.starts, row[0])
        replace = index < len(self.starts) and self.starts[index] == row[0]
        for column, item in zip(self.columns(), row, strict=True):
            if replace:
                column[index] = item
            else:
                column.insert(index, item)
        return not replace

    def remove(self, start: float) -> bool:
        index = bisect.bisect_left(self.starts, start)
        if index < len(self.starts) and self.starts[index] == start:
            for column in self.columns():
                del column[index]
            return True
        return False

    def drop_before(self, start: float) -> int:
        index = bisect.bisect_left(self.starts, start)
        if index:
            for column in self.columns():
                del column[:index]
        return index


SeriesKey = tuple[str, str, Scope, str | None]


class HistoryStore:
    """Final records by kpi, period, scope and clock; answers :class:`HistoryQuery`."""

    def __init__(self, hour_days: float) -> None:
        self.hour_seconds = hour_days * 86400
        self.series: dict[SeriesKey, Series] = {}
        self.windows = 0
        """Windows held, over every series."""
        self.skipped = 0
        """Records that were not final aggregate records (open updates, bad values)."""
        self._newest_hour = -math.inf
        self._pruned_at = -math.inf
        self._scopes: dict[Scope, Scope] = {}

    def add(self, record: dict[str, Any]) -> bool:
        """Keep a final record; open updates and records that do not parse are skipped."""
        try:
            if record.get("final") is not True:
                self.skipped += 1
                return False
            start, offset = _instant(record["window_start"])
            end, end_offset = _instant(record["window_end"])
            updated = _instant(record["updated_at"])[0]
            scope = tuple(sorted((str(k), str(v)) for k, v in record["scope"].items()))
            row = (
                start,
                offset,
                end,
                end_offset,
                float(record["value"]),
                _number(record.get("numerator")),
                _number(record.get("denominator")),
                updated,
            )
            kpi, period, clock = str(record["kpi"]), str(record["period"]), record.get("clock")
        except (KeyError, TypeError, ValueError, AttributeError):
            self.skipped += 1
            return False
        if period == "hour":
            if start < self._newest_hour - self.hour_seconds:
                return False
            if start > self._newest_hour:
                self._newest_hour = start
                if start >= self._pruned_at + 86400:
                    self._prune_hours()
        scope = self._scopes.setdefault(scope, scope)
        key = (kpi, period, scope, None if clock is None else str(clock))
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = Series()
        self.windows += series.put(row)
        return True

    def remove_key(self, key: str) -> bool:
        """A tombstone on the compacted topic: forget that window."""
        try:
            parsed = parse_key(key)
            start = _instant(parsed.window_start)[0]
        except (BadKey, ValueError):
            self.skipped += 1
            return False
        series = self.series.get((parsed.kpi, parsed.period, parsed.scope, parsed.clock))
        if series is not None and series.remove(start):
            self.windows -= 1
            return True
        return False

    def _prune_hours(self) -> None:
        """Forget hour windows older than ``hour_days`` before the newest hour."""
        self._pruned_at = self._newest_hour
        cutoff = self._newest_hour - self.hour_seconds
        for (_, period, _, _), series in list(self.series.items()):
            if period == "hour":
                self.windows -= series.drop_before(cutoff)

    def select(self, query: HistoryQuery, limit: int | None = None) -> list[Slice]:
        """The matching part of every matching series (cheap: no record is built);
        more than ``limit`` windows in all is a :class:`BadRequest`."""
        out = []
        for (kpi, period, scope, clock), series in list(self.series.items()):
            if (query.period is not None and period != query.period) or not (
                query.keeps(kpi, clock) and query.keeps_scope(scope)
            ):
                continue
            part = Slice((kpi, period, scope, clock), series, query.start, query.end)
            if part.size:
                out.append(part)
        total = sum(part.size for part in out)
        if limit is not None and total > limit:
            raise BadRequest(
                f"the query matches {total} windows, more than {limit}: narrow it "
                "with kpi, period, scope, a label, from or to"
            )
        return out

    def query(self, query: HistoryQuery) -> list[dict[str, Any]]:
        """Matching final records, oldest window first (then by key)."""
        return ordered([record for part in self.select(query) for record in part.records()])


@dataclass(frozen=True)
class Slice:
    """The windows of one series starting in ``[start, end)`` (None: unbounded)."""

    key: SeriesKey
    series: Series
    start: float | None
    end: float | None

    def _bounds(self) -> tuple[int, int]:
        starts = self.series.starts
        low = 0 if self.start is None else bisect.bisect_left(starts, self.start)
        high = len(starts) if self.end is None else bisect.bisect_left(starts, self.end)
        return low, max(low, high)

    @property
    def size(self) -> int:
        low, high = self._bounds()
        return high - low

    def records(self) -> list[dict[str, Any]]:
        """API records, built at once (the follower may insert windows between two
        yields of the event loop, so indexes are found again here)."""
        kpi, period, scope, clock = self.key
        series = self.series
        low, high = self._bounds()
        text = scope_text(scope)
        labels = dict(scope)
        return [
            {
                "kpi": kpi,
                "period": period,
                "window_start": _iso(series.starts[i], series.offsets[i]),
                "window_end": _iso(series.ends[i], series.end_offsets[i]),
                "scope": labels,
                "scope_key": text,
                "clock": clock,
                "value": series.values[i],
                "numerator": _optional(series.numerators[i]),
                "denominator": _optional(series.denominators[i]),
                "final": True,
                "updated_at": datetime.fromtimestamp(series.updated[i], UTC).isoformat(
                    timespec="seconds"
                ),
                "_start": series.starts[i],
            }
            for i in range(low, high)
        ]


def ordered(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Oldest window first, then by kpi, scope and clock; drops the sort field."""
    records.sort(key=lambda r: (r["_start"], r["kpi"], r["scope_key"], r["clock"] or ""))
    for record in records:
        del record["_start"]
    return records


def _number(value: Any) -> float:
    return NAN if value is None else float(value)


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else value
