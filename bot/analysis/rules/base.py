"""What a detector is, and the helpers several detectors share.

A detector is a function of one file's context and inventory that declares the one rule id it
emits; everything else about the rule (name, severity, texts) is in the catalog, rules/*.toml.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.analysis.context import Definition, FileContext
from bot.analysis.inventory import Inventory
from bot.analysis.model import Severity


@dataclass(frozen=True, slots=True)
class Hit:
    """A match at a byte range of the file; the analyser makes it a Finding of its detector's
    rule."""

    offset: int
    end: int
    symbol: str
    message: str
    severity: Severity | None = None  # None: the catalog's default for the rule


FindHits = Callable[[FileContext, Inventory], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Detector:
    rule: str  # the one rule id it emits
    find: FindHits

    @property
    def name(self) -> str:
        """The function's name: the rule's name in snake_case (a test checks it)."""
        return self.find.__name__


def detector(rule: str) -> Callable[[FindHits], Detector]:
    """Decorator: the function finds the hits of ``rule`` (an id of the catalog)."""

    def wrap(find: FindHits) -> Detector:
        return Detector(rule, find)

    return wrap


def scope_name(ctx: FileContext, offset: int, default: str) -> str:
    """The enclosing function's name (the symbol of call-site findings)."""
    f = ctx.enclosing_function(offset)
    return f.name if f is not None else default


# A C type naming a Python object (`PyObject`, `PyTypeObject`, `PyLongObject`, ...) followed by
# `*`: a member or variable that holds an object reference.
OBJECT_POINTER_MEMBER = re.compile(r"\b(PyObject|PyTypeObject|Py\w*Object)\s*\*")


def is_call(ctx: FileContext, offset: int) -> bool:
    """A name at ``offset`` inside a function body: a call, not a prototype at file scope."""
    return ctx.src.depth_at(offset) != 0


def spec_flags(ctx: FileContext, spec: Definition) -> str:
    """The flags of a PyType_Spec, with a flags macro expanded."""
    assert spec.init is not None
    raw = spec.init.get("flags", 3) or ""
    # A flags macro (`#define FOO_FLAGS (Py_TPFLAGS_DEFAULT | ...)`): expand it.
    words = re.findall(r"\w+", raw)
    expanded = [raw]
    for w in words:
        if not w.startswith("Py_TPFLAGS_") and w in ctx.src.defines:
            expanded.extend(ctx.src.resolve(w))
    return " ".join(expanded)
