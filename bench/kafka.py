"""The throughput rows on Apache Kafka, beside the embedded broker's, in the same run.

The same simulated events (same count and seed) go to a local Apache Kafka
(streams/kafka_local.py, the version deploy/kafka/pom.xml pins); the raw
consumer ceiling, one cckpi worker and two workers of one app are measured there
exactly as on the embedded broker, and the rows are printed side by side.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.common import log, unique_prefix
from streams.kafka_local import LocalKafka, kafka_version


def _rate(row: dict[str, Any] | None) -> float | None:
    return None if not row else row.get("rate")


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def run_kafka(
    args: argparse.Namespace, workdir: Path, out: dict[str, Any], embedded: dict[str, Any] | None
) -> None:
    from bench.throughput import (
        cckpi_pipeline,
        cckpi_workers,
        make_dataset,
        produce_for_cckpi,
        raw_ceiling,
    )

    version = kafka_version()
    dataset = make_dataset(args.events, args.seed)
    with LocalKafka(workdir / "kafka") as kafka:
        bootstrap = kafka.bootstrap_servers
        log(f"kafka: Apache Kafka {version} on {bootstrap}; producing 2 copies")
        prefixes = unique_prefix("ktput"), unique_prefix("ktput-2")
        for prefix in prefixes:
            produce_for_cckpi(bootstrap, prefix, dataset)
        log("kafka: raw consumer (best of 2)")
        raw = max(
            (raw_ceiling(bootstrap, prefixes[0], len(dataset)) for _ in range(2)),
            key=lambda r: r.rate or 0.0,
        )
        log("kafka: cckpi worker, progress from the committed offsets")
        pipeline, timings, _ = cckpi_pipeline(
            bootstrap, prefixes[0], workdir, len(dataset), dataset.unique, 0.1, via="offsets"
        )
        log("kafka: two cckpi workers of one app")
        pair, pair_timings = cckpi_workers(bootstrap, prefixes[1], workdir, len(dataset))
    out.update(
        version=version,
        events=len(dataset),
        raw=vars(raw),
        pipeline=vars(pipeline),
        pipeline_timings=timings,
        pair=vars(pair),
        pair_timings=pair_timings,
    )
    print_side_by_side(out, embedded or {})


def print_side_by_side(kafka: dict[str, Any], embedded: dict[str, Any]) -> None:
    from bench.__main__ import table

    rows = []
    ratios: dict[str, list[float | None]] = {"embedded": [], "kafka": []}
    tansu_raw = max((r.get("rate") or 0.0 for r in embedded.get("raw", [])), default=None) or None
    for label, e, k in (
        ("(1) raw aiokafka + json.loads", tansu_raw, _rate(kafka["raw"])),
        ("(2) cckpi worker", _rate(embedded.get("pipeline")), _rate(kafka["pipeline"])),
        ("(2x2) two cckpi workers", _rate(embedded.get("pair")), _rate(kafka["pair"])),
    ):
        rows.append([label, _fmt(e), _fmt(k), _fmt(k / e, 2) + "x" if e and k else "n/a"])
        ratios["embedded"].append(e)
        ratios["kafka"].append(k)
    for name, (raw, one, two) in ratios.items():
        ratios[name] = [one / raw if raw and one else None, two / raw if raw and two else None]
    rows.append(
        [
            "ratio (2)/(1), (2x2)/(1)",
            " / ".join(_fmt(r, 2) for r in ratios["embedded"]),
            " / ".join(_fmt(r, 2) for r in ratios["kafka"]),
            "",
        ]
    )
    print()
    print(
        f"Throughput on Apache Kafka {kafka['version']} beside the embedded broker "
        f"({kafka['events']:,} events, same data set, same run)"
    )
    print(table(rows, ["measurement", "embedded events/s", "Kafka events/s", "Kafka/embedded"]))
    print()
