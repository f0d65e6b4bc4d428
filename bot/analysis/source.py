"""Text-level view of a C file: comments and strings blanked, brace depth, `#define`s.

tree-sitter gives the structure, but macros push declarations into ERROR nodes; the targeted
fallbacks work on this cleaned text instead. Blanking keeps every byte offset (and newline) in
place so offsets from tree-sitter, regexes and this module all agree.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import accumulate

# Comments, string and character literals (a string never spans an unescaped newline).
_LEXICAL = re.compile(
    rb'//(?:[^\n\\]++|\\.)*+|/\*.*?(?:\*/|\Z)|"(?:\\.|[^"\\\n]++)*+"?|\'(?:\\.|[^\'\\\n]++)*+\'?',
    re.DOTALL,
)
# A preprocessor directive line, with its backslash continuations.
# Line-anchored patterns start with a literal "\n" (matched against "\n" + text): much faster
# than `^` with re.MULTILINE, which the regex engine tries at every byte.
# Possessive runs (`++`, `*+`): a plain `(?:a|b)*` keeps a backtracking point per character,
# ~200 bytes of memory per byte of a long directive (a 2 MB `#define` took 450 MB).
_DIRECTIVE = re.compile(rb"\n[ \t]*#(?:[^\n\\]++|\\.)*+", re.DOTALL)
_DEFINE = re.compile(
    rb"\n[ \t]*+#[ \t]*+define[ \t]++(\w++)(\([^)]*+\))?[ \t]*+((?:[^\n\\]++|\\.)*+)", re.S
)
_COND_DIRECTIVE = re.compile(rb"\n[ \t]*#[ \t]*(if|ifdef|ifndef|elif|else|endif)\b")
_STEP = {123: 1, 125: -1}  # "{" and "}" as bytes items
_NOT_BRACES = bytes(i for i in range(256) if i not in (123, 125))
_CLOSE_TO_OPEN = bytes.maketrans(b"}", b"{")
_LINKAGE = re.compile(rb'\bextern\s*"[^"\n]*"\s*\{')


# bytes.translate tables: every byte but newline becomes a space (keeps offsets and lines);
# in comments and literals backslashes stay too, so a `#define` body whose comment lines end
# in a line continuation is still seen as one directive.
_SPACES = bytes(10 if i == 10 else 32 for i in range(256))
_SPACES_KEEP_BACKSLASH = bytes(i if i in (10, 92) else 32 for i in range(256))


def _blank(m: re.Match[bytes]) -> bytes:
    text = m.group(0)
    # Keep the quotes of literals so `"x"` stays an expression token; blank the content.
    if text[:1] in (b'"', b"'") and len(text) > 1:
        return text[:1] + text[1:-1].translate(_SPACES_KEEP_BACKSLASH) + text[-1:]
    return text.translate(_SPACES_KEEP_BACKSLASH)


def _clamped_add(a: int, b: int) -> int:
    return a + b if a + b > 0 else 0


def blank_comments_and_strings(data: bytes) -> bytes:
    return _LEXICAL.sub(_blank, data)


def blank_directives(code: bytes) -> bytes:
    if b"#" not in code:
        return code
    return _DIRECTIVE.sub(lambda m: m.group(0).translate(_SPACES), b"\n" + code)[1:]


@dataclass(slots=True)
class Source:
    """One file's bytes plus the derived views the detectors share."""

    data: bytes
    code: bytes = b""  # comments and strings blanked
    flat: bytes = b""  # code with preprocessor directives blanked too
    _line_starts: list[int] = field(default_factory=list)
    # Brace events: sorted offsets and the depth just after each event.
    _brace_offsets: list[int] = field(default_factory=list)
    _brace_depths: list[int] = field(default_factory=list)
    defines: dict[str, list[str]] = field(default_factory=dict)
    macro_params: dict[str, list[str]] = field(default_factory=dict)  # function-like macros
    _resolved: dict[tuple[str, int], list[str]] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes) -> Source:
        src = cls(data)
        src.code = blank_comments_and_strings(data)
        src.flat = blank_directives(src.code)
        src._compute_depths()
        for m in _DEFINE.finditer(b"\n" + src.code) if b"define" in src.code else ():
            value = re.sub(rb"\\\n", b" ", m.group(3)).strip().decode("utf-8", "replace")
            name = m.group(1).decode("ascii", "replace")
            src.defines.setdefault(name, []).append(value)
            if m.group(2):
                params = m.group(2).decode("ascii", "replace")[1:-1]
                src.macro_params[name] = [p.strip() for p in params.split(",")]
        return src

    def _compute_depths(self) -> None:
        """Brace depth, reading each `#if` group's first branch for the net effect.

        Every branch starts from the depth at its `#if`, so an `#ifdef`-split function header
        (`{` in both branches) counts once instead of twice. Braces are counted per segment
        between conditional directives with C-speed helpers (this runs on every file).
        """
        flat = self.flat
        offsets = self._brace_offsets
        depths = self._brace_depths
        depth = 0
        stack: list[tuple[int, int | None]] = []  # (depth at #if, depth at end of 1st branch)
        pos = 0
        # Matched against "\n" + code: a match's start is the directive's own offset.
        conds = list(_COND_DIRECTIVE.finditer(b"\n" + self.code)) if b"#" in self.code else []
        for cm in [*conds, None]:
            seg_end = cm.start() if cm is not None else len(flat)
            if seg_end > pos:
                seg = flat[pos:seg_end]
                kinds = seg.translate(None, _NOT_BRACES)  # the braces, in order
                if kinds:
                    # Offsets from the lengths between braces; all the loops run in C.
                    pieces = seg.translate(_CLOSE_TO_OPEN).split(b"{")[:-1]
                    starts = list(accumulate(map((1).__add__, map(len, pieces)), initial=pos - 1))
                    del starts[0]
                    running = list(accumulate(map(_STEP.__getitem__, kinds), initial=depth))
                    del running[0]
                    if min(running) < 0:  # a stray `}`: never below file scope
                        steps = list(map(_STEP.__getitem__, kinds))
                        running = list(accumulate(steps, _clamped_add, initial=depth))[1:]
                    offsets.extend(starts)
                    depths.extend(running)
                    depth = running[-1]
            if cm is None:
                break
            pos = cm.end() - 1
            kind = cm.group(1)
            if kind.startswith(b"if"):
                stack.append((depth, None))
                continue
            if not stack:
                continue
            start, first_end = stack[-1]
            if kind in (b"elif", b"else"):
                if first_end is None:
                    stack[-1] = (start, depth)
                depth = start
            else:  # endif
                stack.pop()
                if first_end is not None:
                    depth = first_end
            offsets.append(cm.start())
            depths.append(depth)
        if b"extern" in flat:
            self._flatten_linkage_blocks()

    def _flatten_linkage_blocks(self) -> None:
        """`extern "C" { ... }` (C++ files) is not a scope: its content stays at depth 0."""
        for m in _LINKAGE.finditer(self.flat):
            brace = m.end() - 1
            close = self.matching_brace(brace) - 1
            lo = bisect_right(self._brace_offsets, brace - 1)
            hi = bisect_right(self._brace_offsets, close)
            for i in range(lo, hi):
                self._brace_depths[i] -= 1
            if hi - 1 >= lo and self._brace_offsets[hi - 1] == close:
                self._brace_depths[hi - 1] += 1  # the closing brace itself: back at depth

    def skeleton(self) -> bytes:
        """The file with the inside of every top-level `{...}` blanked, directives kept.

        Function bodies and initialisers are read textually (or parsed piecewise), so
        tree-sitter only needs the file-scope structure: parsing blank bodies is ~4x faster,
        and macros inside bodies can no longer derail its error recovery at file scope.
        Offsets and lines are unchanged.
        """
        data, code, flat = self.data, self.code, self.flat
        pieces: list[bytes] = []
        pos = 0
        region_start = -1
        prev = 0
        for off, depth in zip(self._brace_offsets, self._brace_depths, strict=True):
            ch = code[off]
            if region_start < 0:
                if ch == 123 and depth == 1 and prev == 0:
                    region_start = off + 1
            elif ch == 125 and depth == 0:
                # Blank [region_start, off): flat blanked, with code's directive lines put
                # back (they differ from flat exactly there): t ^ (c ^ f) on big integers.
                f = flat[region_start:off]
                t = f.translate(_SPACES)
                pieces.append(data[pos:region_start])
                if flat[max(0, region_start - 256) : region_start - 1].rstrip().endswith(b"="):
                    # An initializer: tree-sitter-c rejects directives inside one.
                    pieces.append(t)
                else:
                    c = code[region_start:off]
                    mixed = (
                        int.from_bytes(t, "big")
                        ^ int.from_bytes(c, "big")
                        ^ int.from_bytes(f, "big")
                    )
                    pieces.append(mixed.to_bytes(len(c), "big"))
                pos = off
                region_start = -1
            prev = depth
        pieces.append(data[pos:])
        return b"".join(pieces)

    def depth_at(self, offset: int) -> int:
        """Brace depth before the byte at `offset`."""
        i = bisect_right(self._brace_offsets, offset - 1)
        return self._brace_depths[i - 1] if i else 0

    def matching_brace(self, open_offset: int) -> int:
        """Offset just past the `}` closing the `{` at open_offset (end of file if unbalanced)."""
        target = self.depth_at(open_offset)
        i = bisect_right(self._brace_offsets, open_offset)
        offsets, depths = self._brace_offsets, self._brace_depths
        code = self.code
        while i < len(offsets):
            if depths[i] <= target and code[offsets[i] : offsets[i] + 1] == b"}":
                return offsets[i] + 1
            i += 1
        return len(code)

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in bytes) of an offset."""
        if not self._line_starts:
            # Built on first use: most files need a handful of positions.
            lengths = map((1).__add__, map(len, self.data.split(b"\n")))
            self._line_starts = list(accumulate(lengths, initial=0))
        i = bisect_right(self._line_starts, offset)
        return i, offset - self._line_starts[i - 1] + 1

    def resolve(self, name: str, depth: int = 0) -> list[str]:
        """Values a macro name may expand to (every `#define` of it, recursively).

        Each value once (its last occurrence: callers read "last one wins"), and each name
        resolved once per depth: a file defining every name of a chain many times (or to many
        names) would otherwise fan out exponentially (20 repeats x 6 levels took 8 s).
        """
        key = (name, depth)
        cached = self._resolved.get(key)
        if cached is not None:
            return cached
        values = self.defines.get(name)
        if not values or depth > 4:
            return [name]
        out: list[str] = []
        for v in values:
            if re.fullmatch(r"\w+", v) and v != name:
                out.extend(self.resolve(v, depth + 1))
            else:
                out.append(v)
        # Keep the last occurrence of each value, in order.
        result = list(reversed(dict.fromkeys(reversed(out))))
        self._resolved[key] = result
        return result


_PUNCT = re.compile(r"[(){}\[\],]")


def split_initializer(text: str) -> list[str]:
    """Split the inside of a `{...}` initializer at its top-level commas.

    Directive lines must already be blanked (every `#if` branch is read). Nested braces,
    parentheses and brackets are kept whole. Only punctuation is visited, not every character.
    """
    parts: list[str] = []
    level = 0
    start = 0
    for m in _PUNCT.finditer(text):
        ch = m.group()
        if ch == ",":
            if level == 0:
                parts.append(text[start : m.start()].strip())
                start = m.end()
        elif ch in "({[":
            level += 1
        else:
            level -= 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


@dataclass(slots=True)
class Initializer:
    """A `{...}` initializer as positional and designated (`.field = value`) elements."""

    positional: list[str]
    designated: dict[str, str]
    elements: list[str]

    def get(self, field_name: str, position: int | None = None) -> str | None:
        """Value of a field, designated or at a 0-based position (positional values only)."""
        if field_name in self.designated:
            return self.designated[field_name]
        if position is not None and position < len(self.positional):
            return self.positional[position]
        return None


_DESIGNATED = re.compile(r"^\.\s*(\w+)\s*=\s*(.*)$", re.DOTALL)


def parse_initializer(src: Source, open_offset: int) -> Initializer:
    end = src.matching_brace(open_offset)
    inner = src.flat[open_offset + 1 : max(open_offset + 1, end - 1)].decode("utf-8", "replace")
    return initializer_from_text(inner)


def initializer_from_text(inner: str) -> Initializer:
    """An Initializer from the text between the braces."""
    elements = split_initializer(inner)
    positional: list[str] = []
    designated: dict[str, str] = {}
    for el in elements:
        m = _DESIGNATED.match(el)
        if m:
            designated[m.group(1)] = " ".join(m.group(2).split())
        else:
            positional.append(" ".join(el.split()))
    return Initializer(positional, designated, elements)
