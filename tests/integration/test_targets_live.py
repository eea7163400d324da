"""Targets judged fairly, end to end on the embedded broker (CONTRACT.md v1.2).

1. A worker with the shipped config, fed the first hours of a month: volume
   goals per agent show ``on_pace`` / ``behind_pace`` / ``met``, never breached;
   a queue's first few slow calls of the day are ``insufficient_data`` and page
   nobody (no breach record, no ``cc_target_breached``).
2. A day window closes: exactly one verdict per target and scope on
   ``cc.target.breaches``, the gauges carry it as the previous window's state,
   and a restarted worker neither repeats it nor forgets it; an agent with an
   `agent.shift` gets a goal pro-rated by staffed time.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streams.broker import EmbeddedBroker
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch
from streams.topics import declare_topics
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until
from tests.unit.kpi_helpers import answered, ev, iso, offered, qa, survey, ticket, topic_of

pytestmark = pytest.mark.integration

MONTH_START = datetime(2026, 12, 1, tzinfo=UTC)
"""Tuesday 1 December 2026."""
VOLUME_TARGETS = {"tickets-per-agent", "answered-per-agent"}


def declare(broker: EmbeddedBroker, prefix: str, partitions: int) -> None:
    settings = load_settings(
        kafka_bootstrap_servers=broker.bootstrap_servers,
        topic_prefix=prefix,
        input_partitions=partitions,
    )
    asyncio.run(declare_topics(settings))


def messages(prefix: str, events: list[dict[str, Any]]) -> list[tuple[str, bytes, bytes, int]]:
    return [(prefix + topic_of(e), b"k", orjson.dumps(e), 0) for e in events]


def counted(worker: WorkerProcess, total: int) -> bool:
    samples = worker.samples()
    return (
        metric_sum(samples, "cc_events_total")
        + metric_sum(samples, "cc_events_invalid_total")
        + metric_sum(samples, "cc_events_duplicate_total")
        + metric_sum(samples, "cc_events_late_total")
    ) >= total


def states(worker: WorkerProcess, **labels: str) -> dict[tuple[str, frozenset[Any]], str]:
    """(target, scope) -> the state whose ``cc_target_state`` sample is 1."""
    out = {}
    for name, lab, value in worker.samples():
        if name != "cc_target_state" or value != 1:
            continue
        if all(lab.get(k) == v for k, v in labels.items()):
            scope = frozenset((k, v) for k, v in lab.items() if k in ("team", "queue", "agent"))
            out[(lab["target"], scope)] = lab["state"]
    return out


def test_a_month_that_just_started_is_judged_on_pace(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    declare(broker, prefix, 1)
    worker = WorkerProcess(
        broker.bootstrap_servers,
        prefix,
        tmp_path,
        config=repo_root / "deploy" / "cckpi.yaml",
        extra_env={"CCKPI_INPUT_PARTITIONS": "1"},
    ).start()
    try:
        events = simulate_batch(MONTH_START, seed=5, count=12_000, rate=1.0)
        sim = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), 0) for e in events]
        # A queue whose first calls of the day all wait long: 0% service level on 6 calls.
        at = MONTH_START.timestamp() + 11 * 3600  # after the simulated traffic (to 10:50)
        early = [offered(f"early-o{i}", at + i, queue="early") for i in range(6)]
        early += [answered(f"early-a{i}", at + i + 200, 190, queue="early") for i in range(6)]
        wait_until(worker.samples, 90, "the worker's /metrics")
        asyncio.run(produce(broker.bootstrap_servers, [*sim, *messages(prefix, early)]))
        wait_until(lambda: counted(worker, len(sim) + len(early)), 120, "every event counted")
        early_scope = frozenset({("team", "support"), ("queue", "early")})
        wait_until(
            lambda: ("daily-service-level", early_scope) in states(worker, window="current"),
            30,
            "the early queue's state",
        )
        now = states(worker, window="current")

        volume = {k: s for k, s in now.items() if k[0] in VOLUME_TARGETS}
        assert volume, now
        assert set(volume.values()) <= {"on_pace", "behind_pace", "met"}, Counter(volume.values())
        assert now[("daily-service-level", early_scope)] == "insufficient_data"
        samples = worker.samples()
        for target in [*VOLUME_TARGETS, "daily-service-level"]:
            breached = [
                lab
                for name, lab, value in samples
                if name == "cc_target_breached" and lab["target"] == target and value == 1
            ]
            if target in VOLUME_TARGETS:
                assert breached == [], breached
        assert not any(
            lab.get("queue") == "early" and value == 1
            for name, lab, value in samples
            if name == "cc_target_breached"
        )
        expected = [
            value
            for name, lab, value in samples
            if name == "cc_target_expected" and lab["target"] == "tickets-per-agent"
        ]
        hours = (max(e.value["occurred_at"] for e in events), MONTH_START.isoformat())
        assert expected and max(expected) < 1200 * 0.05, (expected, hours)

        records = [
            r
            for _, r in asyncio.run(
                read_topic(broker.bootstrap_servers, prefix + "cc.target.breaches")
            )
        ]
        assert records, "no transition published"
        assert not [
            r for r in records if r["target"] in VOLUME_TARGETS and r["state"] == "breached"
        ]
        assert not [r for r in records if r["scope"].get("queue") == "early"]
        for record in records:
            if record["state"] == "breached" and record["volume"] is not None:
                assert record["volume"] >= 20, record  # a ratio breaches only with volume
            assert record["final"] is False
        log = worker.log_text()
        assert not [line for line in log.splitlines() if "target " in line and "WARNING" in line]
    finally:
        worker.stop()
        print(worker.log_text()[-3000:])


DAY = datetime(2026, 12, 2, tzinfo=UTC).timestamp()
NEXT_DAY = DAY + 86400 + 3600
CONFIG = {
    "targets": [
        {
            "id": "daily-answered",
            "kpi": "contacts_answered",
            "period": "day",
            "scope": {"agent": "*"},
            "op": ">=",
            "value": 5,
        },
        {
            "id": "daily-sl",
            "kpi": "service_level_ratio",
            "period": "day",
            "scope": {"queue": "*"},
            "op": ">=",
            "value": 0.8,
        },
    ]
}


def day_events() -> list[dict[str, Any]]:
    at = DAY + 10 * 3600
    out = [offered(f"o{i}", at + i) for i in range(30)]
    out += [answered(f"ann{i}", at + 10 + i, 5, agent="ann") for i in range(6)]
    out += [answered(f"bob{i}", at + 20 + i, 5, agent="bob") for i in range(2)]
    out += [answered(f"cy{i}", at + 30 + i, 50, agent="cy", queue="vip") for i in range(3)]
    # dee works a 6-hour shift (a quarter of the 24x7 team's day): a goal of 5 x 1/4.
    start, end = DAY + 8 * 3600, DAY + 14 * 3600
    out.append(ev("agent.shift", "dee-shift", DAY, agent="dee", start=iso(start), end=iso(end)))
    out += [answered(f"dee{i}", at + 40 + i, 5, agent="dee") for i in range(2)]
    return out


def closing_events(tag: str, when: float) -> list[dict[str, Any]]:
    """One event on every windowed topic after the day's end plus grace: the day closes."""
    return [
        offered(f"{tag}-o", when, team="sales"),
        ticket("created", f"{tag}-t", when, f"{tag}-T", when, team="sales"),
        survey("csat", f"{tag}-s", when, 5, team="sales"),
        qa(f"{tag}-q", when, 90, agent="dan", team="sales"),
    ]


def verdicts(broker: EmbeddedBroker, prefix: str) -> list[dict[str, Any]]:
    records = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.target.breaches"))
    return [r for _, r in records if r.get("final")]


def test_a_closed_window_gets_one_verdict_per_target_and_scope(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    declare(broker, prefix, 1)
    config = tmp_path / "cckpi.yaml"
    config.write_text(yaml.safe_dump(CONFIG))
    env = {"CCKPI_INPUT_PARTITIONS": "1", "CCKPI_GRACE_SECONDS": "60"}
    worker = WorkerProcess(broker.bootstrap_servers, prefix, tmp_path, config, env).start()
    try:
        wait_until(worker.samples, 90, "the worker's /metrics")
        first = day_events() + closing_events("close", NEXT_DAY)
        asyncio.run(produce(broker.bootstrap_servers, messages(prefix, first)))
        wait_until(lambda: len(verdicts(broker, prefix)) >= 6, 90, "the verdicts")
        got = Counter(
            (r["target"], tuple(sorted(r["scope"].items())), r["window_start"], r["state"])
            for r in verdicts(broker, prefix)
        )
        day = datetime.fromtimestamp(DAY, UTC).isoformat()
        assert got == Counter(
            {
                ("daily-answered", (("agent", "ann"), ("team", "support")), day, "met"): 1,
                ("daily-answered", (("agent", "bob"), ("team", "support")), day, "missed"): 1,
                ("daily-answered", (("agent", "cy"), ("team", "support")), day, "missed"): 1,
                ("daily-answered", (("agent", "dee"), ("team", "support")), day, "met"): 1,
                (
                    "daily-sl",
                    (("queue", "billing"), ("team", "support")),
                    day,
                    "insufficient_data",
                ): 1,
                ("daily-sl", (("queue", "vip"), ("team", "support")), day, "insufficient_data"): 1,
            }
        ), got
        (dee,) = [r for r in verdicts(broker, prefix) if r["scope"].get("agent") == "dee"]
        assert (dee["value"], dee["expected"]) == (2, 1.25), dee
        previous = wait_until(
            lambda: states(worker, window="previous"), 30, "the verdicts as gauges"
        )
        bob = frozenset({("team", "support"), ("agent", "bob")})
        assert previous[("daily-answered", bob)] == "missed"
        starts = {
            lab.get("window_start")
            for name, lab, _ in worker.samples()
            if name == "cc_target_state" and lab["window"] == "previous"
        }
        assert starts == {day}, starts  # each window's verdict is an alert of its own

        # The command a person runs to ask why.
        command = [sys.executable, "-m", "streams.cli", "targets", "check", "daily-answered"]
        command += ["--scope", "agent=bob", "--config", str(config), "--idle", "1"]
        env_check = {
            **os.environ,
            "CCKPI_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "CCKPI_TOPIC_PREFIX": prefix,
        }
        shown = subprocess.run(
            command, env=env_check, capture_output=True, text=True, timeout=60, check=True
        ).stdout
        assert "scope agent=bob,team=support: window 2026-12-02T00:00:00+00:00" in shown, shown
        assert "verdict (window closed): missed" in shown, shown
        assert "why: 2 is not >= 5" in shown, shown
        assert "worker's last record: missed (verdict)" in shown, shown

        # A restarted worker: the marker keeps the window final, nothing is judged twice,
        # and the previous window's verdicts come back as gauges.
        worker.stop()
        worker = WorkerProcess(broker.bootstrap_servers, prefix, tmp_path, config, env).start()
        more = closing_events("after", NEXT_DAY + 600)
        wait_until(worker.samples, 90, "the restarted worker's /metrics")
        asyncio.run(produce(broker.bootstrap_servers, messages(prefix, more)))
        wait_until(
            lambda: states(worker, window="previous").get(("daily-answered", bob)) == "missed",
            90,
            "the recalled verdict",
        )
        again = Counter(
            (r["target"], tuple(sorted(r["scope"].items())), r["window_start"])
            for r in verdicts(broker, prefix)
        )
        assert set(again.values()) == {1}, again
    finally:
        worker.stop()
        print(worker.log_text()[-3000:])
