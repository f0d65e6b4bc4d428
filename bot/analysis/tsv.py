"""CPython's c-analyzer lists: Tools/c-analyzer/cpython/ignored.tsv and globals-to-fix.tsv.

Tab-separated `filename funcname name reason` rows under `#` comment banners (the section is
kept as the row's context). Rows for code that moved or was converted are simply unmatched.
"""

from __future__ import annotations

from dataclasses import dataclass

# Where CPython keeps the lists (a tree without them has nothing listed).
TSV_DIR = "Tools/c-analyzer/cpython/"
IGNORED_TSV = TSV_DIR + "ignored.tsv"
GLOBALS_TO_FIX_TSV = TSV_DIR + "globals-to-fix.tsv"


@dataclass(frozen=True, slots=True)
class TsvRow:
    filename: str
    funcname: str | None  # None for file scope (`-`)
    name: str
    reason: str
    section: str  # the closest comment banner above the row
    line: int


def parse_tsv(data: bytes | None) -> list[TsvRow]:
    """Parse a c-analyzer TSV; malformed rows are skipped, never fatal."""
    if not data:
        return []
    rows: list[TsvRow] = []
    section = ""
    text = data.decode("utf-8", "replace")
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            title = stripped.lstrip("#").strip().strip("-").strip()
            if title:
                section = title
            continue
        cols = line.split("\t")
        if len(cols) < 3:
            continue  # not a row (tab-separated, at least filename, funcname, name)
        filename, funcname, name = (c.strip() for c in cols[:3])
        if filename == "filename" and name == "name":
            continue  # header
        reason = cols[3].strip() if len(cols) > 3 else ""
        rows.append(
            TsvRow(
                filename=filename.replace("\\", "/"),
                funcname=None if funcname in ("-", "") else funcname,
                name=name,
                reason=reason,
                section=section,
                line=lineno,
            )
        )
    return rows


def row_index(rows: list[TsvRow]) -> dict[tuple[str, str], TsvRow]:
    """Rows by (filename, name); the first row wins."""
    out: dict[tuple[str, str], TsvRow] = {}
    for r in rows:
        out.setdefault((r.filename, r.name), r)
    return out
