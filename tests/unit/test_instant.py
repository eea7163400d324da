"""instant.read() against datetime: the same float, or the same exception, for every
timestamp (the compiled engine's epoch() is read())."""

from __future__ import annotations

import os
import re
from datetime import datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from streams.events import instant
from streams.events.instant import _fast, read
from streams.events.models import RFC3339


def reference(text: str) -> float | type[Exception]:
    """What the decoder computed before epoch() read timestamps itself."""
    try:
        return datetime.fromisoformat(text.upper()).timestamp()
    except (ValueError, OverflowError) as exc:
        return type(exc)


def ours(text: str) -> float | type[Exception]:
    try:
        return read(text)
    except (ValueError, OverflowError) as exc:
        return type(exc)


def digits(n: int, low: int = 0, high: int | None = None) -> st.SearchStrategy[str]:
    top = 10**n - 1 if high is None else high
    return st.integers(low, top).map(lambda v: str(v).zfill(n))


fraction = st.one_of(
    st.just(""),
    st.integers(1, 9).flatmap(lambda n: digits(n).map(lambda d: "." + d)),
)
zone = st.one_of(
    st.sampled_from(["Z", "z", "+00:00", "-00:00"]),
    st.tuples(st.sampled_from("+-"), digits(2, 0, 25), digits(2, 0, 61)).map(
        lambda t: f"{t[0]}{t[1]}:{t[2]}"
    ),
)
timestamps = st.builds(
    lambda y, mo, d, sep, h, mi, s, f, z: f"{y}-{mo}-{d}{sep}{h}:{mi}:{s}{f}{z}",
    st.one_of(digits(4, 1960, 2300), digits(4)),
    digits(2, 0, 13),
    digits(2, 0, 32),
    st.sampled_from("Tt "),
    digits(2, 0, 25),
    digits(2, 0, 60),
    digits(2, 0, 61),
    fraction,
    zone,
)


@given(timestamps)
@example("2026-12-02T00:00:02.130+00:00")
@example("2024-02-29T23:59:59.999999-23:59")
@example("2023-02-29T00:00:00Z")
@example("2254-12-31T23:59:59.999999-23:59")
@example("2255-01-01T00:00:00Z")
@example("1970-12-31T23:59:59Z")
@example("1971-01-01T00:00:00+23:59")
@example("2026-06-01T24:00:00Z")
@example("2026-06-01T12:00:60Z")
@example("2026-06-01T12:00:00+24:00")
@example("2026-06-01T12:00:00.1234567Z")
@example("9999-12-31T23:59:59-01:00")
@example("0001-01-01T00:00:00+01:00")
def test_epoch_is_datetimes_timestamp(text: str) -> None:
    assert re.match(RFC3339, text), text
    got, want = ours(text), reference(text)
    assert got == want, text
    if isinstance(want, float):
        assert got.hex() == want.hex()  # type: ignore[union-attr]


@given(st.text(min_size=19, max_size=32))
@example("２０２６-01-01T00:00:00Z")
@example("2026-01-01T00:00:00.٣٣٣Z")
def test_anything_matching_the_pattern_agrees(text: str) -> None:
    """Unicode digits pass the models' pattern (``\\d`` in pydantic's Rust regex)."""
    if re.match(RFC3339, text):
        assert ours(text) == reference(text)


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01 00:00:00Z",
        "1970-01-01T00:00:00Z",
        "2026-01-01T00:00:00.12Z",
        "٢٠٢٦-01-01T00:00:00Z",
    ],
)
def test_unusual_forms_go_to_datetime(text: str) -> None:
    assert _fast(text) == -1.0


def test_the_fast_range_stays_exact_in_floats() -> None:
    """The latest instant read here, in microseconds, converts to a float exactly."""
    latest = datetime.fromisoformat("2254-12-31T23:59:59.999999-23:59")
    assert int((latest.timestamp() + 1) * 1_000_000) < 2**53


def test_the_compiled_build_reads_timestamps_itself() -> None:
    assert (os.environ.get("CCKPI_COMPILE") != "0") == instant.COMPILED
