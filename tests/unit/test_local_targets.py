"""A worker that does not publish evaluates targets at most once per publish interval."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import orjson

from streams.kpi.ingest import PartitionState
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch
from streams.targets.evaluate import TargetBook
from streams.web.local_targets import LocalTargets

CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "cckpi.yaml"


def _runtime() -> Runtime:
    """A merger holding a few hours of simulated traffic, with the shipped targets."""
    runtime = Runtime(load_settings(topic_prefix="unit.", config=CONFIG))
    events = simulate_batch(datetime(2026, 11, 2, 6, tzinfo=UTC), seed=2, count=3000, rate=0.5)
    states: dict[str, PartitionState] = {}
    for n, (topic, _key, value) in enumerate(events):
        source = f"unit.{topic}:0"
        state = states.get(source) or states.setdefault(source, runtime.source_state(source))
        partial = encode_partial(state, state.fold([(n, orjson.dumps(value))]))
        runtime.merger.apply(source, orjson.loads(partial[: partial.index(b"\n")]))
    return runtime


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_states_are_kept_for_one_interval_then_evaluated_again() -> None:
    runtime = _runtime()
    assert runtime.config.targets, "the default config should define targets"
    made: list[TargetBook] = []

    def new_book() -> TargetBook:
        made.append(TargetBook(runtime.config.targets, runtime.calendar))
        return made[-1]

    clock = Clock()
    local = LocalTargets(new_book, every=5.0, clock=clock)
    first = list(local.states(runtime.merger))
    clock.now += 4.9
    assert list(local.states(runtime.merger)) == first
    assert local.evaluations == 1
    clock.now += 0.1
    local.states(runtime.merger)
    assert local.evaluations == 2 and len(made) == 1, "the one book is evaluated again"
    local.forget()
    local.states(runtime.merger)
    assert local.evaluations == 3 and len(made) == 2
    expected = TargetBook(runtime.config.targets, runtime.calendar)
    expected.evaluate(runtime.merger)
    assert list(local.states(runtime.merger)) == list(expected.states.values())
    assert len(expected.states) > len(runtime.config.targets), "targets at several scopes"
