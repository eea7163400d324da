"""tail -F on real files: complete lines only, rotation, truncation, and restarts from a saved
position that neither repeat nor skip a line."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.sources import position as positions
from streams.sources.follow import Tail


def lines_of(tail: Tail) -> list[bytes]:
    return [raw for _, _, raw in tail.read(1000)]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as handle:
        handle.write(data)


def test_a_line_being_written_is_returned_only_once_complete(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n2|b")
    notes: list[str] = []
    with Tail(log, None, notes.append) as tail:
        assert lines_of(tail) == [b"1|a\n"]
        assert lines_of(tail) == []
        append(log, b"b\n3|c\n")
        got = tail.read()
    assert [(n, raw) for _, n, raw in got] == [(2, b"2|bb\n"), (3, b"3|c\n")]
    assert notes == []


def test_rotation_finishes_the_old_file_then_reads_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n")
    notes: list[str] = []
    tail = Tail(log, None, notes.append)
    assert lines_of(tail) == [b"1|a\n"]
    append(log, b"2|b\n3|no newline")
    os.rename(log, tmp_path / "queue_log.1")
    log.write_bytes(b"4|d\n")
    assert lines_of(tail) == [b"2|b\n", b"3|no newline", b"4|d\n"]
    tail.close()
    assert any("rotated" in note for note in notes)


def test_truncation_reads_again_from_the_start(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|aaaaaaaa\n2|bbbbbbbbb\n")
    notes: list[str] = []
    tail = Tail(log, None, notes.append)
    assert len(lines_of(tail)) == 2
    with open(log, "wb") as handle:
        handle.write(b"3|c\n")
    assert lines_of(tail) == [b"3|c\n"]
    tail.close()
    assert any("truncated" in note for note in notes)


def test_a_restart_resumes_after_the_last_line_marked(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n2|b\n")
    tail = Tail(log, None)
    lines_of(tail)
    mark = tail.mark()
    assert mark is not None
    saved = tmp_path / "pos" / "queue_log.json"
    positions.save(saved, mark)
    tail.close()
    append(log, b"3|c\n")
    again = Tail(log, positions.load(saved))
    assert [(n, raw) for _, n, raw in again.read()] == [(3, b"3|c\n")]
    again.close()


def test_rotated_while_stopped_finishes_the_old_part_found_beside_it(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n")
    tail = Tail(log, None)
    lines_of(tail)
    mark = tail.mark()
    tail.close()
    append(log, b"2|b\n")
    os.rename(log, tmp_path / "queue_log.1")
    log.write_bytes(b"3|c\n")
    notes: list[str] = []
    again = Tail(log, mark, notes.append)
    assert lines_of(again) == [b"2|b\n", b"3|c\n"]
    again.close()
    assert any("finishing" in note for note in notes)


def test_rotated_and_compressed_while_stopped_says_what_may_be_missing(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n")
    tail = Tail(log, None)
    lines_of(tail)
    mark = tail.mark()
    tail.close()
    append(log, b"2|b\n")
    # logrotate with compress: rename, create the new file, compress the old part.
    os.rename(log, tmp_path / "queue_log.1")
    log.write_bytes(b"3|c\n")
    old = tmp_path / "queue_log.1"
    (tmp_path / "queue_log.1.gz").write_bytes(gzip.compress(old.read_bytes()))
    old.unlink()
    notes: list[str] = []
    again = Tail(log, mark, notes.append)
    assert lines_of(again) == [b"3|c\n"]
    again.close()
    assert any("import that part" in note for note in notes)


def test_a_file_rewritten_while_stopped_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_bytes(b"1|a\n2|b\n")
    tail = Tail(log, None)
    lines_of(tail)
    mark = tail.mark()
    tail.close()
    with open(log, "r+b") as handle:  # same inode, other content, longer than before
        handle.write(b"7|x\n8|y\n9|z\n")
    notes: list[str] = []
    again = Tail(log, mark, notes.append)
    assert lines_of(again) == [b"7|x\n", b"8|y\n", b"9|z\n"]
    again.close()
    assert notes and "rewritten" in notes[0]


def test_a_damaged_position_file_is_no_position(tmp_path: Path) -> None:
    saved = tmp_path / "pos.json"
    saved.write_bytes(b"{not json")
    assert positions.load(saved) is None
    assert positions.load(tmp_path / "missing.json") is None


Step = tuple[str, int]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["write", "read", "rotate", "restart"]), st.integers(1, 7)),
        max_size=40,
    )
)
def test_any_mix_of_writes_rotations_and_restarts_reads_every_line_once_in_order(
    tmp_path_factory: object, steps: list[Step]
) -> None:
    """The lines read, over every restart and rotation, are exactly the lines written."""
    root = Path(tmp_path_factory.mktemp("follow"))  # type: ignore[attr-defined]
    log = root / "queue_log"
    log.write_bytes(b"")
    written: list[bytes] = []
    flushed = 0
    """Bytes of the written lines appended to the files so far."""
    read: list[bytes] = []
    tail = Tail(log, None, lambda _: None)
    rotations = 0
    rotated_since_read = False

    def flush(upto: int) -> None:
        nonlocal flushed
        stream = b"".join(written)
        if upto > flushed:
            append(log, stream[flushed:upto])
            flushed = upto

    for action, amount in steps:
        if action == "write":
            written += [f"{len(written) + i + 1}|line\n".encode() for i in range(amount)]
            # Leave part of the last line unwritten: a writer caught mid-line.
            flush(len(b"".join(written)) - amount % 3)
            continue
        if action == "rotate" and not rotated_since_read:
            flush(len(b"".join(written)))  # a rotated file ends with a complete line
            rotations += 1
            os.rename(log, root / f"queue_log.{rotations}")
            log.write_bytes(b"")
            rotated_since_read = True
            continue
        if action == "restart":
            mark = tail.mark()
            tail.close()
            tail = Tail(log, mark, lambda _: None)
        read += [raw for _, _, raw in tail.read(1000)]
        rotated_since_read = False
    flush(len(b"".join(written)))
    read += [raw for _, _, raw in tail.read(100_000)]
    tail.close()
    assert read == written


def test_a_file_that_does_not_exist_yet_is_read_once_created(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    with Tail(log, None) as tail:
        assert tail.read() == [] and tail.mark() is None
        log.write_bytes(b"1|a\n")
        assert lines_of(tail) == [b"1|a\n"]
