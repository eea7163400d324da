"""``python -m bench`` (``make bench``): cckpi's performance, side by side, in one run.

One embedded broker, the same events for every contender, ratios printed:
throughput (raw ceiling, full pipeline, Faust baseline), the same throughput
rows on Apache Kafka beside it, freshness, memory and restart, then every goal
of issue 5 with PASS or MISS. The machine is shared and
noisy: compare the ratios of one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, log, unique_prefix
from streams.broker import EmbeddedBroker, free_port

SECTIONS = (
    "throughput",
    "baseline",
    "kafka",
    "freshness",
    "memory",
    "restart",
    "ingest",
    "import",
)
GOALS = {
    "raw": 0.5,  # full pipeline >= 0.5 x raw consumer
    "faust": 20.0,  # full pipeline >= 20 x the Faust baseline
    "fresh_p99_s": 2.0,
    "peak_rss_mb": 500.0,
    "restart_s": 10.0,
    "ingest_rate": 2000.0,  # Chatwoot deliveries/s sustained by one ingest process
    "ingest_p99_ms": 100.0,
}
GOALS_16 = {
    "raw": 1.0,  # full pipeline >= 1.0 x raw consumer (issue 16)
    "faust": 40.0,  # full pipeline >= 40 x the Faust baseline (issue 16)
    "fold_us": 3.0,  # fold alone, after decoding, in-process: <= 3 us of CPU per event
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="events for throughput")
    parser.add_argument(
        "--skip",
        default="",
        help=f"comma-separated sections to skip: {','.join(SECTIONS)}",
    )
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--faust-events", type=int, default=30_000, help="Faust baseline cap")
    parser.add_argument("--faust-seconds", type=float, default=30.0, help="Faust baseline cap")
    parser.add_argument("--fresh-rate", type=float, default=5000.0, help="events/s, freshness")
    parser.add_argument("--fresh-seconds", type=float, default=20.0)
    parser.add_argument("--memory-events", type=int, default=300_000)
    parser.add_argument("--restart-events", type=int, default=1_000_000)
    parser.add_argument("--ingest-seconds", type=float, default=10.0, help="per ingest load")
    parser.add_argument("--ingest-rate", type=float, default=2000.0, help="deliveries/s offered")
    parser.add_argument("--import-lines", type=int, default=1_000_000, help="queue_log import")
    parser.add_argument("--workdir", type=Path, default=None, help="logs and results.json")
    args = parser.parse_args(argv)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = args.skip - set(SECTIONS)
    if unknown:
        parser.error(f"unknown section(s) {sorted(unknown)}; choose from {','.join(SECTIONS)}")
    return args


def fmt(value: float | None, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:,.{digits}f}"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join("  " + line for line in lines)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    engine = "unknown"
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "streams"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        engine = head + (" + uncommitted changes in streams/" if dirty else "")
    except OSError:
        pass
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "engine": engine,
        "cores": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


# ---------------------------------------------------------------- sections


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def run_throughput(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench.throughput import (
        cckpi_pipeline,
        cckpi_workers,
        decode_only,
        faust_baseline,
        fold_only,
        make_dataset,
        produce_for_cckpi,
        raw_ceiling,
        raw_confluent,
    )

    log(f"throughput: simulating {args.events:,} events")
    dataset = make_dataset(args.events, args.seed)
    prefixes = unique_prefix("tput"), unique_prefix("tput-m"), unique_prefix("tput-2")
    started = time.monotonic()
    for prefix in prefixes:  # one copy per cckpi run: each starts from an empty state
        produce_for_cckpi(bootstrap, prefix, dataset)
    log(f"throughput: produced 3 copies in {time.monotonic() - started:.1f} s; raw consumer")
    raw = [raw_ceiling(bootstrap, prefixes[0], len(dataset))]
    runs = []
    for prefix, via, interval in ((prefixes[0], "offsets", 0.1), (prefixes[1], "metrics", 0.2)):
        log(f"throughput: cckpi worker, progress from {via} (start-up and group join excluded)")
        rate, timings, _ = cckpi_pipeline(
            bootstrap, prefix, workdir, len(dataset), dataset.unique, interval, via=via
        )
        runs.append((rate, timings))
    log("throughput: two cckpi workers of one app (timed once the rebalance settled)")
    pair, pair_timings = cckpi_workers(bootstrap, prefixes[2], workdir, len(dataset))
    log("throughput: raw consumer again (noise check)")
    raw.append(raw_ceiling(bootstrap, prefixes[0], len(dataset)))
    log("throughput: raw consumer + validation only")
    validated = raw_ceiling(bootstrap, prefixes[0], len(dataset), validate=True)
    log("throughput: raw consumer, records only (reading)")
    read_only = raw_ceiling(bootstrap, prefixes[0], len(dataset), parse=False)
    log("throughput: raw confluent-kafka consumer + json.loads")
    confluent = raw_confluent(bootstrap, prefixes[0], len(dataset))
    log("throughput: fold only, in-process")
    fold = fold_only(dataset)
    decode = decode_only(dataset)
    baseline = None
    if "baseline" not in args.skip:
        log(
            f"throughput: Faust baseline (first {args.faust_events:,} events "
            f"or {args.faust_seconds:.0f} s)"
        )
        baseline, faust_timings = faust_baseline(
            bootstrap, dataset, workdir, args.faust_events, args.faust_seconds
        )
        out["faust_timings"] = faust_timings
    best = max(raw, key=lambda r: r.rate or 0.0)
    (pipeline, timings), (scraped, scraped_timings) = runs
    b = baseline.rate if baseline else None
    out.update(
        events=len(dataset),
        unique=dataset.unique,
        types=dict(dataset.types),
        raw=[vars(r) for r in raw],
        pipeline=vars(pipeline),
        pipeline_timings=timings,
        pipeline_scraped=vars(scraped),
        pipeline_scraped_timings=scraped_timings,
        fold=vars(fold),
        validated=vars(validated),
        read_only=vars(read_only),
        confluent=vars(confluent),
        decode=vars(decode),
        stages=stage_breakdown(pipeline, timings, len(dataset), read_only, decode),
        ratio_validated_raw=_ratio(validated.rate, best.rate),
        baseline=vars(baseline) if baseline else None,
        ratio_raw=_ratio(pipeline.rate, best.rate),
        ratio_faust=_ratio(pipeline.rate, b),
        ratio_raw_scraped=_ratio(scraped.rate, best.rate),
        ratio_faust_scraped=_ratio(scraped.rate, b),
        pair=vars(pair),
        pair_timings=pair_timings,
        ratio_raw_pair=_ratio(pair.rate, best.rate),
        ratio_faust_pair=_ratio(pair.rate, b),
        cpu_ratio_raw=_ratio(best.cpu_us, pipeline.cpu_us),
        cpu_ratio_faust=_ratio(baseline.cpu_us if baseline else None, pipeline.cpu_us),
    )
    raw_note = "best of 2 runs: " + " / ".join(fmt(x.rate) for x in raw)

    def busy(timing: dict[str, float], who: str) -> str:
        if "machine_cores" not in timing:
            return ""
        return (
            f"; cores busy: {who} {timing['worker_cores']:.2f}, "
            f"machine {timing['machine_cores']:.2f} of {os.cpu_count()}"
        )

    def note(rate: Any, timing: dict[str, float]) -> str:
        return rate.note or (
            f"start-up + group joins ({timing['first_counted_s']:.1f} s) excluded; "
            f"{timing['four_counter_sum']:,.0f} counted, {timing['redelivered']:,.0f} redelivered"
            + busy(timing, "worker")
        )

    rows = [
        ["(1)", best.name, fmt(best.rate), fmt(best.cpu_us, 1), raw_note],
        [
            "(2)",
            pipeline.name,
            fmt(pipeline.rate),
            fmt(pipeline.cpu_us, 1),
            note(pipeline, timings),
        ],
        [
            "(2')",
            scraped.name,
            fmt(scraped.rate),
            fmt(scraped.cpu_us, 1),
            note(scraped, scraped_timings)
            + f"; {scraped_timings['scrapes']} scrapes of {scraped_timings['scrape_mean_s']:.3f} s",
        ],
    ]
    rows.append(
        [
            "(2x2)",
            pair.name,
            fmt(pair.rate),
            fmt(pair.cpu_us, 1),
            pair.note
            or (
                f"rebalance settled after {pair_timings['settled_s']:.1f} s, excluded; "
                f"{pair_timings['four_counter_sum']:,.0f} counted" + busy(pair_timings, "workers")
            ),
        ]
    )
    if baseline:
        rows.append(
            ["(3)", baseline.name, fmt(baseline.rate), fmt(baseline.cpu_us, 1), baseline.note]
        )
    rows.append(["( )", fold.name, fmt(fold.rate), fmt(fold.cpu_us, 1), "PartitionState.fold only"])
    rows.append(
        [
            "(1v)",
            validated.name,
            fmt(validated.rate),
            fmt(validated.cpu_us, 1),
            f"{fmt(out['ratio_validated_raw'], 2)}x of (1): the floor of any validating pipeline",
        ]
    )
    rows.append(
        [
            "(1r)",
            read_only.name,
            fmt(read_only.rate),
            fmt(read_only.cpu_us, 1),
            "what reading alone costs (aiokafka's fetch and record building)",
        ]
    )
    rows.append(
        [
            "(1c)",
            confluent.name,
            fmt(confluent.rate),
            fmt(confluent.cpu_us, 1),
            confluent.note or f"{fmt(_ratio(confluent.rate, best.rate), 2)}x of (1)",
        ]
    )
    rows.append(
        ["( )", decode.name, fmt(decode.rate), fmt(decode.cpu_us, 1), "Decoder.decode_timed only"]
    )
    print()
    print(f"Throughput: {len(dataset):,} simulated events on 5 topics x 4 partitions, one broker")
    print(table(rows, ["", "measurement", "events/s", "CPU us/event", "note"]))
    ratio_raw, ratio_faust = out["ratio_raw"], out["ratio_faust"]
    print(
        f"  ratio (2)/(1) = {fmt(ratio_raw, 2)}x   (goal >= {GOALS['raw']}x)  "
        f"{verdict(ratio_raw >= GOALS['raw'] if ratio_raw else None)}"
        f"   [(2')/(1) {fmt(out['ratio_raw_scraped'], 2)}x; "
        f"(2x2)/(1) {fmt(out['ratio_raw_pair'], 2)}x; "
        f"CPU-time ratio {fmt(out['cpu_ratio_raw'], 2)}x]"
    )
    if baseline:
        print(
            f"  ratio (2)/(3) = {fmt(ratio_faust, 1)}x   (goal >= {GOALS['faust']:.0f}x)  "
            f"{verdict(ratio_faust >= GOALS['faust'] if ratio_faust else None)}"
            f"   [(2')/(3) {fmt(out['ratio_faust_scraped'], 1)}x; "
            f"(2x2)/(3) {fmt(out['ratio_faust_pair'], 1)}x; "
            f"CPU-time ratio {fmt(out['cpu_ratio_faust'], 1)}x]"
        )
    print(
        "  rates: from the first poll that saw progress to the poll that saw all of it; what\n"
        "  the first poll already saw is left out. (2) polls the ingest group's committed\n"
        "  offsets every 0.1 s (the worker is not asked); (2') polls the worker's /metrics\n"
        "  every 0.2 s for the four event counters, as issue 5 describes: each scrape runs on\n"
        "  the worker's event loop, so (2') includes that cost. CPU us/event: the process's\n"
        "  user+system time over the same span. Both runs check all four counters at the end."
    )
    print()
    print("CPU us/event of (2) by stage (one run: the worker's stage counters, (1r), decode)")
    print(table(out["stages"]["rows"], ["stage", "CPU us/event", "measured as"]))
    print()


def stage_breakdown(
    pipeline: Any, timings: dict[str, float], events: int, read: Any, decode: Any
) -> dict[str, Any]:
    """(2)'s CPU per event split by stage: reading from (1r) and validation from the
    in-process decode (the worker cannot time them apart from the rest without a clock
    read per event), the rest from the worker's own ``cc_stage_cpu_seconds_total``
    (whole run / events), and what no stage holds (Faust, producer, fetcher, loop)."""
    figures: dict[str, float | None] = {
        "read": read.cpu_us,
        "decode": decode.cpu_us,
    }
    worker = {
        stage: timings[f"stage_{stage}_cpu_s"] / events * 1e6
        for stage in ("fold", "partials", "merge", "publish", "metrics")
        if f"stage_{stage}_cpu_s" in timings
    }
    if "fold" in worker and decode.cpu_us is not None:
        worker["fold"] -= decode.cpu_us
    figures.update(worker)
    known = [v for v in figures.values() if v is not None]
    total = pipeline.cpu_us
    figures["rest"] = total - sum(known) if total is not None and known else None
    how = {
        "read": "(1r): raw aiokafka reading the same events, no parsing",
        "decode": "Decoder.decode_timed of the same events in-process (pydantic + timestamps)",
        "fold": "worker: PartitionState.fold per batch, minus decode",
        "partials": "worker: encode_partial per batch",
        "merge": "worker: merging the partials read back",
        "publish": "worker: building + partitioning aggregate records",
        "metrics": "worker: rendering the KPI gauges (only while /metrics is scraped)",
        "rest": "(2)'s CPU us/event minus the above: Faust, producer, fetcher, the loop",
    }
    rows = [[stage, fmt(value, 2), how[stage]] for stage, value in figures.items()]
    rows.append(["total", fmt(total, 2), "(2): the worker's CPU over the timed span"])
    return {"us_per_event": figures, "total": total, "rows": rows}


def run_freshness(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench.freshness import freshness

    log("freshness: starting a worker")
    result = freshness(
        bootstrap, unique_prefix("fresh"), workdir, args.fresh_rate, args.fresh_seconds
    )
    out.update(result)
    print()
    print(
        f"Freshness: {result['offered_rate']:,.0f} events/s for {args.fresh_seconds:.0f} s "
        f"(occurred_at = now), a marker every 0.5 s, /metrics scraped every "
        f"{result['scrape_interval_s']} s"
    )
    rows = [
        ["markers seen", f"{result['markers_seen']} of {result['markers']}"],
        ["produce -> /metrics p50", f"{result['p50_s']:.3f} s"],
        ["produce -> /metrics p99", f"{result['p99_s']:.3f} s"],
        ["min / max", f"{result['min_s']:.3f} / {result['max_s']:.3f} s"],
        ["produce -> broker ack p50", f"{result['ack_p50_s']:.3f} s"],
        ["one /metrics scrape p50", f"{result['scrape_p50_s']:.3f} s"],
        ["events judged / sent", f"{result['events_judged']:,.0f} / {result['events_sent']:,}"],
        ["consumer lag at the end", f"{result['lag_at_end']:,.0f} messages"],
    ]
    print(table(rows, ["", "value"]))
    all_seen = result["markers_seen"] == result["markers"]
    print(
        f"  goal p99 < {GOALS['fresh_p99_s']} s: "
        f"{verdict(result['p99_s'] < GOALS['fresh_p99_s'] and all_seen)}"
        "  (times include up to one scrape interval of polling delay)"
    )
    print()


def run_memory(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench.memory import memory

    log(f"memory: {args.memory_events:,} events, 5,000 agents, 200 queues, 35 days")
    result = memory(bootstrap, unique_prefix("mem"), workdir, args.memory_events, args.seed)
    out.update(result)
    mb = 1024 * 1024
    print()
    print(
        f"Memory: {result['events']:,} contact events over {result['days']} days, "
        f"{result['agents']:,} agents, {result['queues']} queues, grace 40 days (nothing final)"
    )
    rows = [
        ["worker peak RSS (VmHWM)", f"{result['peak_rss_bytes'] / mb:,.0f} MB"],
        ["worker RSS at the end", f"{result['rss_bytes'] / mb:,.0f} MB"],
        ["merged state complete", str(result["merged"])],
        ["fold rate", f"{fmt(result['fold_rate'])} events/s"],
        [
            "partials topic",
            f"{result['partials_records']:,} records, {result['partials_bytes'] / mb:,.1f} MB",
        ],
        [
            "one /metrics scrape",
            f"{result['scrape_seconds']:.2f} s, {result['scrape_samples']:,} samples, "
            f"{result['scrape_bytes'] / mb:,.1f} MB",
        ],
    ]
    print(table(rows, ["", "value"]))
    peak = result["peak_rss_bytes"] / mb
    print(
        f"  goal peak RSS < {GOALS['peak_rss_mb']:.0f} MB: {verdict(peak < GOALS['peak_rss_mb'])}"
    )
    print()


def run_restart(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench.restart import restart

    log(f"restart: {args.restart_events:,} events")
    result = restart(bootstrap, unique_prefix("restart"), workdir, args.restart_events, args.seed)
    out.update(result)
    print()
    print(
        f"Restart: a worker folded {result['events']:,} events "
        f"({fmt(result['first_fold_rate'])} events/s), was SIGKILLed, a new one started"
    )
    dynamic = result["dynamic"]
    rows = [
        ["new process -> /metrics answers", f"{fmt(result['web_up_s'], 2)} s"],
        ["snapshot loaded (while the group joins)", f"{fmt(result.get('snapshot_load_s'), 2)} s"],
        ["new process -> Faust app ready (its group)", f"{fmt(result.get('faust_ready_s'), 2)} s"],
        ["new process -> ingest group joined", f"{fmt(result.get('join_s'), 2)} s"],
        ["then: merger past a barrier, states taken", f"{fmt(result.get('restore_s'), 2)} s"],
        ["new process -> same month KPIs", f"{fmt(result['recovery_s'], 2)} s"],
        ["events folded again after restart", f"{result['refolded_events']:,.0f}"],
        [
            "the same without a static member id",
            f"same KPIs after {fmt(dynamic['recovery_s'], 2)} s "
            f"(group joined {fmt(dynamic.get('join_s'), 2)} s)",
        ],
        [
            "partials topic",
            f"{result['partials_records']:,} records, {result['partials_bytes'] / 2**20:,.1f} MB",
        ],
        ["month KPIs before kill", json.dumps(result["before"])],
        ["month KPIs after restart", json.dumps(result["after"])],
    ]
    print(table(rows, ["", "value"]))
    ok = result["recovered"] and result["recovery_s"] < GOALS["restart_s"]
    print(
        f"  goal back to correct totals < {GOALS['restart_s']:.0f} s: {verdict(ok)}"
        "\n  (with CCKPI_GROUP_INSTANCE_ID, as a StatefulSet pod has: the ingest group hands the"
        "\n  partitions back without waiting out the killed member's session; without it the"
        "\n  join waits that out: the row below the timeline)"
    )
    print()


def run_ingest(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench.ingest import ingest_load

    log(f"ingest: one cckpi ingest process, {args.ingest_seconds:.0f} s per load")
    result = ingest_load(bootstrap, workdir, args.ingest_seconds, args.ingest_rate)
    out.update(result)
    print()
    print(
        f"HTTP ingest: one `cckpi ingest` process, signed Chatwoot message_created deliveries "
        f"({result['body_bytes']:,} bytes) and /events arrays of 100, loopback, "
        f"up to {result['concurrency']} in flight; 200 = broker acknowledged"
    )
    rows = []
    for name, label in (
        ("chatwoot_rate", f"Chatwoot, offered {args.ingest_rate:,.0f}/s"),
        ("chatwoot_max", "Chatwoot, back to back"),
        ("events_max", "/events x100, back to back"),
    ):
        r = result[name]
        rows.append(
            [
                label,
                fmt(r["requests_per_s"]),
                fmt(r["events_per_s"]),
                f"{r['p50_ms']:.1f}",
                f"{r['p99_ms']:.1f}",
                f"{r['service_cores']:.2f} / {r['client_cores']:.2f}",
                fmt(r["service_cpu_us"]),
                fmt(r["broker_ack_mean_ms"], 1),
                str(sum(r["failures"].values())),
            ]
        )
    print(
        table(
            rows,
            [
                "load",
                "requests/s",
                "events/s",
                "p50 ms",
                "p99 ms",
                "cores svc/client",
                "svc CPU us/req",
                "ack wait ms",
                "non-200",
            ],
        )
    )
    r = result["chatwoot_rate"]
    ok = r["requests_per_s"] >= 0.98 * GOALS["ingest_rate"] and r["p99_ms"] < GOALS["ingest_p99_ms"]
    print(
        f"  goal {GOALS['ingest_rate']:,.0f} deliveries/s with p99 < "
        f"{GOALS['ingest_p99_ms']:.0f} ms: {verdict(ok and not r['failures'])}"
        "  (client and service share the machine's cores)"
    )
    print(
        "  svc CPU us/req: the service's user+system time per request; 1e6 / it is what one\n"
        "  core of it answers per second when nothing else competes for that core. ack wait:\n"
        "  the mean time a request waited for the broker's acks (the service's own histogram)."
    )
    print()


# ---------------------------------------------------------------- summary


def run_import(
    args: argparse.Namespace, bootstrap: str, workdir: Path, out: dict[str, Any]
) -> None:
    from bench import queue_log_import

    queue_log_import.run(bootstrap, workdir, args.import_lines, out)


def summary(results: dict[str, Any]) -> list[list[str]]:
    rows = []
    good = {k: v for k, v in results.items() if isinstance(v, dict) and "error" not in v}
    tp = good.get("throughput", {})
    ratios = (
        ("ratio_raw", "full pipeline vs raw consumer", "raw", ">= 0.5x", 2),
        ("ratio_raw_scraped", "  same, /metrics polled every 0.2 s (2')", "raw", ">= 0.5x", 2),
        ("ratio_faust", "full pipeline vs Faust baseline", "faust", ">= 20x", 1),
        ("ratio_faust_scraped", "  same, /metrics polled every 0.2 s (2')", "faust", ">= 20x", 1),
        ("ratio_raw_pair", "two workers, one per core, vs raw (2x2)", "raw", ">= 0.5x", 2),
        ("ratio_faust_pair", "two workers, one per core, vs Faust (2x2)", "faust", ">= 20x", 1),
    )
    for key, label, goal, target, digits in ratios:
        if tp.get(key) is not None:
            rows.append([label, target, f"{tp[key]:.{digits}f}x", verdict(tp[key] >= GOALS[goal])])
    for key, label, goal, _target, digits in ratios[0], ratios[2]:
        if tp.get(key) is not None:
            label = label + " (issue 16)"
            ok = tp[key] >= GOALS_16[goal]
            rows.append([label, f">= {GOALS_16[goal]:g}x", f"{tp[key]:.{digits}f}x", verdict(ok)])
    fold, decode = tp.get("fold", {}).get("cpu_us"), tp.get("decode", {}).get("cpu_us")
    if fold is not None and decode is not None:
        after = fold - decode
        rows.append(
            [
                "fold alone after decoding, in-process (issue 16)",
                f"<= {GOALS_16['fold_us']:g} us",
                f"{after:.1f} us",
                verdict(after <= GOALS_16["fold_us"]),
            ]
        )
    fresh = good.get("freshness")
    if fresh:
        ok = fresh["p99_s"] < GOALS["fresh_p99_s"] and fresh["markers_seen"] == fresh["markers"]
        rows.append(
            ["freshness p99 (produce -> /metrics)", "< 2 s", f"{fresh['p99_s']:.2f} s", verdict(ok)]
        )
    mem = good.get("memory")
    if mem:
        peak = mem["peak_rss_bytes"] / 2**20
        rows.append(
            [
                "worker peak RSS, 35 days x 5,000 agents",
                "< 500 MB",
                f"{peak:,.0f} MB",
                verdict(peak < GOALS["peak_rss_mb"]),
            ]
        )
    if mem:
        seconds = mem["scrape_seconds"]
        rows.append(
            [
                "one /metrics scrape, that state (issue 16)",
                "< 0.5 s",
                f"{seconds:.2f} s",
                verdict(seconds < 0.5),
            ]
        )
    rst = good.get("restart")
    if rst:
        value = rst["recovery_s"]
        rows.append(
            [
                "restart to correct totals",
                "< 10 s",
                "never" if value is None else f"{value:.1f} s",
                verdict(value is not None and value < GOALS["restart_s"]),
            ]
        )
    ing = good.get("ingest")
    if ing:
        r = ing["chatwoot_rate"]
        ok = (
            r["requests_per_s"] >= 0.98 * GOALS["ingest_rate"]
            and r["p99_ms"] < GOALS["ingest_p99_ms"]
            and not r["failures"]
        )
        rows.append(
            [
                "ingest: Chatwoot deliveries/s, p99",
                ">= 2,000/s, < 100 ms",
                f"{r['requests_per_s']:,.0f}/s, {r['p99_ms']:.0f} ms",
                verdict(ok),
            ]
        )
    imported = good.get("import")
    if imported:
        rows.append(
            [
                "queue_log import, 10 M lines (issue 12)",
                "< 5 min",
                f"{imported['ten_million_minutes']:.1f} min",
                verdict(imported["goal_met"]),
            ]
        )
    for name, value in results.items():
        if isinstance(value, dict) and "error" in value:
            rows.append([f"{name} section", "", "failed: " + value["error"][:60], "ERROR"])
    return rows


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(f"stopped by signal {signum}")  # unwinds: workers and broker stop


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    signal.signal(signal.SIGTERM, _terminate)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    workdir = args.workdir or REPO / "run" / "bench" / stamp
    workdir.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(
        f"cckpi bench {info['date']}: {info['cores']} cores ({info['cpu']}), Python "
        f"{info['python']}; engine {info['engine']}; logs in {workdir}",
        flush=True,
    )
    results: dict[str, Any] = {
        "machine": info,
        "args": {**vars(args), "skip": sorted(args.skip), "workdir": str(workdir)},
    }
    began = time.monotonic()

    def run_kafka(args: argparse.Namespace, _: str, workdir: Path, out: dict[str, Any]) -> None:
        from bench.kafka import run_kafka

        run_kafka(args, workdir, out, results.get("throughput"))

    runners = {
        "throughput": run_throughput,
        "kafka": run_kafka,
        "freshness": run_freshness,
        "memory": run_memory,
        "restart": run_restart,
        "ingest": run_ingest,
        "import": run_import,
    }
    broker = EmbeddedBroker(free_port(), log=workdir / "tansu.log").start()
    log(f"embedded broker (Tansu) on {broker.bootstrap_servers}")
    failed = False
    try:
        for name, runner in runners.items():
            if name in args.skip:
                continue
            out: dict[str, Any] = {}
            results[name] = out
            try:
                runner(args, broker.bootstrap_servers, workdir, out)
            except Exception as exc:  # one section failing must not hide the others
                failed = True
                out["error"] = repr(exc)
                log(f"{name} FAILED: {exc!r}")
    finally:
        broker.stop()
    results["seconds"] = time.monotonic() - began
    (workdir / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print("Summary (goals of issues 5 and 16)")
    print(table(summary(results), ["goal", "target", "measured", "result"]))
    print(f"  whole run {results['seconds'] / 60:.1f} min; results in {workdir / 'results.json'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
