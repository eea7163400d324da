"""Whether the broker lets us in: a refused password or an untrusted certificate is final.

aiokafka logs the reason a connection failed and then raises a generic
``KafkaConnectionError``, which cckpi treated as "broker not there yet" and
retried for minutes. One direct connection with the same settings tells the
cases apart: nobody answering is worth waiting for, a broker refusing our
credentials (or we refusing its certificate) is not. Messages name the setting
to fix, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import SaslAuthenticationFailed, UnsupportedSaslMechanismError

from streams.errors import CckpiError

ENV = "CCKPI_KAFKA_SECURITY__"


class KafkaAccessDenied(CckpiError):
    """The broker refused our SASL credentials, or its TLS certificate is not trusted."""


def _denied(server: str, kwargs: dict[str, Any], exc: BaseException) -> KafkaAccessDenied | None:
    mechanism = kwargs.get("sasl_mechanism")
    user = kwargs.get("sasl_plain_username")
    if isinstance(exc, SaslAuthenticationFailed):
        return KafkaAccessDenied(
            f"Kafka at {server} refused SASL {mechanism} user {user!r}: {exc} "
            f"(check {ENV}SASL_USERNAME and {ENV}SASL_PASSWORD)"
        )
    if isinstance(exc, UnsupportedSaslMechanismError):
        return KafkaAccessDenied(
            f"Kafka at {server} does not accept SASL {mechanism}: {exc} "
            f"(check {ENV}SASL_MECHANISM and {ENV}PROTOCOL)"
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return KafkaAccessDenied(
            f"the TLS certificate of {server} is not trusted: {exc.verify_message} "
            f"(check {ENV}SSL_CAFILE)"
        )
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or exc
        return KafkaAccessDenied(
            f"TLS with {server} failed: {reason} (check {ENV}PROTOCOL and the TLS files)"
        )
    return None


async def check_access(kafka_kwargs: dict[str, Any], timeout: float = 15.0) -> bool:
    """Connect once to each bootstrap server with the client settings ``kafka_kwargs``.

    True when one lets us in; False when none answers (worth waiting for); raises
    :class:`KafkaAccessDenied` when one refuses our credentials or certificate.
    """
    kwargs = {k: v for k, v in kafka_kwargs.items() if k != "bootstrap_servers"}
    connection = {
        key: kwargs[key]
        for key in (
            "security_protocol",
            "ssl_context",
            "sasl_mechanism",
            "sasl_plain_username",
            "sasl_plain_password",
        )
        if key in kwargs
    }
    for server in str(kafka_kwargs["bootstrap_servers"]).split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            conn = await asyncio.wait_for(
                create_conn(
                    host or "127.0.0.1", int(port), request_timeout_ms=timeout * 1000, **connection
                ),
                timeout,
            )
        except Exception as exc:  # noqa: BLE001 - sorted below; anything else: unreachable
            denied = _denied(server.strip(), kwargs, exc)
            if denied is not None:
                raise denied from None
            continue
        with contextlib.suppress(Exception):
            conn.close()
        return True
    return False
