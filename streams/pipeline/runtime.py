"""Everything a worker process shares, built once from the settings and the config file."""

from __future__ import annotations

from functools import lru_cache

from prometheus_client import CollectorRegistry

from streams.config import AppConfig, load_config
from streams.events.models import WINDOWED_TOPICS
from streams.kpi.business_hours import BusinessCalendar
from streams.kpi.ingest import IngestSettings, PartitionState
from streams.kpi.merge import Merger
from streams.kpi.windows import WindowClock
from streams.output.exposition import Exposition, parse_agent_kpis
from streams.output.metrics import PipelineMetrics
from streams.output.stages import StageClock
from streams.pipeline.checkpoints import CheckpointBook
from streams.settings import Settings
from streams.targets.evaluate import TargetBook


def calendars_of(config: AppConfig) -> dict[str, BusinessCalendar]:
    return {team: spec.calendar() for team, spec in config.calendars.items()}


class Runtime:
    """Settings, config, clocks, state and metrics of one worker."""

    def __init__(self, settings: Settings, config: AppConfig | None = None) -> None:
        self.settings = settings
        self.config = config if config is not None else load_config(settings.config)
        self.clock = WindowClock(settings.reporting_timezone)
        self._calendars = calendars_of(self.config)
        self._always_open = BusinessCalendar.always_open()
        self.ingest_settings = IngestSettings(
            grace_seconds=settings.grace_seconds,
            dedup_horizon_seconds=settings.dedup_horizon_seconds,
            ticket_memory_seconds=settings.ticket_memory_days * 86400,
        )
        sources = [
            f"{settings.topic(t)}:{p}"
            for t in WINDOWED_TOPICS
            if t in settings.input_topics
            for p in range(settings.input_partitions)
        ]
        self.merger = Merger(self.clock, settings.grace_seconds, sources)
        self.book = TargetBook(self.config.targets, self.calendar)
        self.registry = CollectorRegistry()
        self.metrics = PipelineMetrics(self.registry, self.config.service_level_bounds())
        self.base_topics = {settings.topic(t): t for t in settings.input_topics}
        """Real (prefixed) name -> contract name of every input topic this worker reads."""
        self.checkpoints = CheckpointBook(self.source_state)
        self.publisher = False
        """True while this worker owns partition 0 of the first input topic it reads
        (``cc.contacts`` unless ``CCKPI_INPUT_TOPICS`` leaves it out): it alone publishes."""
        self.stages = StageClock(self.registry)
        self.exposition = Exposition(
            self.registry,
            self.merger,
            self.book,
            lambda: self.publisher,
            parse_agent_kpis(settings.metrics_agent_kpis),
            self.stages,
        )
        """/metrics: registers the KPI collector on the registry and caches its rendering."""

    @lru_cache(maxsize=1024)  # noqa: B019 - one Runtime per process, teams are few
    def calendar(self, team: str) -> BusinessCalendar:
        return self._calendars.get(team, self._always_open)

    def source_state(self, source: str) -> PartitionState:
        """A new resume state for a source partition id (``<topic>:<partition>``)."""
        topic = source.rpartition(":")[0]
        return PartitionState(
            self.base_topics[topic],
            self.config,
            self.clock,
            self.calendar,
            self.ingest_settings,
            self.settings.max_message_bytes,
        )
