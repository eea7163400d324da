"""How cckpi's long-running commands stop: SIGTERM as Ctrl-C, children never left behind.

Kubernetes, systemd and docker compose stop a process with SIGTERM, and a shell's
Ctrl-C sends SIGINT; both must unwind the same ``finally`` blocks that stop a
command's children. A child started with :func:`die_with_parent` also gets
SIGTERM from the kernel when its parent dies without unwinding (SIGKILL, OOM).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine, Iterator
from types import FrameType
from typing import Any, TypeVar

T = TypeVar("T")

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when this
    process dies; ``None`` where there is no ``prctl`` (not Linux).

    (Linux sends it when the *thread* that started the child ends: start children
    that must outlive a helper thread from the main thread.)"""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


def stop_process(process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM a child that is still running and wait; SIGKILL it after ``timeout`` s."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises :class:`KeyboardInterrupt`, as Ctrl-C does, so
    the command's ``finally`` blocks stop its children either way."""
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_stoppable(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` where SIGTERM does what asyncio does on Ctrl-C: cancel the main
    task (its ``finally`` blocks flush and close), then raise KeyboardInterrupt.

    (A KeyboardInterrupt raised by a plain signal handler lands in whichever task
    runs at that moment, and can leave a client's background task half-stopped.)
    """

    async def cancel_on_sigterm() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None  # noqa: S101 - we are inside asyncio.run
        signalled: list[int] = []

        def stop() -> None:
            signalled.append(signal.SIGTERM)
            task.cancel()

        loop.add_signal_handler(signal.SIGTERM, stop)
        try:
            return await main
        except asyncio.CancelledError:
            if signalled:
                raise KeyboardInterrupt from None
            raise
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    return asyncio.run(cancel_on_sigterm())
