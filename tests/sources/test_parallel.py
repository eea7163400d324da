"""Parsing in a process pool gives what parsing here gives: the same events in the same
order, the same bad lines, and 1.8 exits completed from an ENTERQUEUE in an earlier chunk."""

from __future__ import annotations

import io

from streams.config import AppConfig
from streams.settings import load_settings
from streams.sources.parallel import check_chunk, init
from streams.sources.report import Report
from streams.sources.router import LineRouter
from tests.sources.qlgen import generate


def router() -> LineRouter:
    return LineRouter(load_settings(), AppConfig(), Report(out=io.StringIO()), None)


def test_chunks_give_the_events_and_reports_of_one_pass() -> None:
    generated = generate(1_790_000_000, 800, seed=4, layouts=("1.8",))
    lines = [line.encode() + b"\n" for line in generated.lines]
    lines[17] = b"garbage\n"
    lines[300] = b"\0" * 40 + lines[300]
    short = [i for i, line in enumerate(lines) if line.count(b"|") == 5 and b"EXITWITH" in line]
    assert short, "the generator must write 1.8 exits without their wait"

    one = router()
    for number, line in enumerate(lines, 1):
        one.line("log", number, line)

    init(AppConfig(), 65536)
    many = router()
    size = 37  # small chunks: many exits have their ENTERQUEUE in an earlier chunk
    for first in range(0, len(lines), size):
        many.take(check_chunk("log", first + 1, lines[first : first + size]))

    assert [e.value for e in many.batch] == [e.value for e in one.batch]
    assert [e.key for e in many.batch] == [e.key for e in one.batch]
    assert many.report.bad == one.report.bad and one.report.bad_total == 2
    assert many.report.kinds == one.report.kinds
    assert many.report.lines == one.report.lines == len(lines)
    assert len(one.batch) == len(generated.events) - 1  # the garbage line held one
