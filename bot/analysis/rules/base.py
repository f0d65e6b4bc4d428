"""What a detector returns: a hit at a byte range, turned into a Finding by the analyser."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.analysis.context import FileContext
from bot.analysis.inventory import Inventory
from bot.analysis.model import Severity


@dataclass(frozen=True, slots=True)
class Hit:
    rule: str
    offset: int
    end: int
    symbol: str
    message: str
    severity: Severity | None = None  # None: the registry's default


Detector = Callable[[FileContext, Inventory], Iterable[Hit]]


def scope_name(ctx: FileContext, offset: int, default: str) -> str:
    """The enclosing function's name (the symbol of call-site findings)."""
    f = ctx.enclosing_function(offset)
    return f.name if f is not None else default
