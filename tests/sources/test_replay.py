"""``cckpi replay``: every bad line listed by --check with nothing sent; recordings sent to
their topics, moved in time by --shift-to, paced by --speed, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import gzip
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.sources.replay import shifted
from tests.integration.harness import read_topic
from tests.sources.helpers import TEAMS, cckpi, env_for, start
from tests.sources.qlgen import generate

START = int(datetime(2026, 10, 5, 8, tzinfo=UTC).timestamp())


def recording(count: int = 300) -> list[dict[str, Any]]:
    events = generate(START, count, seed=2, teams=TEAMS).events
    events.append(
        {
            "event_id": "t-1-solved",
            "type": "ticket.solved",
            "occurred_at": "2026-10-05T12:00:00+00:00",
            "created_at": "2026-10-05T09:00:00+00:00",
            "team": "support",
            "channel": "email",
            "ticket_id": "t-1",
            "agent": "ana",
        }
    )
    return events


def write_jsonl(path: Path, events: list[Any], gz: bool = False) -> Path:
    data = b"".join((e if isinstance(e, bytes) else orjson.dumps(e)) + b"\n" for e in events)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def test_check_lists_every_bad_line_and_sends_nothing(tmp_path: Path) -> None:
    good = recording(10)
    bad: list[Any] = [b"{not json", {"type": "contact.offered"}, {**good[0], "team": ""}]
    bad += [{**good[1], "occurred_at": "2026-10-05T08:00:00"} for _ in range(30)]
    path = write_jsonl(tmp_path / "recorded.jsonl.gz", good + bad, gz=True)
    # No broker at all: checking never connects.
    env = env_for(f"127.0.0.1:{free_port()}", "x.", tmp_path)
    done = cckpi(env, "replay", "--check", str(path), timeout=60)
    assert done.returncode == 1
    reported = [line for line in done.stderr.splitlines() if line.startswith(str(path))]
    assert len(reported) == len(bad)
    first = len(good) + 1
    assert reported[0].startswith(f"{path}:{first}: not_json")
    assert reported[1].startswith(f"{path}:{first + 1}: missing_field")
    assert "naive_timestamp" in reported[-1]
    assert f"{len(good) + len(bad)} lines" in done.stderr
    clean = cckpi(env, "replay", "--check", str(write_jsonl(tmp_path / "ok.jsonl", good)))
    assert clean.returncode == 0, clean.stderr


def test_shifting_moves_every_timestamp_by_the_same_amount_and_renames_the_event() -> None:
    event = recording(1)[-1]
    moved = shifted(event, timedelta(days=30, seconds=5), "~+2592005")
    assert moved["occurred_at"] == "2026-11-04T12:00:05+00:00"
    assert moved["created_at"] == "2026-11-04T09:00:05+00:00"
    assert moved["event_id"] == "t-1-solved~+2592005"
    long_id = shifted({**event, "event_id": "x" * 128}, timedelta(0), "~+0")["event_id"]
    assert len(long_id) <= 128 and long_id != shifted(event, timedelta(0), "~+0")["event_id"]


@pytest.mark.integration
def test_a_shifted_recording_reaches_its_topics_as_today(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    events = recording(200)
    path = write_jsonl(tmp_path / "recorded.jsonl.gz", events, gz=True)
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    target = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    done = cckpi(env, "replay", str(path), "--shift-to", target.isoformat())
    assert done.returncode == 0, done.stderr
    contacts = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.contacts"))
    tickets = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.tickets"))
    assert len(contacts) == len(events) - 1 and len(tickets) == 1
    times = [datetime.fromisoformat(v["occurred_at"]) for _, v in contacts]
    assert min(times) == target
    delta = target - min(datetime.fromisoformat(e["occurred_at"]) for e in events)
    original = {e["event_id"]: e for e in events}
    for key, value in contacts:
        base_id, _, _ = value["event_id"].partition("~")
        source = original[base_id]
        assert key == source["contact_id"].encode()
        assert datetime.fromisoformat(value["occurred_at"]) - delta == datetime.fromisoformat(
            source["occurred_at"]
        )


@pytest.mark.integration
def test_speed_paces_the_replay_and_sigterm_stops_it(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path
) -> None:
    base = datetime(2026, 10, 5, 8, tzinfo=UTC)
    events = [
        {
            "event_id": f"e{i}",
            "type": "contact.offered",
            "occurred_at": (base + timedelta(seconds=10 * i)).isoformat(),
            "team": "t",
            "channel": "voice",
            "contact_id": f"c{i}",
            "queue": "q",
        }
        for i in range(4)
    ]
    env = env_for(broker.bootstrap_servers, prefix, tmp_path)
    began = time.monotonic()
    done = cckpi(env, "replay", str(write_jsonl(tmp_path / "a.jsonl", events)), "--speed", "10")
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert took >= 3.0, f"30 s of events at 10x must take 3 s, took {took:.1f}"
    slow = write_jsonl(
        tmp_path / "slow.jsonl", [{**e, "event_id": "s" + e["event_id"]} for e in events]
    )
    replay = start(env, "replay", str(slow), "--speed", "0.01", log=tmp_path / "replay.log")
    time.sleep(6)
    stopped = time.monotonic()
    replay.send_signal(signal.SIGTERM)
    assert replay.wait(15) == 1
    assert time.monotonic() - stopped < 10
    assert "replay:" in (tmp_path / "replay.log").read_text()
