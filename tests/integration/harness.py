"""Test harness for integration tests: a real worker process, real broker, real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from streams.broker import free_port
from streams.lifecycle import die_with_parent
from streams.topics import read_all


class WorkerProcess:
    """``cckpi worker`` in a subprocess with its own topic prefix, app id and web port."""

    def __init__(
        self,
        bootstrap: str,
        prefix: str,
        workdir: Path,
        config: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log_path = workdir / f"worker-{self.port}.log"
        self.env = {
            **os.environ,
            "CCKPI_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CCKPI_TOPIC_PREFIX": prefix,
            "CCKPI_APP_ID": prefix.rstrip(".") or "cckpi",
            "CCKPI_WEB_PORT": str(self.port),
            "CCKPI_DATA_DIR": str(workdir / f"data-{self.port}"),
            "CCKPI_PUBLISH_INTERVAL_SECONDS": "0.5",
            **(extra_env or {}),
        }
        if config is not None:
            self.env["CCKPI_CONFIG"] = str(config)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "worker"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),  # no orphan worker if the test run is killed
            )
        return self

    def stop(self, kill: bool = False) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process, signal.SIGKILL if kill else signal.SIGTERM, 30)

    def metrics_text(self) -> str:
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.read().decode()

    def samples(self) -> list[tuple[str, dict[str, str], float]]:
        try:
            text = self.metrics_text()
        except OSError:
            return []
        return [
            (s.name, s.labels, s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        ]

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def terminate(
    process: subprocess.Popen[bytes], sig: int = signal.SIGTERM, grace: float = 20
) -> None:
    """Send ``sig`` to a running process and wait; SIGKILL it after ``grace`` seconds."""
    if process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.5) -> Any:
    """Poll until ``check()`` is truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


def metric_sum(
    samples: Iterable[tuple[str, dict[str, str], float]], name: str, **labels: str
) -> float:
    return sum(
        value
        for n, lab, value in samples
        if n == name and all(lab.get(k) == v for k, v in labels.items())
    )


async def produce(
    bootstrap: str,
    messages: Iterable[tuple[str, bytes | None, bytes, int | None]],
) -> None:
    """Send ``(topic, key, value, partition)`` messages in order and wait for every ack."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=512 * 1024)
    await producer.start()
    try:
        futures = []
        for topic, key, value, partition in messages:
            futures.append(await producer.send(topic, value, key=key, partition=partition))
            if len(futures) >= 5000:
                await asyncio.gather(*futures)
                futures.clear()
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def read_topic(
    bootstrap: str, topic: str, idle: float = 2.0
) -> list[tuple[bytes | None, Any]]:
    """Every record of a topic from the beginning, JSON-decoded."""
    records = await read_all({"bootstrap_servers": bootstrap}, topic, idle)
    return [(key, orjson.loads(value)) for key, value in records if value is not None]
