"""No regular expression of the project can be driven into catastrophic backtracking.

Every pattern (tests/hardening/regex_inventory.py finds them all: module globals, inline
literals, and the few built at run time, which are pinned here with hand-written cases) is
fed "pumped" inputs: a string it matches, with one or two of its characters repeated tens of
thousands of times and a spoiling byte at the end. Polynomial or exponential backtracking
makes such a probe take seconds to forever; linear matching takes about a millisecond. Each
probe runs under a signal alarm (CPython's regex engine checks for signals while matching),
so a regression fails with the pattern and the input instead of hanging the suite.
"""

from __future__ import annotations

import ast
import contextlib
import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.analysis.paths import glob_match, policy_globs
from tests.hardening.regex_inventory import (
    BOT_ROOT,
    Probe,
    Site,
    all_patterns,
    dynamic_sites,
    pumped_inputs,
    site_patterns,
)

# Generous: a linear scan of the largest probe takes a few milliseconds.
WORK_BOUND_SECONDS = 3.0
SHORT_PUMP = 2_000  # characters of the repeated part in the ranking pass
LONG_PUMP = 60_000  # the slowest probes of each pattern are re-run this long


class TooMuchWork(Exception):
    pass


@contextlib.contextmanager
def work_bound(seconds: float, what: str | Callable[[], str]) -> Iterator[None]:
    def alarm(_signum: int, _frame: Any) -> None:
        raise TooMuchWork(what if isinstance(what, str) else what())

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _anchored_names() -> set[str]:
    """``module.NAME`` of module-level patterns only ever used with .match()/.fullmatch()
    (at one position, on one token or line): probed as they are used, not searched."""
    uses: dict[str, set[str]] = {}
    for path in sorted(BOT_ROOT.rglob("*.py")):
        module = ".".join(path.relative_to(BOT_ROOT.parent).with_suffix("").parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and isinstance(node.ctx, ast.Load)
            ):
                uses.setdefault(f"{module}.{node.value.id}", set()).add(node.attr)
    return {name for name, attrs in uses.items() if attrs and attrs <= {"match", "fullmatch"}}


SITES = all_patterns()
ANCHORED = _anchored_names()


def _is_anchored(site: Site) -> bool:
    return site.anchored or site.where in ANCHORED


def _run(site: Site, text: str | bytes) -> None:
    if _is_anchored(site):
        site.pattern.match(text)
    else:
        for _ in site.pattern.finditer(text):
            pass


def test_the_inventory_found_the_project_patterns() -> None:
    # Not vacuous: the analysis core alone has dozens; spot-check a few known ones.
    where = {s.where for s in SITES}
    assert len(SITES) >= 90
    assert "bot.analysis.source._LEXICAL" in where
    assert "bot.render.escape._MENTION" in where or any("bot.render.escape" in w for w in where)
    assert any(w.startswith("bot/analysis/context.py:") for w in where)  # inline literals
    assert "bot.commands.grammar._FENCE_RE" in ANCHORED


@pytest.mark.parametrize("site", SITES, ids=[s.where for s in SITES])
def test_pumped_inputs_stay_linear(site: Site) -> None:
    probes = pumped_inputs(site.pattern)
    assert probes
    current: list[str | bytes] = [""]

    def what() -> str:
        text = current[0]
        return f"{site.where} on {len(text)} chars: {text[:50]!r}...{text[-10:]!r}"

    # A cheap pass ranks the probes (superlinear ones are the slowest already at this size),
    # then the slowest few run again, 30 times longer, under the alarm.
    timed: list[tuple[float, Probe]] = []
    with work_bound(WORK_BOUND_SECONDS * 4, what):
        for probe in probes:
            current[0] = text = probe.text(SHORT_PUMP)
            started = time.perf_counter()
            _run(site, text)
            timed.append((time.perf_counter() - started, probe))
    timed.sort(key=lambda t: t[0], reverse=True)
    for _, probe in timed[:3]:
        current[0] = text = probe.text(LONG_PUMP)
        with work_bound(WORK_BOUND_SECONDS, what):
            _run(site, text)


# ---- patterns built at run time: each site (file::function, count) has hostile cases ---------

# (pattern, text, True when the code only ever fullmatches it)
Cases = list[tuple[re.Pattern[Any], str | bytes, bool]]


def _macro_cases() -> Cases:
    out: Cases = []
    key = "bot/analysis/context.py::_macro_built_definitions"
    # A macro parameter name substituted into the macro body (re.escape'd), and calls of a
    # function-like macro at the start of a line (re.M, on the whole file).
    for p, macro in (("x", "M"), ("a_b", "DEF"), ("(", "X")):
        word, call = site_patterns(key, p=p, macro=macro)
        texts = ("x" * 60_000, "x " * 30_000, "a_b" * 20_000 + "\x01")
        out += [(word, t, False) for t in texts]
        lines = (b" \t" * 30_000 + b"M", b"\n" * 60_000, (b"DEF" + b" " * 50 + b"\n") * 2000)
        out += [(call, t, False) for t in lines]
    return out


def _pasted_cases() -> Cases:
    # `#define M(p) PyInit_ ## p`: the token-pasting operator and the parameter in the value.
    out: Cases = []
    for param in ("p", "name"):
        (rx,) = site_patterns("bot/analysis/context.py::_pasted_module_name", params=[param])
        texts = (" " * 60_000 + "x", "# " * 30_000, " #" * 30_000, "p" * 60_000, "\t##" * 20_000)
        out += [(rx, t, False) for t in texts]
    return out


def _var_cases(key: str, call: bytes) -> Cases:
    # Py_VISIT(...) / Py_DECREF(...) of a variable that holds Py_TYPE(self), in a body.
    out: Cases = []
    for var in (b"tp", b"a"):
        (rx,) = site_patterns(key, var=re.escape(var))
        for filler in (b" ", b"\t\n", b"(a ", b"* ", b"tp ", b"(tp) "):
            out.append((rx, call + b"(" + filler * (60_000 // len(filler)) + b"\x01", False))
            out.append((rx, (call + b"(" + filler * 20 + b"\n") * 2_000, False))
    return out


def _glob_cases() -> Cases:
    from bot.analysis.paths import glob_regex

    globs = {"**/*.c", "**/*.h", "Modules/**/_test*.c", "**/a*b*c*d*e*.c", "*/*/*/*/*.h"}
    globs.update(policy_globs())
    paths = ("a/" * 30_000 + "x", "a" * 60_000 + ".x", "Modules/" + "_test" * 12_000, "." * 60_000)
    # Both forms (at any depth, whole path) fullmatch a whole path.
    return [
        (glob_regex(g, anywhere), p, True)
        for g in sorted(globs)
        for anywhere in (True, False)
        for p in paths
    ]


def _project_glob_cases() -> Cases:
    # Globs a project writes in [tool.isolation-bot] (exclude, per-file-ignores), matched
    # against the paths of its own tree.
    from bot.analysis.paths import glob_regex

    globs = ("**/*.c", "**/**/**/*.h", "Modules/**/_test*.c", "**/a*b*c*d*e*.c", "*/*/*/*/*.h")
    globs += ("[a-z]*/**/x?y*.c", "**/*_[!t]*.cpp")
    paths = ("a/" * 30_000 + "x", "a" * 60_000 + ".x", "Modules/" + "_test" * 12_000, "." * 60_000)
    return [(glob_regex(g), p, True) for g in globs for p in paths]


# "file::function": (number of run-time patterns there, their hostile cases)
DYNAMIC_CASES: dict[str, tuple[int, Callable[[], Cases]]] = {
    "bot/analysis/context.py::_macro_built_definitions": (2, _macro_cases),
    "bot/analysis/context.py::_pasted_module_name": (1, _pasted_cases),
    "bot/analysis/rules/heap_type_rules.py::_visits_type": (
        1,
        lambda: _var_cases("bot/analysis/rules/heap_type_rules.py::_visits_type", b"Py_VISIT"),
    ),
    "bot/analysis/rules/heap_type_rules.py::_decrefs_type": (
        1,
        lambda: _var_cases("bot/analysis/rules/heap_type_rules.py::_decrefs_type", b"Py_XDECREF"),
    ),
    # Module-level patterns built by concatenation (_CAST): probed with the globals above.
    "bot/analysis/rules/heap_type_rules.py::<module>": (3, list),
    # Globs of the path policy against PR file paths, and those a project writes.
    "bot/analysis/paths.py::glob_regex": (1, lambda: _glob_cases() + _project_glob_cases()),
    # The emulator's fault rules: a pattern the test author writes, matched against URL paths
    # the bot builds; never fed from outside.
    "bot/emulator/faults.py::add": (1, list),
}


def test_every_run_time_pattern_has_hostile_cases() -> None:
    # A new re.<func>(<non-literal>) in bot/ must be reviewed and given cases here.
    assert dynamic_sites() == {k: n for k, (n, _) in DYNAMIC_CASES.items()}


@pytest.mark.parametrize("site", sorted(k for k, (_, f) in DYNAMIC_CASES.items() if f is not list))
def test_run_time_patterns_stay_linear(site: str) -> None:
    cases = DYNAMIC_CASES[site][1]()
    assert cases
    for rx, text, anchored in cases:
        with work_bound(WORK_BOUND_SECONDS, f"{rx.pattern!r} on {text[:40]!r}"):
            if anchored:
                rx.fullmatch(text)
            else:
                for _ in rx.finditer(text):
                    pass


def test_catalog_globs_still_match_what_they_should() -> None:
    assert glob_match("**/*.c", "Modules/_abc.c") and glob_match("**/*.c", "x.c")
    assert not glob_match("**/*.c", "a/" * 1000 + "x.h")
