"""What a user reads (bad lines capped with the rest counted) and where team and channel
of a queue come from (contract v1.2: the config, else the queue's name and voice)."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from streams.config import parse_config
from streams.errors import ConfigError
from streams.sources.files import open_part
from streams.sources.report import Report
from streams.sources.router import readable_lines


def test_bad_lines_are_printed_up_to_the_cap_and_all_counted() -> None:
    out = io.StringIO()
    report = Report(out=out, shown=20)
    for number in range(1, 26):
        report.bad_line(f"queue_log:{number}", "bad_epoch" if number % 2 else "nul_run", "x")
    report.lines = 100
    report.summary("queue_log import", ["a note"])
    text = out.getvalue()
    assert text.count("queue_log:") == 20
    assert "queue_log:20: nul_run: x" in text and "queue_log:21" not in text
    assert "... and 5 more bad lines (counted below)" in text
    assert "bad (bad_epoch): 13" in text and "bad (nul_run): 12" in text
    assert "25 bad lines" in text and "a note" in text


def test_progress_says_rate_share_and_eta() -> None:
    out = io.StringIO()
    report = Report(out=out, total_bytes=1000)
    report.lines = 500
    report.kinds["ENTERQUEUE"] = 7
    report.progress(250, force=True)
    line = out.getvalue()
    assert "500 lines (" in line and "25%, ETA " in line and "ENTERQUEUE 7" in line
    report.interval = 0.0
    report.progress(250)  # nothing new since: an idle follower stays quiet
    assert out.getvalue() == line
    report.lines += 1
    report.progress(260)
    assert out.getvalue().count("lines (") == 2


def test_queue_team_and_channel_from_the_config_with_the_contracts_defaults() -> None:
    config = parse_config("queues:\n  billing: {team: support, channel: messaging}\n  sales: {}\n")
    assert config.queue_labels("billing") == ("support", "messaging")
    assert config.queue_labels("sales") == ("sales", "voice")
    assert config.queue_labels("unlisted") == ("unlisted", "voice")
    with pytest.raises(ConfigError, match="channel"):
        parse_config("queues:\n  billing: {channel: fax}\n")
    with pytest.raises(ConfigError, match="team"):
        parse_config("queues:\n  billing: {team: ''}\n")


def test_a_gz_part_cut_short_gives_its_lines_and_is_reported(tmp_path: Path) -> None:
    whole = b"".join(
        f"{1_790_000_000 + i}|{i}.1|q|NONE|ENTERQUEUE||5|1\n".encode() for i in range(5000)
    )
    packed = gzip.compress(whole)
    cut = tmp_path / "queue_log.1.gz"
    cut.write_bytes(packed[: len(packed) // 2])  # compression interrupted half-way
    out = io.StringIO()
    report = Report(out=out)
    opened = open_part(cut)
    try:
        lines = list(readable_lines(opened, str(cut), report))
    finally:
        opened.close()
    assert 0 < len(lines) < 5000
    assert lines == list(enumerate(whole.splitlines(keepends=True)[: len(lines)], 1))
    assert report.bad == {"unreadable": 1}
    assert f"{cut}:{len(lines) + 1}: unreadable: EOFError" in out.getvalue()
