"""Bearer tokens and Chatwoot signatures: what is genuine, and why the rest is not."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streams.ingest.auth import MAX_SKEW_SECONDS, bearer_ok, chatwoot_refusal, chatwoot_signature
from tests.sources.chatwoot_builder import sign

BODY = (
    Path(__file__).resolve().parents[1] / "data" / "chatwoot" / "message_created_incoming.json"
).read_bytes()
SECRET = "Jb3xK9Qm2Wp7Ls4Zr8Tv6Yh1"  # noqa: S105 - 24 base58 characters, like has_secure_token
NOW = 1_793_343_600


def headers(secret: str = SECRET, ts: int = NOW, body: bytes = BODY) -> tuple[str, str]:
    h = sign(secret, ts, body)
    return h["X-Chatwoot-Signature"], h["X-Chatwoot-Timestamp"]


def refusal(sig: str | None, ts: str | None, body: bytes = BODY, now: float = NOW) -> str | None:
    return chatwoot_refusal(sig, ts, body, [b"other-secret", SECRET.encode()], now)


def test_signature_is_over_timestamp_dot_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert chatwoot_signature(SECRET.encode(), str(NOW), BODY) == "sha256=" + expected
    # not over the body alone (spec/lib/webhooks/trigger_spec.rb: "signs timestamp.body")
    body_only = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert refusal(body_only, str(NOW)) == "bad_signature"


def test_genuine_delivery_under_any_configured_secret() -> None:
    assert refusal(*headers()) is None
    assert chatwoot_refusal(*headers(), BODY, [SECRET.encode()], NOW) is None


def test_forged_or_altered_deliveries() -> None:
    sig, ts = headers()
    assert refusal(*headers(secret="guessed")) == "bad_signature"  # noqa: S106
    assert refusal(sig, ts, BODY.replace(b"\\u003c", b"<")) == "bad_signature"  # re-serialised
    assert refusal(sig, str(NOW + 1)) == "bad_signature"  # timestamp swapped
    assert refusal(sig[:-1] + ("0" if sig[-1] != "0" else "1"), ts) == "bad_signature"
    assert refusal(None, ts) == "missing_signature"
    assert refusal(sig, None) == "missing_signature"
    assert refusal(sig, "12ab") == "bad_timestamp"
    assert refusal(sig, "-5") == "bad_timestamp"
    assert chatwoot_refusal(sig, ts, BODY, [], NOW) == "no_secret_configured"


def test_timestamps_older_or_newer_than_300_s_are_stale() -> None:
    sig, ts = headers()
    assert refusal(sig, ts, now=NOW + MAX_SKEW_SECONDS) is None
    assert refusal(sig, ts, now=NOW - MAX_SKEW_SECONDS) is None
    assert refusal(sig, ts, now=NOW + MAX_SKEW_SECONDS + 1) == "stale_timestamp"
    assert refusal(sig, ts, now=NOW - MAX_SKEW_SECONDS - 1) == "stale_timestamp"


@given(st.binary(max_size=200), st.text(max_size=30))
def test_no_signature_but_the_right_one_passes(body: bytes, guess: str) -> None:
    right = chatwoot_signature(SECRET.encode(), str(NOW), body)
    outcome = refusal(guess, str(NOW), body)
    assert (outcome is None) == (guess.strip().lower() == right)


def test_bearer_tokens() -> None:
    tokens = [b"t-one", b"t-two"]
    assert bearer_ok("Bearer t-two", tokens)
    assert bearer_ok("bearer t-one", tokens)
    for header in (None, "", "Bearer", "Bearer ", "Basic t-one", "Bearer t-on", "Bearer t-one2"):
        assert not bearer_ok(header, tokens), header
    assert not bearer_ok("Bearer t-one", [])
