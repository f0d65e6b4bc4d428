"""Preprocessor branches a file never compiles, and branches only old Pythons compile.

The analysis reads every `#if` branch (it has no preprocessor), so code that is never built
would be reported like live code. A branch is dead when its condition is decided by what the
file itself says or by facts true of every supported CPython:

- `#if 0`, `#if 1 ... #else`;
- a macro the file `#define`s before the test, outside any `#if`, and never `#undef`s:
  `#ifdef NAME` is then true, and `#if NAME` is its literal value (`#define USE_X 0`);
- `PY_MAJOR_VERSION` is 3 and `PY_VERSION_HEX` at least 0x03000000 (Python 2 branches);
- `PYPY_VERSION` is never defined for CPython (PyPy-only branches).

A branch compiled only for Python older than 3.12 (`#if PY_VERSION_HEX < 0x030C0000`, the
`#else` of `>=`) is not dead: it is live on those versions, and findings there say so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIRECTIVE = re.compile(
    rb"\n[ \t]*+#[ \t]*+(if|ifdef|ifndef|elif|else|endif|define|undef)\b((?:[^\n\\]++|\\.)*+)",
    re.S,
)
_DEFINE_VALUE = re.compile(r"^\s*(\w+)(\([^)]*\))?\s*(.*)$", re.S)
_INT = re.compile(r"^\(?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?$")
_TOKEN = re.compile(
    r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)|0[xX][0-9a-fA-F]+[uUlL]*|"
    r"\d+[uUlL]*|\w+|&&|\|\||==|!=|<=|>=|[<>!()]|\S"
)
_VERSION_TEST = re.compile(
    r"^\s*+\(?+\s*+PY_VERSION_HEX\s*+(<|<=|>=|>)\s*+(0[xX][0-9a-fA-F]++)\s*+\)?+\s*+$"
)
# Slots and isolation arrived in 3.12: a branch only older versions compile is worth a note.
_NOTE_BELOW = 0x030C0000
KNOWN = {"PY_MAJOR_VERSION": 3}
NEVER_DEFINED = frozenset({"PYPY_VERSION"})


@dataclass(frozen=True, slots=True)
class Branch:
    start: int  # first byte after the directive line
    end: int  # the next directive of the group
    dead: bool
    reason: str  # why dead, or "only compiled for Python < 3.N"


def _strip_comment(text: str) -> str:
    return re.sub(r"/\*.*?\*/|//.*$", " ", text, flags=re.S).strip()


def _evaluate(cond: str, defines: dict[str, str | None]) -> bool | None:
    """The condition's value, or None when it depends on something unknown."""
    out: list[str] = []
    for m in _TOKEN.finditer(cond):
        tok = m.group(0)
        name = m.group(1) or m.group(2)
        if name is not None:
            if name in NEVER_DEFINED:
                out.append("0")
            elif name in defines or name in KNOWN:
                out.append("1")
            else:
                return None
        elif tok == "&&":
            out.append(" and ")
        elif tok == "||":
            out.append(" or ")
        elif tok == "!":
            out.append(" not ")
        elif re.fullmatch(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*", tok):
            out.append(str(int(tok.rstrip("uUlL"), 0)))
        elif re.fullmatch(r"\w+", tok):
            if tok in KNOWN:
                out.append(str(KNOWN[tok]))
            elif tok == "PY_VERSION_HEX":
                # Only a Python 2 test is decided: every supported CPython is >= 3.0.
                rest = cond[m.end() :]
                v = re.match(r"\s*(<|<=|>=|>)\s*(0[xX][0-9a-fA-F]+)", rest)
                if v is None or int(v.group(2), 16) > 0x03000000:
                    return None
                out.append(str(0x03000000))
            elif tok in defines:
                value = defines[tok]
                if value is None or not _INT.match(value):
                    return None
                out.append(str(int(_INT.match(value).group(1), 0)))  # type: ignore[union-attr]
            else:
                return None
        elif tok in ("==", "!=", "<=", ">=", "<", ">", "(", ")"):
            out.append(tok)
        else:
            return None
    expr = "".join(out).strip()
    if not expr:
        return None
    try:
        return bool(eval(expr, {"__builtins__": {}}, {}))
    except Exception:
        return None


def _version_note(cond: str, negated: bool) -> str | None:
    m = _VERSION_TEST.match(cond)
    if not m:
        return None
    op, value = m.group(1), int(m.group(2), 16)
    if negated:
        op = {"<": ">=", "<=": ">", ">=": "<", ">": "<="}[op]
    if op in ("<", "<=") and value <= _NOTE_BELOW:
        major, minor = value >> 24, (value >> 16) & 0xFF
        return f"only compiled for Python < {major}.{minor}"
    return None


def branches(code: bytes) -> list[Branch]:
    """The dead branches and the old-Python-only branches of a file (``code``: comments and
    strings blanked, directives kept), in file order."""
    if b"#" not in code:
        return []
    text = b"\n" + code
    defines: dict[str, str | None] = {}
    undefined: set[str] = {
        m.group(2).decode().strip().split()[0]
        for m in _DIRECTIVE.finditer(text)
        if m.group(1) == b"undef" and m.group(2).strip()
    }
    out: list[Branch] = []
    # Per open group: [start of current branch, condition state, a branch already taken,
    # dead-because-enclosing, reason of the current branch, previous conditions]
    stack: list[dict[str, object]] = []

    def close_branch(end: int) -> None:
        g = stack[-1]
        state = g["state"]
        start = g["start"]
        assert isinstance(start, int)
        if state is False:
            out.append(Branch(start, end, True, str(g["reason"])))
        elif isinstance(state, str):
            out.append(Branch(start, end, False, state))

    for m in _DIRECTIVE.finditer(text):
        kind = m.group(1).decode()
        arg = _strip_comment(re.sub(r"\\\n", " ", m.group(2).decode("utf-8", "replace")))
        here = m.start()  # offset of the directive in `code` (text has one extra byte)
        after = m.end() - 1
        if kind == "define":
            if not stack:
                d = _DEFINE_VALUE.match(arg)
                if d and not d.group(2) and d.group(1) not in undefined:
                    defines[d.group(1)] = d.group(3).strip() or None
            continue
        if kind == "undef":
            continue
        if kind in ("if", "ifdef", "ifndef"):
            if kind == "ifdef":
                cond = f"defined({arg.split()[0]})" if arg else ""
            elif kind == "ifndef":
                cond = f"!defined({arg.split()[0]})" if arg else ""
            else:
                cond = arg
            value = _evaluate(cond, defines) if cond else None
            state: object = value
            reason = f"#{kind} {arg}".strip()
            if value is None:
                note = _version_note(cond, False)
                state = note if note else None
            stack.append(
                {
                    "start": after,
                    "state": state,
                    "taken": value is True,
                    "reason": reason,
                    "conds": [cond],
                }
            )
            continue
        if not stack:
            continue
        close_branch(here)
        g = stack[-1]
        if kind == "endif":
            stack.pop()
            continue
        conds = g["conds"]
        assert isinstance(conds, list)
        if kind == "else":
            if g["taken"]:
                state = False
                reason = f"the #else of `{conds[-1]}`, always true"
            elif all(_evaluate(c, defines) is False for c in conds):
                state = True
                reason = ""
            else:
                state = None
                reason = ""
                if len(conds) == 1:
                    state = _version_note(conds[0], True)
            g.update(start=after, state=state, reason=reason)
            continue
        # elif
        if g["taken"]:
            g.update(start=after, state=False, reason=f"an #elif after `{conds[-1]}`, always true")
            continue
        value = _evaluate(arg, defines)
        g.update(
            start=after,
            state=value if value is not None else _version_note(arg, False),
            reason=f"#elif {arg}",
            taken=value is True,
        )
        conds.append(arg)
    out.sort(key=lambda b: b.start)
    return out


def branch_note(found: list[Branch], offset: int) -> Branch | None:
    """The innermost dead branch containing ``offset``, else an old-Python one, else None."""
    dead = [b for b in found if b.start <= offset < b.end and b.dead]
    if dead:
        return dead[-1]
    old = [b for b in found if b.start <= offset < b.end]
    return old[-1] if old else None
