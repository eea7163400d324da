"""The live board and the query API, served by the worker from the engine's state."""

from __future__ import annotations

import faust

from streams.pipeline.runtime import Runtime
from streams.web.follow import HistoryFollower
from streams.web.history import HistoryStore


def install_board(app: faust.App, runtime: Runtime) -> HistoryFollower:
    """Register the board and API routes; the returned follower fills their history
    and must run as a service of the app."""
    from streams.web.routes import register

    follower = HistoryFollower(runtime.settings, HistoryStore(runtime.settings.history_hour_days))
    register(app, runtime, follower)
    return follower
