"""Build: the engine's hot path compiled with mypyc; everything else as it is.

The modules in COMPILED stay the one source: mypyc compiles them as they are
(strictly typed, free of I/O), and ``CCKPI_COMPILE=0`` installs them interpreted.
Metadata and dependencies live in pyproject.toml; the compiler is pinned there in
``[build-system] requires``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from setuptools import setup

COMPILED = [
    "streams/kpi/business_hours.py",
    "streams/kpi/catalogue.py",
    "streams/kpi/covered.py",
    "streams/kpi/cell.py",
    "streams/kpi/dedup.py",
    "streams/kpi/derive.py",
    "streams/kpi/ingest.py",
    "streams/kpi/measures.py",
    "streams/kpi/merge.py",
    "streams/kpi/replies.py",
    "streams/kpi/windows.py",
    "streams/events/decode.py",
    "streams/events/instant.py",
]
"""The engine (fold, measures, merge, replies, windows) and the decoder."""


RECORD = Path("streams/_compiled.py")
"""What streams.compiled checks at import: the sources the build compiled."""


def extensions() -> list[object]:
    if os.environ.get("CCKPI_COMPILE", "1") == "0":
        # An editable install leaves old builds in the tree, where they would win.
        RECORD.unlink(missing_ok=True)
        for source in COMPILED:
            for built in Path(source).parent.glob(Path(source).stem + ".*.so"):
                built.unlink()
        for runtime in Path().glob("*__mypyc.*.so"):
            runtime.unlink()
        return []
    from mypyc.build import mypycify

    digests = {path: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in COMPILED}
    RECORD.write_text(
        '"""Written by setup.py: the sources compiled with mypyc and their SHA-256."""\n\n'
        f"SOURCES = {digests!r}\n"
    )
    return list(mypycify(COMPILED, opt_level="3"))


setup(ext_modules=extensions())
