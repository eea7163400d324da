"""Import benchmark: Asterisk queue_log lines per second, parse only and end to end.

``python -m bench.queue_log_import [--lines N]`` runs on its own (its own embedded
broker); ``make bench`` runs it as the ``import`` section. The goal (issue 12): a
year of a 200-agent centre, about 10 million lines, imported in under 5 minutes,
so 33,333 lines/s end to end (parsed, checked with the worker's decoder, produced
acks=all and acknowledged).

Rows, on one generated file (every layout and event type, tests/sources/qlgen.py):
- parse: ``parse_line`` alone;
- parse + check: the importer's line path without producing (each event validated
  by the worker's decoder);
- import: ``cckpi import queue-log`` in-process to the broker (``--history off``: the
  live-watermark look-up and the fold are not measured), wall time from start to the
  last acknowledgement.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, log, unique_prefix
from streams.broker import EmbeddedBroker, free_port

GOAL_LINES_PER_S = 10_000_000 / 300


def write_log(path: Path, lines: int, seed: int = 3) -> int:
    """A queue_log of about ``lines`` lines (whole calls); the number written."""
    from tests.sources.qlgen import generate

    written = 0
    start = 1_790_000_000
    with open(path, "w") as out:
        chunk = 0
        while written < lines:
            generated = generate(start, 20_000, seed=seed + chunk, spacing=6.0)
            out.write(generated.text())
            written += len(generated.lines)
            start = int(generated.lines[-1].split("|", 1)[0]) + 60
            chunk += 1
    return written


def measure(path: Path, bootstrap: str) -> dict[str, Any]:
    from streams.config import AppConfig
    from streams.settings import load_settings
    from streams.sources.importer import ImportOptions, run_import
    from streams.sources.queue_log import EnterTimes, parse_line
    from streams.sources.report import Report
    from streams.sources.router import LineRouter

    config = AppConfig()
    raw = path.read_bytes().splitlines(keepends=True)
    out: dict[str, Any] = {"lines": len(raw), "bytes": path.stat().st_size}

    load = os.getloadavg()[0]
    out["load_average"] = load
    began = time.perf_counter()
    enters = EnterTimes()
    labels = config.queue_labels
    for line in raw:
        parse_line(line, labels, enters)
    out["parse_lines_per_s"] = len(raw) / (time.perf_counter() - began)

    settings = load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=unique_prefix("ql"))
    router = LineRouter(settings, config, Report(out=io.StringIO()), None)
    began = time.perf_counter()
    for number, line in enumerate(raw, 1):
        router.line("bench", number, line)
        if len(router.batch) >= 5000:
            router.batch = []
    out["check_lines_per_s"] = len(raw) / (time.perf_counter() - began)
    del raw

    for jobs, name in ((1, "import"), (os.cpu_count() or 1, "import_jobs")):
        report = Report(out=io.StringIO())
        options = ImportOptions([path], history="off", jobs=jobs)
        began, cpu = time.perf_counter(), time.process_time()
        complete = asyncio.run(run_import(settings, config, options, report, asyncio.Event()))
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu
        out.update(
            {
                f"{name}_seconds": seconds,
                f"{name}_lines_per_s": report.lines / seconds,
                f"{name}_cpu_us_per_line": cpu / report.lines * 1e6,
                "events_sent": report.sent,
                "complete": complete,
                "bad_lines": report.bad_total,
            }
        )
    out["best_lines_per_s"] = max(out["import_lines_per_s"], out["import_jobs_lines_per_s"])
    out["ten_million_minutes"] = 10_000_000 / out["best_lines_per_s"] / 60
    out["goal_met"] = out["best_lines_per_s"] >= GOAL_LINES_PER_S
    return out


def rows(result: dict[str, Any]) -> list[list[str]]:
    return [
        ["parse (parse_line only)", f"{result['parse_lines_per_s']:,.0f}", ""],
        [
            "parse + check (worker's decoder)",
            f"{result['check_lines_per_s']:,.0f}",
            "",
        ],
        [
            "import --jobs 1, acks=all",
            f"{result['import_lines_per_s']:,.0f}",
            f"{result['events_sent']:,} events; {result['import_cpu_us_per_line']:.1f} us CPU "
            f"per line = {1e6 / result['import_cpu_us_per_line']:,.0f} lines per CPU-second",
        ],
        [
            f"import --jobs {os.cpu_count()} (the default here), acks=all",
            f"{result['import_jobs_lines_per_s']:,.0f}",
            "parse + check in a process pool",
        ],
    ]


def run(bootstrap: str, workdir: Path, lines: int, out: dict[str, Any]) -> None:
    """The ``import`` section of ``python -m bench``."""
    path = workdir / "queue_log"
    log(f"import: writing a queue_log of about {lines:,} lines")
    write_log(path, lines)
    log("import: measuring")
    out.update(measure(path, bootstrap))
    path.unlink()
    print()
    print(
        f"Import of an Asterisk queue_log: {out['lines']:,} lines, {out['bytes'] / 2**20:.0f} MB "
        f"(load average {out['load_average']:.1f} on {os.cpu_count()} cores at the start)"
    )
    for label, value, note in rows(out):
        print(f"  {label:<36} {value:>10} lines/s  {note}")
    verdict = "PASS" if out["goal_met"] else "MISS"
    print(
        f"  goal >= {GOAL_LINES_PER_S:,.0f} lines/s (10 M lines in 5 min): {verdict}; "
        f"10 M lines at the best rate: {out['ten_million_minutes']:.1f} min"
    )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.queue_log_import", description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    workdir = args.workdir or REPO / "run" / "bench" / time.strftime("import-%Y%m%d-%H%M%S")
    workdir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {}
    with EmbeddedBroker(free_port(), log=workdir / "tansu.log") as broker:
        run(broker.bootstrap_servers, workdir, args.lines, out)
    return 0 if out.get("complete") else 1


if __name__ == "__main__":
    sys.exit(main())
