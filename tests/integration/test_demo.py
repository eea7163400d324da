"""`cckpi demo` end to end, as a new user runs it: from a directory with nothing in it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.broker import free_port
from tests.integration.harness import metric_sum


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


@pytest.mark.timeout(240)
def test_demo_serves_kpis_for_every_topic_and_stops_cleanly(tmp_path: Path) -> None:
    broker_port, web_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKPI_")}
    env["CCKPI_WEB_PORT"] = str(web_port)
    demo = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "demo", "--broker-port", str(broker_port)],
        cwd=tmp_path,  # no run/ directory yet: the worker must create its data directory
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    samples: list[tuple[str, dict[str, str], float]] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as r:
                    samples = parse_metrics(r.read().decode())
            except OSError:
                samples = []
            topics = {lab["topic"] for name, lab, value in samples if name == "cc_events_total"}
            queues = {
                lab["queue"]
                for name, lab, _ in samples
                if name == "cc_service_level_ratio" and "queue" in lab
            }
            if len(topics) == 5 and queues:
                break
            time.sleep(2)
        assert demo.poll() is None, "the demo stopped on its own"
        assert metric_sum(samples, "cc_events_total") > 0
        assert len(topics) == 5, f"events counted on {sorted(topics)} only"
        assert queues, "no service level for any queue"
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/", timeout=5) as r:
            assert b"/static/board.js" in r.read(), "no board at /"
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGTERM)
        try:
            output, _ = demo.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            output, _ = demo.communicate()
    text = output.decode(errors="replace")
    assert demo.returncode == 0, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    assert text.splitlines()[0] == f"board: http://127.0.0.1:{web_port}/", text[:500]
