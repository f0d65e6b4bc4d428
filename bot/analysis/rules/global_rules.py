"""Process-global state: ISO005 objects, ISO012 C state, ISO013 caches, ISO018 capsules.

Which of the four reports a variable is decided once, in static_state.PRECEDENCE.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import FileContext
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import Hit, detector
from bot.analysis.rules.static_state import (
    StaticVariable,
    c_state_downgrade,
    c_state_writes,
    is_object_cache,
    variables_reported_by,
)
from bot.analysis.source import split_initializer


@detector("ISO018")
def cached_capsule_pointer(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for s in variables_reported_by("ISO018", ctx):
        yield Hit(
            s.var.offset,
            s.end,
            s.name,
            f"{s.where(ctx)} caches a C-API capsule pointer process-wide; keep it in module state",
        )


@detector("ISO013")
def static_cache_or_freelist(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for s in variables_reported_by("ISO013", ctx):
        yield Hit(
            s.var.offset,
            s.end,
            s.name,
            f"{s.where(ctx)} is a static cache or free list shared by every interpreter"
            + (" (it holds Python objects)" if is_object_cache(ctx, s) else ""),
            # The interpreter's own caches must be per-interpreter (numfree: a counter); a
            # cache of objects is an object global.
            "error"
            if (ctx.pclass.builtin_area and s.name != "numfree") or is_object_cache(ctx, s)
            else None,
        )


_ADDRESS_ELEMENT = re.compile(r"^(?:\([^()]*\)\s*)?&\s*\w+$|^(?:NULL|0)$")


def _constant_address_table(ctx: FileContext, s: StaticVariable) -> bool:
    """An array initialised with addresses of static objects (`{&dl_type, &CType_Type, ...}`)
    that nothing writes: a constant table, whatever its declared constness."""
    if not (s.var.array and s.var.init_brace is not None):
        return False
    end = ctx.src.matching_brace(s.var.init_brace)
    elements = split_initializer(
        ctx.src.flat[s.var.init_brace + 1 : end - 1].decode("utf-8", "replace")
    )
    return (
        bool(elements)
        and all(_ADDRESS_ELEMENT.match(e.strip()) for e in elements)
        and c_state_writes(ctx, s).count == 0
    )


@detector("ISO005")
def global_object(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for s in variables_reported_by("ISO005", ctx):
        if _constant_address_table(ctx, s):
            yield Hit(
                s.var.offset,
                s.end,
                s.name,
                f"{s.where(ctx)} is a table of object addresses that nothing writes: "
                "effectively const (declare it const)",
                "info",
            )
            continue
        yield Hit(
            s.var.offset,
            s.end,
            s.name,
            f"{s.where(ctx)} is a process-global {s.decl.type_text} "
            + ("pointer" if s.var.pointer else "that holds Python objects")
            + " shared by every interpreter; move it to module state",
        )


# Declaring macros that hide a static (the tree sees a call): `TCL_DECLARE_MUTEX(call_mutex)`.
_DECLARING_MACRO = re.compile(rb"^[ \t]*(TCL_DECLARE_MUTEX)\s*\(\s*(\w+)\s*\)", re.MULTILINE)


@detector("ISO012")
def global_c_state(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    for s in variables_reported_by("ISO012", ctx):
        kind = "static" if "static" in s.decl.storage or s.function else "global"
        why = c_state_downgrade(ctx, s)
        if why is not None:
            yield Hit(
                s.var.offset,
                s.end,
                s.name,
                f"mutable {kind} {s.decl.type_text} {s.where(ctx)}: {why}",
                "info",
            )
            continue
        yield Hit(
            s.var.offset,
            s.end,
            s.name,
            f"mutable {kind} {s.decl.type_text} {s.where(ctx)} is process-wide C state "
            "written at run time; move it to module state (or make it const)",
        )
    if b"_DECLARE_" not in ctx.src.flat:
        return
    for m in _DECLARING_MACRO.finditer(ctx.src.flat):
        if ctx.src.depth_at(m.start()) != 0:
            continue
        name = m.group(2).decode()
        yield Hit(
            m.start(2),
            m.end(2),
            name,
            f"{m.group(1).decode()}({name}) declares a process-wide mutex: a lock, "
            "process-wide by design",
            "info",
        )


DETECTORS = (cached_capsule_pointer, static_cache_or_freelist, global_object, global_c_state)
