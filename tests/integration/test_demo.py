"""`cckpi demo` end to end, as a new user runs it: from a directory with nothing in it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from streams.broker import free_port
from tests.integration.harness import metric_sum

Sample = tuple[str, dict[str, str], float]


def parse_metrics(text: str) -> list[Sample]:
    return [
        (s.name, s.labels, s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
    ]


def run_demo(
    tmp_path: Path, args: list[str], ready: Callable[[list[Sample]], bool]
) -> tuple[list[Sample], str]:
    """Run ``cckpi demo`` as a user would until ``ready(samples)``; stop it with SIGTERM.

    Returns the last /metrics samples and the console output."""
    broker_port, web_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CCKPI_")}
    env["CCKPI_WEB_PORT"] = str(web_port)
    demo = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "demo", "--broker-port", str(broker_port), *args],
        cwd=tmp_path,  # no run/ directory yet: the worker must create its data directory
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    samples: list[Sample] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and demo.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as r:
                    samples = parse_metrics(r.read().decode())
            except OSError:
                samples = []
            if ready(samples):
                break
            time.sleep(2)
        assert demo.poll() is None, "the demo stopped on its own"
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
    return samples, text


def _topics(samples: list[Sample]) -> set[str]:
    return {lab["topic"] for name, lab, _ in samples if name == "cc_events_total"}


def _queues(samples: list[Sample]) -> set[str]:
    return {
        lab["queue"]
        for name, lab, _ in samples
        if name == "cc_service_level_ratio" and "queue" in lab
    }


@pytest.mark.timeout(240)
def test_demo_serves_kpis_for_every_topic_and_stops_cleanly(tmp_path: Path) -> None:
    samples, _ = run_demo(
        tmp_path, [], lambda samples: len(_topics(samples)) == 5 and bool(_queues(samples))
    )
    assert metric_sum(samples, "cc_events_total") > 0
    assert len(_topics(samples)) == 5, f"events counted on {sorted(_topics(samples))} only"
    assert _queues(samples), "no service level for any queue"


VOLUME_TARGETS = {"tickets-per-agent", "answered-per-agent"}


def _volume_states(samples: list[Sample]) -> list[str]:
    return [
        lab["state"]
        for name, lab, value in samples
        if name == "cc_target_state" and lab["target"] in VOLUME_TARGETS and value == 1
    ]


@pytest.mark.timeout(240)
def test_a_demo_started_on_the_first_of_the_month_shows_agents_on_or_behind_pace(
    tmp_path: Path,
) -> None:
    samples, text = run_demo(
        tmp_path,
        ["--start", "2026-12-01T00:00:00+00:00"],
        lambda samples: len(_volume_states(samples)) >= 10,
    )
    states = _volume_states(samples)
    assert len(states) >= 10, states
    assert set(states) <= {"on_pace", "behind_pace", "met"}, states
    breached = [
        lab
        for name, lab, value in samples
        if name == "cc_target_breached" and lab["target"] in VOLUME_TARGETS and value == 1
    ]
    assert breached == []
    # The console: a periodic summary line, not a warning per transition.
    lines = text.splitlines()
    assert any("targets: " in line and "on_pace" in line for line in lines), text[-3000:]
    assert not [line for line in lines if "target " in line and "WARNING" in line]
    assert not [line for line in lines if "target tickets-per-agent " in line]
