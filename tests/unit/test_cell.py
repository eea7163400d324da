"""The fold's native cell against the stored layout: same slots, same values, same length."""

from __future__ import annotations

from array import array

from hypothesis import given
from hypothesis import strategies as st

from streams.kpi import cell as cell_module
from streams.kpi.cell import Cell, exact_round
from streams.kpi.measures import ABSENT, NAMES, SCALE, SLOT, WAIT_MAX, max_key, new_cell, reach


def test_fields_follow_the_stored_slots() -> None:
    """Field ``n`` of :meth:`Cell.to_array` is measure ``NAMES[n]``, and the slot numbers
    the folder reaches with are those of the layout."""
    for index, name in enumerate(NAMES):
        filled = Cell()
        filled.length = len(NAMES)
        if name == "wait_max":
            filled.raise_max(1.5)
            expected = max_key(1.5)
        else:
            setattr(filled, name, 7)
            expected = 7
        stored = filled.to_array()
        assert stored[index] == expected, name
        assert [v for i, v in enumerate(stored) if i != index] == [
            ABSENT if i == WAIT_MAX else 0 for i in range(len(NAMES)) if i != index
        ]
    for name in NAMES:
        constant = getattr(cell_module, name.upper(), None)
        if constant is not None:
            assert constant == SLOT[name], name


def test_an_empty_cell_is_an_empty_array() -> None:
    assert Cell().to_array() == new_cell() == array("q")


waits = st.floats(min_value=0, max_value=10_000_000, allow_nan=False) | st.sampled_from([0.0, -0.0])
samples = st.tuples(
    st.booleans(),
    st.sampled_from([1.0, -1.0]),
    st.floats(-1e7, 1e7, allow_nan=False),
    st.floats(-1e7, 1e7, allow_nan=False),
)


@given(st.lists(st.one_of(waits, samples), max_size=12))
def test_max_and_reply_samples_as_the_slotwise_reference(steps: list[object]) -> None:
    """Against slot-by-slot folding into an array (the fold before cells were native)."""
    cell = Cell()
    want = new_cell()
    for step in steps:
        if isinstance(step, float):
            cell.reach(WAIT_MAX)
            cell.raise_max(step)
            reach(want, WAIT_MAX)
            want[WAIT_MAX] = max(want[WAIT_MAX], max_key(step))
        else:
            assert isinstance(step, tuple)
            first, sign, calendar, business = step
            cell.reply_sample(first, sign, calendar, business)
            kind = "fr" if first else "nr"
            for name, value in ((f"{kind}_n", sign), (f"{kind}_cal", sign * calendar)):
                reach(want, SLOT[name])
                want[SLOT[name]] += round(value * SCALE)
            reach(want, SLOT[f"{kind}_bus"])
            want[SLOT[f"{kind}_bus"]] += round(sign * business * SCALE)
    assert cell.to_array() == want


@given(
    st.floats(allow_nan=False, allow_infinity=False)
    | st.integers(-(2**60), 2**60).map(lambda n: n / 2)
    | st.integers(-(2**20), 2**20).map(lambda n: n / 2 * SCALE)
)
def test_exact_round_is_round(value: float) -> None:
    assert exact_round(value) == round(value)
    assert exact_round(-value) == round(-value)
