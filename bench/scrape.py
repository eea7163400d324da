"""/metrics on the memory scenario's state: ``python -m bench.scrape`` (no broker).

Builds the state of ``python -m bench.state`` (35 days, 5,000 agents, 200 queues,
grace 40 days) in-process and measures, in one event loop with a task that
notes how late its 1 ms sleeps wake up (the loop's lag, what ingest would wait):

- per scrape as before: ``generate_latest`` of the registry, the KPI collector
  whole, run on the loop;
- the cached exposition (streams.output.exposition): the first scrape (nothing
  cached: it renders in one go), a background render after a change of the
  state, then scrapes of the cache; the same with
  ``CCKPI_METRICS_AGENT_KPIS`` = ``none`` and a list of two KPIs;
- then the memory both allocate at their peak (tracemalloc, which slows them).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, generate_latest

from bench.common import CONFIG
from bench.state import partial_headers
from streams.output.exposition import COST_FACTOR, Exposition, parse_agent_kpis
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings


class Lag:
    """A task sleeping 1 ms at a time: the longest it waited beyond that."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            self.worst = max(self.worst, time.perf_counter() - began - 0.001)

    def start(self) -> None:
        self.worst = 0.0
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        return self.worst


async def timed(lag: Lag, action: Callable[[], Awaitable[Any]]) -> tuple[float, float, float, Any]:
    """Wall seconds, CPU seconds and worst loop lag of one awaited action."""
    await asyncio.sleep(0.01)
    lag.start()
    await asyncio.sleep(0.005)
    wall, cpu = time.perf_counter(), time.process_time()
    result = await action()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await asyncio.sleep(0.005)
    return wall, cpu, await lag.stop(), result


def samples_of(body: bytes) -> int:
    return sum(1 for line in body.splitlines() if line and not line.startswith(b"#"))


async def measure(runtime: Runtime, scrapes: int) -> dict[str, Any]:
    lag = Lag()
    out: dict[str, Any] = {}

    async def per_scrape() -> bytes:
        return generate_latest(runtime.registry)

    wall, cpu, worst, body = await timed(lag, per_scrape)
    out["per_scrape"] = {
        "seconds": wall,
        "cpu_seconds": cpu,
        "loop_lag_seconds": worst,
        "bytes": len(body),
        "samples": samples_of(body),
    }
    print(
        f"per scrape (before): {wall:.2f} s ({cpu:.2f} s CPU), loop stalled {worst:.2f} s, "
        f"{len(body) / 2**20:.1f} MB, {samples_of(body):,} samples"
    )
    reference = body
    filters = {"all": "all", "none": "none", "two": "contacts_answered,average_handle_time_seconds"}
    for name, setting in filters.items():
        runtime.registry.unregister(runtime.exposition._deferred)  # noqa: SLF001 - one per run
        runtime.exposition = exposition = Exposition(
            runtime.registry,
            runtime.merger,
            runtime.book,
            lambda: True,
            parse_agent_kpis(setting),
        )
        began = time.perf_counter()
        await exposition.scrape()  # nothing cached: this one renders in one go
        first = time.perf_counter() - began
        await asyncio.sleep(COST_FACTOR * exposition.last_render_cpu)  # then paced by cost
        rendered = exposition.renders

        async def change(exposition: Exposition = exposition, rendered: int = rendered) -> None:
            exposition.changed()
            while exposition.renders == rendered:
                await asyncio.sleep(0.001)

        wall, cpu, worst, _ = await timed(lag, change)
        times = []
        body = b""
        for _ in range(scrapes):
            began = time.perf_counter()
            body = await exposition.scrape()
            times.append(time.perf_counter() - began)
        if name == "all":
            assert body == reference, "the cached exposition differs from generate_latest"
        out[name] = {
            "setting": setting,
            "first_scrape_seconds": first,
            "render_seconds": wall,
            "render_cpu_seconds": cpu,
            "render_loop_lag_seconds": worst,
            "scrape_seconds_median": statistics.median(times),
            "scrape_seconds_max": max(times),
            "bytes": len(body),
            "samples": samples_of(body),
        }
        print(
            f"cached, agent KPIs {setting}: first scrape (renders in one go) {first:.2f} s; "
            f"background render {wall:.2f} s ({cpu:.2f} s CPU), worst loop "
            f"lag {worst * 1000:.0f} ms; scrape median {statistics.median(times) * 1000:.1f} "
            f"ms, max {max(times) * 1000:.1f} ms; {len(body) / 2**20:.1f} MB, "
            f"{samples_of(body):,} samples"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scrape", description=__doc__)
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--scrapes", type=int, default=20)
    parser.add_argument("--json", type=str, default=None, help="write the figures here")
    args = parser.parse_args(argv)
    settings = load_settings(config=CONFIG, grace_seconds=40 * 86400)
    runtime = Runtime(settings)
    runtime.publisher = True
    headers, _sizes = partial_headers(runtime, args.events, args.seed, args.batch)
    for source, header in headers:
        runtime.merger.apply(source, orjson.loads(header))
    runtime.merger.take_dirty()
    figures = asyncio.run(measure(runtime, args.scrapes))
    runtime.exposition = Exposition(
        CollectorRegistry(), runtime.merger, runtime.book, lambda: True, None
    )
    for name, action in (
        ("per_scrape", lambda: generate_latest(runtime.registry)),
        ("render", runtime.exposition.render_now),
    ):
        tracemalloc.start()
        body = action()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        figures[name if name == "per_scrape" else "all"]["peak_bytes"] = peak
        print(
            f"{name}: {peak / 2**20:.0f} MB allocated at the peak (tracemalloc), "
            f"result {len(body) / 2**20:.1f} MB"
        )
        del body
    if args.json:
        with open(args.json, "wb") as file:
            file.write(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
