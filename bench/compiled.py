"""The mypyc build against its own sources, side by side: ``python -m bench.compiled``.

In one process, on the same simulated events: the engine as installed (compiled
by ``pip install``) and a second copy of the ``streams`` package whose compiled
modules are loaded from their ``.py`` files (tests/unit/test_compiled.py). For
each, CPU us/event of the decoder alone (the call the fold makes), of
``PartitionState.fold`` (decoding included) and of merging the partial records and
deriving every KPI of every window. Runs alternate and the best of ``--repeat``
counts (the machine is shared).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from types import ModuleType
from typing import Any

import orjson

from bench.common import CONFIG
from bench.throughput import Dataset, make_dataset
from streams.events.models import INPUT_TOPICS
from tests.unit.test_compiled import interpreted_once

MODULES = ("streams.config", "streams.events.decode", "streams.kpi.merge", "streams.kpi.windows")
MODULES += ("streams.kpi.ingest", "streams.kpi.business_hours", "streams.pipeline.ingest")


def measure(m: dict[str, ModuleType], dataset: Dataset, batch: int) -> dict[str, float]:
    """CPU us/event of decode, fold and merge + derive with the modules ``m``."""
    config = m["streams.config"].load_config(CONFIG)
    clock = m["streams.kpi.windows"].WindowClock("UTC")
    settings = m["streams.kpi.ingest"].IngestSettings(300.0, 86400.0, 90 * 86400.0)
    calendars = {team: spec.calendar() for team, spec in config.calendars.items()}
    always = m["streams.kpi.business_hours"].BusinessCalendar.always_open()
    by_topic: dict[str, list[bytes]] = {}
    for topic, _key, value, _at in dataset.values:
        by_topic.setdefault(topic, []).append(value)
    n = len(dataset)
    decoders = {t: m["streams.events.decode"].Decoder(t, 1 << 20) for t in INPUT_TOPICS}
    cpu = time.process_time()
    for topic, values in by_topic.items():
        decoder = decoders[topic]
        # The call the fold makes (decode_timed: dicts; before it, decode: models).
        decode = getattr(decoder, "decode_timed", decoder.decode)
        for value in values:
            decode(value)
    out = {"decode": (time.process_time() - cpu) / n * 1e6}
    headers: list[tuple[str, Any]] = []
    encode = m["streams.pipeline.ingest"].encode_partial
    cpu = time.process_time()
    folded = []
    for topic, values in by_topic.items():
        state = m["streams.kpi.ingest"].PartitionState(
            topic, config, clock, lambda team: calendars.get(team, always), settings, 65536
        )
        for first in range(0, len(values), batch):
            folded.append(
                (topic, state, state.fold(enumerate(values[first : first + batch], first)))
            )
    out["fold"] = (time.process_time() - cpu) / n * 1e6
    for topic, state, result in folded:
        record = encode(state, result)
        headers.append((f"{topic}:0", orjson.loads(record[: record.index(b"\n")])))
    merger = m["streams.kpi.merge"].Merger(clock, 300.0, [])
    cpu = time.process_time()
    for source, header in headers:
        merger.apply(source, header)
    samples = sum(1 for window in merger.windows for _ in merger.values(window))
    out["merge_derive"] = (time.process_time() - cpu) / n * 1e6
    out["kpi_values"] = samples
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compiled", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--batch", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    dataset = make_dataset(args.events, args.seed)
    builds = {
        "compiled": {name: importlib.import_module(name) for name in MODULES},
        "interpreted": interpreted_once(),
    }
    if not builds["compiled"]["streams.kpi.ingest"].__file__.endswith(".so"):
        print("the installed engine is not compiled (CCKPI_COMPILE=0?): both rows interpreted")
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.repeat):
        for name, modules in builds.items():
            figures = measure(modules, dataset, args.batch)
            seen = best.setdefault(name, figures)
            for key, value in figures.items():
                seen[key] = min(seen[key], value)
    print(f"{len(dataset):,} simulated events, CPU us/event, best of {args.repeat}")
    print(f"  {'':12} {'decode':>8} {'fold':>8} {'merge+derive':>13}")
    for name, figures in best.items():
        print(
            f"  {name:12} {figures['decode']:8.2f} {figures['fold']:8.2f} "
            f"{figures['merge_derive']:13.2f}"
        )
    c, i = best["compiled"], best["interpreted"]
    print(
        f"  speed-up     {i['decode'] / c['decode']:7.2f}x {i['fold'] / c['fold']:7.2f}x "
        f"{i['merge_derive'] / c['merge_derive']:12.2f}x"
    )
    fold_after_decode = c["fold"] - c["decode"]
    print(f"  compiled fold after decoding: {fold_after_decode:.2f} us/event (goal <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
