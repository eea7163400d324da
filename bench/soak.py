"""Soak test: a steady event rate through one worker on the embedded broker for minutes.

``make soak`` (``python -m bench.soak``) runs 10 minutes at 2,000 events/s by default.
Every 10 s it samples the worker's resident memory (VmRSS from /proc), its consumer lag
(``cc_consumer_lag_messages``) and the events it has classified, prints the table, and
ends with a verdict: memory flat (least-squares slope of RSS over the last two thirds of
the run below a threshold), lag bounded (never above a few seconds of traffic in that
part), and throughput kept up (classified = produced once the feed stops).

The traffic is the simulator's default scenario, paced by count (so the wall rate is
steady whatever the simulated hour) at about one simulated day per 43 s of wall time,
so the state the worker keeps for a while (event ids for dedup: 24 h of watermark;
ticket reply memory: ``--ticket-memory-days``, 1 by default here instead of 90) reaches
its steady size within the first third of a 10-minute run (measured here: RSS levels
off near 130 MiB after about 90 s; 2-4 minute runs still see the last MiB of warm-up).
With the production default of 90 days, reply memory would grow for 90 simulated days
by design, which is not a leak. The broker's RSS grows all along: Tansu keeps every
record in memory and never applies retention.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from bench.common import CONFIG, COUNTERS
from streams.broker import EmbeddedBroker, free_port
from streams.settings import load_settings
from streams.simulate.core import SimEvent
from streams.simulate.generator import TrafficGenerator
from streams.topics import declare_topics

SIM_START = datetime(2026, 11, 2, tzinfo=UTC)


@dataclass
class Sample:
    seconds: float
    produced: int
    counted: float
    lag: float
    rss_mib: float
    broker_rss_mib: float


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc/<pid>/status (0 when gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def scrape(port: int) -> dict[str, float]:
    """Sums of the counters and of the lag gauge on the worker's /metrics."""
    url = f"http://127.0.0.1:{port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            text = response.read().decode()
    except OSError:
        return {}
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in COUNTERS or sample.name == "cc_consumer_lag_messages":
                sums[sample.name] = sums.get(sample.name, 0.0) + sample.value
    return sums


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var


class Feed:
    """Produces simulated events at a steady wall rate from a background asyncio task."""

    def __init__(self, bootstrap: str, prefix: str, rate: float, sim_rate: float) -> None:
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.rate = rate
        self.sim_rate = sim_rate
        self.produced = 0
        self.errors = 0

    async def run(self, seconds: float, alive: Callable[[], bool]) -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=self.bootstrap, linger_ms=20, max_batch_size=512 * 1024
        )
        await producer.start()
        events: Iterator[SimEvent] = TrafficGenerator(
            start=SIM_START, seed=7, rate=self.sim_rate
        ).events()
        started = time.monotonic()
        try:
            while (elapsed := time.monotonic() - started) < seconds and alive():
                due = int(elapsed * self.rate) - self.produced
                futures = []
                for _ in range(max(0, due)):
                    event = next(events)
                    futures.append(
                        await producer.send(
                            self.prefix + event.topic,
                            orjson.dumps(event.value),
                            key=event.key.encode(),
                        )
                    )
                results = await asyncio.gather(*futures, return_exceptions=True)
                self.errors += sum(isinstance(r, BaseException) for r in results)
                self.produced += len(futures)
                await asyncio.sleep(0.1)
        finally:
            await producer.stop()


def start_worker(
    bootstrap: str, prefix: str, workdir: Path, ticket_memory_days: float
) -> tuple[subprocess.Popen[bytes], int, Path]:
    port = free_port()
    log_path = workdir / "worker.log"
    env = {
        **os.environ,
        "CCKPI_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CCKPI_TOPIC_PREFIX": prefix,
        "CCKPI_APP_ID": prefix.rstrip("."),
        "CCKPI_WEB_PORT": str(port),
        "CCKPI_DATA_DIR": str(workdir / "data"),
        "CCKPI_CONFIG": str(CONFIG),
        "CCKPI_TICKET_MEMORY_DAYS": str(ticket_memory_days),
    }
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port, log_path


def wait_for(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"soak: timed out after {timeout:.0f} s waiting for {what}")


def print_table(samples: list[Sample], rate: float) -> None:
    print(
        f"{'t (s)':>7} {'produced':>10} {'classified':>11} {'ev/s':>8} {'lag':>8} "
        f"{'worker RSS MiB':>15} {'broker RSS MiB':>15}"
    )
    previous: Sample | None = None
    for s in samples:
        speed = (
            (s.counted - previous.counted) / (s.seconds - previous.seconds)
            if previous and s.seconds > previous.seconds
            else 0.0
        )
        print(
            f"{s.seconds:7.0f} {s.produced:10d} {s.counted:11.0f} {speed:8.0f} {s.lag:8.0f} "
            f"{s.rss_mib:15.1f} {s.broker_rss_mib:15.1f}"
        )
        previous = s


def verdict(
    samples: list[Sample], rate: float, max_rss_slope: float, lag_seconds: float, final: Sample
) -> bool:
    """Print the verdict; True when memory is flat, lag bounded and the worker kept up."""
    tail = [s for s in samples if s.seconds >= samples[-1].seconds / 3]
    rss_slope = slope([(s.seconds / 60, s.rss_mib) for s in tail])
    max_lag = max((s.lag for s in tail), default=0.0)
    lag_limit = rate * lag_seconds
    lag_slope = slope([(s.seconds / 60, s.lag) for s in tail])
    kept_up = final.counted >= final.produced
    memory_ok = rss_slope <= max_rss_slope
    lag_ok = max_lag <= lag_limit
    print()
    print(
        f"memory: RSS slope over the last 2/3 = {rss_slope:+.2f} MiB/min "
        f"(limit {max_rss_slope:.2f}); {tail[0].rss_mib:.1f} -> {tail[-1].rss_mib:.1f} MiB: "
        f"{'FLAT' if memory_ok else 'GROWING'}"
    )
    print(
        f"lag: max over the last 2/3 = {max_lag:.0f} messages (limit {lag_limit:.0f} = "
        f"{lag_seconds:.0f} s of traffic), slope {lag_slope:+.0f} messages/min: "
        f"{'BOUNDED' if lag_ok else 'UNBOUNDED'}"
    )
    print(
        f"throughput: produced {final.produced}, classified {final.counted:.0f} after the "
        f"feed stopped: {'KEPT UP' if kept_up else 'FELL BEHIND'}"
    )
    ok = memory_ok and lag_ok and kept_up
    print(f"verdict: {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0, help="run length (default 10)")
    parser.add_argument("--rate", type=float, default=2000.0, help="events per wall second")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument(
        "--sim-rate",
        type=float,
        default=1.0,
        help="events per simulated second: rate / sim-rate simulated seconds pass per wall "
        "second (default: about one simulated day per 43 s at 2,000/s)",
    )
    parser.add_argument("--ticket-memory-days", type=float, default=1.0)
    parser.add_argument(
        "--max-rss-slope",
        type=float,
        default=2.0,
        help="MiB per minute allowed (default 2: about 17 bytes per event at 2,000/s)",
    )
    parser.add_argument(
        "--max-lag-seconds", type=float, default=5.0, help="lag allowed, in seconds of traffic"
    )
    parser.add_argument("--bootstrap", default=None, help="use this broker instead of Tansu")
    args = parser.parse_args(argv)

    duration = args.minutes * 60
    prefix = f"soak-{uuid.uuid4().hex[:8]}."
    workdir = Path(tempfile.mkdtemp(prefix="cckpi-soak-"))
    broker: EmbeddedBroker | None = None
    if args.bootstrap is None:
        broker = EmbeddedBroker(free_port(), log=workdir / "tansu.log").start()
        bootstrap = broker.bootstrap_servers
    else:
        bootstrap = args.bootstrap
    worker: subprocess.Popen[bytes] | None = None
    try:
        settings = load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
        asyncio.run(declare_topics(settings))
        worker, port, log_path = start_worker(bootstrap, prefix, workdir, args.ticket_memory_days)
        print(
            f"soak: {args.minutes:g} min at {args.rate:g} events/s through one worker "
            f"(pid {worker.pid}, log {log_path}) on {bootstrap}",
            flush=True,
        )
        wait_for(lambda: "assigned" in log_path.read_text(errors="replace"), 120, "assignment")
        samples = run(args, bootstrap, prefix, worker, port, broker, duration)
        drained = drain(worker, port, broker, samples)
        print()
        print_table(samples, args.rate)
        ok = verdict(samples, args.rate, args.max_rss_slope, args.max_lag_seconds, drained)
        return 0 if ok else 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if broker is not None:
            broker.stop()


def _sample(
    started: float,
    produced: int,
    worker: subprocess.Popen[bytes],
    port: int,
    broker: EmbeddedBroker | None,
) -> Sample:
    sums = scrape(port)
    broker_pid = broker.process.pid if broker and broker.process else None
    return Sample(
        seconds=time.monotonic() - started,
        produced=produced,
        counted=sum(sums.get(name, 0.0) for name in COUNTERS),
        lag=sums.get("cc_consumer_lag_messages", 0.0),
        rss_mib=rss_mib(worker.pid),
        broker_rss_mib=rss_mib(broker_pid) if broker_pid else 0.0,
    )


def run(
    args: argparse.Namespace,
    bootstrap: str,
    prefix: str,
    worker: subprocess.Popen[bytes],
    port: int,
    broker: EmbeddedBroker | None,
    duration: float,
) -> list[Sample]:
    feed = Feed(bootstrap, prefix, args.rate, args.sim_rate)
    samples: list[Sample] = []

    async def sampler(started: float) -> None:
        while True:
            sample = _sample(started, feed.produced, worker, port, broker)
            samples.append(sample)
            print(
                f"  t={sample.seconds:5.0f} s produced={sample.produced} "
                f"classified={sample.counted:.0f} lag={sample.lag:.0f} "
                f"rss={sample.rss_mib:.1f} MiB",
                flush=True,
            )
            await asyncio.sleep(args.interval)

    async def both() -> None:
        started = time.monotonic()
        task = asyncio.create_task(sampler(started))
        try:
            await feed.run(duration, lambda: worker.poll() is None)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        samples.append(_sample(started, feed.produced, worker, port, broker))

    asyncio.run(both())
    if worker.poll() is not None:
        raise SystemExit(f"soak: the worker exited with code {worker.returncode}")
    if feed.errors:
        print(f"soak: {feed.errors} sends failed", flush=True)
    return samples


def drain(
    worker: subprocess.Popen[bytes], port: int, broker: EmbeddedBroker | None, samples: list[Sample]
) -> Sample:
    """Wait (up to a minute) for the worker to classify everything produced."""
    last = samples[-1]
    started = time.monotonic() - last.seconds
    deadline = time.monotonic() + 60
    final = last
    while time.monotonic() < deadline:
        final = _sample(started, last.produced, worker, port, broker)
        if final.counted >= last.produced:
            break
        time.sleep(1)
    return final


if __name__ == "__main__":
    sys.exit(main())
