"""Inline suppressions: `/* isolation-bot: ignore[ISO005] reason */` on or just above a line."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.analysis.catalog import load_catalog

# The rule reported for a suppression comment that gives no reason.
SUPPRESSION_RULE = "ISO900"
_SUPPRESS = re.compile(rb"isolation-bot\s*+:\s*+ignore\s*+\[\s*+([^\]\n]*+)\]([^\n]*+)")


@dataclass(frozen=True, slots=True)
class Suppression:
    line: int  # line of the comment (its last line for block comments)
    rules: frozenset[str]  # rule ids; empty = every rule
    reason: str
    offset: int
    end: int


def find_suppressions(data: bytes, line_of: Callable[[int], int]) -> list[Suppression]:
    """Suppression comments in raw bytes; `line_of(offset) -> line` maps offsets."""
    out: list[Suppression] = []
    if b"isolation-bot" not in data:
        return out
    for m in _SUPPRESS.finditer(data):
        ids: set[str] = set()
        for token in re.split(rb"[,\s]+", m.group(1)):
            if not token:
                continue
            meta = load_catalog().get_rule(token.decode("utf-8", "replace"))
            ids.add(meta.id if meta else token.decode("utf-8", "replace").upper())
        tail = m.group(2).decode("utf-8", "replace")
        reason = tail.split("*/", 1)[0].strip().strip("-:;,").strip()
        line = line_of(m.start())
        out.append(Suppression(line, frozenset(ids), reason, m.start(), m.end()))
    return out


def by_line(sups: list[Suppression]) -> dict[int, list[Suppression]]:
    """Suppressions grouped by line (file order kept), for ``suppression_for``."""
    out: dict[int, list[Suppression]] = {}
    for s in sups:
        out.setdefault(s.line, []).append(s)
    return out


def suppression_for(
    sups: list[Suppression] | Mapping[int, list[Suppression]], rule: str, line: int
) -> Suppression | None:
    """The suppression covering `rule` at `line`: on the line itself or the line above.

    Pass ``by_line(sups)`` when looking up many findings (a list is scanned every time)."""
    candidates: list[Suppression]
    if isinstance(sups, Mapping):
        candidates = [*sups.get(line - 1, ()), *sups.get(line, ())]  # file order
    else:
        candidates = [s for s in sups if s.line in (line, line - 1)]
    for s in candidates:
        if not s.rules or rule in s.rules:
            return s
    return None
