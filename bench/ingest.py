"""Load on ``cckpi ingest``: signed Chatwoot deliveries and event batches over loopback HTTP.

One ingest process (``cckpi ingest`` in a subprocess) in front of the benchmark's
broker; the client is aiohttp in this process, on the same cores (its CPU time is
reported beside the service's). Three loads, each for ``seconds``:

- Chatwoot, offered at a fixed rate (open loop, ``rate`` deliveries/s, at most
  ``concurrency`` in flight): does the service sustain it, and with what latency;
- Chatwoot, closed loop (``concurrency`` clients posting back to back): the most it
  answers per second;
- ``/ingest/v1/events`` with arrays of ``batch`` events, closed loop: events/s.

Every delivery is unique (its own message id, delivery id, timestamp and signature),
so each one is validated and produced; a 200 means acknowledged by the broker. The
deliveries spread over 2,000 conversations (ticket ids are the message keys, so
they spread over the topic's partitions as real traffic does).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from bench.common import REPO, log, unique_prefix
from streams.broker import free_port
from streams.settings import load_settings
from streams.topics import declare_topics

FIXTURE = REPO / "tests" / "data" / "chatwoot" / "message_created_incoming.json"
SECRET = "bench-webhook-secret-0123"  # noqa: S105 - a benchmark value
TOKEN = "bench-token"  # noqa: S105 - a benchmark value
MESSAGE_ID = b'"id":1001,"inbox"'
CONVERSATION_ID = b'"id":1,"inbox_id":2'
CONVERSATIONS = 2000
"""Open conversations the deliveries spread over (tickets, hence keys and partitions)."""


def delivery_body(n: int, template: bytes) -> bytes:
    """The fixture with its own message id, in one of :data:`CONVERSATIONS` conversations."""
    body = template.replace(MESSAGE_ID, b'"id":%d,"inbox"' % (10_000_000 + n), 1)
    conversation = b'"id":%d,"inbox_id":2' % (1 + n % CONVERSATIONS)
    return body.replace(CONVERSATION_ID, conversation, 1)


def signed(body: bytes, n: int) -> dict[str, str]:
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "X-Chatwoot-Timestamp": ts,
        "X-Chatwoot-Signature": "sha256=" + digest,
        "X-Chatwoot-Delivery": f"bench-{n}",
    }


def events_body(start: int, batch: int) -> bytes:
    return orjson.dumps(
        [
            {
                "event_id": f"bench-ev-{start + i}",
                "type": "ticket.replied",
                "occurred_at": "2026-10-30T09:00:01+00:00",
                "created_at": "2026-10-30T09:00:00+00:00",
                "team": "support",
                "channel": "email",
                "ticket_id": f"T-{(start + i) % 5000}",
                "author": "customer",
                "public": True,
            }
            for i in range(batch)
        ]
    )


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(
    url: str,
    make: Callable[[int], tuple[bytes, dict[str, str], int]],
    seconds: float,
    concurrency: int,
    rate: float | None,
) -> dict[str, Any]:
    """Post for ``seconds``: at ``rate`` per second (open loop) or back to back (closed)."""
    latencies: list[float] = []
    failures: dict[int, int] = {}
    events = 0
    counter = 0
    slots = asyncio.Semaphore(concurrency)
    late = 0
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def one(n: int) -> None:
            nonlocal events
            body, headers, count = make(n)
            started = time.perf_counter()
            try:
                async with http.post(url, data=body, headers=headers) as response:
                    await response.read()
                    status = response.status
            except aiohttp.ClientError:
                status = 0
            latencies.append(time.perf_counter() - started)
            if status == 200:
                events += count
            else:
                failures[status] = failures.get(status, 0) + 1
            slots.release()

        began = time.perf_counter()
        end = began + seconds
        tasks: set[asyncio.Task[None]] = set()
        while time.perf_counter() < end:
            if rate is not None:
                due = began + counter / rate
                wait = due - time.perf_counter()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif wait < -0.05:
                    late += 1
            await slots.acquire()
            task = asyncio.create_task(one(counter))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            counter += 1
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - began
    done = len(latencies)
    return {
        "requests": done,
        "seconds": elapsed,
        "requests_per_s": done / elapsed,
        "events_per_s": events / elapsed,
        "p50_ms": (percentile(latencies, 0.50) or 0) * 1000,
        "p99_ms": (percentile(latencies, 0.99) or 0) * 1000,
        "max_ms": max(latencies, default=0) * 1000,
        "failures": failures,
        "offered_rate": rate,
        "behind_schedule": late,
    }


def _ack_totals(base: str) -> tuple[float, float]:
    """(sum, count) of the service's broker-ack histogram, from its /metrics."""
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:  # noqa: S310
        text = response.read().decode()
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in found:
            if line.startswith(f"cckpi_ingest_broker_ack_seconds_{part} "):
                found[part] = float(line.split()[1])
    return found["sum"], found["count"]


def _wait_ready(base: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"cckpi ingest exited with {process.returncode}")
        try:
            with urllib.request.urlopen(base + "/ready", timeout=2) as response:  # noqa: S310
                if orjson.loads(response.read())["broker"]:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("cckpi ingest did not reach the broker")


def ingest_load(
    bootstrap: str,
    workdir: Path,
    seconds: float = 10.0,
    rate: float = 2000.0,
    concurrency: int = 64,
    batch: int = 100,
) -> dict[str, Any]:
    prefix = unique_prefix("ingest")
    asyncio.run(
        declare_topics(load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix))
    )
    port = free_port()
    env = {
        **os.environ,
        "CCKPI_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CCKPI_TOPIC_PREFIX": prefix,
        "CCKPI_INGEST_PORT": str(port),
        "CCKPI_INGEST_TOKENS": TOKEN,
        "CCKPI_CHATWOOT_SECRETS": SECRET,
        "CCKPI_INGEST_SPOOL_DIR": str(workdir / "ingest-spool"),
    }
    with open(workdir / "ingest.log", "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "ingest"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    template = FIXTURE.read_bytes()
    results: dict[str, Any] = {"body_bytes": len(template), "concurrency": concurrency}
    try:
        _wait_ready(base, process)
        offset = [0]

        def chatwoot(n: int) -> tuple[bytes, dict[str, str], int]:
            body = delivery_body(offset[0] + n, template)
            return body, signed(body, offset[0] + n), 1

        def events(n: int) -> tuple[bytes, dict[str, str], int]:
            headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
            return events_body((offset[0] + n) * batch, batch), headers, batch

        asyncio.run(_load(base + "/ingest/v1/chatwoot", chatwoot, 2.0, 16, None))  # warm-up
        acks = _ack_totals(base)
        for name, url, make, load_rate in (
            ("chatwoot_rate", "/ingest/v1/chatwoot", chatwoot, rate),
            ("chatwoot_max", "/ingest/v1/chatwoot", chatwoot, None),
            ("events_max", "/ingest/v1/events", events, None),
        ):
            offset[0] += 10_000_000
            log(f"ingest: {name} for {seconds:.0f} s")
            cpu_before, wall_before = cpu_seconds(process.pid), time.monotonic()
            client_before = time.process_time()
            result = asyncio.run(_load(base + url, make, seconds, concurrency, load_rate))
            wall = time.monotonic() - wall_before
            result["service_cores"] = (cpu_seconds(process.pid) - cpu_before) / wall
            result["client_cores"] = (time.process_time() - client_before) / wall
            result["service_cpu_us"] = result["service_cores"] * wall / result["requests"] * 1e6
            ack_sum, ack_count = _ack_totals(base)
            result["broker_ack_mean_ms"] = (
                (ack_sum - acks[0]) / (ack_count - acks[1]) * 1000 if ack_count > acks[1] else None
            )
            acks = (ack_sum, ack_count)
            results[name] = result
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
    results["stopped_cleanly"] = process.returncode == 0
    return results
