"""``cckpi ingest``: contract events and Chatwoot webhooks over authenticated HTTP.

A thin aiohttp service (CONTRACT.md v1.2, "HTTP ingest"): it authenticates,
limits, maps (:mod:`streams.sources.chatwoot`), validates and produces through the
one producer path (:mod:`streams.sources.sink`), and answers 200 only once every
accepted event is durable: acknowledged by the broker, or fsynced to a local spool
that is forwarded in order when the broker is back. It computes nothing and keeps
no state but that spool and bounded in-memory dedup, so it runs as many replicas
as needed.
"""
