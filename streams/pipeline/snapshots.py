"""Snapshots: a restart loads the merged state instead of replaying every partial.

Without them a new worker rebuilds the merged state and every resume state by
reading the partials topic from offset 0, so its start-up time grows with the
history. The publishing worker therefore writes, now and then, one snapshot:
the merged state as of partials offset ``read`` (everything below it merged),
and the full resume state of every source partition with the offset of the last
partial it includes. It goes on the partials topic itself, cut in chunks, and
the offset of its first chunk is committed for the consumer group
``<app id>-merger``. A starting worker reads that snapshot, then the partials
from ``read`` on. Snapshots are written when the partials read since the last
one are at least as large as it was (and at least ``MIN_BYTES``), so they cost
at most about half the partials volume and a restart reads at most about two
snapshots' worth.
"""

from __future__ import annotations

import logging
import math
from array import array
from typing import Any

import orjson

from streams.kpi.ingest import PartitionState
from streams.kpi.merge import Merger

log = logging.getLogger(__name__)

SNAPSHOT_KEY = b"snapshot"
CHUNK_BYTES = 4 * 1024 * 1024
MIN_BYTES = 8 * 1024 * 1024
"""No snapshot before this many bytes of partials were read since the last one."""


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


def merger_state(merger: Merger) -> dict[str, Any]:
    return {
        "watermarks": {source: _finite(w) for source, w in merger.watermarks.items()},
        "global_watermark": _finite(merger.global_watermark),
        "finalized": sorted(merger.finalized),
        "certifications": [[*key, expires] for key, expires in merger.certifications.items()],
        "windows": [
            [period, start, [[scope, c.typecode, c.tolist()] for scope, c in cells.items()]]
            for (period, start), cells in merger.windows.items()
        ],
    }


def load_merger(merger: Merger, data: dict[str, Any]) -> None:
    """Replace ``merger``'s state with a snapshot's; every cell is marked for publishing."""
    merger.watermarks = {source: _number(w) for source, w in data["watermarks"].items()}
    merger.global_watermark = _number(data["global_watermark"])
    merger.finalized = {(period, start) for period, start in data["finalized"]}
    merger.certifications = {
        (team, agent, name): expires for team, agent, name, expires in data["certifications"]
    }
    merger.windows = {}
    merger.dirty.clear()
    interned = merger._scopes  # noqa: SLF001 - one instance per scope, as apply() keeps it
    for period, start, cells in data["windows"]:
        window = (period, start)
        loaded = merger.windows[window] = {}
        for pairs, typecode, values in cells:
            scope = tuple((label, value) for label, value in pairs)
            scope = interned.setdefault(scope, scope)
            loaded[scope] = array(typecode, values)
        if window not in merger.finalized:
            merger.dirty[window] = set(loaded)


def encode(read: int, merger: Merger, sources: dict[str, tuple[PartitionState, int]]) -> bytes:
    return orjson.dumps(
        {
            "read": read,
            "merger": merger_state(merger),
            "sources": {
                source: [included, state_checkpoint(state)]
                for source, (state, included) in sources.items()
            },
        }
    )


def chunks(snapshot_id: str, data: bytes) -> list[bytes]:
    """Record values: a header line ``{"id", "part", "parts"}`` and a slice of ``data``."""
    parts = max(1, -(-len(data) // CHUNK_BYTES))
    return [
        orjson.dumps({"id": snapshot_id, "part": i, "parts": parts})
        + b"\n"
        + data[i * CHUNK_BYTES : (i + 1) * CHUNK_BYTES]
        for i in range(parts)
    ]


class Assembler:
    """Collects the chunks of the snapshot whose first chunk comes first."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._parts: list[bytes] = []
        self._expected = 0

    def add(self, value: bytes) -> bytes | None:
        """Feed one snapshot record; the whole snapshot once its last chunk arrived."""
        split = value.index(b"\n")
        header = orjson.loads(value[:split])
        if self._id is None:
            if header["part"] != 0:
                raise ValueError("the committed snapshot offset is not a first chunk")
            self._id, self._expected = header["id"], header["parts"]
        if header["id"] != self._id:
            return None
        if header["part"] != len(self._parts):
            raise ValueError(f"snapshot chunk {header['part']} out of order")
        self._parts.append(value[split + 1 :])
        if len(self._parts) == self._expected:
            return b"".join(self._parts)
        return None
