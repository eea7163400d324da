"""Where a follower stopped, kept durably: written after the broker acknowledged, fsynced,
renamed atomically over the previous one, so a crash leaves the old or the new, never half.

A position names the file by device and inode (a rotation gives the path a new
inode), the byte offset after the last line sent, and a hash of the bytes just
before it, so a file truncated and written again past the old offset is noticed.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson

TAIL_BYTES = 64


@dataclass(frozen=True)
class Position:
    path: str
    device: int
    inode: int
    offset: int
    line: int
    """Lines read before ``offset`` (for ``file:line`` reports after a restart)."""
    tail: str
    """Hash of the up to TAIL_BYTES bytes before ``offset``."""


def tail_hash(handle_path: Path | int, offset: int) -> str:
    """Hash of the bytes just before ``offset`` in a file (path or open descriptor)."""
    start = max(0, offset - TAIL_BYTES)
    if isinstance(handle_path, int):
        data = os.pread(handle_path, offset - start, start)
    else:
        with open(handle_path, "rb") as handle:
            handle.seek(start)
            data = handle.read(offset - start)
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def load(path: Path) -> Position | None:
    try:
        data = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, orjson.JSONDecodeError):
        return None
    try:
        return Position(**data)
    except TypeError:
        return None


def save(path: Path, position: Position) -> None:
    """Write, fsync, rename over the old one, fsync the directory."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(orjson.dumps(asdict(position)))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def default_path(data_dir: Path, followed: Path) -> Path:
    """One position file per followed path, under the data directory."""
    digest = hashlib.blake2b(str(followed.resolve()).encode(), digest_size=8).hexdigest()
    return data_dir / "positions" / f"{followed.name}-{digest}.json"
