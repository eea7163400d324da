"""Which connection failures are final (refused credentials, untrusted certificate) and
which are worth waiting for (nobody listening)."""

from __future__ import annotations

import asyncio
import ssl

import pytest
from aiokafka.errors import SaslAuthenticationFailed, UnsupportedSaslMechanismError

from streams.access import KafkaAccessDenied, _denied, check_access
from streams.broker import free_port
from streams.errors import CckpiError

SECRET = "pw-never-shown"  # noqa: S105 - a test value
SASL = {
    "security_protocol": "SASL_SSL",
    "sasl_mechanism": "SCRAM-SHA-512",
    "sasl_plain_username": "cckpi",
    "sasl_plain_password": SECRET,
}


def untrusted() -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "unable to get local issuer certificate"
    return exc


@pytest.mark.parametrize(
    ("exc", "names"),
    [
        (SaslAuthenticationFailed("invalid credentials"), ("SASL_USERNAME", "SASL_PASSWORD")),
        (UnsupportedSaslMechanismError("no such mechanism"), ("SASL_MECHANISM",)),
        (untrusted(), ("SSL_CAFILE", "unable to get local issuer certificate")),
        (ssl.SSLError(1, "wrong version number"), ("PROTOCOL",)),
    ],
)
def test_refusals_are_final_and_name_the_setting(exc: Exception, names: tuple[str, ...]) -> None:
    denied = _denied("kafka-1:9093", SASL, exc)
    assert isinstance(denied, KafkaAccessDenied) and isinstance(denied, CckpiError)
    text = str(denied)
    assert "kafka-1:9093" in text and all(name in text for name in names), text
    assert SECRET not in text


@pytest.mark.parametrize(
    "exc", [ConnectionRefusedError(111, "refused"), TimeoutError(), OSError("reset")]
)
def test_nobody_answering_is_not_final(exc: Exception) -> None:
    assert _denied("kafka-1:9093", SASL, exc) is None


def test_check_access_is_false_where_nothing_listens() -> None:
    servers = f"127.0.0.1:{free_port()},127.0.0.1:{free_port()}"
    assert asyncio.run(check_access({"bootstrap_servers": servers}, timeout=5)) is False
