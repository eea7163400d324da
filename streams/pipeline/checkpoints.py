"""Resume states of the source partitions this worker does not own, kept current.

Every worker's merger reads the whole partials topic anyway. Each partial
carries its source partition's checkpoint (next offset, watermark, new event
ids, reply memory changes), so while the merger reads, the book applies the
checkpoints of every source this worker does not own. A partition assigned to
the worker is then taken from the book once the merger has read past a barrier
written after the assignment: no second read of the partials topic, and at
start-up the restore runs while the consumer group is still joining.

A partition revoked from the worker is handed back with its live state and the
offset of its last partial, so partials already applied to that state are not
applied twice when the merger reaches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import orjson

from streams.kpi.ingest import PartitionState


class CheckpointBook:
    """Source id -> (resume state, last partials offset included in it)."""

    def __init__(self, new_state: Callable[[str], PartitionState]) -> None:
        self._new_state = new_state
        self._states: dict[str, tuple[PartitionState, int]] = {}
        self._owned: set[str] = set()
        self.read = 0
        """The next offset the merger reads on the partials topic."""
        self.restart_pending = False
        """The partials log was found replaced; the merger must read it from offset 0."""
        self._advanced = asyncio.Event()

    def observe(self, source: str, offset: int, checkpoint: bytes) -> None:
        """Apply the checkpoint of the partial at ``offset`` unless this worker owns it."""
        if source in self._owned:
            return
        entry = self._states.get(source)
        state, included = entry if entry is not None else (self._new_state(source), -1)
        if offset <= included:
            return
        state.restore(orjson.loads(checkpoint))
        self._states[source] = (state, offset)

    def advance(self, next_offset: int) -> None:
        """The merger has read every partial below ``next_offset``."""
        self.read = next_offset
        self._advanced.set()

    async def wait_read(self, offset: int) -> None:
        """Wait until the merger has read the partial at ``offset``."""
        while self.restart_pending or self.read <= offset:
            self._advanced.clear()
            await self._advanced.wait()

    def take(self, source: str) -> PartitionState:
        """The resume state of a partition now assigned to this worker."""
        self._owned.add(source)
        entry = self._states.pop(source, None)
        state = entry[0] if entry is not None else self._new_state(source)
        state.restored()
        return state

    def release(self, source: str, state: PartitionState, included: int) -> None:
        """A partition revoked from this worker: its live state includes partials up to
        ``included`` (the offset of the last one it wrote)."""
        self._owned.discard(source)
        self._states[source] = (state, included)

    def entries(self) -> dict[str, tuple[PartitionState, int]]:
        """The states of the sources this worker does not own, with their offsets."""
        return dict(self._states)

    def load(self, source: str, state: PartitionState, included: int) -> None:
        """A resume state from a snapshot, including partials up to ``included``."""
        if source not in self._owned:
            self._states[source] = (state, included)

    def clear(self) -> None:
        """Forget every state kept (a snapshot failed to load half-way)."""
        self._states.clear()

    def log_restarted(self) -> None:
        """The partials log is not the one read so far (the broker lost its data): the
        states kept refer to input logs that are gone too."""
        self.clear()
        self.read = 0
        self.restart_pending = True
