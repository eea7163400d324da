"""Aggregate keys (contract v1.2): label values escaped, every key parses back to its scope."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.output.records import BadKey, aggregate_key, parse_key, parse_scope, scope_text
from tests.oracle.reference import aggregate_key as reference_key

LABELS = ("agent", "channel", "queue", "team")
values = st.text(alphabet=st.sampled_from("ab\\,=|é <>\"'"), max_size=8) | st.text(max_size=12)
scopes = st.dictionaries(st.sampled_from(LABELS), values).map(lambda d: tuple(sorted(d.items())))
clocks = st.none() | st.sampled_from(["business", "calendar"])


@settings(deadline=None)
@given(scopes, clocks)
def test_parse_of_key_is_the_scope(scope: tuple[tuple[str, str], ...], clock: str | None) -> None:
    key = aggregate_key("abandon_ratio", "day", "2026-11-02T00:00:00+00:00", scope, clock)
    parsed = parse_key(key)
    assert parsed.scope == scope
    assert parsed.clock == clock
    assert (parsed.kpi, parsed.period, parsed.window_start) == (
        "abandon_ratio",
        "day",
        "2026-11-02T00:00:00+00:00",
    )
    assert parse_scope(scope_text(scope)) == scope


@settings(deadline=None)
@given(scopes, clocks)
def test_key_equals_the_independent_reference(
    scope: tuple[tuple[str, str], ...], clock: str | None
) -> None:
    start = "2026-11-02T00:00:00+01:00"
    assert aggregate_key("nps_score", "week", start, scope, clock) == reference_key(
        "nps_score", "week", start, scope, clock
    )


@settings(deadline=None)
@given(scopes, scopes)
def test_different_scopes_give_different_keys(
    a: tuple[tuple[str, str], ...], b: tuple[tuple[str, str], ...]
) -> None:
    if a != b:
        assert scope_text(a) != scope_text(b)


def test_examples_from_the_contract() -> None:
    assert scope_text((("team", "a,b"),)) == "team=a\\,b"
    assert scope_text((("queue", "billing"), ("team", "support"))) == "queue=billing,team=support"
    assert scope_text((("team", "x\\y=z|w"),)) == "team=x\\\\y\\=z\\|w"
    assert parse_key("service_level_ratio|day|2026-11-02T00:00:00+00:00|").scope == ()
    key = "first_reply_seconds|hour|2026-11-02T00:00:00+00:00|team=a\\|b|clock=business"
    parsed = parse_key(key)
    assert parsed.scope == (("team", "a|b"),)
    assert parsed.clock == "business"


@pytest.mark.parametrize(
    "text", ["team", "team=a=b", "team=a\\", "team=b,agent=a", "team=a,team=b", "=a"]
)
def test_bad_scope_text_is_refused(text: str) -> None:
    with pytest.raises(BadKey):
        parse_scope(text)


@pytest.mark.parametrize("key", ["a|b|c", "a|b|c|d|e", "a|b|c|d|clock=x|f"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(BadKey):
        parse_key(key)
