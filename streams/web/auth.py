"""Bearer tokens for the board and the API (``CCKPI_API_TOKENS``)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence

from pydantic import SecretStr


class TokenCheck:
    """Accepts a request carrying one of the tokens; every request when none is set."""

    def __init__(self, tokens: Sequence[SecretStr]) -> None:
        self._tokens = [t.get_secret_value().encode() for t in tokens if t.get_secret_value()]

    @property
    def required(self) -> bool:
        return bool(self._tokens)

    def allows(self, headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
        """``Authorization: Bearer <token>`` or ``?token=<token>``, compared in constant
        time against every configured token (no early exit on the first match)."""
        if not self._tokens:
            return True
        offered = []
        scheme, _, credential = headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and credential:
            offered.append(credential.strip().encode())
        if query.get("token"):
            offered.append(query["token"].encode())
        matched = False
        for candidate in offered:
            for token in self._tokens:
                matched |= hmac.compare_digest(candidate, token)
        return matched
