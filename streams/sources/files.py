"""Log files as a source reads them: plain or gzipped, rotated parts put in time order."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


@dataclass
class Opened:
    """A part opened for reading: ``lines`` decompressed, ``raw`` for progress."""

    lines: BinaryIO
    raw: BinaryIO
    size: int

    def consumed(self) -> int:
        """Bytes of the file on disk read so far (compressed bytes for a .gz)."""
        return self.raw.tell()

    def close(self) -> None:
        self.lines.close()
        self.raw.close()


def open_part(path: Path) -> Opened:
    """Open a part, gzipped or not (by its magic bytes, whatever its name)."""
    raw = open(path, "rb")  # noqa: SIM115 - closed by Opened.close
    size = os.fstat(raw.fileno()).st_size
    if raw.read(2) == GZIP_MAGIC:
        raw.seek(0)
        # GzipFile reads in 8 KiB steps: a part cut short still gives the lines before the cut.
        lines: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    else:
        raw.seek(0)
        lines = raw
    return Opened(lines, raw, size)


def numbered(opened: Opened) -> Iterator[tuple[int, bytes]]:
    """``(line number, line)`` from 1, line endings kept."""
    return enumerate(opened.lines, 1)


def first_time(path: Path, first: Callable[[bytes], int | None], probe: int = 200) -> int | None:
    """The first time ``first`` finds in a part's first ``probe`` lines, or None."""
    opened = open_part(path)
    try:
        for count, line in enumerate(opened.lines):
            if count >= probe:
                break
            found = first(line)
            if found is not None:
                return found
    except (OSError, EOFError):
        return None
    finally:
        opened.close()
    return None


def time_ordered(paths: list[Path], first: Callable[[bytes], int | None]) -> list[Path]:
    """Parts oldest first by their first line's time; parts without one (empty, the
    live file just after rotation) last, in the order given."""
    keyed = [(first_time(path, first), index, path) for index, path in enumerate(paths)]
    known = sorted((t, i, p) for t, i, p in keyed if t is not None)
    unknown = [(t, i, p) for t, i, p in keyed if t is None]
    return [p for _, _, p in known + unknown]


def leading_epoch(line: bytes) -> int | None:
    """The Unix time at the start of a queue_log line (after any NUL run), or None."""
    head = line.lstrip(b"\0").split(b"|", 1)[0]
    return int(head) if head.isdigit() else None
