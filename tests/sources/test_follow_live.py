"""``cckpi import queue-log PATH --follow`` against a real worker: new lines reach /metrics
within seconds, rotation is followed, SIGTERM stops it cleanly, and a restart neither
repeats nor skips a line."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker
from tests.integration.harness import WorkerProcess, metric_sum, terminate, wait_until
from tests.sources.helpers import TEAMS, env_for, start
from tests.sources.qlgen import generate

pytestmark = pytest.mark.integration


def append(path: Path, lines: list[str]) -> None:
    with open(path, "a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def test_follow_reaches_metrics_in_seconds_survives_rotation_and_restarts_exactly(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    now = int(time.time())
    generated = generate(now - 900, 400, seed=9, teams=TEAMS, spacing=1.5, other_share=0.2)
    ids_at = {}
    events_by_line = []
    from tests.sources.qlgen import line_id

    for event in generated.events:
        ids_at[event["event_id"]] = event
    for line in generated.lines:
        events_by_line.append(1 if line_id(line) in ids_at else 0)
    quarter = len(generated.lines) // 4
    parts = [generated.lines[i * quarter : (i + 1) * quarter] for i in range(3)]
    parts.append(generated.lines[3 * quarter :])
    log = tmp_path / "queue_log"
    append(log, parts[0])
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    worker = WorkerProcess(
        broker.bootstrap_servers, prefix, tmp_path, config=tmp_path / "cckpi.yaml"
    )
    worker.start()
    follower_log = tmp_path / "follow.log"
    follower = None
    try:
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")

        def counted() -> float:
            return metric_sum(worker.samples(), "cc_events_total")

        def sent_upto(lines: int) -> int:
            return sum(events_by_line[:lines])

        follower = start(env, "import", "queue-log", str(log), "--follow", log=follower_log)
        wait_until(lambda: counted() == sent_upto(quarter), 90, "the file's lines counted")

        # One new line reaches /metrics within seconds.
        before = counted()
        appended = time.monotonic()
        new = [line for line in parts[1] if line_id(line) in ids_at][:1]
        append(log, new)
        wait_until(lambda: counted() == before + 1, 10, "a new line counted", interval=0.1)
        latency = time.monotonic() - appended
        print(f"a new line reached /metrics in {latency:.2f} s")
        assert latency < 5, latency
        rest = [line for line in parts[1] if line not in new]
        append(log, rest)
        wait_until(lambda: counted() == sent_upto(2 * quarter), 30, "the second part counted")

        # Rotation: the old file is finished, the new one read.
        append(log, parts[2][:10])
        os.rename(log, tmp_path / "queue_log.1")
        append(log, parts[2][10:])
        wait_until(lambda: counted() == sent_upto(3 * quarter), 30, "lines across the rotation")

        # SIGTERM: a clean stop with the position saved; lines written while it is down
        # are read after the restart, none twice.
        follower.send_signal(signal.SIGTERM)
        assert follower.wait(20) in (0, 130)
        text = follower_log.read_text()
        assert "queue_log import stopped" in text or "queue_log import:" in text
        assert list((tmp_path / "data" / "positions").glob("queue_log-*.json"))
        append(log, parts[3])
        follower = start(env, "import", "queue-log", str(log), "--follow", log=follower_log)
        wait_until(lambda: counted() == len(generated.events), 60, "every event counted")
        time.sleep(2)
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_total") == len(generated.events)
        assert metric_sum(samples, "cc_events_duplicate_total") == 0, "a line was sent twice"
        assert metric_sum(samples, "cc_events_late_total") == 0
        assert "resuming at line" in follower_log.read_text()
    finally:
        if follower is not None:
            terminate(follower)
            assert follower.poll() is not None
        worker.stop()
