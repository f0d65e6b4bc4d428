"""Static type rules: ISO001 static PyTypeObject, ISO017 static structseq."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.context import FileContext
from bot.analysis.inventory import Inventory
from bot.analysis.rules.base import Hit, detector, is_call, scope_name

_STRUCTSEQ = re.compile(rb"\bPyStructSequence_InitType2?\s*+\(\s*+&?\s*+(\w++(?:\s*+->\s*+\w++)*+)")
_TYPE_TABLE = re.compile(rb"PyTypeObject\s*\*\s*(?:const\s+)?\w+\s*\[\s*\]\s*=\s*\{")
_ADDRESS = re.compile(rb"&\s*(\w+)")
_INIT_FOR_EXTENSION = re.compile(rb"\b_PyStaticType_InitForExtension\s*\([^;]*?&\s*(\w+)")


@detector("ISO001")
def static_type(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if not inv.static_types:
        return
    per_interp: set[str] = set()
    flat = ctx.src.flat
    if b"_PyStaticType_InitForExtension" in flat:
        per_interp = {m.group(1).decode() for m in _INIT_FOR_EXTENSION.finditer(flat)}
        # Readied in a loop over a table (`capi_types[i]` in _datetimemodule.c): the types
        # whose address is in a `PyTypeObject *...[]` table of the file.
        for t in _TYPE_TABLE.finditer(flat):
            end = ctx.src.matching_brace(t.end() - 1)
            per_interp |= {a.decode() for a in _ADDRESS.findall(flat, t.end(), end)}
    for d in inv.static_types:
        if ctx.pclass.builtin_area:
            # Info only there, by the path policy (RULE_INFO); the message says why.
            yield Hit(
                d.offset,
                d.offset + len(d.name),
                d.name,
                f"static builtin type {d.name!r} (managed per interpreter since 3.12)",
            )
        elif d.name in per_interp:
            yield Hit(
                d.offset,
                d.offset + len(d.name),
                d.name,
                f"static type {d.name!r} is readied per interpreter by "
                "_PyStaticType_InitForExtension",
                "info",
            )
        else:
            yield Hit(
                d.offset,
                d.offset + len(d.name),
                d.name,
                f"static type {d.name!r} is shared by every interpreter; convert it to a "
                "heap type (PyType_Spec + PyType_FromModuleAndSpec)",
            )


@detector("ISO017")
def static_structseq(ctx: FileContext, inv: Inventory) -> Iterator[Hit]:
    if b"PyStructSequence_InitType" not in ctx.src.flat:
        return
    for m in _STRUCTSEQ.finditer(ctx.src.flat):
        if not is_call(ctx, m.start()):
            continue
        target = m.group(1).decode()
        if "->" in target:
            continue  # a pointer in module state: not a static type
        yield Hit(
            m.start(),
            m.end(),
            target,
            f"PyStructSequence_InitType on static type {target!r} in "
            f"{scope_name(ctx, m.start(), '<file scope>')}; use PyStructSequence_NewType",
        )  # info in Objects/ and Python/ by the path policy (RULE_INFO)


DETECTORS = (static_type, static_structseq)
