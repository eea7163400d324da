"""Lines to checked contract events, each routed to the live batch or the history fold.

The per-line path of ``cckpi import queue-log``: parse (:mod:`streams.sources.queue_log`),
check with the worker's decoder (:class:`Checker`), route by the deployment's
watermark (:class:`HistoryFold`), count for the report. Chunks parsed by the
process pool (:mod:`streams.sources.parallel`) join the same path.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator

from streams.config import AppConfig
from streams.events.decode import DeadLetter
from streams.settings import Settings
from streams.sources.files import Opened, numbered
from streams.sources.history import HistoryFold
from streams.sources.parallel import Chunk, Pending, complete
from streams.sources.queue_log import Bad, EnterTimes, Other, parse_line, split_nul
from streams.sources.report import Report
from streams.sources.sink import Checked, Checker, EventSink


class LineRouter:
    """Parses lines, checks events and routes each to the live batch or the history fold."""

    def __init__(
        self, settings: Settings, config: AppConfig, report: Report, history: HistoryFold | None
    ) -> None:
        self.report = report
        self.checker = Checker(settings.max_message_bytes)
        self.labels = functools.lru_cache(maxsize=4096)(config.queue_labels)
        self.enters = EnterTimes()
        self.history = history
        self.batch: list[Checked] = []
        self._in_flight: asyncio.Future[int] | None = None
        self.to_history = 0

    def line(self, where: str, number: int, raw: bytes) -> None:
        report = self.report
        report.lines += 1
        segments, nuls = split_nul(raw)
        if nuls:
            report.bad_line(f"{where}:{number}", "nul_run", f"{nuls} NUL bytes (unclean shutdown)")
        for segment in segments:
            outcome = parse_line(segment, self.labels, self.enters)
            if isinstance(outcome, Other):
                report.kinds[outcome.event] += 1
                continue
            if isinstance(outcome, Bad):
                if outcome.reason == "blank":
                    report.kinds["(blank line)"] += 1
                else:
                    report.bad_line(f"{where}:{number}", outcome.reason, outcome.detail)
                continue
            checked = self.checker.check(outcome.body)
            if isinstance(checked, DeadLetter):
                report.bad_line(f"{where}:{number}", f"invalid_{checked.reason}", checked.detail)
                continue
            report.kinds[outcome.event] += 1
            self._route(checked)

    def _route(self, checked: Checked) -> None:
        history = self.history
        if history is not None and history.closed(checked.occurred_at):
            history.add(checked)
            self.to_history += 1
        else:
            self.batch.append(checked)

    def take(self, chunk: Chunk) -> None:
        """A chunk parsed and checked by a pool process (:mod:`streams.sources.parallel`)."""
        report = self.report
        report.lines += chunk.lines
        report.kinds.update(chunk.kinds)
        for where, reason, detail in chunk.bad:
            report.bad_line(where, reason, detail)
        for item in chunk.items:
            if isinstance(item, Pending):
                body = complete(item, self.enters)
                if isinstance(body, Bad):
                    report.bad_line(item.where, body.reason, body.detail)
                    continue
                checked = self.checker.check(body)
                if isinstance(checked, DeadLetter):
                    report.bad_line(item.where, f"invalid_{checked.reason}", checked.detail)
                    continue
                report.kinds[item.event] += 1
            else:
                checked = Checked(*item)
            self._route(checked)
        for callid, epoch in chunk.enters:
            self.enters.entered(callid, epoch)

    async def flush(self, sink: EventSink, overlap: bool = False) -> None:
        """Send the live batch; counted as sent once acknowledged.

        With ``overlap`` the batch is handed to the producer and its acknowledgement
        waited for at the next flush, so the broker works while the next batch is
        parsed (one batch in flight, the order kept). Without, it returns once every
        batch sent so far is acknowledged."""
        if self._in_flight is not None:
            task, self._in_flight = self._in_flight, None
            self.report.sent += await task
        if self.history is not None:
            await self.history.publish_due(sink.producer)
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        task = asyncio.ensure_future(sink.send_batched(batch))
        if not overlap:
            self.report.sent += await task
            return
        self._in_flight = task
        for _ in range(3):  # let the batches be built and written to the socket
            await asyncio.sleep(0)


def readable_lines(opened: Opened, name: str, report: Report) -> Iterator[tuple[int, bytes]]:
    """Numbered lines of a part; a part that cannot be read to its end (a .gz cut short
    when compressing was interrupted, a read error) gives the lines read so far and is
    reported, and the import goes on with the next part."""
    number = 0
    try:
        for number, raw in numbered(opened):
            yield number, raw
    except (OSError, EOFError) as exc:
        report.bad_line(f"{name}:{number + 1}", "unreadable", f"{type(exc).__name__}: {exc}")
