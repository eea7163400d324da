"""Screenshots of the board and the wallboard for docs/ and the README.

    .venv/bin/python -m tests.web.screenshots [--out docs]

Starts an embedded broker and a worker with deploy/cckpi.yaml, sends about
fifteen weeks of simulated traffic (thin, so months and weeks close) and one
busy day after it, waits for the history, and photographs the board at
1280 px and the wallboard at 1920 px with Debian's chromium. Stops everything.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import orjson
from playwright.sync_api import sync_playwright

from streams.broker import EmbeddedBroker, free_port
from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, wait_until
from tests.web.test_board import CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    thin = simulate_batch(datetime(2026, 8, 3, tzinfo=UTC), seed=5, count=45500, rate=0.005)
    busy = simulate_batch(datetime(2026, 11, 17, 6, tzinfo=UTC), seed=6, count=50000, rate=0.45)
    with tempfile.TemporaryDirectory() as scratch, EmbeddedBroker(free_port()) as broker:
        prefix = "shots."
        config = ROOT / "deploy" / "cckpi.yaml"
        worker = WorkerProcess(broker.bootstrap_servers, prefix, Path(scratch), config=config)
        worker.start()
        try:
            wait_until(lambda: worker.samples(), 120, "the worker")
            messages = [
                (prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None)
                for e in [*thin, *busy]
            ]
            asyncio.run(produce(broker.bootstrap_servers, messages))
            wait_until(lambda: counted(worker) >= len(messages), 600, "the events", interval=3)
            base = f"http://127.0.0.1:{worker.port}"
            wait_until(lambda: settled(base), 600, "targets and a settled history", interval=5)
            shoot(base, args.out)
        finally:
            worker.stop()


def counted(worker: WorkerProcess) -> float:
    samples = worker.samples()
    return sum(
        metric_sum(samples, name)
        for name in (
            "cc_events_total",
            "cc_events_invalid_total",
            "cc_events_duplicate_total",
            "cc_events_late_total",
        )
    )


_last_windows = [-1]


def settled(base: str) -> bool:
    """Targets evaluated, and the history unchanged since the last look."""
    with urllib.request.urlopen(base + "/api/v1/meta", timeout=10) as r:  # noqa: S310
        windows = json.loads(r.read())["history"]["windows"]
    with urllib.request.urlopen(base + "/api/v1/targets", timeout=10) as r:  # noqa: S310
        targets = json.loads(r.read())["targets"]
    stable, _last_windows[0] = windows == _last_windows[0], windows
    return bool(targets) and windows > 0 and stable


def shoot(base: str, out: Path) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            for name, path, width, height in (
                ("board", "/?period=day", 1280, 900),
                ("wallboard", "/?wall=1", 1920, 1080),
            ):
                page = browser.new_page(viewport={"width": width, "height": height})
                page.goto(base + path)
                page.wait_for_function("() => !!document.body.dataset.updated", timeout=30000)
                if name == "board":
                    page.wait_for_function(
                        "() => document.querySelectorAll('#agent-trend svg').length > 0",
                        timeout=30000,
                    )
                page.wait_for_timeout(3000)
                page.screenshot(path=str(out / f"{name}.png"), full_page=name == "board")
                print(f"wrote {out / f'{name}.png'}")
                page.close()
        finally:
            browser.close()


if __name__ == "__main__":
    main()
