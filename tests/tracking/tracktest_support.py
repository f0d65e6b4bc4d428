"""A tiny regex stand-in for the analysis core, plus C snippets in the shapes it recognises.

Tracking's tests exercise caching, snapshots and attribution, not C parsing: this analyser
recognises exactly the snippets below (which the real core classifies the same way), counts
its calls, and keeps the tests fast. ``test_real_core`` tests run the real core when present.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.analysis.model import (
    FileReport,
    Finding,
    Metric,
    ModuleInfo,
    Ratio,
    Summary,
    TreeReport,
    TypeInfo,
)

_INIT = re.compile(r"PyMODINIT_FUNC\s+PyInit_(\w+)\s*\(void\)\s*\{(.*?)\n\}", re.S)
_STATIC = re.compile(r"^\s*(?:static\s+)?PyTypeObject\s+(\w+)\s*=\s*\{", re.M)
_SPEC = re.compile(r"^\s*(?:static\s+)?PyType_Spec\s+(\w+)\s*=\s*\{", re.M)
_GLOBAL = re.compile(r"^static\s+PyObject\s*\*\s*(\w+)\s*;", re.M)


def module_c(
    name: str,
    *,
    multi: bool = True,
    pig: bool = True,
    static: tuple[str, ...] = (),
    heap: tuple[str, ...] = (),
    globals_: tuple[str, ...] = (),
) -> bytes:
    """C source of a small extension module in the requested state."""
    out = ['#include "Python.h"', ""]
    for g in globals_:
        out.append(f"static PyObject *{g};")
    for t in static:
        out += [f"static PyTypeObject {t} = {{", "    PyVarObject_HEAD_INIT(NULL, 0)", "};"]
    for t in heap:
        out += [f"static PyType_Spec {t} = {{", f'    .name = "{name}.{t}",', "};"]
    slots = ["    {0, NULL}"]
    if pig:
        slots.insert(0, "    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},")
    out += ["static PyModuleDef_Slot module_slots[] = {", *slots, "};"]
    out += [
        "static struct PyModuleDef moduledef = {",
        f'    PyModuleDef_HEAD_INIT, "{name}", NULL, 0, NULL, module_slots,',
        "};",
        "",
        f"PyMODINIT_FUNC PyInit_{name}(void) {{",
    ]
    if multi:
        out.append("    return PyModuleDef_Init(&moduledef);")
    else:
        out.append("    return PyModule_Create(&moduledef);")
    out.append("}")
    return ("\n".join(out) + "\n").encode()


@dataclass
class ToyAnalyzer:
    version: str = "toy-1"
    calls: list[str] = field(default_factory=list)

    def analyze(self, path: str, data: bytes) -> FileReport:
        self.calls.append(path)
        text = data.decode("utf-8", "replace")
        rep = FileReport(path=path)
        for m in _INIT.finditer(text):
            name, body = m.group(1), m.group(2)
            multi = "PyModuleDef_Init" in body
            pig = "Py_MOD_PER_INTERPRETER_GIL_SUPPORTED" in text
            rep.modules.append(
                ModuleInfo(
                    name=name,
                    path=path,
                    line=text[: m.start()].count("\n") + 1,
                    init="multi-phase" if multi else "single-phase",
                    multiple_interpreters=(
                        None if not multi else "per-interpreter-gil" if pig else "unspecified"
                    ),
                    is_test=name.startswith(("_test", "xx")),
                    init_function=f"PyInit_{name}",
                )
            )
        for kind, rx in (("static", _STATIC), ("heap", _SPEC)):
            for m in rx.finditer(text):
                line = text[: m.start()].count("\n") + 1
                rep.types.append(TypeInfo(m.group(1), path, line, kind, None))  # type: ignore[arg-type]
        for m in _GLOBAL.finditer(text):
            line = text[: m.start()].count("\n") + 1
            rep.findings.append(
                Finding(
                    "ISO005",
                    "global-object",
                    "error",
                    path,
                    line,
                    1,
                    line,
                    2,
                    m.group(1),
                    f"global object {m.group(1)}",
                )
            )
        return rep

    def tree(
        self, reports: list[FileReport], ignored_tsv: str | None, globals_to_fix_tsv: str | None
    ) -> TreeReport:
        modules = [m for r in reports for m in r.modules]
        by_path = {m.path: m.name for m in modules}
        types = [
            TypeInfo(t.name, t.path, t.line, t.kind, by_path.get(t.path), t.is_test)
            for r in reports
            for t in r.types
        ]
        ignored = set((ignored_tsv or "").split())
        findings = [
            Finding(**{**f.to_dict(), "status": "suppressed" if f.symbol in ignored else "new"})
            for r in reports
            for f in r.findings
        ]

        def metric(done: list[bool], test: list[bool]) -> Metric:
            std = [d for d, t in zip(done, test, strict=True) if not t]
            return Metric(Ratio(sum(done), len(done)), Ratio(sum(std), len(std)))

        test = [m.is_test for m in modules]
        summary = Summary(
            multi_phase=metric([m.init == "multi-phase" for m in modules], test),
            heap_types=metric([t.kind == "heap" for t in types], [t.is_test for t in types]),
            per_interpreter_gil=metric(
                [m.multiple_interpreters == "per-interpreter-gil" for m in modules], test
            ),
        )
        return TreeReport(".", modules, types, findings, summary, files=len(reports))


@dataclass
class CountingCore:
    """The real analysis core, counting the files it analyses."""

    version: str = "core-test"
    calls: list[str] = field(default_factory=list)

    def analyze(self, path: str, data: bytes) -> FileReport:
        from bot.store.analysis_cache import CoreAnalyzer

        self.calls.append(path)
        return CoreAnalyzer().analyze(path, data)

    def tree(
        self, reports: list[FileReport], ignored_tsv: str | None, globals_to_fix_tsv: str | None
    ) -> TreeReport:
        from bot.store.analysis_cache import CoreAnalyzer

        return CoreAnalyzer().tree(reports, ignored_tsv, globals_to_fix_tsv)
