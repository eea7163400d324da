"""Snapshots: a restart loads the merged state instead of replaying every partial.

Without them a new worker rebuilds the merged state and every resume state by
reading the partials topic from offset 0, so its start-up time grows with the
history. The publishing worker therefore writes, now and then, one snapshot:
the merged state as of partials offset ``read`` (everything below it merged),
and the full resume state of every source partition with the offset of the last
partial it includes. It goes on the partials topic itself, cut in chunks, and
the offset of its first chunk is committed for the consumer group
``<app id>-merger``. A starting worker reads that snapshot, then the partials
from ``read`` on. Snapshots are written when the partials merged since the
last one are at least as large as it was (and at least
``CCKPI_SNAPSHOT_MIN_BYTES``): they add at most as many bytes as the partials
themselves, and a restart reads at most about two snapshots' worth.
"""

from __future__ import annotations

import itertools
import logging
import math
import sys
from array import array
from collections.abc import Callable, Iterator
from typing import Any

import orjson

from streams.kpi.ingest import PartitionState
from streams.kpi.measures import Measures
from streams.kpi.merge import Merger, Scope
from streams.pipeline.checkpoints import CheckpointBook

log = logging.getLogger(__name__)

SNAPSHOT_KEY = b"snapshot"
CHUNK_BYTES = 4 * 1024 * 1024
NewState = Callable[[str], PartitionState]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _number(value: float | None) -> float:
    return -math.inf if value is None else value


def state_checkpoint(state: PartitionState) -> dict[str, Any]:
    """The whole resume state as one checkpoint: ``restore`` of it on a new state
    rebuilds an equal one."""
    return {
        "next_offset": state.next_offset,
        "watermark": _finite(state.watermark),
        "ids": state.seen.items(),
        "tickets": {ticket: memory.to_json() for ticket, memory in state.tickets.items()},
    }


def merger_items(merger: Merger) -> Iterator[list[Any]]:
    """The merged state as snapshot items: one ``meta`` item, then one per window."""
    yield [
        "meta",
        {
            "watermarks": {source: _finite(w) for source, w in merger.watermarks.items()},
            "global_watermark": _finite(merger.global_watermark),
            "finalized": sorted(merger.finalized),
            "certifications": [[*key, when] for key, when in merger.certifications.items()],
            "shifts": [list(row) for row in merger.shifts.items()],
            "covered": merger.covered.items(),
        },
    ]
    for (period, start), cells in merger.windows.items():
        # Cells as hex of their machine bytes: a list of Python ints per cell would
        # cost hundreds of MB while a big state is written.
        yield [
            "window",
            period,
            start,
            [[s, c.typecode, c.tobytes().hex()] for s, c in cells.items()],
        ]


def encode(
    snapshot_id: str, read: int, merger: Merger, sources: dict[str, tuple[PartitionState, int]]
) -> list[bytes]:
    """The snapshot as record values of about ``CHUNK_BYTES`` each.

    Each value is a header line (``id``, ``part``, ``last``) and a JSON array of
    items, so neither side ever holds more than one chunk's Python objects.
    """
    head = [["read", read, sys.byteorder]]
    items = (
        orjson.dumps(item)
        for item in itertools.chain(
            head,
            (["source", s, inc, state_checkpoint(st)] for s, (st, inc) in sources.items()),
            merger_items(merger),
        )
    )
    bodies: list[list[bytes]] = [[]]
    size = 0
    for item in items:
        if size and size + len(item) > CHUNK_BYTES:
            bodies.append([])
            size = 0
        bodies[-1].append(item)
        size += len(item) + 1
    return [
        orjson.dumps({"id": snapshot_id, "part": n, "last": n == len(bodies) - 1})
        + b"\n["
        + b",".join(body)
        + b"]"
        for n, body in enumerate(bodies)
    ]


class Loader:
    """Applies the chunks of one snapshot, in order, to a merger and a checkpoint book.

    The first chunk seen must be part 0 (the committed offset points at it); chunks
    of other snapshots are ignored. On any inconsistency :meth:`add` raises
    ``ValueError`` and the caller resets what was loaded.
    """

    def __init__(self, merger: Merger, book: CheckpointBook, new_state: NewState) -> None:
        self._merger = merger
        self._book = book
        self._new_state = new_state
        self._id: str | None = None
        self._next = 0
        self.read: int | None = None
        self._swap = False
        self.bytes = 0
        self.windows = 0

    def add(self, value: bytes) -> bool:
        """Feed one snapshot record; True once the last chunk has been applied."""
        split = value.index(b"\n")
        header = orjson.loads(value[:split])
        if self._id is None:
            if header["part"] != 0:
                raise ValueError("the committed snapshot offset is not a first chunk")
            self._id = header["id"]
            self._merger.clear()
        if header["id"] != self._id:
            return False
        if header["part"] != self._next:
            raise ValueError(f"snapshot chunk {header['part']} out of order")
        self._next += 1
        self.bytes += len(value)
        for item in orjson.loads(value[split + 1 :]):
            self._apply(item)
        return bool(header["last"])

    def _cell(self, pairs: list[list[str]], typecode: str, data: str) -> tuple[Scope, Measures]:
        cell = array(typecode, bytes.fromhex(data))
        if self._swap:
            cell.byteswap()
        return tuple((label, value) for label, value in pairs), cell

    def _apply(self, item: list[Any]) -> None:
        kind = item[0]
        merger = self._merger
        if kind == "read":
            self.read = int(item[1])
            self._swap = item[2] != sys.byteorder
        elif kind == "source":
            _, source, included, checkpoint = item
            state = self._new_state(source)
            state.restore(checkpoint)
            self._book.load(source, state, included)
        elif kind == "meta":
            meta = item[1]
            merger.watermarks = {s: _number(w) for s, w in meta["watermarks"].items()}
            merger.global_watermark = _number(meta["global_watermark"])
            merger.finalized = {(period, start) for period, start in meta["finalized"]}
            merger.certifications = {
                (team, agent, name): when for team, agent, name, when in meta["certifications"]
            }
            merger.shifts.load(meta.get("shifts", ()))
            merger.covered.load(meta.get("covered", {}))
        elif kind == "window":
            _, period, start, cells = item
            merger.put_window((period, start), (self._cell(*cell) for cell in cells))
            self.windows += 1
        else:
            raise ValueError(f"unknown snapshot item {kind!r}")
