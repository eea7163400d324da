"""Every long-running command stops on SIGTERM as on Ctrl-C, children included.

Kubernetes and docker compose send SIGTERM to the command's own process (PID 1 of
the container), systemd to its cgroup; the harder case is tested: SIGTERM to the
parent alone. Ctrl-C in a terminal is SIGINT to the whole foreground process
group, the command's children included unless they run in groups of their own.
After either, no process of the command's tree is left and no port it
listened on is held. A parent SIGKILLed (no chance to unwind) does not leave its
child broker or worker behind either (the kernel's parent-death signal).

Each command is a row of ``COMMANDS``: what to run (after ``cckpi``), the text its
output shows once it runs, and the ports it must then listen on. A new
long-running command adds a row; one that starts a child adds it to ``KILLED``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.lifecycle import die_with_parent
from tests.integration.harness import wait_until
from tests.integration.processes import alive, descendants, is_listening, listening_ports

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Context:
    bootstrap: str
    prefix: str
    workdir: Path
    config: Path


@dataclass(frozen=True)
class Launch:
    args: list[str]
    ready: str
    listens: tuple[int, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


def _broker(ctx: Context) -> Launch:
    port = free_port()
    return Launch(["broker", "--port", str(port)], "embedded broker", (port,))


def _worker(ctx: Context) -> Launch:
    web = free_port()
    env = {
        "CCKPI_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap,
        "CCKPI_TOPIC_PREFIX": ctx.prefix,
        "CCKPI_APP_ID": ctx.prefix.rstrip("."),
        "CCKPI_WEB_PORT": str(web),
        "CCKPI_DATA_DIR": str(ctx.workdir / "data"),
        "CCKPI_CONFIG": str(ctx.config),
    }
    return Launch(["worker"], "assigned", (web,), env)


def _demo(ctx: Context) -> Launch:
    broker, web = free_port(), free_port()
    env = {
        "CCKPI_WEB_PORT": str(web),
        "CCKPI_DATA_DIR": str(ctx.workdir / "data"),
        "CCKPI_APP_ID": ctx.prefix.rstrip("."),
    }
    return Launch(["demo", "--broker-port", str(broker)], "assigned", (broker, web), env)


def _simulate(ctx: Context) -> Launch:
    env = {"CCKPI_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap, "CCKPI_TOPIC_PREFIX": ctx.prefix}
    return Launch(["simulate", "--rate", "50", "--speed", "60"], "sent", (), env)


def _import_follow(ctx: Context) -> Launch:
    log = ctx.workdir / "queue_log"
    log.write_text(
        "1700000000|c1|billing|NONE|ENTERQUEUE||5550100|1\n"
        "1700000010|c1|billing|Agent/1|CONNECT|10|c1.1|3\n"
    )
    env = {"CCKPI_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap, "CCKPI_TOPIC_PREFIX": ctx.prefix}
    args = ["import", "queue-log", str(log), "--follow", "--position", str(log) + ".pos"]
    return Launch(args, "events sent", (), env)


def _ingest(ctx: Context) -> Launch:
    port = free_port()
    env = {
        "CCKPI_KAFKA_BOOTSTRAP_SERVERS": ctx.bootstrap,
        "CCKPI_TOPIC_PREFIX": ctx.prefix,
        "CCKPI_INGEST_PORT": str(port),
        "CCKPI_INGEST_TOKENS": "stop-test-token",
        "CCKPI_INGEST_SPOOL_DIR": str(ctx.workdir / "spool"),
    }
    return Launch(["ingest"], "cckpi ingest on", (port,), env)


COMMANDS: dict[str, Callable[[Context], Launch]] = {
    "broker": _broker,
    "worker": _worker,
    "demo": _demo,
    "simulate": _simulate,
    "import": _import_follow,
    "ingest": _ingest,
}
KILLED = ("broker", "demo")
"""Commands with a child (broker, worker) that must not outlive a SIGKILLed parent."""


class Running:
    """A command started in a session of its own, its output in a file."""

    def __init__(self, launch: Launch, workdir: Path) -> None:
        self.launch = launch
        self.log = workdir / "output.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **launch.env}
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", *launch.args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent(),
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self, timeout: float) -> tuple[set[int], set[int]]:
        """Wait until it runs; return its process tree and the ports the tree listens on."""

        def ready() -> tuple[set[int], set[int]] | None:
            assert self.process.poll() is None, f"exited early:\n{self.output()[-3000:]}"
            if self.launch.ready not in self.output():
                return None
            tree = descendants(self.process.pid) | {self.process.pid}
            ports = listening_ports(tree)
            return (tree, ports) if set(self.launch.listens) <= ports else None

        found: tuple[set[int], set[int]] = wait_until(ready, timeout, "the command to run")
        return found


def _left(tree: set[int], ports: set[int]) -> tuple[set[int], set[int]]:
    return {pid for pid in tree if alive(pid)}, {port for port in ports if is_listening(port)}


@pytest.fixture
def context(broker: EmbeddedBroker, prefix: str, tmp_path: Path, repo_root: Path) -> Context:
    return Context(broker.bootstrap_servers, prefix, tmp_path, repo_root / "deploy" / "cckpi.yaml")


def _cleanup(running: Running, tree: set[int]) -> None:
    for pid in {running.process.pid, *tree}:
        if alive(pid):
            os.kill(pid, signal.SIGKILL)
    running.process.wait(10)


def _sigterm_to_the_parent(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)


def _ctrl_c_in_its_terminal(process: subprocess.Popen[bytes]) -> None:
    """A terminal's Ctrl-C: SIGINT to every process of the foreground process group
    (the command started one of its own, as a shell does)."""
    os.killpg(process.pid, signal.SIGINT)


STOPS = {"sigterm": _sigterm_to_the_parent, "ctrl-c": _ctrl_c_in_its_terminal}
COMPLAINTS = ("Traceback", "Unclosed", "Task was destroyed", "Task exception was never retrieved")
"""What a clean stop never prints (asyncio's complaints about what was not closed)."""


@pytest.mark.timeout(180)
@pytest.mark.parametrize("stop", sorted(STOPS))
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_stop_signal_stops_the_command_and_everything_it_started(
    context: Context, name: str, stop: str
) -> None:
    running = Running(COMMANDS[name](context), context.workdir)
    tree: set[int] = set()
    try:
        tree, ports = running.wait_ready(120)
        started = time.monotonic()
        STOPS[stop](running.process)
        code = running.process.wait(60)
        took = time.monotonic() - started
        deadline = time.monotonic() + 5  # a moment for the kernel to tear sockets down
        while any(_left(tree, ports)) and time.monotonic() < deadline:
            time.sleep(0.1)
        procs, held = _left(tree, ports)
        assert not procs, f"{name}: processes left after {stop}: {sorted(procs)}"
        assert not held, f"{name}: ports still listening after {stop}: {sorted(held)}"
        assert code == 0, f"{name} exited {code} on {stop}:\n{running.output()[-3000:]}"
        output = running.output()
        complaints = [line for line in output.splitlines() if any(c in line for c in COMPLAINTS)]
        assert not complaints, f"{name} on {stop} printed:\n" + "\n".join(complaints[:10])
        print(f"{name}: {len(tree)} processes, ports {sorted(ports)}; {stop}: {took:.1f} s")
    finally:
        _cleanup(running, tree)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", KILLED)
def test_a_sigkilled_parent_leaves_no_child_behind(context: Context, name: str) -> None:
    running = Running(COMMANDS[name](context), context.workdir)
    tree: set[int] = set()
    try:
        tree, ports = running.wait_ready(120)
        assert len(tree) > 1, f"{name} started no child: {tree}"
        running.process.send_signal(signal.SIGKILL)
        running.process.wait(10)

        def gone() -> bool:
            procs, held = _left(tree, ports)
            return not procs and not held

        wait_until(gone, 60, f"every child of the SIGKILLed {name} to stop")
    finally:
        _cleanup(running, tree)
