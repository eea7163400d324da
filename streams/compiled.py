"""Whether the compiled engine was built from the sources beside it.

``pip install -e .`` compiles the engine's modules (setup.py) into ``.so`` files
next to their ``.py`` files, and Python imports the ``.so`` first: an edited
``.py`` would be silently shadowed by the old build. The build records the
SHA-256 of every source it compiled in ``streams/_compiled.py``; importing
``streams`` compares them and refuses a stale build.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

from streams.errors import StaleBuild

ROOT = Path(__file__).resolve().parent.parent


def compiled_sources() -> dict[str, str]:
    """Source path (relative to the project) -> SHA-256 it was compiled from; empty when
    the engine runs interpreted."""
    try:
        module = importlib.import_module("streams._compiled")
    except ImportError:
        return {}
    return dict(module.SOURCES)


def check() -> None:
    stale = [
        path
        for path, digest in compiled_sources().items()
        if (ROOT / path).exists()
        and hashlib.sha256((ROOT / path).read_bytes()).hexdigest() != digest
    ]
    if stale:
        raise StaleBuild(
            f"{', '.join(stale)} changed since the engine was compiled: run `make venv` "
            "(or `.venv/bin/pip install -e .`; CCKPI_COMPILE=0 installs it interpreted)"
        )
