"""The compiled engine against its own sources: the same results on the property tests' inputs.

``pip install`` compiles the engine with mypyc (setup.py); every other test runs
against that build. Here a second copy of the ``streams`` package is imported with
every compiled module loaded from its ``.py`` file, and both fold, encode and merge
the property tests' scenarios (plus bad input); partial records and every KPI
value of every window must be identical, not merely close.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import streams.compiled as compiled_module
import streams.kpi.ingest
from streams.compiled import ROOT, compiled_sources
from streams.errors import StaleBuild

from .kpi_helpers import Event, raw, topic_of
from .test_kpi_properties import CONFIG, GRACE, PROPS, scenarios

BAD = [b"{", b"null", b'{"type": "contact.offered"}', b"\xff\xfe", b'{"a": NaN}']
"""Dead letters: the decoder's refusals must agree too."""


class _SourceFirst:
    """Finds the compiled modules' ``.py`` files instead of their extension modules."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in self.names:
            return None
        source = ROOT / (fullname.replace(".", "/") + ".py")
        return importlib.util.spec_from_file_location(fullname, source)


@contextmanager
def interpreted() -> Iterator[dict[str, ModuleType]]:
    """A second ``streams`` package, its compiled modules interpreted from their sources."""
    names = {path.removesuffix(".py").replace("/", ".") for path in compiled_sources()}
    saved = {name: module for name, module in sys.modules.items() if name.startswith("streams")}
    for name in saved:
        del sys.modules[name]
    finder = _SourceFirst(names)
    sys.meta_path.insert(0, finder)
    try:
        wanted = ["streams.config", "streams.kpi.ingest", "streams.kpi.merge"]
        wanted += ["streams.kpi.windows", "streams.kpi.business_hours", "streams.pipeline.ingest"]
        wanted += ["streams.events.decode"]
        modules = {name: importlib.import_module(name) for name in wanted}
        yield modules
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n.startswith("streams")]:
            del sys.modules[name]
        sys.modules.update(saved)


_INTERPRETED: list[dict[str, ModuleType]] = []


def interpreted_once() -> dict[str, ModuleType]:
    """The interpreted copy, imported once: its modules hold their own imports (the engine
    imports nothing inside functions), so they stay interpreted after sys.modules is back."""
    if not _INTERPRETED:
        with interpreted() as modules:
            _INTERPRETED.append(modules)
    return _INTERPRETED[0]


def compiled() -> dict[str, ModuleType]:
    names = ["streams.config", "streams.kpi.ingest", "streams.kpi.merge", "streams.kpi.windows"]
    names += ["streams.kpi.business_hours", "streams.pipeline.ingest"]
    return {name: importlib.import_module(name) for name in names}


def run(m: dict[str, ModuleType], events: list[Event]) -> list[Any]:
    """Fold every topic's events in two batches, merge; everything observable, in order."""
    config = m["streams.config"].parse_config(CONFIG.model_dump_json())
    clock = m["streams.kpi.windows"].WindowClock("UTC")
    settings = m["streams.kpi.ingest"].IngestSettings(GRACE, 86400.0, 90 * 86400.0)
    calendars = {team: spec.calendar() for team, spec in config.calendars.items()}
    always = m["streams.kpi.business_hours"].BusinessCalendar.always_open()
    merger = m["streams.kpi.merge"].Merger(clock, GRACE, [])
    encode = m["streams.pipeline.ingest"].encode_partial
    by_topic: dict[str, list[bytes]] = {}
    for event in events:
        by_topic.setdefault(topic_of(event), []).append(raw(event))
    out: list[Any] = []
    for topic, raws in sorted(by_topic.items()):
        state = m["streams.kpi.ingest"].PartitionState(
            topic, config, clock, lambda team: calendars.get(team, always), settings, 65536
        )
        raws = raws + BAD
        half = len(raws) // 2
        for first, part in ((0, raws[:half]), (half, raws[half:])):
            result = state.fold(enumerate(part, first))
            record = encode(state, result)
            out.append(record)
            out.append([(o, letter.reason, letter.detail) for o, _, letter in result.dead_letters])
            out.append((dict(result.accepted), result.duplicates, result.late, result.waits))
            out.append((result.certifications, result.new_ids))
            merger.apply(f"{topic}:0", orjson.loads(record[: record.index(b"\n")]))
    for window in sorted(merger.windows):
        out.append(window)
        out.extend(
            (v.kpi, v.clock, v.scope, v.value, v.numerator, v.denominator)
            for v in merger.values(window)
        )
    out.append(merger.due_finals())
    out.append(sorted(merger.certification_counts(merger.global_watermark).items()))
    return out


def test_the_engine_runs_compiled() -> None:
    """Unless installed with CCKPI_COMPILE=0, the engine under test is the mypyc build."""
    if os.environ.get("CCKPI_COMPILE") == "0":
        pytest.skip("installed interpreted (CCKPI_COMPILE=0)")
    assert compiled_sources(), "no compiled build recorded: reinstall (make venv)"
    assert streams.kpi.ingest.__file__.endswith(".so"), streams.kpi.ingest.__file__
    modules = interpreted_once()
    ingest = modules["streams.kpi.ingest"]
    assert ingest.__file__.endswith(".py") and ingest is not streams.kpi.ingest
    assert ingest.Decoder.__module__ == "streams.events.decode"
    assert sys.modules[ingest.Decoder.__module__].__file__.endswith(".so")  # back to compiled
    assert not hasattr(ingest.Decoder, "__mypyc_attrs__"), "the copy's decoder is compiled"
    assert hasattr(streams.kpi.ingest.Decoder, "__mypyc_attrs__")


@PROPS
@given(events=scenarios(), duplicate=st.booleans())
def test_compiled_and_interpreted_give_identical_results(
    events: list[Event], duplicate: bool
) -> None:
    if duplicate:
        events = events + events[:3]
    want = run(interpreted_once(), events)
    got = run(compiled(), events)
    assert got == want


def test_a_build_older_than_its_sources_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    source = "streams/kpi/dedup.py"
    now = hashlib.sha256((ROOT / source).read_bytes()).hexdigest()
    monkeypatch.setattr(compiled_module, "compiled_sources", lambda: {source: now})
    compiled_module.check()  # built from exactly this source
    monkeypatch.setattr(compiled_module, "compiled_sources", lambda: {source: "0" * 64})
    with pytest.raises(StaleBuild, match="streams/kpi/dedup.py changed"):
        compiled_module.check()
