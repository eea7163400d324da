"""The source commands: ``cckpi import queue-log`` and ``cckpi replay`` (argument wiring).

Both stop cleanly on SIGTERM as on Ctrl-C: the batch being sent is finished
(acknowledged or not counted), the follow position is saved, and a second
signal stops at once.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from streams.access import check_access
from streams.errors import CckpiError


def _run(main: Callable[[asyncio.Event], Awaitable[int]]) -> int:
    # The client's INFO lines (subscriptions, coordinators) would drown the progress lines.
    logging.getLogger("aiokafka").setLevel(logging.WARNING)
    logging.getLogger("aiokafka.conn").setLevel(logging.INFO)  # who we authenticated as

    async def guarded() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal() -> None:
            if stop.is_set() and task is not None:
                task.cancel()
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, on_signal)
        try:
            return await main(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    try:
        return asyncio.run(guarded())
    except asyncio.CancelledError:
        return 130


def cmd_import_queue_log(args: argparse.Namespace) -> int:
    from streams.config import load_config
    from streams.settings import load_settings
    from streams.sources.importer import ImportOptions, run_import
    from streams.sources.report import Report

    settings = load_settings()
    config = load_config(settings.config)
    options = ImportOptions(args.paths, args.follow, args.position, args.history, args.jobs)
    report = Report()

    async def main(stop: asyncio.Event) -> int:
        await check_access(settings.kafka_kwargs())  # a refused password stops here
        complete = await run_import(settings, config, options, report, stop)
        title = "queue_log import" if complete else "queue_log import stopped"
        report.summary(title, options.notes)
        return 0 if complete else 130

    return _run(main)


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.settings import load_settings
    from streams.sources.replay import ReplayOptions, run_replay
    from streams.sources.report import Report

    shift = None
    if args.shift_to is not None:
        try:
            shift = datetime.fromisoformat(args.shift_to)
        except ValueError:
            raise CckpiError(f"--shift-to {args.shift_to!r} is not an ISO instant") from None
        if shift.tzinfo is None:
            raise CckpiError(f"--shift-to {args.shift_to!r} needs an offset, e.g. +00:00")
    if args.speed is not None and args.speed <= 0:
        raise CckpiError("--speed must be above 0")
    missing = [str(path) for path in args.paths if not path.is_file()]
    if missing:
        raise CckpiError(f"no such file: {', '.join(missing)}")
    options = ReplayOptions(args.paths, args.check, args.speed, shift)
    settings = load_settings()
    report = Report()

    async def main(stop: asyncio.Event) -> int:
        if not args.check:
            await check_access(settings.kafka_kwargs())  # a refused password stops here
        code = await run_replay(settings, options, report, stop)
        report.summary("replay check" if args.check else "replay", [])
        return code

    return _run(main)


def add_commands(sub: Any) -> None:
    """Register ``import`` and ``replay`` on the ``cckpi`` subparsers."""
    imports = sub.add_parser("import", help="import what another system wrote").add_subparsers(
        dest="import_command", required=True
    )
    p = imports.add_parser(
        "queue-log",
        help="Asterisk queue_log files (rotated parts in any order, .gz too) to cc.contacts",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    p.add_argument(
        "--follow",
        action="store_true",
        help="then follow the newest PATH like tail -F (resumes where it stopped)",
    )
    p.add_argument(
        "--position",
        type=Path,
        default=None,
        help="the follow position file (default: under CCKPI_DATA_DIR/positions)",
    )
    p.add_argument(
        "--history",
        default="auto",
        help=(
            "auto: events of windows the running deployment has closed are folded here and "
            "published as final records, the rest go to the worker; off: send everything "
            "to the worker; ISO: take that instant as the deployment's watermark"
        ),
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=0,
        help="processes parsing and checking whole files (default: one per core when "
        "there is more than 16 MB to read, else this one)",
    )
    p.set_defaults(func=cmd_import_queue_log)
    p = sub.add_parser("replay", help="send recorded contract events (JSON lines, .gz too)")
    p.add_argument("paths", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--check", action="store_true", help="list every bad line; send nothing")
    p.add_argument("--speed", type=float, default=None, help="event seconds per wall second")
    p.add_argument("--shift-to", default=None, help="ISO instant the earliest event moves to")
    p.set_defaults(func=cmd_replay)
