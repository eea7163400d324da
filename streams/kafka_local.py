"""A local Apache Kafka 4 (KRaft, one combined broker + controller), no Docker.

The tests and the bench run cckpi against the production broker with this.
Kafka's own jars come from Maven Central through the pinned pom
``deploy/kafka/pom.xml`` (``mvn dependency:copy-dependencies`` into a cache
folder, once); the broker runs with the machine's Java 17+ on loopback ports,
its log dir formatted in a folder of the caller's (what ``kafka-storage.sh
format`` and ``kafka-server-start.sh`` run). It logs through log4j 2 to
``server.log`` in that folder. ``python -m streams.kafka_local jars`` fetches
the jars (``make kafka``).
"""

from __future__ import annotations

import base64
import contextlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from streams.broker import free_port, port_is_free
from streams.errors import BrokerError
from streams.lifecycle import die_with_parent, stop_process

POM = Path(__file__).resolve().parent.parent / "deploy" / "kafka" / "pom.xml"
SCRAM = "SCRAM-SHA-512"
STARTED = "Kafka Server started"

# Single-node settings; the rest are Kafka's defaults (README, "Apache Kafka").
BASE_SETTINGS: dict[str, str] = {
    "num.partitions": "1",
    "auto.create.topics.enable": "false",  # cckpi declares every topic it uses
    "offsets.topic.replication.factor": "1",
    "offsets.topic.num.partitions": "4",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
}


class KafkaUnavailable(BrokerError):
    """Java or Maven is missing, or the Kafka jars could not be fetched."""


def kafka_version(pom: Path = POM) -> str:
    """The Kafka version the pom pins (``<kafka.version>``)."""
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom.read_text())
    if found is None:
        raise KafkaUnavailable(f"{pom} pins no <kafka.version>")
    return found.group(1).strip()


def jar_dir(version: str | None = None) -> Path:
    return Path.home() / ".cache" / "cckpi" / f"kafka-{version or kafka_version()}"


def fetch_jars(pom: Path = POM, version: str | None = None) -> Path:
    """The folder holding every jar of the pinned broker (or of another ``version``,
    ``-Dkafka.version``); Maven fills it the first time."""
    version = version or kafka_version(pom)
    folder = jar_dir(version)
    if (folder / ".complete").exists():
        return folder
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaUnavailable("Maven (mvn) is not installed: apt-get install maven")
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    done = subprocess.run(  # noqa: S603 - fixed arguments
        [mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies"]
        + [f"-Dkafka.version={version}", f"-DoutputDirectory={partial}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise KafkaUnavailable(f"mvn could not fetch the Kafka jars:\n{done.stdout[-2000:]}")
    (partial / ".complete").write_text(version + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return folder


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise KafkaUnavailable("Java 17+ is not installed: apt-get install openjdk-17-jre-headless")
    return java


def ensure_available(version: str | None = None) -> Path:
    """Java and the broker's jars are there (fetched if needed); their folder, or
    :class:`KafkaUnavailable` saying what to install."""
    _java()
    return fetch_jars(version=version)


def cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()


@dataclass(frozen=True)
class BrokerTls:
    """The broker's PEM files: ``keystore`` holds its private key and certificate."""

    keystore: Path
    cafile: Path


LOG4J = """<Configuration status="warn">
  <Appenders>
    <File name="file" fileName="{log}"><PatternLayout pattern="[%d] %p %m (%c)%n"/></File>
  </Appenders>
  <Loggers>
    <Logger name="kafka.log.LogCleaner" level="info"/>
    <Logger name="org.apache.kafka.storage.internals.log.LogCleaner" level="info"/>
    <Root level="info"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


class LocalKafka:
    """Apache Kafka on loopback ports, its log dir in ``workdir``; restartable on it.

    With ``users`` the client listener takes SASL SCRAM-SHA-512 only (over TLS when
    ``tls`` is given); the users are created when the log dir is formatted.
    """

    def __init__(
        self,
        workdir: Path,
        settings: dict[str, str] | None = None,
        users: dict[str, str] | None = None,
        tls: BrokerTls | None = None,
        heap: str = "768m",
        version: str | None = None,
    ) -> None:
        self.workdir = workdir
        self.log_dir = workdir / "kafka-logs"
        self.server_log = workdir / "server.log"
        self.host = "127.0.0.1"
        self.port = free_port()
        self.controller_port = free_port()
        self.settings = {**BASE_SETTINGS, **(settings or {})}
        self.users = dict(users or {})
        self.tls = tls
        self.heap = heap
        self.version = version or kafka_version()
        self.process: subprocess.Popen[bytes] | None = None
        self._broker_password = secrets.token_urlsafe(16)

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def protocol(self) -> str:
        if self.users:
            return "SASL_SSL" if self.tls else "SASL_PLAINTEXT"
        return "SSL" if self.tls else "PLAINTEXT"

    def properties(self) -> dict[str, str]:
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            "listeners": f"CLIENT://{self.host}:{self.port},CONTROLLER://{self.host}:"
            f"{self.controller_port}",
            "advertised.listeners": f"CLIENT://{self.host}:{self.port}",
            "listener.security.protocol.map": f"CLIENT:{self.protocol},CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "CLIENT",
            "log.dirs": str(self.log_dir),
            **self.settings,
        }
        if self.users:
            jaas = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="broker" password="{self._broker_password}";'
            )
            props |= {
                "sasl.enabled.mechanisms": SCRAM,
                "sasl.mechanism.inter.broker.protocol": SCRAM,
                f"listener.name.client.{SCRAM.lower()}.sasl.jaas.config": jaas,
            }
        if self.tls:
            props |= {
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": str(self.tls.keystore),
                "ssl.truststore.type": "PEM",
                "ssl.truststore.location": str(self.tls.cafile),
            }
        return props

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            _java(),
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.xml'}",
            "-cp",
            f"{fetch_jars(version=self.version)}/*",
            main,
            *args,
        ]

    def format(self) -> None:
        """Write the config and format the log dir (once, before the first start)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "log4j2.xml").write_text(LOG4J.format(log=self.server_log))
        config = self.workdir / "server.properties"
        config.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        scram = [
            f"{SCRAM}=[name={name},password={password}]"
            for name, password in {"broker": self._broker_password, **self.users}.items()
        ]
        # "=": an id may start with "-", which argparse would take for an option.
        args = ["format", f"--cluster-id={cluster_id()}", "-c", str(config)]
        for entry in scram if self.users else []:
            args += ["--add-scram", entry]
        done = subprocess.run(  # noqa: S603 - our own arguments
            self._java("kafka.tools.StorageTool", *args),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise BrokerError(f"formatting the Kafka log dir failed: {done.stdout}{done.stderr}")

    def start(self, timeout: float = 90.0) -> LocalKafka:
        """Start the broker (formatting its log dir first if needed); returns when it
        has logged that it started."""
        if not (self.log_dir / "meta.properties").exists():
            self.format()
        for port in (self.port, self.controller_port):
            if not port_is_free(self.host, port):
                raise BrokerError(f"port {port} is taken; cannot start Kafka")
        started_before = self._started_lines()
        with open(self.workdir / "console.log", "ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own arguments
                self._java("kafka.Kafka", str(self.workdir / "server.properties")),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(signal.SIGKILL),  # noqa: PLW1509
            )
        deadline = time.monotonic() + timeout
        while self._started_lines() <= started_before:
            if self.process.poll() is not None:
                raise BrokerError(
                    f"Kafka exited at start with code {self.process.returncode}; "
                    f"see {self.server_log}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise BrokerError(
                    f"Kafka did not start within {timeout:.0f} s; see {self.server_log}"
                )
            time.sleep(0.2)
        return self

    def _started_lines(self) -> int:
        if not self.server_log.exists():
            return 0
        return self.server_log.read_text(errors="replace").count(STARTED)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (a controlled shutdown), SIGKILL after ``timeout`` seconds."""
        process, self.process = self.process, None
        stop_process(process, timeout)

    def kill(self) -> None:
        """SIGKILL the broker: no shutdown, whatever the OS had not written is kept by
        the page cache, as after a process crash."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str]) -> int:
    """``jars``: fetch the pinned broker's jars and print their folder."""
    if argv != ["jars"]:
        print("usage: python -m streams.kafka_local jars", file=sys.stderr)
        return 2
    try:
        print(fetch_jars())
    except KafkaUnavailable as exc:
        print(f"cckpi: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main(sys.argv[1:]))
    sys.exit(130)
