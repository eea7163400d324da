"""What a command left running: its process tree and the ports it listens on, from /proc.

A child in a session of its own (the embedded broker, a JVM) is still found: the
tree follows parent ids, not process groups.
"""

from __future__ import annotations

import os
from pathlib import Path


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a live process, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def alive(pid: int) -> bool:
    """Running or stopped; a zombie has exited (only its exit status is left)."""
    found = _stat(pid)
    return found is not None and found[0] not in ("Z", "X")


def descendants(root: int) -> set[int]:
    """Every live process below ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            found = _stat(int(entry))
            if found is not None:
                children.setdefault(found[1], []).append(int(entry))
    out: set[int] = set()
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return {pid for pid in out if alive(pid)}


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        pass
    return inodes


def _listening_table() -> list[tuple[int, str]]:
    """(port, socket inode) of every TCP socket in LISTEN state."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A":
                rows.append((int(fields[1].rsplit(":", 1)[1], 16), fields[9]))
    return rows


def listening_ports(pids: set[int]) -> set[int]:
    """The TCP ports these processes listen on."""
    inodes: set[str] = set()
    for pid in pids:
        inodes |= _socket_inodes(pid)
    return {port for port, inode in _listening_table() if inode in inodes}


def is_listening(port: int) -> bool:
    return any(p == port for p, _ in _listening_table())
