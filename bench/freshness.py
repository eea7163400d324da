"""Freshness: time from producing an event to its effect on /metrics, under steady load.

A worker runs and is caught up; live ``contact.offered`` events (occurred_at = now)
go to ``cc.contacts`` at a steady rate. Every ``marker_every`` seconds a marker
event for a queue no other event uses (``fresh-<n>``) is sent too, and a thread
scrapes /metrics in a fast loop until that queue's hour gauge appears.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.common import (
    CONFIG,
    counts,
    declare_cckpi_topics,
    fetch,
    log,
    metrics_url,
    percentile,
)
from bench.synthetic import Shape, live_event, marker_event
from tests.integration.harness import WorkerProcess

_MARKER = re.compile(r'queue="fresh-(\d+)"')
SHAPE = Shape(teams=4, queues=28, agents=40)


@dataclass
class Scraper:
    """Scrapes /metrics every ``interval`` s; notes when each marker queue first shows."""

    url: str
    interval: float
    seen: dict[int, float] = field(default_factory=dict)
    scrape_seconds: list[float] = field(default_factory=list)
    lag: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Scraper:
        self._thread = threading.Thread(target=self._run, name="scraper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            text = fetch(self.url)
            received = time.monotonic()
            if text is not None:
                self.scrape_seconds.append(received - began)
                lag = 0.0
                for line in text.splitlines():
                    if line.startswith("cc_contacts_offered{") and 'period="hour"' in line:
                        match = _MARKER.search(line)
                        if match:
                            self.seen.setdefault(int(match.group(1)), received)
                    elif line.startswith("cc_consumer_lag_messages{"):
                        lag += float(line.rsplit(" ", 1)[1])
                self.lag = lag
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))


async def _steady(
    bootstrap: str,
    topic: str,
    rate: float,
    seconds: float,
    marker_every: float,
    tag: str,
) -> tuple[dict[int, float], dict[int, float], int, float]:
    """Send live events at ``rate``/s for ``seconds`` s plus markers; returns their times."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024, acks=1
    )
    await producer.start()
    marker_sent: dict[int, float] = {}
    marker_acked: dict[int, float] = {}
    pending: list[asyncio.Future[Any]] = []
    sent = markers = 0
    try:
        started = time.monotonic()
        next_marker = started + marker_every / 2
        while (now := time.monotonic()) < started + seconds:
            due = int((now - started) * rate)
            wall = time.time()
            while sent < due:
                key, value = live_event(sent, wall, tag, SHAPE)
                pending.append(await producer.send(topic, value, key=key))
                sent += 1
            if now >= next_marker:
                n = markers
                key, value = marker_event(n, time.time(), tag)
                marker_sent[n] = time.monotonic()
                future = await producer.send(topic, value, key=key)
                future.add_done_callback(
                    lambda _f, n=n: marker_acked.setdefault(n, time.monotonic())
                )
                pending.append(future)
                markers += 1
                next_marker += marker_every
            if len(pending) > 5000:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending)
        elapsed = time.monotonic() - started
    finally:
        await producer.stop()
    return marker_sent, marker_acked, sent, elapsed


async def _warm_up(bootstrap: str, topic: str, tag: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        now = time.time()
        futures = []
        for n in range(count):
            key, value = live_event(n, now, f"{tag}-warm", SHAPE)
            futures.append(await producer.send(topic, value, key=key))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def freshness(
    bootstrap: str,
    prefix: str,
    workdir: Path,
    rate: float = 5000.0,
    seconds: float = 20.0,
    marker_every: float = 0.5,
    scrape_interval: float = 0.1,
) -> dict[str, Any]:
    settings = declare_cckpi_topics(bootstrap, prefix)
    topic = settings.topic("cc.contacts")
    tag = prefix.rstrip(".")
    worker = WorkerProcess(bootstrap, prefix, workdir, config=CONFIG).start()
    url = metrics_url(worker.port)
    try:
        warm = 500
        asyncio.run(_warm_up(bootstrap, topic, tag, warm))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            text = fetch(url)
            if text is not None and sum(counts(text).values()) >= warm:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the freshness worker did not fold its warm-up events")
        log(f"freshness: worker caught up; {rate:.0f} events/s for {seconds:.0f} s, markers")
        scraper = Scraper(url, scrape_interval).start()
        try:
            sent_at, acked_at, sent, elapsed = asyncio.run(
                _steady(bootstrap, topic, rate, seconds, marker_every, tag)
            )
            wait_until = time.monotonic() + 10
            while len(scraper.seen) < len(sent_at) and time.monotonic() < wait_until:
                time.sleep(0.1)
        finally:
            scraper.stop()
        latencies = [scraper.seen[n] - t for n, t in sent_at.items() if n in scraper.seen]
        acks = [acked_at[n] - t for n, t in sent_at.items() if n in acked_at]
        total = sent + len(sent_at) + warm
        judged = 0.0
        settle = time.monotonic() + 10
        while judged < total and time.monotonic() < settle:
            found = counts(fetch(url) or "")
            judged = sum(v for k, v in found.items() if k != "cc_events_duplicate_total")
            time.sleep(0.2)
    finally:
        worker.stop()
    return {
        "markers": len(sent_at),
        "markers_seen": len(latencies),
        "p50_s": percentile(latencies, 50),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies, default=float("nan")),
        "min_s": min(latencies, default=float("nan")),
        "ack_p50_s": percentile(acks, 50),
        "scrape_p50_s": percentile(scraper.scrape_seconds, 50),
        "scrape_interval_s": scrape_interval,
        "offered_rate": sent / elapsed if elapsed else float("nan"),
        "events_sent": total,
        "events_judged": judged,
        "lag_at_end": scraper.lag,
    }
