"""The one settings object: environment variables with prefix ``CCKPI_``.

Built once at start-up (:func:`load_settings`) and passed down; nothing else in
the package reads the environment.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streams.errors import CckpiError
from streams.events.models import INPUT_TOPICS


class KafkaSecurity(BaseModel):
    """SASL and TLS settings for the Kafka connection (``CCKPI_KAFKA_SECURITY__*``)."""

    protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism when the protocol uses SASL."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password; never logged.")
    ssl_cafile: Path | None = Field(None, description="CA bundle of the broker certificate.")
    ssl_certfile: Path | None = Field(None, description="Client certificate for mutual TLS.")
    ssl_keyfile: Path | None = Field(None, description="Client key for mutual TLS.")

    @model_validator(mode="after")
    def _sasl_complete(self) -> KafkaSecurity:
        if self.protocol.startswith("SASL"):
            missing = [
                name
                for name in ("sasl_mechanism", "sasl_username", "sasl_password")
                if getattr(self, name) is None
            ]
            if missing:
                raise ValueError(f"protocol {self.protocol} needs {', '.join(missing)}")
        return self

    def aiokafka_kwargs(self) -> dict[str, Any]:
        """Connection keyword arguments shared by every aiokafka client."""
        kwargs: dict[str, Any] = {"security_protocol": self.protocol}
        if self.protocol.endswith("SSL"):
            context = ssl.create_default_context(
                cafile=str(self.ssl_cafile) if self.ssl_cafile else None
            )
            if self.ssl_certfile:
                context.load_cert_chain(
                    str(self.ssl_certfile), str(self.ssl_keyfile) if self.ssl_keyfile else None
                )
            kwargs["ssl_context"] = context
        if self.protocol.startswith("SASL"):
            assert self.sasl_password is not None  # noqa: S101 - checked by the validator
            kwargs["sasl_mechanism"] = self.sasl_mechanism
            kwargs["sasl_plain_username"] = self.sasl_username
            kwargs["sasl_plain_password"] = self.sasl_password.get_secret_value()
        return kwargs


class Settings(BaseSettings):
    """Runtime settings of a cckpi process."""

    model_config = SettingsConfigDict(
        env_prefix="CCKPI_", env_nested_delimiter="__", extra="ignore", frozen=True
    )

    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", description="Kafka bootstrap servers, comma separated."
    )
    kafka_security: KafkaSecurity = Field(
        default_factory=lambda: KafkaSecurity(), description="SASL/TLS settings."
    )
    web_port: int = Field(6066, ge=0, le=65535, description="Port of /metrics and /health.")
    web_bind: str = Field("127.0.0.1", description="Address the web server binds to.")
    topic_prefix: str = Field("", description="Prefix prepended to every topic name.")
    reporting_timezone: str = Field("UTC", description="IANA zone windows are aligned to.")
    grace_seconds: float = Field(300, ge=0, description="Lateness allowed past a window's end.")
    dedup_horizon_seconds: float = Field(
        86400, gt=0, description="How long (watermark time) an event_id is remembered."
    )
    ticket_memory_days: float = Field(
        90, gt=0, description="How long an idle ticket's reply history is kept."
    )
    config: Path | None = Field(None, description="YAML file with queues, calendars, targets.")
    app_id: str = Field("cckpi", description="Faust app id; also the consumer group prefix.")
    data_dir: Path = Field(Path("run/data"), description="Faust's local data directory.")
    input_partitions: int = Field(4, ge=1, description="Partitions of each input topic.")
    input_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(INPUT_TOPICS),
        description=(
            "The input topics this deployment reads, comma-separated (default all five). "
            "A window is final once every partition of the windowed topics read has passed "
            "it: a deployment fed by one source (queue_log: cc.contacts) names it here, or "
            "the idle topics would hold every window open."
        ),
    )
    max_message_bytes: int = Field(65536, gt=0, description="Larger input messages are invalid.")
    batch_max_records: int = Field(20000, gt=0, description="Most records folded per batch.")
    publish_interval_seconds: float = Field(
        1.0, gt=0, description="How often open-window updates are published."
    )
    log_level: str = Field("info", description="Log level of the worker.")
    snapshot_min_bytes: int = Field(
        8 * 1024 * 1024,
        ge=0,
        description=(
            "Partials merged (bytes) before the publisher writes a snapshot of the merged "
            "state; at least the last snapshot's size too. 0: never (restarts replay all)."
        ),
    )
    group_instance_id: str | None = Field(
        None,
        description=(
            "Static consumer-group membership: unique per worker and stable across its "
            "restarts (e.g. a StatefulSet pod name); a restarted worker then gets its "
            "partitions back without waiting out its old session."
        ),
    )
    broker_wait_seconds: float = Field(
        300, ge=0, description="How long a starting worker waits for the broker."
    )
    target_summary_seconds: float = Field(
        60,
        ge=0,
        description="How often the publisher logs one line counting targets per state (0: never).",
    )
    log_target_transitions: bool = Field(
        True,
        description="Log every target transition at info (they are on cc.target.breaches "
        "either way); the demo turns it off and shows the periodic summary only.",
    )

    ingest_port: int = Field(
        6067, ge=0, le=65535, description="Port of `cckpi ingest` (bound to CCKPI_WEB_BIND)."
    )
    ingest_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Bearer tokens accepted by POST /ingest/v1/events, comma-separated.",
    )
    chatwoot_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Secrets of the Chatwoot webhooks accepted, comma-separated.",
    )
    ingest_spool_dir: Path = Field(
        Path("run/ingest-spool"),
        description="Where the ingest spools events (fsynced) while the broker is unreachable.",
    )
    ingest_broker_timeout_seconds: float = Field(
        2.0,
        gt=0,
        description="How long a request waits for broker acks before spooling (Chatwoot: 5 s).",
    )

    @field_validator(
        "ingest_tokens", "chatwoot_secrets", "api_tokens", "input_topics", mode="before"
    )
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    web_board_enabled: bool = Field(
        True, description="Serve the live board (/) and the query API (/api/v1/)."
    )
    api_tokens: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description=(
            "Comma-separated tokens; when set, / and /api/ need one as a bearer token "
            "or ?token= (/metrics and /health stay open)."
        ),
    )
    history_hour_days: float = Field(
        35,
        ge=0,
        description=(
            "Days of hour windows the board's history keeps in memory (day, week and "
            "month windows are all kept); hour finals are many."
        ),
    )
    metrics_agent_kpis: str = Field(
        "all",
        description=(
            "Which KPIs /metrics exports at agent scope: all, none, or a comma-separated "
            "list of KPI names (e.g. contacts_answered,average_handle_time_seconds). Agent "
            "series are most of a large centre's samples; the aggregates topic has them all."
        ),
    )

    @field_validator("input_topics")
    @classmethod
    def _known_topics(cls, topics: list[str]) -> list[str]:
        unknown = sorted(set(topics) - set(INPUT_TOPICS))
        if unknown:
            raise ValueError(f"unknown input topics {unknown}; known: {', '.join(INPUT_TOPICS)}")
        if not topics:
            raise ValueError("name at least one input topic")
        return [t for t in INPUT_TOPICS if t in topics]  # the contract's order, once each

    @field_validator("reporting_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown IANA time zone {value!r}") from exc
        return value

    @field_validator("metrics_agent_kpis")
    @classmethod
    def _known_agent_kpis(cls, value: str) -> str:
        # Imported when validating: every command reads settings, few need the exposition.
        from streams.output.exposition import parse_agent_kpis

        try:
            parse_agent_kpis(value)
        except CckpiError as exc:
            raise ValueError(str(exc)) from exc
        return value

    def topic(self, base: str) -> str:
        """The real topic name of a contract topic such as ``cc.contacts``."""
        return f"{self.topic_prefix}{base}"

    def kafka_kwargs(self) -> dict[str, Any]:
        """Keyword arguments every aiokafka client is built with."""
        return {
            "bootstrap_servers": self.kafka_bootstrap_servers,
            **self.kafka_security.aiokafka_kwargs(),
        }


def load_settings(**overrides: Any) -> Settings:
    """Read the environment once; ``overrides`` win (used by the CLI and tests)."""
    return Settings(**overrides)
