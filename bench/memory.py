"""Memory: peak RSS of a worker holding 35 days of windows for 5,000 agents and 200 queues."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    fetch,
    gauge,
    log,
    metrics_url,
    proc_status,
    produce_contacts,
    topic_size,
)
from bench.synthetic import Shape
from bench.throughput import cckpi_pipeline

DAYS = 35
SHAPE = Shape(teams=10, queues=200, agents=5000)
START = datetime(2026, 3, 2, tzinfo=UTC)
"""35 days from here end on 2026-04-06: two calendar months (current and previous)."""


def memory(bootstrap: str, prefix: str, workdir: Path, events: int, seed: int) -> dict[str, Any]:
    settings, produced, types = produce_contacts(
        bootstrap, prefix, START.timestamp(), DAYS, events, SHAPE, seed
    )
    answered = types["contact.answered"]
    log(f"memory: {produced:,} events produced; folding with 40 days of grace")
    grace = {"CCKPI_GRACE_SECONDS": str(40 * 86400)}
    rate, timings, worker = cckpi_pipeline(
        bootstrap,
        prefix,
        workdir,
        produced,
        interval=0.25,
        extra_env=grace,
        keep=True,
        via="offsets",
    )
    assert worker.process is not None
    pid = worker.process.pid
    url = metrics_url(worker.port)
    merged = False
    months: list[float | None] = []
    scrape_seconds = float("nan")
    scrape_bytes = samples = 0
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not merged:
            began = time.monotonic()
            text = fetch(url, timeout=60) or ""
            scrape_seconds = time.monotonic() - began
            months = [
                gauge(text, "cc_contacts_answered", period="month", window=window)
                for window in ("current", "previous")
            ]
            merged = sum(m or 0.0 for m in months) == answered
            scrape_bytes = len(text)
            samples = sum(1 for line in text.splitlines() if line and line[0] != "#")
            if not merged:
                time.sleep(2.0)
        status = proc_status(pid)
    finally:
        worker.stop()
    partial_records, partial_bytes = asyncio.run(
        topic_size(bootstrap, settings.topic("cc.internal.partials"))
    )
    return {
        "events": produced,
        "days": DAYS,
        "agents": SHAPE.agents,
        "queues": SHAPE.queues,
        "merged": merged,
        "answered_expected": answered,
        "answered_month_gauges": months,
        "peak_rss_bytes": status.get("VmHWM", 0),
        "rss_bytes": status.get("VmRSS", 0),
        "fold_rate": rate.rate,
        "partials_records": partial_records,
        "partials_bytes": partial_bytes,
        "scrape_seconds": scrape_seconds,
        "scrape_bytes": scrape_bytes,
        "scrape_samples": samples,
        "redelivered": timings["redelivered"],
    }
