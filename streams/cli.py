"""The ``cckpi`` command: broker, worker, simulate, demo, topics, rules, dashboards, targets."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.errors import CckpiError

log = logging.getLogger("cckpi")
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "cckpi.yaml"


def _parse_start(text: str | None) -> datetime | None:
    if text is None:
        return None
    if text.startswith("now-"):
        amount, unit = float(text[4:-1]), text[-1]
        seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit] * amount
        return datetime.now(UTC) - timedelta(seconds=seconds)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise CckpiError(f"--start {text!r} needs an offset, e.g. 2026-11-02T00:00:00+00:00")
    return moment


def cmd_broker(args: argparse.Namespace) -> int:
    from streams.broker import EmbeddedBroker
    from streams.lifecycle import sigterm_as_interrupt

    with sigterm_as_interrupt():
        broker = EmbeddedBroker(args.port, host=args.host)
        try:
            broker.start()
            print(
                f"embedded broker (Tansu, memory only) on {broker.bootstrap_servers}; "
                "Ctrl-C stops it",
                flush=True,
            )
            assert broker.process is not None  # noqa: S101
            broker.process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            broker.stop()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from streams.app import app, worker
    from streams.broker import wait_for_any

    settings = worker.runtime.settings
    servers = settings.kafka_bootstrap_servers.split(",")
    if not wait_for_any(servers, settings.broker_wait_seconds):
        raise CckpiError(
            f"no broker answered at {settings.kafka_bootstrap_servers} "
            f"within {settings.broker_wait_seconds:.0f} s"
        )
    from streams.access import check_access

    asyncio.run(check_access(settings.kafka_kwargs()))  # a refused password stops here
    sys.argv = ["cckpi", "worker", "--loglevel", settings.log_level]
    app.main()
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.settings import load_settings
    from streams.topics import declare_topics, topic_specs

    settings = load_settings()
    asyncio.run(declare_topics(settings))
    for name, (partitions, _) in topic_specs(settings).items():
        print(f"{name}: {partitions} partitions")
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from streams.settings import load_settings
    from streams.simulate.runner import run_simulation
    from streams.topics import declare_topics

    settings = load_settings()

    async def main() -> None:
        await declare_topics(settings)
        stats = await run_simulation(
            settings.kafka_bootstrap_servers,
            settings.topic,
            rate=args.rate,
            duration=args.duration,
            start=_parse_start(args.start),
            speed=args.speed,
            seed=args.seed,
            producer_config=settings.kafka_security.aiokafka_kwargs(),
            progress=lambda line: print(line, flush=True),
        )
        print(f"simulation done: {stats}", flush=True)

    from streams.lifecycle import run_stoppable

    with contextlib.suppress(KeyboardInterrupt):
        run_stoppable(main())
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.broker import EmbeddedBroker, port_is_free
    from streams.lifecycle import die_with_parent, stop_process

    port = args.broker_port
    if not port_is_free("127.0.0.1", port):
        raise CckpiError(f"port {port} is taken; pass --broker-port")
    env = dict(os.environ)
    env["CCKPI_KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
    env.setdefault("CCKPI_WEB_BIND", "127.0.0.1")
    # The console shows a target summary line every 15 s, not a line per transition
    # (transitions stay on cc.target.breaches, the board and the worker's log setting).
    env.setdefault("CCKPI_LOG_TARGET_TRANSITIONS", "false")
    env.setdefault("CCKPI_TARGET_SUMMARY_SECONDS", "15")
    if "CCKPI_CONFIG" not in env and DEFAULT_CONFIG.exists():
        env["CCKPI_CONFIG"] = str(DEFAULT_CONFIG)
    web_port = env.get("CCKPI_WEB_PORT", "6066")
    cckpi = [sys.executable, "-m", "streams.cli"]
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"board: http://{env['CCKPI_WEB_BIND']}:{web_port}/", flush=True)
    with EmbeddedBroker(port):
        print(f"broker on 127.0.0.1:{port}", flush=True)
        # Children in sessions of their own, as the broker: a terminal's Ctrl-C reaches
        # the demo alone, which stops each child once (a second SIGINT arriving while
        # a child unwinds cut its clean-up short).
        worker = subprocess.Popen(  # noqa: S603
            [*cckpi, "worker"], env=env, start_new_session=True, preexec_fn=die_with_parent()
        )
        sim_args = [
            "simulate",
            "--rate",
            str(args.rate),
            "--speed",
            str(args.speed),
            "--start",
            args.start,
        ]
        if args.history_days > 0:
            _seed_demo_history(env, args)
        simulator = subprocess.Popen(  # noqa: S603
            [*cckpi, *sim_args], env=env, start_new_session=True, preexec_fn=die_with_parent()
        )
        print(
            f"\nboard:   http://{env['CCKPI_WEB_BIND']}:{web_port}/  (live; ?wall=1 for a TV)"
            f"\nmetrics: http://{env['CCKPI_WEB_BIND']}:{web_port}/metrics  "
            f"(config {env.get('CCKPI_CONFIG', 'defaults')}); Ctrl-C stops everything\n",
            flush=True,
        )
        failed: tuple[str, int] | None = None
        try:
            while worker.poll() is None and simulator.poll() is None:
                time.sleep(0.5)
            for name, process in (("worker", worker), ("simulator", simulator)):
                code = process.poll()
                if code:
                    failed = (name, code)
        except KeyboardInterrupt:
            pass
        finally:
            # SIGTERM, which every command takes as Ctrl-C: a SIGINT is ignored by a
            # child started from a shell's background job (``cckpi demo &``).
            for process in (simulator, worker):
                stop_process(process, 20)
    if failed is not None:
        print(f"the {failed[0]} failed (exit code {failed[1]}); see its output above")
        return 1
    return 0


def _seed_demo_history(env: dict[str, str], args: argparse.Namespace) -> None:
    """The demo's history: ``--history-days`` of thin traffic ending at ``--start``."""
    from streams.settings import load_settings
    from streams.simulate.history import seed_history
    from streams.topics import declare_topics

    settings = load_settings(kafka_bootstrap_servers=env["CCKPI_KAFKA_BOOTSTRAP_SERVERS"])
    until = _parse_start(args.start) or datetime.now(UTC)

    async def main() -> int:
        await declare_topics(settings)
        return await seed_history(
            settings.kafka_kwargs(), settings.topic, days=args.history_days, until=until
        )

    started = time.monotonic()
    sent = asyncio.run(main())
    print(
        f"history: {sent} events over the {args.history_days:g} days before {until:%Y-%m-%d %H:%M} "
        f"sent in {time.monotonic() - started:.1f} s; the board's trends fill in as the "
        "worker closes their windows",
        flush=True,
    )


def cmd_rules(args: argparse.Namespace) -> int:
    from streams.config import load_config
    from streams.generate.k8s import write_k8s
    from streams.generate.rules import write_rules

    for path in write_rules(load_config(args.config), args.out):
        print(path)
    for path in write_k8s(args.config, args.k8s_out):
        print(path)
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from streams.schemas import write_schemas

    for path in write_schemas(args.out):
        print(path)
    return 0


def cmd_dashboards(args: argparse.Namespace) -> int:
    from streams.config import load_config
    from streams.generate.dashboards import write_dashboards

    for path in write_dashboards(load_config(args.config), args.out):
        print(path)
    return 0


def cmd_suggest(args: argparse.Namespace) -> int:
    from streams.settings import load_settings
    from streams.targets.suggest import print_suggestions

    return print_suggestions(load_settings(), args)


def cmd_targets_check(args: argparse.Namespace) -> int:
    from streams.settings import load_settings
    from streams.targets.check import print_check

    return print_check(load_settings(), args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cckpi", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("broker", help="run the embedded Kafka-compatible broker (Tansu)")
    p.add_argument("--port", type=int, default=9092)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=cmd_broker)
    sub.add_parser("worker", help="run the Faust worker").set_defaults(func=cmd_worker)
    sub.add_parser("topics", help="declare every topic").set_defaults(func=cmd_topics)
    p = sub.add_parser("simulate", help="produce realistic simulated traffic")
    p.add_argument("--rate", type=float, default=200.0, help="mean events per simulated second")
    p.add_argument("--duration", type=float, default=None, help="wall seconds (default: forever)")
    p.add_argument("--start", default=None, help="ISO start, or now-2d (default: now)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per wall second")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_simulate)
    p = sub.add_parser("demo", help="broker + worker + simulator in one command")
    p.add_argument("--broker-port", type=int, default=9092)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--speed", type=float, default=300.0)
    p.add_argument("--start", default="now-1d")
    p.add_argument(
        "--history-days",
        type=float,
        default=0.0,
        help="first send this many days of thin traffic ending at --start (trends on the board)",
    )
    p.set_defaults(func=cmd_demo)
    for name, func, out in (
        ("rules", cmd_rules, "deploy/prometheus/rules"),
        ("dashboards", cmd_dashboards, "grafana/dashboards"),
    ):
        p = sub.add_parser(name, help=f"generate {name} from the targets file")
        p.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
        p.add_argument("--out", type=Path, default=Path(out))
        p.set_defaults(func=func)
        if name == "rules":
            p.add_argument("--k8s-out", type=Path, default=Path("deploy/k8s"))
    p = sub.add_parser("schemas", help="write the JSON Schemas of events and records")
    p.add_argument("--out", type=Path, default=Path("schemas"))
    p.set_defaults(func=cmd_schemas)
    targets = sub.add_parser("targets", help="targets tools").add_subparsers(
        dest="targets_command", required=True
    )
    p = targets.add_parser("suggest", help="propose achievable targets from recent aggregates")
    p.add_argument("--period", default="week", choices=["hour", "day", "week", "month"])
    p.add_argument(
        "--step",
        type=float,
        default=0.25,
        help="fraction of the way from the median to the best recent value",
    )
    p.add_argument(
        "--idle", type=float, default=3.0, help="stop reading after this many quiet seconds"
    )
    p.set_defaults(func=cmd_suggest)
    p = targets.add_parser("check", help="explain why a target is in its state, per scope")
    p.add_argument("target", help="the target's id in the config file")
    p.add_argument("--scope", default=None, help="narrow the scopes, e.g. team=support,agent=ana")
    p.add_argument("--config", type=Path, default=None, help="default: CCKPI_CONFIG")
    p.add_argument(
        "--idle", type=float, default=3.0, help="stop reading after this many quiet seconds"
    )
    p.set_defaults(func=cmd_targets_check)
    p = sub.add_parser("ingest", help="HTTP ingest: contract events and Chatwoot webhooks")
    p.add_argument("--port", type=int, default=None, help="default: CCKPI_INGEST_PORT (6067)")
    p.set_defaults(func=_cmd_ingest)
    from streams.sources.commands import add_commands

    add_commands(sub)
    return parser


def _cmd_ingest(args: argparse.Namespace) -> int:
    from streams.ingest.command import cmd_ingest

    return cmd_ingest(args)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return int(args.func(args))
    except CckpiError as exc:
        print(f"cckpi: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
