"""RFC 3339 timestamps to epoch seconds, exactly as ``datetime`` computes them, faster.

Every event carries one or two timestamps, and ``datetime.fromisoformat(...)
.timestamp()`` was a tenth of the fold's CPU. :func:`epoch` reads the usual form
itself when compiled (``YYYY-MM-DDTHH:MM:SS``, no fraction or 3 or 6 digits of
it, ``Z`` or a ``±HH:MM`` offset, ASCII digits, every field in range, years
1971..2254) and hands anything else to ``datetime``, which decides what is valid
and raises as before. In that range the epoch in microseconds is below 2**53:
it is exact as a float, and one division gives the correctly rounded quotient
that ``timedelta.total_seconds()`` gives (tests/unit/test_instant.py compares).
"""

from __future__ import annotations

from datetime import datetime
from types import FunctionType
from typing import Final

_ZERO: Final = 48  # ord("0"); characters are compared as code points (native in mypyc)
_T: Final = 84
_LOWER_T: Final = 116
_DOT: Final = 46
_COLON: Final = 58
_PLUS: Final = 43
_MINUS: Final = 45
_Z: Final = 90
_LOWER_Z: Final = 122
_CIVIL_EPOCH: Final = 719468
"""Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar."""


def epoch(text: str) -> float:
    """Epoch seconds of a timestamp the models' RFC 3339 pattern accepted.

    Raises ValueError when it names no real instant (30 February, second 60, offset
    beyond 24 h) and OverflowError when it lies outside what datetime can represent.
    """
    if COMPILED:
        return read(text)
    return _datetime(text)


def read(text: str) -> float:
    """:func:`epoch`, reading the usual form itself (slower than datetime unless compiled)."""
    seconds = _fast(text)
    return _datetime(text) if seconds < 0.0 else seconds


def _datetime(text: str) -> float:
    # RFC 3339 allows a lower-case t and z, which fromisoformat does not.
    return datetime.fromisoformat(text.upper()).timestamp()


def _digits(text: str, start: int, count: int) -> int:
    """The ASCII decimal number at ``text[start:start + count]``, or -1."""
    value = 0
    for index in range(start, start + count):
        digit = ord(text[index]) - _ZERO
        if digit < 0 or digit > 9:
            return -1
        value = value * 10 + digit
    return value


def _two(text: str, start: int) -> int:
    """The two ASCII digits at ``text[start:start + 2]`` as a number, or -1."""
    tens = ord(text[start]) - _ZERO
    ones = ord(text[start + 1]) - _ZERO
    if tens < 0 or tens > 9 or ones < 0 or ones > 9:
        return -1
    return tens * 10 + ones


def _fast(text: str) -> float:
    """Epoch seconds of the usual form, or -1.0 for anything else (left to datetime)."""
    size = len(text)
    separator = ord(text[10]) if size >= 20 else 0
    if separator != _T and separator != _LOWER_T:
        return -1.0
    century = _two(text, 0)
    decade = _two(text, 2)
    if century < 0 or decade < 0:
        return -1.0
    year = century * 100 + decade
    month = _two(text, 5)
    day = _two(text, 8)
    hour = _two(text, 11)
    minute = _two(text, 14)
    second = _two(text, 17)
    if year < 1971 or year > 2254 or month < 1 or month > 12 or day < 1:
        return -1.0
    if hour < 0 or hour > 23 or minute < 0 or minute > 59 or second < 0 or second > 59:
        return -1.0
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        last = 29 if leap else 28
    else:
        last = 30 + ((month + (month >> 3)) & 1)
    if day > last:
        return -1.0
    micros = 0
    at = 19
    if ord(text[at]) == _DOT:
        digits = 0
        while at + 1 + digits < size and 0 <= ord(text[at + 1 + digits]) - _ZERO <= 9:
            digits += 1
        if digits == 3:
            micros = _digits(text, at + 1, 3) * 1000
        elif digits == 6:
            micros = _digits(text, at + 1, 6)
        else:
            return -1.0
        at += 1 + digits
    offset = _offset(text, at)
    if offset == -1:
        return -1.0
    # Days since 1970-01-01 (H. Hinnant's days_from_civil, years counted from March).
    shifted = year - 1 if month <= 2 else year
    era = shifted // 400
    year_of_era = shifted - era * 400
    day_of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - _CIVIL_EPOCH
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    # Exact in floats: seconds * 15625 and the sum stay below 2**53 in these years.
    return (float(seconds) * 1e6 + float(micros)) / 1e6


def _offset(text: str, at: int) -> int:
    """Seconds east of UTC of the zone designator at ``text[at:]`` (the rest of the
    string), or -1 when it is not ``Z`` or ``±HH:MM`` with HH < 24 and MM < 60."""
    rest = len(text) - at
    if rest == 1:
        zone = ord(text[at])
        return 0 if zone in (_Z, _LOWER_Z) else -1
    if rest != 6 or ord(text[at + 3]) != _COLON:
        return -1
    sign = ord(text[at])
    hours = _two(text, at + 1)
    minutes = _two(text, at + 4)
    if hours < 0 or hours > 23 or minutes < 0 or minutes > 59:
        return -1
    if sign == _PLUS:
        return hours * 3600 + minutes * 60
    if sign == _MINUS:  # offsets are whole minutes: -1 is never one
        return -(hours * 3600 + minutes * 60)
    return -1


COMPILED: Final = not isinstance(_fast, FunctionType)
"""Whether mypyc compiled this module (``CCKPI_COMPILE=0`` installs it interpreted, where
datetime is the faster reader)."""
