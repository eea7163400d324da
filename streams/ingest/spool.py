"""The ingest's local spool: checked events appended and fsynced while the broker is away.

One append-only file of JSON lines (``{"t": topic, "k": key, "v": value}``) in
``CCKPI_INGEST_SPOOL_DIR``, held by one process (an exclusive ``flock`` on a lock
file: two ingest processes never share a spool). A request is answered 200 from the
spool only after :meth:`Spool.append` returned, i.e. after ``fsync``. The forwarder
reads from the forwarded offset to the end, produces in order, advances the offset
and truncates the file once everything in it is forwarded. A line cut short by a
crash was never acknowledged; it is skipped and counted. Blocking calls: run them
off the event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from streams.errors import SpoolError, SpoolLocked
from streams.sources.sink import Checked

SPOOL_FILE = "events.spool"
LOCK_FILE = "spool.lock"


def encode(events: Sequence[Checked]) -> bytes:
    return b"".join(
        orjson.dumps(
            {
                "t": e.topic,
                "k": e.key.decode(),
                "v": e.value.decode(),
                "i": e.event_id,
                "o": e.occurred_at,
            }
        )
        + b"\n"
        for e in events
    )


@dataclass(frozen=True, slots=True)
class Pending:
    """Events read from the spool, and the file offset just past them."""

    events: list[Checked]
    end: int
    damaged: int
    """Lines that could not be read (cut short by a crash before their fsync)."""


class Spool:
    """The spool file of one ingest process."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / SPOOL_FILE
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self.forwarded = 0
        """Bytes of the file already produced to the broker."""
        self.size = 0

    def open(self) -> Spool:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            lock_fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SpoolError(f"cannot open the spool in {self.directory}: {exc.strerror}") from exc
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(lock_fd)
            raise SpoolLocked(
                f"another ingest process uses the spool in {self.directory}; "
                "give each process its own CCKPI_INGEST_SPOOL_DIR"
            ) from exc
        self._lock_fd = lock_fd
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        directory = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(directory)  # the file's name is durable too, not only its bytes
        finally:
            os.close(directory)
        self.size = os.fstat(self._fd).st_size
        self.forwarded = 0
        if self.size and os.pread(self._fd, 1, self.size - 1) != b"\n":
            # a line cut short by a crash before its fsync (never acknowledged): end it,
            # so that it reads as one damaged line
            os.write(self._fd, b"\n")
            os.fsync(self._fd)
            self.size += 1
        return self

    @property
    def pending_bytes(self) -> int:
        return self.size - self.forwarded

    def writable(self) -> bool:
        return self._fd is not None and os.access(self.directory, os.W_OK)

    def _descriptor(self) -> int:
        if self._fd is None:
            raise SpoolError("the spool is not open")
        return self._fd

    def append(self, events: Sequence[Checked]) -> None:
        """Write and fsync; when this returns the events survive a crash of the process."""
        fd = self._descriptor()
        data = encode(events)
        try:
            written = 0
            while written < len(data):
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            raise SpoolError(f"cannot write the spool {self.path}: {exc.strerror}") from exc
        self.size += len(data)

    def read_pending(self, limit: int = 4 * 1024 * 1024) -> Pending:
        """Up to about ``limit`` bytes of whole lines after the forwarded offset."""
        fd = self._descriptor()
        data = os.pread(fd, min(limit, self.size - self.forwarded), self.forwarded)
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < self.size - self.forwarded:
            # one line longer than the limit: read it whole
            data = os.pread(fd, self.size - self.forwarded, self.forwarded)
            cut = data.rfind(b"\n") + 1
        events: list[Checked] = []
        damaged = 0
        for line in data[:cut].splitlines():
            try:
                item = orjson.loads(line)
                events.append(
                    Checked(
                        item["t"],
                        item["k"].encode(),
                        item["v"].encode(),
                        item["i"],
                        float(item["o"]),
                    )
                )
            except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
                damaged += 1
        return Pending(events, self.forwarded + cut, damaged)

    def mark_forwarded(self, end: int) -> None:
        self.forwarded = end

    def truncate_if_forwarded(self) -> bool:
        """Empty the file when everything in it is forwarded (call under the append lock)."""
        if self.forwarded < self.size or self.size == 0:
            return self.size == 0
        fd = self._descriptor()
        os.ftruncate(fd, 0)
        os.fsync(fd)
        self.size = self.forwarded = 0
        return True

    def close(self) -> None:
        for name in ("_fd", "_lock_fd"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                with contextlib.suppress(OSError):
                    os.close(fd)
