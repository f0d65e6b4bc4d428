"""Every regular expression of the project, and inputs built to make each one backtrack.

``all_patterns()`` collects the patterns compiled at import time (module globals of every
``bot`` module) and the literal patterns of inline ``re.search(r"...")``-style calls (read
from the source with ``ast``). ``dynamic_sites()`` lists the calls whose pattern is built at
run time; the tests pin that list, so a new one has to come with a hand-written hostile case.

``pumped_inputs(pattern)`` is the classic ReDoS probe: take strings the pattern matches
(generated from its parsed form), then for every position repeat the character (or the two
characters) there thousands of times and end with a byte that spoils the match. A pattern with
overlapping quantifiers (``\\s*[\\w\\s]+\\s*``, ``(a|a)*``, ``[^,]+?\\s*,``) then backtracks
polynomially or exponentially, and the generous alarm in the test goes off.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import re._constants as sre_c  # private, but the parsed form is the only way to read a pattern
import re._parser as sre_p
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bot

BOT_ROOT = Path(bot.__file__).parent
_RE_FUNCS = frozenset(
    {"compile", "sub", "subn", "match", "search", "fullmatch", "findall", "finditer", "split"}
)
# Positional index of the flags argument per function (after the pattern).
_FLAGS_POS = {"compile": 1, "match": 2, "search": 2, "fullmatch": 2, "findall": 2}
_FLAGS_POS |= {"finditer": 2, "split": 3, "sub": 4, "subn": 4}


@dataclass(frozen=True)
class Site:
    where: str  # "bot/x.py:12" or "bot.x.NAME"
    pattern: re.Pattern[Any]
    anchored: bool = False  # an inline re.match/re.fullmatch call: matched at one position


def _modules() -> Iterator[Any]:
    for info in pkgutil.walk_packages(bot.__path__, "bot."):
        if info.name.endswith("__main__"):
            continue  # importing it would run it
        yield importlib.import_module(info.name)


def compiled_globals() -> list[Site]:
    """Module-level ``re.Pattern`` objects of every bot module."""
    out: list[Site] = []
    for mod in _modules():
        for name, value in vars(mod).items():
            if isinstance(value, re.Pattern):
                out.append(Site(f"{mod.__name__}.{name}", value))
    return out


def _calls() -> Iterator[tuple[Path, ast.Call, str, str]]:
    """(file, call, re function, enclosing function or "<module>") of every ``re.<func>``."""
    for path in sorted(BOT_ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        scopes: list[tuple[ast.AST, str]] = [(tree, "<module>")]
        while scopes:
            parent, scope = scopes.pop()
            for node in ast.iter_child_nodes(parent):
                inner = scope
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    inner = node.name
                scopes.append((node, inner))
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in _RE_FUNCS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "re"
                    and node.args
                ):
                    yield path, node, node.func.attr, scope


def _flags(call: ast.Call, func: str) -> int:
    expr: ast.expr | None = next((k.value for k in call.keywords if k.arg == "flags"), None)
    pos = _FLAGS_POS.get(func)
    if expr is None and pos is not None and len(call.args) > pos:
        expr = call.args[pos]
    if expr is None:
        return 0
    return int(eval(compile(ast.Expression(expr), "<flags>", "eval"), {"re": re}))


def inline_literals() -> list[Site]:
    """``re.<func>("literal", ...)`` calls anywhere in bot/ (module-level or not)."""
    out = []
    for path, call, func, _scope in _calls():
        arg = call.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str | bytes):
            where = f"{path.relative_to(BOT_ROOT.parent).as_posix()}:{call.lineno}"
            pattern = re.compile(arg.value, _flags(call, func))
            out.append(Site(where, pattern, anchored=func in ("match", "fullmatch")))
    return out


def dynamic_sites() -> dict[str, int]:
    """Calls whose pattern is not a literal: {"path::function": how many}."""
    out: dict[str, int] = {}
    for path, call, _func, scope in _calls():
        arg = call.args[0]
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str | bytes)):
            key = f"{path.relative_to(BOT_ROOT.parent).as_posix()}::{scope}"
            out[key] = out.get(key, 0) + 1
    return out


def site_patterns(key: str, **names: Any) -> list[re.Pattern[Any]]:
    """The run-time patterns of ``key`` ("path::function") as the code builds them: each
    call's pattern expression, evaluated with its module's globals plus ``names`` (the
    function's locals, given hostile values by the test)."""
    path, _, scope = key.partition("::")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    out = []
    for file, call, func, where in _calls():
        if file.relative_to(BOT_ROOT.parent).as_posix() != path or where != scope:
            continue
        arg = call.args[0]
        if isinstance(arg, ast.Constant):
            continue
        namespace = {**vars(module), **names}
        value = eval(compile(ast.Expression(arg), path, "eval"), namespace)
        out.append(re.compile(value, _flags(call, func)))
    return out


def all_patterns() -> list[Site]:
    """Module globals and inline literals, one Site per distinct (pattern, flags)."""
    seen: set[tuple[Any, int]] = set()
    out = []
    for site in [*compiled_globals(), *inline_literals()]:
        key = (site.pattern.pattern, site.pattern.flags)
        if key not in seen:
            seen.add(key)
            out.append(site)
    return out


# ---- sample strings a pattern matches --------------------------------------------------------

_CATEGORY_CHARS = {
    sre_c.CATEGORY_WORD: "a_0",
    sre_c.CATEGORY_NOT_WORD: " (-",
    sre_c.CATEGORY_SPACE: " \t\n",
    sre_c.CATEGORY_NOT_SPACE: "a(-",
    sre_c.CATEGORY_DIGIT: "0",
    sre_c.CATEGORY_NOT_DIGIT: "a ",
    sre_c.CATEGORY_LINEBREAK: "\n",
    sre_c.CATEGORY_NOT_LINEBREAK: "a ",
}
_PROBE_CHARS = "a_0 \t\n(),*&;=-.>/\\:@\"'{}[]#<!`~|$+x"


def _in_choices(items: list[tuple[Any, Any]]) -> str:
    if items and items[0][0] is sre_c.NEGATE:
        banned = "".join(_in_choices(items[1:]))
        return "".join(c for c in _PROBE_CHARS if c not in banned) or "\x02"
    chars = ""
    for op, av in items:
        if op is sre_c.LITERAL:
            chars += chr(av)
        elif op is sre_c.RANGE:
            chars += chr(av[0]) + chr(av[1])
        elif op is sre_c.CATEGORY:
            chars += _CATEGORY_CHARS.get(av, "a")
    return chars or "a"


def _sample(tree: Any, k: int) -> str:
    """A string the pattern (nearly) matches; ``k`` picks among branches and set members."""
    out: list[str] = []
    for op, av in tree:
        if op is sre_c.LITERAL:
            out.append(chr(av))
        elif op is sre_c.NOT_LITERAL:
            out.append("a" if av != ord("a") else "b")
        elif op is sre_c.ANY:
            out.append("x")
        elif op is sre_c.IN:
            choices = _in_choices(av)
            out.append(choices[k % len(choices)])
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            low, _high, sub = av
            out.append(_sample(sub, k) * max(low, 1))
        elif op is sre_c.SUBPATTERN:
            out.append(_sample(av[-1], k))
        elif op is sre_c.ATOMIC_GROUP:
            out.append(_sample(av, k))
        elif op is sre_c.BRANCH:
            branches = av[1]
            out.append(_sample(branches[k % len(branches)], k))
        # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF: nothing to emit
    return "".join(out)


def samples(pattern: re.Pattern[Any]) -> list[str]:
    tree = sre_p.parse(
        pattern.pattern if isinstance(pattern.pattern, str) else pattern.pattern.decode("latin-1"),
        pattern.flags & ~re.ASCII if isinstance(pattern.pattern, str) else 0,
    )
    return sorted({_sample(tree, k) for k in range(4)})


@dataclass(frozen=True)
class Probe:
    prefix: str
    pump: str
    spoiler: str
    is_bytes: bool

    def text(self, length: int) -> str | bytes:
        """prefix + pump repeated to ``length`` characters + spoiler."""
        out = self.prefix + self.pump * max(1, length // len(self.pump)) + self.spoiler
        return out.encode("latin-1") if self.is_bytes else out


def pumped_inputs(pattern: re.Pattern[Any]) -> list[Probe]:
    """Prefix of a sample + one or two of its characters repeated + a spoiler."""
    is_bytes = isinstance(pattern.pattern, bytes)
    out: dict[tuple[str, str, str], Probe] = {}
    for sample in samples(pattern):
        for i in range(len(sample)):
            for pump in {sample[i], sample[i : i + 2]}:
                for spoiler in ("", "\x01", "\n\x01"):
                    key = (sample[:i], pump, spoiler)
                    out.setdefault(key, Probe(sample[:i], pump, spoiler, is_bytes))
    return list(out.values())
