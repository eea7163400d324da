"""Sources: what real systems write, turned into contract events.

Each source is a pure parser from the bytes a system writes (an Asterisk
queue_log line, a Chatwoot webhook delivery) to contract events or dead
letters, plus thin wiring. Every source hands its events to the one producer
path, :mod:`streams.sources.sink`, which validates them exactly as the worker
does and produces them to their input topics. Nothing here computes a KPI.
"""
