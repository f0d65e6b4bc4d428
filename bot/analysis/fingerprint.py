"""The analyser's identity: what a cached report must match to be reused.

A report depends on the package version, the analysis code and the rule catalog (names,
severities and documentation come from rules/*.toml), so all three go into the digest: any
change of the analyser, released or not, invalidates persistent caches (the service's store,
the CLI's result cache).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import bot
from bot.analysis.catalog import catalog_dir


@functools.cache
def analyser_version() -> str:
    """``<package version>+<12 hex digits>``, computed once per process."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        digest.update(b"code\0" + path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    rules, _ = catalog_dir()
    for entry in sorted(rules.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            digest.update(b"rule\0" + entry.name.encode() + b"\0")
            digest.update(entry.read_bytes())
    return f"{bot.__version__}+{digest.hexdigest()[:12]}"
