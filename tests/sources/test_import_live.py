"""``cckpi import queue-log`` against a real broker and worker: the KPIs the worker computes
from imported files equal an independent computation from the calls drawn, and importing
again, or parts that overlap, changes none of them."""

from __future__ import annotations

import asyncio
import re
import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker
from tests.integration.harness import WorkerProcess, metric_sum, read_topic, wait_until
from tests.oracle.compare import diff_finals, diff_records
from tests.sources.helpers import TEAMS, cckpi, env_for, latest, oracle, start, write
from tests.sources.qlgen import generate

pytestmark = pytest.mark.integration
START = int(datetime(2026, 11, 2, 6, tzinfo=UTC).timestamp())
ONE_PARTITION = {"cc.contacts": 1, "cc.tickets": 0, "cc.surveys": 0, "cc.quality": 0}
"""The history fold closes windows at the deployment's watermark, as one partition would."""


def hour_end(occurred_at: str) -> float:
    moment = datetime.fromisoformat(occurred_at)
    return moment.replace(minute=0, second=0).timestamp() + 3600


def test_rotated_overlapping_parts_give_the_reference_kpis_and_a_second_import_changes_nothing(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    generated = generate(START, 2500, seed=5, teams=TEAMS, spacing=45)
    lines = generated.lines
    cut, overlap = int(len(lines) * 0.6), 200
    older = write(tmp_path / "queue_log.1", lines[:cut])
    newer = write(tmp_path / "queue_log.gz", lines[cut - overlap :], gz=True)
    broken = write(tmp_path / "queue_log.2", ["not a line", "\0" * 50, "1700000000|x|q|N|NOPE|"])
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    worker = WorkerProcess(
        broker.bootstrap_servers, prefix, tmp_path, config=tmp_path / "cckpi.yaml"
    )
    worker.start()
    try:
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")
        # Parts in any order: the newest (gzipped) first.
        done = cckpi(env, "import", "queue-log", str(newer), str(older), str(broken))
        assert done.returncode == 0, done.stderr
        assert "queue_log.2:1: missing_field" in done.stderr
        assert "queue_log.2:2: nul_run: 50 NUL bytes" in done.stderr
        assert "queue_log.2:3: unknown_event" in done.stderr
        assert (
            f"{len(generated.events) + overlap_events(generated, cut, overlap):,} events sent"
            in (done.stderr)
        )
        expected = oracle(generated.events)
        assert expected.accepted == len(generated.events)

        def counted() -> float:
            return metric_sum(worker.samples(), "cc_events_total")

        wait_until(lambda: counted() == expected.accepted, 120, "every event counted")
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_late_total") == 0
        assert metric_sum(samples, "cc_events_invalid_total") == 0
        first_duplicates = metric_sum(samples, "cc_events_duplicate_total")
        assert first_duplicates == overlap_events(generated, cut, overlap)

        topic = prefix + "cc.kpi.aggregates"

        def agrees() -> list[str]:
            published = latest(asyncio.run(read_topic(broker.bootstrap_servers, topic, idle=1.0)))
            return diff_records(expected.records, published)

        wait_until(lambda: not agrees(), 60, "the reference KPIs", interval=2)

        # Again, into the running deployment: the hours it has closed are folded by the
        # importer and published final (the worker would call them late); the open hour's
        # events go to the worker, which drops them as repeats.
        again = cckpi(env, "import", "queue-log", str(older), str(newer))
        assert again.returncode == 0, again.stderr
        last = max(datetime.fromisoformat(e["occurred_at"]).timestamp() for e in generated.events)
        live = [e for e in generated.events if hour_end(e["occurred_at"]) + 300 > last]
        assert f"history: {len(generated.events) - len(live):,} events folded" in again.stderr
        wait_until(
            lambda: (
                metric_sum(worker.samples(), "cc_events_duplicate_total")
                == first_duplicates + len(live)
            ),
            60,
            "the open hour's events counted as repeats",
        )
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_total") == expected.accepted
        assert metric_sum(samples, "cc_events_late_total") == 0
        closed = oracle(generated.events, partitions=ONE_PARTITION)
        assert len(closed.finals) > 1000
        published = latest(asyncio.run(read_topic(broker.bootstrap_servers, topic, idle=1.0)))
        finals = {k: r for k, r in published.items() if r["final"]}
        assert diff_finals(closed.finals, finals) == []
    finally:
        worker.stop()


def overlap_events(generated, cut: int, overlap: int) -> int:  # type: ignore[no-untyped-def]
    """Contact events among the lines both parts hold."""
    shared = set(generated.lines[cut - overlap : cut])
    from tests.sources.qlgen import line_id

    ids = {line_id(line) for line in shared}
    return sum(1 for event in generated.events if event["event_id"] in ids)


def test_last_months_log_into_a_running_deployment_gives_last_months_finals_not_late(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    now = int(time.time())
    today = generate(now - 1800, 150, seed=21, teams=TEAMS, spacing=10)
    month_ago = generate(now - 32 * 86400, 3000, seed=22, teams=TEAMS, spacing=300)
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    worker = WorkerProcess(
        broker.bootstrap_servers, prefix, tmp_path, config=tmp_path / "cckpi.yaml"
    )
    worker.start()
    try:
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")
        live = cckpi(env, "import", "queue-log", str(write(tmp_path / "today", today.lines)))
        assert live.returncode == 0, live.stderr
        wait_until(
            lambda: metric_sum(worker.samples(), "cc_events_total") == len(today.events),
            60,
            "today's calls counted",
        )
        old = write(tmp_path / "queue_log-last-month.gz", month_ago.lines, gz=True)
        done = cckpi(env, "import", "queue-log", str(old))
        assert done.returncode == 0, done.stderr
        assert f"history: {len(month_ago.events):,} events folded" in done.stderr
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_late_total") == 0
        assert metric_sum(samples, "cc_events_total") == len(today.events)
        # The reference: last month's calls, closed at the deployment's watermark (a
        # marker event at that instant in a team of its own closes them in the oracle).
        watermark = max(datetime.fromisoformat(e["occurred_at"]) for e in today.events)
        marker = {
            "event_id": "marker",
            "type": "contact.offered",
            "occurred_at": watermark.isoformat(),
            "team": "zz-marker",
            "channel": "voice",
            "contact_id": "m",
            "queue": "m",
        }
        expected = oracle([*month_ago.events, marker], partitions=ONE_PARTITION)
        wanted = {k: v for k, v in expected.finals.items() if "zz-marker" not in k}
        assert len(wanted) > 1000
        topic = prefix + "cc.kpi.aggregates"
        published = latest(asyncio.run(read_topic(broker.bootstrap_servers, topic, idle=1.0)))
        finals = {k: r for k, r in published.items() if r["final"]}
        assert diff_finals(wanted, finals) == []
    finally:
        worker.stop()


def test_ctrl_c_stops_a_long_import_with_exactly_the_acknowledged_events_counted(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    generated = generate(START, 60_000, seed=31, teams=TEAMS, spacing=20)
    path = write(tmp_path / "queue_log", generated.lines)
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    log = tmp_path / "import.log"
    importer = start(env, "import", "queue-log", str(path), log=log)
    wait_until(lambda: "events sent" in log.read_text(), 120, "the first progress line")
    stopped = time.monotonic()
    importer.send_signal(signal.SIGINT)
    assert importer.wait(20) == 130
    assert time.monotonic() - stopped < 10
    text = log.read_text()
    assert "queue_log import stopped" in text
    sent = int(re.findall(r"([\d,]+) events sent, \d+ bad lines", text)[-1].replace(",", ""))
    assert 0 < sent < len(generated.events)
    on_topic = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.contacts"))
    assert len(on_topic) == sent, "what the summary calls sent is exactly what the broker has"


def group_members(pgid: int) -> list[int]:
    """Processes still alive in a process group (from /proc: no psutil here)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(stat.parent.name))
    return found


def test_sigterm_stops_an_import_with_a_process_pool_and_leaves_no_process(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    generated = generate(START, 60_000, seed=32, teams=TEAMS, spacing=20)
    path = write(tmp_path / "queue_log", generated.lines)
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    log = tmp_path / "import.log"
    importer = start(env, "import", "queue-log", str(path), "--jobs", "2", log=log)
    wait_until(lambda: len(group_members(importer.pid)) >= 3, 60, "the pool's processes")
    wait_until(lambda: "events sent" in log.read_text(), 120, "the first progress line")
    importer.send_signal(signal.SIGTERM)
    assert importer.wait(30) == 130
    wait_until(lambda: not group_members(importer.pid), 10, "every pool process gone")
    text = log.read_text()
    sent = int(re.findall(r"([\d,]+) events sent, \d+ bad lines", text)[-1].replace(",", ""))
    on_topic = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.contacts"))
    assert len(on_topic) == sent
