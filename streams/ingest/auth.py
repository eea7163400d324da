"""Credentials of the ingest routes: bearer tokens and Chatwoot's webhook signature.

Every comparison is constant-time (:func:`hmac.compare_digest`) and runs against
every configured secret, so neither the time taken nor the answer tells which
secret came close. Pure functions: the clock is passed in.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

MAX_SKEW_SECONDS = 300
"""A Chatwoot delivery is genuine only within this many seconds of now, either way."""
SIGNATURE_PREFIX = "sha256="


def _matches_any(given: bytes, secrets: Sequence[bytes]) -> bool:
    found = False
    for secret in secrets:
        found |= hmac.compare_digest(given, secret)
    return found


def bearer_ok(authorization: str | None, tokens: Sequence[bytes]) -> bool:
    """Whether an ``Authorization`` header carries one of ``tokens`` as a bearer token."""
    if not authorization or not tokens:
        return False
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    return _matches_any(token.strip().encode("utf-8", "surrogateescape"), tokens)


def chatwoot_signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Chatwoot-Signature`` Chatwoot sends (lib/webhooks/trigger.rb): ``sha256=`` +
    hex HMAC-SHA256 of ``<timestamp>.<raw body>`` under the webhook's secret."""
    digest = hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return SIGNATURE_PREFIX + digest.hexdigest()


def chatwoot_header_refusal(
    signature: str | None, timestamp: str | None, secrets: Sequence[bytes], now: float
) -> str | None:
    """What the headers alone refuse (checked before the body is read), or None."""
    if not secrets:
        return "no_secret_configured"
    if not signature or not timestamp:
        return "missing_signature"
    if not timestamp.isdigit() or len(timestamp) > 12:
        return "bad_timestamp"
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        return "stale_timestamp"
    return None


def chatwoot_refusal(
    signature: str | None,
    timestamp: str | None,
    body: bytes,
    secrets: Sequence[bytes],
    now: float,
) -> str | None:
    """Why a delivery is not genuine (a rejection reason), or None when it is."""
    refused = chatwoot_header_refusal(signature, timestamp, secrets, now)
    if refused is not None:
        return refused
    assert signature is not None and timestamp is not None  # noqa: S101 - checked above
    given = signature.strip().lower().encode("ascii", "replace")
    expected = [chatwoot_signature(secret, timestamp, body).encode("ascii") for secret in secrets]
    return None if _matches_any(given, expected) else "bad_signature"
