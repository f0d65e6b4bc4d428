"""The core's own registry of rules: id, name, default severity.

The TOML catalog in rules/ documents each rule; its tests check that it agrees with this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.analysis.model import Severity


@dataclass(frozen=True, slots=True)
class RuleMeta:
    id: str
    name: str
    severity: Severity  # default severity (some detections lower or raise it, see messages)
    summary: str


_ALL = [
    RuleMeta("ISO001", "static-type", "error", "static PyTypeObject definition"),
    RuleMeta("ISO002", "single-phase-init", "error", "module uses single-phase initialization"),
    RuleMeta(
        "ISO003",
        "missing-per-interpreter-gil-slot",
        "warning",
        "multi-phase module without Py_mod_multiple_interpreters = PER_INTERPRETER_GIL",
    ),
    RuleMeta(
        "ISO004", "pystate-module-lookup", "error", "PyState_FindModule/AddModule/RemoveModule"
    ),
    RuleMeta("ISO005", "global-object", "error", "mutable static or global object pointer"),
    RuleMeta("ISO006", "py-identifier", "warning", "_Py_IDENTIFIER / _Py_static_string"),
    RuleMeta(
        "ISO007",
        "type-from-spec-without-module",
        "warning",
        "PyType_FromSpec(WithBases) in a module that has state",
    ),
    RuleMeta(
        "ISO008",
        "heap-type-dealloc-missing-decref",
        "error",
        "heap type tp_dealloc never releases its type",
    ),
    RuleMeta(
        "ISO009",
        "heap-type-gc",
        "warning",
        "heap type without GC support, or tp_traverse not visiting its type",
    ),
    RuleMeta(
        "ISO010",
        "module-state-without-gc-hooks",
        "warning",
        "module with state but no m_traverse/m_clear/m_free",
    ),
    RuleMeta("ISO011", "gilstate-api", "warning", "PyGILState_* API use"),
    RuleMeta("ISO012", "global-c-state", "warning", "mutable non-object C static"),
    RuleMeta("ISO013", "static-cache-or-freelist", "warning", "static cache or free list"),
    RuleMeta(
        "ISO014", "module-state-via-py-type", "warning", "PyType_GetModule(State)(Py_TYPE(self))"
    ),
    RuleMeta("ISO015", "pyobject-new-on-gc-type", "error", "PyObject_New/NewVar on a heap GC type"),
    RuleMeta(
        "ISO016",
        "heap-type-mutable-or-instantiable",
        "info",
        "heap type left mutable or instantiable",
    ),
    RuleMeta("ISO017", "static-structseq", "error", "PyStructSequence_InitType on a static type"),
    RuleMeta(
        "ISO018", "cached-capsule-pointer", "error", "C-API capsule pointer cached in a global"
    ),
    RuleMeta("ISO019", "module-def-negative-size", "error", "PyModuleDef with m_size = -1"),
    RuleMeta(
        "ISO900",
        "suppression-without-reason",
        "warning",
        "inline isolation-bot suppression without a reason",
    ),
]

RULES: dict[str, RuleMeta] = {r.id: r for r in _ALL}
RULES_BY_NAME: dict[str, RuleMeta] = {r.name: r for r in _ALL}


def lookup(id_or_name: str) -> RuleMeta | None:
    """A rule by id (`ISO001`, case-insensitive) or name (`static-type`)."""
    return RULES.get(id_or_name.upper()) or RULES_BY_NAME.get(id_or_name.lower())
