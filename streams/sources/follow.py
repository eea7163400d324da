"""``tail -F`` of one log file, resumable exactly from a saved :class:`Position`.

- rotation (the path now names another inode): the old file is read to its end
  (a last line without a newline is taken as it is), then the new one from 0;
- truncation (the file is shorter than what was read): read again from 0;
- restart: from the saved offset when the bytes before it are unchanged; if the
  file was rotated while stopped, the old inode is looked for beside it
  (``queue_log.1``, ``queue_log-20261201``...) and finished first;
- a line is returned only once complete (ends in a newline), so a line being
  written is never sent half.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from streams.sources.position import TAIL_BYTES, Position, tail_hash

Line = tuple[str, int, bytes]
"""(file name for reports, line number, the line)."""


class Tail:
    """Follows one path; :meth:`read` returns complete new lines, :meth:`mark` where they end."""

    def __init__(
        self, path: Path, position: Position | None, note: Callable[[str], None] = print
    ) -> None:
        self.path = path
        self._note = note
        self._handle: BinaryIO | None = None
        self._name = str(path)
        self._identity = (0, 0)
        self.offset = 0
        self.line = 0
        self._recent = b""
        self._backlog: list[tuple[Path, int, int]] = []
        """Rotated files to finish first: (path, offset, line)."""
        self._start = (0, 0)
        """Offset and line to open the followed path at, the first time."""
        if position is not None:
            self._resume(position)
        self._open()  # now: a rotation before the first read must not skip the old file

    def _resume(self, saved: Position) -> None:
        identity = (saved.device, saved.inode)
        current = _identity(self.path)
        if current == identity:
            if _unchanged(self.path, saved):
                self._start = (saved.offset, saved.line)
                return
            self._note(f"{self.path}: truncated or rewritten while stopped; reading from its start")
            return
        for sibling in sorted(self.path.parent.glob(self.path.name + "*")):
            same = sibling != self.path and _identity(sibling) == identity
            if same and _unchanged(sibling, saved):
                self._backlog.append((sibling, saved.offset, saved.line))
                self._note(f"{self.path}: rotated while stopped; finishing {sibling} first")
                return
        self._note(
            f"{self.path}: rotated while stopped and the old part ({saved.path}, inode "
            f"{saved.inode}) is not beside it (compressed or deleted): lines written to it after "
            f"byte {saved.offset} are not read; import that part to add them (ids dedupe)"
        )

    def _open(self) -> bool:
        if self._backlog:
            path, offset, line = self._backlog[0]
        else:
            path, (offset, line) = self.path, self._start
            self._start = (0, 0)
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open while followed
        except FileNotFoundError:
            return False
        stat = os.fstat(handle.fileno())
        self._handle, self._name = handle, str(path)
        self._identity = (stat.st_dev, stat.st_ino)
        handle.seek(offset)
        self.offset, self.line = offset, line
        self._recent = _before(handle, offset)
        return True

    def _close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def read(self, max_lines: int = 5000) -> list[Line]:
        """Complete lines written since the last call (at most ``max_lines``)."""
        out: list[Line] = []
        while len(out) < max_lines:
            if self._handle is None and not self._open():
                break
            assert self._handle is not None  # noqa: S101
            chunk = self._handle.readline()
            if chunk.endswith(b"\n"):
                self._take(chunk, out)
                continue
            if self._backlog:  # a rotated file is complete: its last line is taken as is
                if chunk:
                    self._take(chunk, out)
                self._backlog.pop(0)
                self._close()
                continue
            if chunk:  # a line being written: wait for its end
                self._handle.seek(-len(chunk), os.SEEK_CUR)
            current = _identity(self.path)
            if current is not None and current != self._identity:
                # The old file is complete: its rest (lines written since the last read,
                # and a last line without a newline) is taken as it is.
                for rest in self._handle.read().splitlines(keepends=True):
                    self._take(rest, out)
                self._note(f"{self.path}: rotated; reading the new file")
                self._close()
                continue
            if os.fstat(self._handle.fileno()).st_size < self.offset:
                self._note(f"{self.path}: truncated; reading from its start")
                self._handle.seek(0)
                self.offset = self.line = 0
                self._recent = b""
                continue
            break
        return out

    def _take(self, chunk: bytes, out: list[Line]) -> None:
        self.offset += len(chunk)
        self.line += 1
        self._recent = (self._recent + chunk)[-TAIL_BYTES:]
        out.append((self._name, self.line, chunk))

    def mark(self) -> Position | None:
        """Where the lines returned so far end (None before any file was opened)."""
        if self._handle is None and self._identity == (0, 0):
            return None
        device, inode = self._identity
        digest = hashlib.blake2b(self._recent, digest_size=8).hexdigest()
        return Position(self._name, device, inode, self.offset, self.line, digest)

    def close(self) -> None:
        self._close()

    def __enter__(self) -> Tail:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


def _unchanged(path: Path, saved: Position) -> bool:
    try:
        return path.stat().st_size >= saved.offset and tail_hash(path, saved.offset) == saved.tail
    except OSError:
        return False


def _before(handle: BinaryIO, offset: int) -> bytes:
    start = max(0, offset - TAIL_BYTES)
    return os.pread(handle.fileno(), offset - start, start)
