"""The spool: fsynced appends read back in order, damage from a crash skipped, one owner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import SpoolLocked
from streams.ingest.spool import Spool
from streams.sources.sink import Checked


def event(n: int) -> Checked:
    value = f'{{"event_id":"e{n}","note":"ü <&>"}}'.encode()
    return Checked("cc.tickets", f"t{n % 7}".encode(), value, f"e{n}", 1_793_343_600.0 + n)


def test_append_read_forward_truncate(tmp_path: Path) -> None:
    spool = Spool(tmp_path).open()
    spool.append([event(1), event(2)])
    spool.append([event(3)])
    pending = spool.read_pending()
    assert pending.events == [event(1), event(2), event(3)] and pending.damaged == 0
    spool.append([event(4)])  # arrives while the first three are being forwarded
    spool.mark_forwarded(pending.end)
    assert not spool.truncate_if_forwarded()
    rest = spool.read_pending()
    assert rest.events == [event(4)]
    spool.mark_forwarded(rest.end)
    assert spool.truncate_if_forwarded()
    assert spool.pending_bytes == 0 and os.path.getsize(spool.path) == 0
    spool.close()


def test_survives_a_restart_and_skips_a_line_cut_short(tmp_path: Path) -> None:
    spool = Spool(tmp_path).open()
    spool.append([event(1), event(2)])
    spool.close()
    with open(tmp_path / "events.spool", "ab") as file:  # a crash in the middle of a write
        file.write(b'{"t":"cc.tickets","k":"t1","v":"{\\"eve')
    again = Spool(tmp_path).open()
    spool_events = again.read_pending()
    assert spool_events.events == [event(1), event(2)] and spool_events.damaged == 1
    again.append([event(3)])
    assert again.read_pending().events == [event(1), event(2), event(3)]
    again.close()


def test_one_process_per_spool_directory(tmp_path: Path) -> None:
    first = Spool(tmp_path).open()
    with pytest.raises(SpoolLocked):
        Spool(tmp_path).open()
    first.close()
    Spool(tmp_path).open().close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 30), max_size=12), st.integers(64, 4096))
def test_chunked_reads_return_every_event_once_in_order(
    tmp_path_factory: pytest.TempPathFactory, batches: list[int], limit: int
) -> None:
    spool = Spool(tmp_path_factory.mktemp("spool")).open()
    sent, n = [], 0
    for size in batches:
        batch = [event(n + i) for i in range(size)]
        n += size
        sent.extend(batch)
        spool.append(batch)
    read = []
    while True:
        pending = spool.read_pending(limit)
        if pending.end == spool.forwarded:
            break
        read.extend(pending.events)
        spool.mark_forwarded(pending.end)
    assert read == sent
    assert spool.truncate_if_forwarded()
    spool.close()
