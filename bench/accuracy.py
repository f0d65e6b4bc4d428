"""Accuracy figures of the analysis core on a CPython tree, cross-checked with plain regexes.

Usage: python bench/accuracy.py /path/to/cpython

Prints: init functions found vs a grep of the tree, their classification (single-phase list),
static PyTypeObject and PyType_Spec definitions in Modules/ vs grep, findings inside excluded
code, and globals-to-fix.tsv rows for Modules/ whose name still occurs in the code vs the
findings. Every miss is listed.
"""

from __future__ import annotations

import os
import re
import sys
from collections import defaultdict

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from bot.analysis import classify_path
from bot.analysis.source import Source
from bot.analysis.tsv import parse_tsv
from bot.scanner import collect_files, scan_paths

_COMMENT = re.compile(rb"/\*.*?\*/|//[^\n]*", re.DOTALL)
_INIT_GREP = re.compile(rb"^[ \t]*(?:PyMODINIT_FUNC\s+)?(PyInit_\w+)\s*\(\s*void\s*\)\s*\{", re.M)
_MACRO_INIT_GREP = re.compile(
    rb"^[ \t]*PyMODINIT_FUNC\s+([A-Z_]+)\s*\(\s*void\s*\)|^[ \t]*I_AM_A_MODULE_FOR\((\w+)\)", re.M
)
_STATIC_GREP = re.compile(rb"^[ \t]*(?:static\s+)?PyTypeObject\s+(\w+)\s*=\s*\{", re.M)
_SPEC_MACRO_GREP = re.compile(rb"^#define (\w+)\(\w+.*\\\n\s*static PyType_Spec", re.M)
_SPEC_GREP = re.compile(rb"^[ \t]*(?:static\s+)?(?:const\s+)?PyType_Spec\s+(\w+)\s*=\s*\{", re.M)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: bench/accuracy.py CPYTHON_TREE", file=sys.stderr)
        return 2
    tree = argv[1]
    dirs = [os.path.join(tree, d) for d in ("Modules", "Objects", "Python", "PC")]
    dirs = [d for d in dirs if os.path.isdir(d)]
    report = scan_paths(dirs)
    _, files = collect_files(dirs)

    grep_inits: dict[str, str] = {}
    grep_macro_inits: list[str] = []
    grep_static: set[tuple[str, str]] = set()
    grep_spec: set[tuple[str, str]] = set()
    for abspath, rel in files:
        if classify_path(rel).excluded:
            continue
        with open(abspath, "rb") as fh:
            data = _COMMENT.sub(b" ", fh.read())
        for m in _INIT_GREP.finditer(data):
            grep_inits[m.group(1).decode()] = rel
        for m in _MACRO_INIT_GREP.finditer(data):
            grep_macro_inits.append(f"{rel}:{(m.group(1) or m.group(2)).decode()}")
        if rel.startswith("Modules/"):
            grep_static |= {(rel, m.group(1).decode()) for m in _STATIC_GREP.finditer(data)}
            grep_spec |= {
                (rel, m.group(1).decode())
                for m in _SPEC_GREP.finditer(data)
                if data.rfind(b"#define", 0, m.start()) < data.rfind(b"\n\n", 0, m.start())
            }
            # Macro-made specs: `SHA3_TYPE_SPEC(sha3_224_spec, ...)` (the macro's parameter
            # is the spec name).
            for mm in _SPEC_MACRO_GREP.finditer(data):
                grep_spec |= {
                    (rel, c.group(1).decode())
                    for c in re.finditer(rb"^" + mm.group(1) + rb"\((\w+)", data, re.M)
                }

    found_inits = {m.init_function: m for m in report.modules}
    print(
        f"== module inits: {len(report.modules)} modules found "
        f"({sum(m.is_test for m in report.modules)} test/demo)"
    )
    print(
        f"   grep: {len(grep_inits)} PyInit_* definitions + {len(grep_macro_inits)} macro-made "
        f"({', '.join(grep_macro_inits[:3])}...)"
    )
    missing = sorted(set(grep_inits) - set(found_inits))
    print(f"   grep inits not reported as modules: {len(missing)}")
    for name in missing:
        print(f"     - {name} ({grep_inits[name]})")
    single = sorted(m.name for m in report.modules if m.init == "single-phase")
    print(f"   single-phase: {len(single)}: {', '.join(single)}")
    std_single = sorted(
        m.name for m in report.modules if m.init == "single-phase" and not m.is_test
    )
    print(f"   single-phase stdlib: {', '.join(std_single)}")
    mi: dict[str, list[str]] = defaultdict(list)
    for m in report.modules:
        mi[str(m.multiple_interpreters)].append(m.name)
    for k, v in sorted(mi.items()):
        print(
            f"   multiple_interpreters={k}: {len(v)}"
            + (f" ({', '.join(sorted(v))})" if k not in ("per-interpreter-gil",) else "")
        )

    ours_static = {
        (t.path, t.name)
        for t in report.types
        if t.kind == "static" and t.path.startswith("Modules/")
    }
    ours_spec = {
        (t.path, t.name.split("@")[0])
        for t in report.types
        if t.kind == "heap" and t.path.startswith("Modules/")
    }
    for label, ours, grep in (
        ("static PyTypeObject", ours_static, grep_static),
        ("PyType_Spec", ours_spec, grep_spec),
    ):
        print(
            f"== {label} definitions in Modules/: found {len(ours)}, grep {len(grep)}, "
            f"missed {len(grep - ours)}, extra {len(ours - grep)}"
        )
        for p, n in sorted(grep - ours):
            print(f"     missed {p} {n}")
        for p, n in sorted(ours - grep):
            print(f"     extra  {p} {n}")
    unattributed = [t for t in report.types if t.module is None and not t.exempt]
    print(
        f"   types without a module: {len(unattributed)} "
        f"{[f'{t.path}:{t.name}' for t in unattributed][:10]}"
    )

    bad = [f for f in report.findings if classify_path(f.path).excluded]
    print(f"== findings inside excluded code: {len(bad)}")

    tsv_path = os.path.join(tree, "Tools", "c-analyzer", "cpython", "globals-to-fix.tsv")
    if os.path.exists(tsv_path):
        with open(tsv_path, "rb") as fh:
            rows = [r for r in parse_tsv(fh.read()) if r.filename.startswith("Modules/")]
        symbols = {(f.path, f.symbol) for f in report.findings}
        known = sum(1 for f in report.findings if f.status == "known")
        live, matched, missed = 0, 0, []
        for r in rows:
            path = os.path.join(tree, r.filename)
            if classify_path(r.filename).excluded or not os.path.exists(path):
                continue
            with open(path, "rb") as fh:
                code = _COMMENT.sub(b" ", fh.read())
            name = re.escape(r.name.encode())
            declared = re.search(
                rb"^[ \t]*(?:static|extern|const|struct|volatile|[A-Za-z_]\w*)[^\n;=(]*?[\s*]"
                + name
                + rb"\s*(?:\[[^\]]*\]\s*)?(?:=(?!=)|;)"
                + rb"|^[ \t]*\w+\(\s*"
                + name
                + rb"\s*\)\s*$",
                code,
                re.M,
            )
            if declared and r.funcname is None:
                # A struct member or an extern declaration is not the global itself.
                src = Source.from_bytes(code)
                if src.depth_at(declared.start()) != 0 or declared.group(0).lstrip().startswith(
                    b"extern"
                ):
                    declared = None
            if not declared:
                continue  # stale row: the variable moved (e.g. into module state)
            live += 1
            if (r.filename, r.name) in symbols:
                matched += 1
            else:
                missed.append(r)
        print(
            f"== globals-to-fix.tsv rows for Modules/: {len(rows)}, still in the code: {live}, "
            f"found as findings: {matched}, missed: {len(missed)} "
            f"(findings labelled known: {known})"
        )
        for r in missed:
            print(f"     missed {r.filename} {r.funcname or '-'} {r.name}  [{r.section}]")
    print(f"== findings: {len(report.findings)}; notes: {len(report.notes)}")
    for n in report.notes:
        print(f"     note {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
