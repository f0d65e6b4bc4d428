"""The slash-command grammar: a comment body -> the commands it contains. PURE, never raises.

A command is a line that starts (after at most 3 spaces) with ``/isolation <command> [args]``
or ``@<bot login> <command> [args]`` (the login with or without ``[bot]``, case-insensitive).
Lines that markdown renders as code, quotes or hidden HTML are never commands:

- fenced code blocks (``` or ~~~, any length >= 3, indented up to 3 spaces, closed by a fence
  of the same character at least as long; unclosed fences run to the end of the body);
- indented code (4+ columns after a blank line; inside a paragraph such a line is a
  continuation, shown as text, so it can hold a command);
- block quote lines (``>`` after at most 3 spaces);
- HTML blocks that start with ``<!--`` (they run to the line holding ``-->``) and inline HTML
  comments, also across lines;
- a line whose start lies inside an inline code span (code spans may cross lines within a
  paragraph, like CommonMark).

The scan is line by line plus one linear pass per paragraph for code spans and comments, so
hostile input cannot trigger super-linear regex backtracking (no ReDoS).

Quoting is decided per line: a command line right after a quote line (no blank line between)
counts as a command even though CommonMark would render it as a lazy continuation of the
quote, because "a command is a line that starts with /isolation" and GitHub's quote-reply
always inserts a blank line.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field

# --------------------------------------------------------------------------- command table


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str  # "/isolation ignore <rule> <symbol> -- <reason>"
    summary: str  # one line for `help`
    pr_only: bool = False
    maintainer_only: bool = False


PREFIX = "/isolation"

COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(
            "help", "/isolation help [command]", "list the commands (or one command's usage)"
        ),
        CommandSpec(
            "recheck",
            "/isolation recheck",
            "run the pull-request isolation check again on the current head",
            pr_only=True,
        ),
        CommandSpec(
            "status",
            "/isolation status [module | path | rule]",
            "isolation state of a module, file or rule on the default branch; no argument: "
            "the overall progress",
        ),
        CommandSpec(
            "explain", "/isolation explain <rule id or name>", "the documentation of a rule"
        ),
        CommandSpec(
            "ignore",
            "/isolation ignore <rule> <symbol> -- <reason>",
            "suppress a finding on this pull request; the reason is required and shown",
            pr_only=True,
            maintainer_only=True,
        ),
        CommandSpec(
            "unignore",
            "/isolation unignore <rule> <symbol>",
            "remove a suppression from this pull request",
            pr_only=True,
            maintainer_only=True,
        ),
        CommandSpec(
            "summary",
            "/isolation summary",
            "post the progress summary now",
            maintainer_only=True,
        ),
    )
}

MAX_COMMANDS_PER_COMMENT = 10
MAX_ARG_LENGTH = 200
MAX_REASON_LENGTH = 500
MAX_LINE_LENGTH = 2000

_RULE_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,99}\Z")
_SYMBOL_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.:]{0,199}\Z")
# What a `status` argument may be: a module (`_curses`), a path (`Modules/_cursesmodule.c`) or a
# rule id/name. Anything else is almost certainly a typo or an injection attempt.
_TARGET_RE = re.compile(r"[A-Za-z0-9_./+-]{1,200}\Z")
# "--" separates the reason; phones and some editors turn it into an em or en dash.
_REASON_SEPARATORS = ("--", "\u2014", "\u2013")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Command:
    """One well-formed command."""

    name: str  # key of COMMANDS
    args: tuple[str, ...]
    raw: str  # the line as written, stripped
    line: int  # 1-based line in the body
    reason: str | None = None  # `ignore ... -- <reason>`

    @property
    def spec(self) -> CommandSpec:
        return COMMANDS[self.name]

    @property
    def normalized(self) -> str:
        """Identity for edit comparison: prefix style, case of the name and spacing ignored."""
        text = " ".join((self.name, *self.args))
        if self.reason is not None:
            text += " -- " + " ".join(self.reason.split())
        return text


@dataclass(frozen=True)
class CommandError:
    """A command line that could not be understood: answered with the usage, never silence."""

    raw: str
    line: int
    message: str
    usage: str
    name: str | None = None  # the command name when it was known

    @property
    def normalized(self) -> str:
        return "error: " + " ".join(self.raw.split()).lower()


ParsedItem = Command | CommandError


def commands_digest(items: list[ParsedItem]) -> str:
    """Short stable hash of a list of items (the reply marker's revision)."""
    text = "\n".join(item.normalized for item in items)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def general_usage() -> str:
    return "\n".join(spec.usage for spec in COMMANDS.values())


# --------------------------------------------------------------------------- block scan

# Possessive fence runs (`{3,}+`): a line that fails after a long run must not be retried
# with every shorter run (quadratic; tests/hardening/test_regex_backtracking.py).
_FENCE_RE = re.compile(r"( {0,3})(`{3,}+|~{3,}+)(.*)\Z")
_CLOSING_FENCE_RE = re.compile(r" {0,3}(`{3,}+|~{3,}+)[ \t]*+\Z")


@dataclass
class _Paragraph:
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)


def _indent_width(line: str) -> int:
    width = 0
    for ch in line:
        if ch == " ":
            width += 1
        elif ch == "\t":
            width += 4 - width % 4
        else:
            break
    return width


def _paragraphs(body: str) -> list[_Paragraph]:
    """Split the body into paragraphs of candidate lines (code, quotes, HTML blocks removed)."""
    paragraphs: list[_Paragraph] = []
    current = _Paragraph()

    def flush() -> None:
        nonlocal current
        if current.lines:
            paragraphs.append(current)
        current = _Paragraph()

    fence: tuple[str, int] | None = None  # (char, length) of the open fence
    in_html_comment = False
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    for number, line in enumerate(text.split("\n"), start=1):
        if fence is not None:
            m = _CLOSING_FENCE_RE.match(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= fence[1]:
                fence = None
            continue
        if in_html_comment:
            if "-->" in line:
                in_html_comment = False
            continue
        if not line.strip():
            flush()
            continue
        m = _FENCE_RE.match(line)
        if m and not (m.group(2)[0] == "`" and "`" in m.group(3)):
            flush()
            fence = (m.group(2)[0], len(m.group(2)))
            continue
        if _indent_width(line) >= 4:
            # Inside a paragraph: a continuation line, shown as text (CommonMark strips the
            # indentation). Otherwise: indented code, never a command nor paragraph text.
            if current.lines:
                current.lines.append((number, line))
            continue
        stripped = line.lstrip(" ")
        if stripped.startswith(">"):
            flush()  # a block quote line: never a command, and it ends the paragraph
            continue
        if stripped.startswith("<!--"):
            flush()  # an HTML block (CommonMark type 2): hidden up to the line with -->
            if "-->" not in stripped[4:]:
                in_html_comment = True
            continue
        current.lines.append((number, line))
    flush()
    return paragraphs


# --------------------------------------------------------------------------- inline scan


def _hidden_ranges(text: str) -> list[tuple[int, int]]:
    """Half-open [start, end) ranges of ``text`` inside code spans or HTML comments.

    Linear apart from a bisect per backtick run: the closing run of a code span is the next run
    of exactly the same length (found through a per-length index), like CommonMark.
    """
    runs: list[tuple[int, int]] = []  # (start, length) of every backtick run
    i = 0
    n = len(text)
    while i < n:
        if text[i] == "`":
            j = i
            while j < n and text[j] == "`":
                j += 1
            runs.append((i, j - i))
            i = j
        else:
            i += 1
    by_length: dict[int, list[int]] = {}
    for start, length in runs:
        by_length.setdefault(length, []).append(start)

    ranges: list[tuple[int, int]] = []
    pos = 0
    run_index = 0
    comment_at = text.find("<!--")
    close_at = text.find("-->")
    while pos < n:
        if comment_at != -1 and comment_at < pos:
            # Searched again only once passed: a fresh find per step would be quadratic.
            comment_at = text.find("<!--", pos)
        while run_index < len(runs) and runs[run_index][0] < pos:
            run_index += 1
        run_at = runs[run_index][0] if run_index < len(runs) else -1
        if run_at == -1 and comment_at == -1:
            break
        if run_at != -1 and (comment_at == -1 or run_at < comment_at):
            start, length = runs[run_index]
            starts = by_length[length]
            k = bisect.bisect_right(starts, start)
            if k < len(starts):
                end = starts[k] + length
                ranges.append((start, end))
                pos = end
            else:
                pos = start + length  # no closing run: the backticks are literal
            continue
        # Memoised like comment_at: "no --> after x" holds for every later x as well.
        if close_at != -1 and close_at < comment_at + 4:
            close_at = text.find("-->", comment_at + 4)
        close = close_at
        if close == -1:
            pos = comment_at + 4  # unclosed: literal text, as markdown renders it
            continue
        ranges.append((comment_at, close + 3))
        pos = close + 3
    return ranges


def _in_ranges(offset: int, ranges: list[tuple[int, int]], starts: list[int]) -> bool:
    k = bisect.bisect_right(starts, offset) - 1
    return k >= 0 and ranges[k][0] <= offset < ranges[k][1]


# --------------------------------------------------------------------------- lines -> commands


def _login_aliases(bot_login: str | None) -> tuple[str, ...]:
    if not bot_login:
        return ()
    base = bot_login.lower()
    if base.endswith("[bot]"):
        base = base[: -len("[bot]")]
    return ("@" + base + "[bot]", "@" + base)


def _match_prefix(stripped: str, aliases: tuple[str, ...]) -> str | None:
    """The rest of the line after the command prefix, or None when the line is no command."""
    lowered = stripped.lower()
    for prefix in (PREFIX, *aliases):
        if lowered.startswith(prefix):
            rest = stripped[len(prefix) :]
            if prefix != PREFIX and rest[:1] in (":", ","):
                rest = rest[1:]  # "@isolation-bot: status"
            if rest == "" or rest[0].isspace():  # any whitespace, NBSP included
                return rest
    return None


def _clean_arg(arg: str) -> str:
    # `status `_curses`` is a natural way to write an identifier: accept the code span.
    return arg.strip("`")


def _parse_line(rest: str, raw: str, number: int) -> ParsedItem:
    words = rest.split()
    if not words:
        return CommandError(raw, number, "no command given", general_usage())
    name = words[0].lower()
    spec = COMMANDS.get(name)
    if spec is None:
        shown = words[0][:40]
        return CommandError(raw, number, f"unknown command {shown!r}", general_usage())

    def error(message: str) -> CommandError:
        return CommandError(raw, number, message, spec.usage, name)

    if len(rest) > MAX_LINE_LENGTH:
        return error(f"the command line is too long (over {MAX_LINE_LENGTH} characters)")
    after_name = rest.lstrip()[len(words[0]) :]

    if name == "ignore":
        reason: str | None = None
        head = after_name
        for sep in _REASON_SEPARATORS:
            idx = after_name.find(sep)
            if idx != -1:
                head, reason = after_name[:idx], after_name[idx + len(sep) :]
                break
        args = [_clean_arg(a) for a in head.split()]
        if len(args) != 2:
            return error("`ignore` needs a rule and a symbol")
        if reason is None or not reason.strip():
            return error("`ignore` needs a reason after `--`")
        reason = " ".join(reason.split())
        if len(reason) > MAX_REASON_LENGTH:
            return error(f"the reason is too long (at most {MAX_REASON_LENGTH} characters)")
        problem = _check_rule_symbol(args[0], args[1])
        if problem:
            return error(problem)
        return Command(name, (args[0], args[1]), raw, number, reason)

    args = [_clean_arg(a) for a in after_name.split()]
    if any(not a for a in args):
        return error("empty argument")
    if name in ("recheck", "summary"):
        if args:
            return error(f"`{name}` takes no arguments")
    elif name == "help":
        if len(args) > 1:
            return error("`help` takes at most one command name")
        if args:
            args[0] = args[0].lower()
            if args[0] not in COMMANDS:
                return error(f"unknown command {args[0][:40]!r}")
    elif name == "status":
        if len(args) > 1:
            return error("`status` takes at most one module, path or rule")
        if args and not _TARGET_RE.match(args[0]):
            return error("not a module, path or rule name")
    elif name == "explain":
        if len(args) != 1:
            return error("`explain` needs exactly one rule id or name")
        if not _RULE_RE.match(args[0]):
            return error("not a rule id or name")
    elif name == "unignore":
        if len(args) != 2:
            return error("`unignore` needs a rule and a symbol")
        problem = _check_rule_symbol(args[0], args[1])
        if problem:
            return error(problem)
    return Command(name, tuple(args), raw, number)


def _check_rule_symbol(rule: str, symbol: str) -> str | None:
    if not _RULE_RE.match(rule):
        return "not a rule id or name"
    if not _SYMBOL_RE.match(symbol):
        return "the symbol must be a C identifier"
    return None


def parse_commands(body: str | None, bot_login: str | None = None) -> list[ParsedItem]:
    """Every command of a comment body, in order. Never raises; bad lines become errors."""
    if not body:
        return []
    aliases = _login_aliases(bot_login)
    items: list[ParsedItem] = []
    for paragraph in _paragraphs(body):
        joined = "\n".join(text for _, text in paragraph.lines)
        ranges = _hidden_ranges(joined) if ("`" in joined or "<!--" in joined) else []
        starts = [r[0] for r in ranges]
        offset = 0
        for number, line in paragraph.lines:
            line_offset = offset
            offset += len(line) + 1
            stripped = line.lstrip(" \t")
            start = line_offset + len(line) - len(stripped)
            if ranges and _in_ranges(start, ranges, starts):
                continue
            rest = _match_prefix(stripped, aliases)
            if rest is None:
                continue
            visible = _visible_text(stripped, start, ranges)
            rest = _match_prefix(visible, aliases) or ""
            raw = " ".join(visible.split())
            items.append(_parse_line(rest, raw, number))
            if len(items) > MAX_COMMANDS_PER_COMMENT:
                items = items[:MAX_COMMANDS_PER_COMMENT]
                items.append(
                    CommandError(
                        raw,
                        number,
                        f"too many commands in one comment (at most "
                        f"{MAX_COMMANDS_PER_COMMENT}); the rest were not run",
                        general_usage(),
                    )
                )
                return items
    return items


def _visible_text(stripped: str, start: int, ranges: list[tuple[int, int]]) -> str:
    """The line without the parts inside HTML comments (they are not rendered).

    ``start`` is the line's offset in the paragraph; it is outside every range (checked by the
    caller), so ranges touching this line begin on it. Code spans keep their text.
    """
    if not ranges:
        return stripped
    out: list[str] = []
    pos = 0
    end = start + len(stripped)
    for r_start, r_end in ranges:
        if r_end <= start or r_start >= end or r_start < start:
            continue
        local_start = r_start - start
        if stripped.startswith("<!--", local_start):
            out.append(stripped[pos:local_start])
            out.append(" ")
            pos = min(r_end - start, len(stripped))
    out.append(stripped[pos:])
    return "".join(out)


def new_commands(
    old_body: str | None, new_body: str | None, bot_login: str | None = None
) -> list[ParsedItem]:
    """Commands of an edited comment that were not in its previous body.

    Multiset by normalised text: an edit that adds a second copy of a command runs it once more;
    an edit that changes nothing (or only reformats) runs nothing.
    """
    seen = Counter(item.normalized for item in parse_commands(old_body, bot_login))
    fresh: list[ParsedItem] = []
    for item in parse_commands(new_body, bot_login):
        key = item.normalized
        if seen[key] > 0:
            seen[key] -= 1
        else:
            fresh.append(item)
    return fresh
