"""Base measures: the cells from which every KPI is derived, as stored and merged.

A cell holds additive measures (sums and counts) and one max measure. Additive
measures are kept as integers in millionths (micro-seconds, micro-counts):
integer addition is exact, so a cell is the same whatever order its events
arrived in, and a retraction cancels exactly. The max measure merges by max
(it is never retracted). Each contact is judged by its own queue's settings
at fold time (:mod:`streams.kpi.cell`), so coarser scopes need no per-queue
knowledge.

A cell is an ``array('q')`` with one fixed slot per measure (:data:`NAMES`),
about a quarter of the memory of a dict of numbers. The array only reaches as
far as the highest slot a cell has used (contact measures come first, so a
contact-only cell stops after 14 slots); a slot beyond its end reads as zero.
The max measure is stored as :func:`max_key` of its value: a 64-bit integer
ordered like the float, decoded exactly by :func:`max_value`; :data:`ABSENT`
means no value yet.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Mapping
from typing import Final, TypeAlias

NAMES: tuple[str, ...] = (
    # contacts: most cells hold nothing else
    "c_events",
    "offered",
    "answered",
    "answered_sl",
    "asa_sum",
    "wait_n",
    "wait_max",
    "abandoned",
    "short_abandons",
    "exited",
    "completed",
    "handle_sum",
    "resolved_known",
    "resolved",
    # tickets and reply samples
    "t_events",
    "solved",
    "res_cal",
    "res_bus",
    "reopened",
    "fr_n",
    "fr_cal",
    "fr_bus",
    "nr_n",
    "nr_cal",
    "nr_bus",
    # surveys and quality
    "nps_n",
    "nps_prom",
    "nps_det",
    "csat_n",
    "csat_sat",
    "qa_n",
    "qa_sum",
)
"""Every measure, in slot order."""
SLOT: dict[str, int] = {name: index for index, name in enumerate(NAMES)}
WAIT_MAX: Final = SLOT["wait_max"]
SCALE: Final = 1_000_000
"""Additive measures are stored as ``round(value * SCALE)``."""
ABSENT: Final = -(2**63)
"""The max slot of a cell without a value (below :func:`max_key` of every float)."""

Measures: TypeAlias = "array[int]"
"""One cell: ``array('q')``, slot ``SLOT[name]`` holds measure ``name``."""

_EMPTY: Final = array("q", [ABSENT if slot == WAIT_MAX else 0 for slot in range(len(NAMES))])
_DOUBLE = struct.Struct("<d")
_INT64 = struct.Struct("<q")
_UINT64 = struct.Struct("<Q")
_MAGNITUDE: Final = 2**63 - 1


def max_key(value: float) -> int:
    """A 64-bit integer that orders like ``value`` (IEEE 754 bits, negatives flipped)."""
    bits: int = _INT64.unpack(_DOUBLE.pack(value))[0]
    return bits if bits >= 0 else -(bits & _MAGNITUDE) - 1


def max_value(key: int) -> float:
    """The float :func:`max_key` was computed from (bit for bit)."""
    packed = _INT64.pack(key) if key >= 0 else _UINT64.pack((-key - 1) | (1 << 63))
    value: float = _DOUBLE.unpack(packed)[0]
    return value


def new_cell() -> Measures:
    return array("q")


def get(cell: Measures, slot: int) -> int:
    """An additive slot's value (0 beyond the cell's end)."""
    return cell[slot] if slot < len(cell) else 0


def wait_max(cell: Measures) -> float | None:
    """The max wait, or None when nothing was counted."""
    if len(cell) <= WAIT_MAX or cell[WAIT_MAX] == ABSENT:
        return None
    return max_value(cell[WAIT_MAX])


def merge_into(target: Measures, delta: Measures) -> None:
    """Fold one cell's stored measures into another."""
    reach(target, len(delta) - 1)
    for slot, value in enumerate(delta):
        if slot == WAIT_MAX:
            if value > target[slot]:
                target[slot] = value
        elif value:
            target[slot] += value


Delta: TypeAlias = tuple[list[tuple[int, int]], int, int]
"""A cell prepared for merging into many: (non-zero additive slots, max key, length)."""


def delta_of(cell: Measures) -> Delta:
    """``cell`` as a :data:`Delta`: a partial's hour cell merges into about 30 cells
    (every scope, hour to month), so its zeros and its max slot are sorted out once."""
    additive = [(slot, value) for slot, value in enumerate(cell) if value and slot != WAIT_MAX]
    top = cell[WAIT_MAX] if len(cell) > WAIT_MAX else ABSENT
    return additive, top, len(cell)


def merge_delta(target: Measures, delta: Delta) -> None:
    """Fold a :func:`delta_of` into a cell: the same as :func:`merge_into` of its cell."""
    additive, top, length = delta
    reach(target, length - 1)
    for slot, value in additive:
        target[slot] += value
    if length > WAIT_MAX and top > target[WAIT_MAX]:
        target[WAIT_MAX] = top


def from_names(measures: Mapping[str, float]) -> Measures:
    """A cell from stored measures by name (partials written before the slot layout)."""
    cell = new_cell()
    for name, value in measures.items():
        slot = SLOT[name]
        reach(cell, slot)
        cell[slot] = max_key(value) if slot == WAIT_MAX else int(value)
    return cell


def as_names(cell: Measures) -> dict[str, float]:
    """The measures of a cell by name, natural units for the max (zeros and no max left out)."""
    out: dict[str, float] = {}
    for slot, value in enumerate(cell):
        if slot == WAIT_MAX:
            if value != ABSENT:
                out[NAMES[slot]] = max_value(value)
        elif value:
            out[NAMES[slot]] = value
    return out


def reach(cell: Measures, slot: int) -> None:
    """Extend ``cell`` so that ``slot`` exists."""
    if len(cell) <= slot:
        cell.extend(_EMPTY[len(cell) : slot + 1])
