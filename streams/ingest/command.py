"""``cckpi ingest``: the HTTP ingest service in the foreground (Ctrl-C or SIGTERM stops it)."""

from __future__ import annotations

import argparse
import asyncio

from streams.config import load_config
from streams.settings import load_settings


def cmd_ingest(args: argparse.Namespace) -> int:
    overrides = {"ingest_port": args.port} if args.port is not None else {}
    settings = load_settings(**overrides)
    config = load_config(settings.config)

    def ready(port: int) -> None:
        routes = "POST /ingest/v1/events, POST /ingest/v1/chatwoot"
        print(
            f"cckpi ingest on http://{settings.web_bind}:{port} ({routes}; /metrics, /health, "
            f"/ready); {len(settings.ingest_tokens)} bearer token(s), "
            f"{len(settings.chatwoot_secrets)} Chatwoot secret(s); "
            f"spool {settings.ingest_spool_dir}",
            flush=True,
        )

    from streams.access import check_access
    from streams.ingest.service import serve

    # A refused password or certificate stops here; a broker that is away does not
    # (the ingest spools until it is back).
    asyncio.run(check_access(settings.kafka_kwargs()))
    asyncio.run(serve(settings, config, ready))
    print("cckpi ingest stopped", flush=True)
    return 0
