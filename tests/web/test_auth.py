"""Tokens: a bearer header or ?token= with one of them; nothing needed when none is set."""

from __future__ import annotations

from pydantic import SecretStr

from streams.web.auth import TokenCheck


def test_no_tokens_allows_everything() -> None:
    check = TokenCheck([])
    assert not check.required
    assert check.allows({}, {})


def test_one_of_the_tokens_by_header_or_query() -> None:
    check = TokenCheck([SecretStr("alpha"), SecretStr("beta")])
    assert check.required
    assert check.allows({"Authorization": "Bearer beta"}, {})
    assert check.allows({"Authorization": "bearer alpha"}, {})
    assert check.allows({}, {"token": "alpha"})
    assert not check.allows({}, {})
    assert not check.allows({"Authorization": "Bearer gamma"}, {"token": "alph"})
    assert not check.allows({"Authorization": "Basic alpha"}, {})
    assert not check.allows({"Authorization": "Bearer "}, {"token": ""})
