"""The path policy: which files are analysed, never reported, or reported as info only.

Written once, here, as path globs: the engine applies them (``classify_path``, the analyser)
and docs/rules.md and ``isolation-bot explain`` print them (``policy_markdown``), so the rule
pages say what the engine does. For CPython it mirrors the EXCLUDED list of
Tools/c-analyzer/cpython/_parser.py: generated code, vendored libraries and data tables are
never reported; test and demo modules, and the static builtin types of Objects/ and Python/,
are info only.

Globs use `*` (within one path component), `?` and `**` (any number of components); a glob
matches at any depth (``Modules/expat/**`` also matches ``cpython/Modules/expat/x.c``, so a
scan rooted above the checkout classifies the same way). Paths are relative, `/`-separated.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

# C and C++ sources and headers: the files the analyser reads (C++ extensions: greenlet's
# .cpp/.hpp, PC/_wmimodule.cpp); tree-sitter-c reads C++ partially, the regex fallbacks find
# inits and definitions there.
SOURCE_SUFFIXES = (".c", ".h", ".cpp", ".cc", ".cxx", ".hpp", ".hh")


@dataclass(frozen=True, slots=True)
class PathGroup:
    """Files a glob list selects, with the reason shown to users."""

    reason: str  # "generated code": the skip reason and the docs' heading
    globs: tuple[str, ...]


# ---- never reported (the file is not analysed; its report says why) -----------------------

GENERATED = PathGroup(
    "generated code",
    (
        "*.c.h",
        "clinic/**",
        "Python/bytecodes.c",
        "Python/optimizer_bytecodes.c",
        "Python/deepfreeze/**",
        "Python/frozen_modules/**",
        # Generated tables listed in 3.11's c-analyzer EXCLUDED (computed-goto targets, the
        # stdlib module name list); later versions still generate them.
        "Python/opcode_targets.h",
        "Python/stdlib_module_names.h",
    ),
)
VENDORED = PathGroup(
    "vendored code",
    (
        "Modules/_decimal/libmpdec/**",
        "Modules/expat/**",
        "Modules/_hacl/**",
        "Modules/_blake2/impl/**",
        "Modules/_sha3/kcp/**",
        "Modules/_ctypes/libffi*/**",
        "Modules/zlib/**",
        "Objects/mimalloc/**",
        "Include/internal/mimalloc/**",
    ),
)
DATA_TABLES = PathGroup(
    "data table",
    ("*_db.h", "cjkcodecs/mappings_*.h", "_ssl_data*.h"),
)
# Third-party extension projects (outside CPython's folders): libraries copied in under a
# conventional folder name (pillow's src/thirdparty/, ujson's deps/) and the pythoncapi-compat
# header many projects vendor (its function statics are compatibility shims for old Pythons).
VENDORED_ELSEWHERE = PathGroup(
    "vendored code",
    (
        "third_party/**",
        "thirdparty/**",
        "3rdparty/**",
        "vendor/**",
        "vendored/**",
        "_vendor/**",
        "deps/**",
        "external/**",
        "pythoncapi_compat.h",
    ),
)

# ---- info only ---------------------------------------------------------------------------

# CPython's test and demo modules: deliberate or irrelevant global state.
CPYTHON_TESTS = PathGroup(
    "test or demo module",
    (
        "Modules/_test*",
        "Modules/_test*/**",
        "Modules/xx*",
        "Modules/xx*/**",
        "Modules/_xxtestfuzz/**",
        "Modules/_ctypes/_ctypes_test*",
        "Modules/_ctypes/_ctypes_test*/**",
    ),
)
# Extension projects: a folder named test/tests/testing (greenlet's
# src/greenlet/tests/_test_extension.c) or demo/examples (cffi's demo/). Only a whole path
# component counts: "test" inside a name (pytest_ext/, _testcapi.c) is not a folder of tests.
PROJECT_TESTS = PathGroup(
    "test or demo code",
    tuple(f"{d}/**" for d in ("test", "tests", "testing", "demo", "demos", "example", "examples")),
)
# Module names of test modules, wherever the file is (`_testcapi`, `xxsubtype`, ...).
TEST_MODULE_PREFIXES = ("_test", "xx", "_xx")
TEST_MODULE_NAMES = ("_ctypes_test",)

# ---- areas -------------------------------------------------------------------------------

# The static builtin types of Objects/ and Python/ (managed per interpreter since 3.12).
BUILTIN_AREA = PathGroup("static builtin types", ("Objects/**", "Python/**"))
# CPython's own source folders: where CPython's path rules apply. Elsewhere the file belongs to
# an extension project (the analyser relaxes the rules for its plain C library code).
CPYTHON_AREA = PathGroup(
    "CPython source folder",
    tuple(f"{d}/**" for d in ("Modules", "Objects", "Python", "PC", "Include", "Parser")),
)

# ---- rule-specific paths -----------------------------------------------------------------

# Rules whose findings in a group of paths are info only, with the reason.
RULE_INFO: dict[str, tuple[PathGroup, str]] = {
    "ISO001": (BUILTIN_AREA, "static builtin types are managed per interpreter since 3.12"),
    "ISO017": (BUILTIN_AREA, "static builtin types are managed per interpreter since 3.12"),
}
# Rules never reported in some files, with the reason.
RULE_EXEMPT: dict[str, tuple[PathGroup, str]] = {
    "ISO011": (
        PathGroup("the PyGILState implementation", ("Python/pystate.c",)),
        "the implementation of the API itself",
    ),
}

# ---- file content (not the path): every finding of the file is info ---------------------

CYTHON_REASON = "Cython-generated code: fix it in the .pyx source or by upgrading Cython"
PLAIN_C_REASON = "plain C library code: the file uses no Python C API"
STANDALONE_PROGRAM_REASON = (
    "a standalone program (its own main, no Python C API): no extension module's state"
)


@dataclass(frozen=True, slots=True)
class PathClass:
    excluded: str | None  # why the file is never reported, or None
    is_test: bool  # test or demo module code: findings downgraded to info
    builtin_area: bool  # Objects/ or Python/: static builtin types are info
    cpython_area: bool = True  # under a CPython source folder (else: an extension project)


def normalize(path: str) -> str:
    """`\\` to `/`, leading `./` and `/` removed."""
    return path.replace("\\", "/").lstrip("./")


def in_group(group: PathGroup, path: str) -> bool:
    """The normalised path matches one of the group's globs, at any depth."""
    return any(glob_regex(g, anywhere=True).fullmatch(path) is not None for g in group.globs)


@functools.lru_cache(maxsize=4096)
def classify_path(path: str) -> PathClass:
    p = normalize(path)
    excluded: str | None = None
    for group in (GENERATED, VENDORED, DATA_TABLES):
        if in_group(group, p):
            excluded = group.reason
            break
    cpython_area = in_group(CPYTHON_AREA, p)
    if excluded is None and not cpython_area and in_group(VENDORED_ELSEWHERE, p):
        excluded = VENDORED_ELSEWHERE.reason
    return PathClass(
        excluded=excluded,
        is_test=in_group(CPYTHON_TESTS, p) or (not cpython_area and in_group(PROJECT_TESTS, p)),
        builtin_area=in_group(BUILTIN_AREA, p),
        cpython_area=cpython_area,
    )


def rule_exempt(rule: str, path: str) -> bool:
    """The rule is never reported in this file (RULE_EXEMPT)."""
    entry = RULE_EXEMPT.get(rule)
    return entry is not None and in_group(entry[0], normalize(path))


def rule_info(rule: str, path: str) -> bool:
    """The rule's findings in this file are info only (RULE_INFO)."""
    entry = RULE_INFO.get(rule)
    return entry is not None and in_group(entry[0], normalize(path))


def is_test_module_name(name: str) -> bool:
    """Test and demo modules by name (`_testcapi`, `xxsubtype`, `_ctypes_test`, ...)."""
    return name.startswith(TEST_MODULE_PREFIXES) or name in TEST_MODULE_NAMES


def glob_match(pattern: str, path: str) -> bool:
    """Match a whole root-relative '/'-separated path against a glob (not at any depth).

    `**` matches any number of characters including '/', `**/` also matches nothing (so
    `**/*.c` matches `a.c`), `*` and `?` do not cross '/'.
    """
    return glob_regex(pattern).fullmatch(path) is not None


@functools.lru_cache(maxsize=512)
def glob_regex(pattern: str, anywhere: bool = False) -> re.Pattern[str]:
    """A glob as a regex over one "/"-separated path (``match`` and ``fullmatch`` both take
    the whole path): ``*`` and ``?`` stay within one name, ``**`` crosses folders and ``**/``
    also matches nothing, ``[...]`` / ``[!...]`` is a character class. ``anywhere``: the
    glob may match the path's tail at any folder depth (the path policy's globs).

    The one glob dialect of the project: the path policy and a project's
    ``[tool.isolation-bot]`` patterns both compile here."""
    # A leading `**` already matches at any depth; a second `(?:.*/)?` before it would make
    # the match quadratic on a deep path.
    out: list[str] = ["(?:.*/)?"] if anywhere and not pattern.startswith("**") else []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            while pattern.startswith("**/", i):  # `**/**/` is `**/`; repeated, it backtracks
                i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1 : i + 2] in ("!", "]") else i + 1)
            if end < 0:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + r"\Z", re.DOTALL)


# ---- documentation -------------------------------------------------------------------------


def _globs(globs: Iterable[str]) -> str:
    return ", ".join(f"`{g}`" for g in globs)


def policy_markdown() -> list[str]:
    """The path policy every rule follows, as Markdown lines (docs/rules.md, `explain`)."""
    exts = ", ".join(f"`{s}`" for s in SOURCE_SUFFIXES)
    lines = [
        f"Files: C and C++ sources and headers ({exts}). Path globs match at any depth.",
        "",
        "Never reported (the file is not analysed):",
        "",
    ]
    for group in (GENERATED, VENDORED, DATA_TABLES):
        lines.append(f"- {group.reason}: {_globs(group.globs)}")
    test_names = [f"`{p}*`" for p in TEST_MODULE_PREFIXES] + [f"`{n}`" for n in TEST_MODULE_NAMES]
    lines += [
        f"- {VENDORED_ELSEWHERE.reason} of extension projects (outside "
        f"{_globs(CPYTHON_AREA.globs)}): {_globs(VENDORED_ELSEWHERE.globs)}",
        "",
        "Reported as info only:",
        "",
        f"- {CPYTHON_TESTS.reason}s of CPython: {_globs(CPYTHON_TESTS.globs)}",
        f"- {PROJECT_TESTS.reason} of extension projects (outside CPython's folders): "
        f"{_globs(PROJECT_TESTS.globs)}",
        f"- {CYTHON_REASON}",
        f"- outside CPython's folders, {PLAIN_C_REASON}",
        f"- inside CPython's folders, {STANDALONE_PROGRAM_REASON}",
        "",
        f"Modules named {', '.join(test_names)} are test modules wherever their file is: "
        "left out of the standard-library metrics and of `scan --stdlib-only`.",
    ]
    return lines


def rule_paths_markdown(rule: str) -> list[str]:
    """What the path policy does for one rule beyond the common part (RULE_EXEMPT, RULE_INFO)."""
    lines: list[str] = []
    if rule in RULE_EXEMPT:
        group, why = RULE_EXEMPT[rule]
        lines.append(f"This rule is never reported in {_globs(group.globs)}: {why}.")
    if rule in RULE_INFO:
        group, why = RULE_INFO[rule]
        lines.append(f"This rule is info only in {_globs(group.globs)}: {why}.")
    return lines


def policy_globs() -> set[str]:
    """Every glob of the policy (the hardening tests probe each compiled pattern)."""
    groups = [
        GENERATED,
        VENDORED,
        DATA_TABLES,
        VENDORED_ELSEWHERE,
        CPYTHON_TESTS,
        PROJECT_TESTS,
        BUILTIN_AREA,
        CPYTHON_AREA,
        *(g for g, _ in RULE_INFO.values()),
        *(g for g, _ in RULE_EXEMPT.values()),
    ]
    return {g for group in groups for g in group.globs}
