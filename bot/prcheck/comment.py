"""The sticky PR status comment (pure): what a reviewer needs first, the detail folded away.

Layout, in order of what matters to a reviewer:

1. one verdict line: whether anything blocks (new errors), what improved, what to review;
2. a compact table, one row per module the PR touches: init style, the
   ``Py_mod_multiple_interpreters`` slot, static types left, open findings before -> after;
3. the NEW findings in full (errors first; rule, symbol, file:line linked to that line in
   the PR's diff, which shows the head commit; one line of advice) - never folded;
4. fixed findings counted per module and rule, their list inside a collapsed ``<details>``
   (one short line each, no advice: they are gone);
5. suppressed findings and analysis notes, folded.

Markers mean what the check means: :x: only for new errors (which fail the check),
:warning: for warnings and regressions, :information_source: for info. The body has a length
budget (UTF-16 code units, as GitHub counts) far under GitHub's 65,536: what does not fit is
counted ("N more not shown") and the check run, which holds the full list, is linked.

The body starts with a hidden marker so the bot finds its own comment again; it holds no time
and no commit SHA (code links go into the PR's diff), so an unchanged result renders
byte-identical and the comment is not edited. The check run, which belongs to one commit,
links the head commit's files instead. Everything that came from the PR goes through
bot.render.escape.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from bot.analysis.model import Finding
from bot.prcheck.model import CheckResult, ModuleRow, ModuleSide, SuppressedFinding
from bot.render import escape, links
from bot.render.links import DEFAULT_RULES_URL, rule_url

__all__ = ["DEFAULT_RULES_URL", "MARKER", "render", "rule_link", "rule_url"]

MARKER = "<!-- isolation-bot:status -->"
DEFAULT_HTML_URL = "https://github.com"
MAX_BODY = 20_000  # our budget, UTF-16 code units; GitHub's limit is 65,536
MAX_TABLE_ROWS = 40
MAX_NEW_SHOWN = 60
MAX_SUPPRESSED_SHOWN = 30
MAX_NOTES_SHOWN = 20

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MARKERS = {"error": ":x:", "warning": ":warning:", "info": ":information_source:"}
_SLOT_SHORT = {
    "per-interpreter-gil": "per-interpreter GIL",
    "supported": "supported",
    "not-supported": "not supported",
    "unspecified": "none",
    None: "none",
}


@dataclass(frozen=True)
class Links:
    """The links one rendering writes: rule docs, code at the head commit, the checks tab."""

    rules_url: str = DEFAULT_RULES_URL
    html_url: str = DEFAULT_HTML_URL
    repo: str = ""
    head_sha: str = ""
    number: int = 0
    in_diff: bool = True  # code links into the PR's diff (else: the file at the head commit)

    @classmethod
    def of(
        cls, result: CheckResult, rules_url: str, html_url: str, *, in_diff: bool = True
    ) -> Links:
        return cls(rules_url, html_url, result.repo, result.head_sha, result.number, in_diff)

    def rule(self, f: Finding, *, with_name: bool = False) -> str:
        label = f"{f.rule} {f.name}" if with_name and f.name else f.rule
        return f"[{escape.link_text(label)}]({rule_url(self.rules_url, f.rule, f.name)})"

    def where(self, f: Finding) -> str:
        """``path:line`` linked to the line: in the PR's diff when ``in_diff`` (no SHA in the
        link, so the comment does not change when a push leaves the findings alone), else in
        the file at the head commit."""
        shown = escape.code(f"{f.path}:{f.line}")
        if not self.repo:
            return shown
        if self.in_diff and self.number:
            url = links.pr_file_url(self.html_url, self.repo, self.number, f.path, f.line)
        elif self.head_sha:
            url = links.blob_url(self.html_url, self.repo, self.head_sha, f.path, f.line)
        else:
            return shown
        return f"[{shown}]({url})"

    def checks(self) -> str:
        return links.checks_url(self.html_url, self.repo, self.number)


def rule_link(template: str, f: Finding) -> str:
    return Links(rules_url=template).rule(f)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def by_severity(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; by file and line within each."""
    return sorted(findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 1), f.path, f.line))


# ---- verdict and table ---------------------------------------------------------------------


def verdict(result: CheckResult) -> str:
    """One line: what blocks, what improved, what to review."""
    counts = Counter(f.severity for f in result.new)
    errors, warnings, infos = counts["error"], counts["warning"], counts["info"]
    parts: list[str] = []
    if errors:
        verb = "blocks" if errors == 1 else "block"
        parts.append(f":x: **{_plural(errors, 'new error')} {verb} this pull request.**")
    else:
        parts.append(":white_check_mark: **No new errors.**")
    improved = sorted({c.module for c in result.improvements})
    gains = []
    if improved:
        names = ", ".join(escape.code(m) for m in improved[:8])
        more = f" and {len(improved) - 8} more" if len(improved) > 8 else ""
        gains.append(f"improves {names}{more}")
    if result.fixed:
        gains.append(f"fixes {_plural(len(result.fixed), 'finding')}")
    if gains:
        text = " and ".join(gains)
        parts.append(text[0].upper() + text[1:] + ".")
    review = []
    if warnings:
        review.append(_plural(warnings, "new warning"))
    if infos:
        review.append(f"{infos} new info")
    if result.regressions:
        review.append(_plural(len(result.regressions), "regression"))
    if review:
        marker = ":warning: " if (warnings or result.regressions) and not errors else ""
        parts.append(marker + " and ".join(review) + " to review.")
    return " ".join(parts)


def _init_cell(before: ModuleSide | None, after: ModuleSide | None) -> str:
    if after is None:
        return "removed"
    if before is None:
        return f"new, {after.init}"
    if before.init == after.init:
        return after.init
    if after.init == "multi-phase":
        return "converted to multi-phase init"
    return "**converted back to single-phase init**"


def _slot_cell(before: ModuleSide | None, after: ModuleSide | None) -> str:
    b = _SLOT_SHORT.get(before.slot, before.slot) if before else None
    a = _SLOT_SHORT.get(after.slot, after.slot) if after else None
    if after is None:
        return "—"
    if before is None or b == a:
        return str(a)
    return f"{b} → {a}"


def _types_cell(before: ModuleSide | None, after: ModuleSide | None) -> str:
    if after is None or before is None:
        side = after or before
        assert side is not None
        return f"{side.static_types} static, {side.heap_types} heap"
    if before.static_types == after.static_types and before.heap_types == after.heap_types:
        if not after.static_types and not after.heap_types:
            return "—"
        return f"{after.static_types} static, {after.heap_types} heap"
    static = f"{before.static_types} → {after.static_types} static"
    return f"{static} ({after.heap_types} heap)"


def _open_counts(result: CheckResult) -> tuple[Counter[str], Counter[str]]:
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    for f in [*result.fixed, *result.remaining]:
        before[result.module_of(f.path)] += 1
    for f in [*result.new, *result.remaining]:
        after[result.module_of(f.path)] += 1
    return before, after


def _rows(result: CheckResult) -> list[ModuleRow]:
    """The table's rows: the check's module rows, plus files with findings but no module."""
    rows = list(result.module_rows)
    seen = {r.module for r in rows}
    others = {
        result.module_of(f.path)
        for f in [*result.new, *result.fixed, *result.remaining]
        if result.module_of(f.path) not in seen
    } | {c.module for c in result.module_changes if c.module not in seen}
    rows += [ModuleRow(name, name, None, None) for name in sorted(others)]
    return rows


def module_table(result: CheckResult) -> list[str]:
    rows = _rows(result)
    if not rows:
        return []
    before, after = _open_counts(result)
    out = [
        "| Module | Init | `Py_mod_multiple_interpreters` | Static types | Open findings |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows[:MAX_TABLE_ROWS]:
        if row.before is None and row.after is None:  # no module facts (a header, a file)
            changes = [c.description for c in result.module_changes if c.module == row.module]
            cells = [escape.text("; ".join(changes), limit=200) or "—", "—", "—"]
        else:
            cells = [
                _init_cell(row.before, row.after),
                _slot_cell(row.before, row.after),
                _types_cell(row.before, row.after),
            ]
        b, a = before[row.module], after[row.module]
        found = f"{b} → **{a}**" if a > b else f"{b} → {a}"
        name = escape.code(row.module, limit=100, in_table=True)
        out.append(f"| {name} | {' | '.join(cells)} | {found} |")
    if len(rows) > MAX_TABLE_ROWS:
        out.append(f"| {len(rows) - MAX_TABLE_ROWS} more modules | | | | |")
    return out


# ---- finding lines -------------------------------------------------------------------------


def advice(message: str) -> str:
    """The advice part of a finding's message: what follows its first top-level "; " (the
    part before restates the symbol and the rule), else the whole message."""
    depth = 0
    for i, ch in enumerate(message):
        depth += (ch in "([") - (ch in ")]")
        if depth == 0 and message.startswith("; ", i):
            rest = message[i + 2 :].strip()
            return rest[:1].upper() + rest[1:] if rest else message
    return message


def new_line(f: Finding, links_: Links) -> str:
    """A new finding in full: marker, rule, symbol, where (linked), one line of advice."""
    return (
        f"- {MARKERS.get(f.severity, ':warning:')} {links_.rule(f, with_name=True)} "
        f"{escape.code(f.symbol, limit=120)} at {links_.where(f)}: "
        f"{escape.text(advice(f.message), limit=200)}"
    )


def fixed_line(f: Finding) -> str:
    """A fixed finding, one short line under its rule: symbol and where (in the base)."""
    return f"  - {escape.code(f.symbol, limit=80)} L{f.line}"


def fixed_counts(result: CheckResult) -> list[str]:
    """Fixed findings counted per module and rule."""
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    for f in result.fixed:
        per_module[result.module_of(f.path)][f.rule] += 1
    out = []
    for module in sorted(per_module):
        counts = per_module[module]
        ranked = sorted(counts.items(), key=lambda x: (-x[1], x[0]))
        rules = ", ".join(f"{escape.text(r, limit=20)} ×{n}" for r, n in ranked)
        out.append(f"- {escape.code(module, limit=100)}: {sum(counts.values())} ({rules})")
    return out


def fixed_details(result: CheckResult) -> list[list[str]]:
    """Per module: a title line, then per rule a line and one short line per fixed finding."""
    groups: dict[str, list[Finding]] = defaultdict(list)
    for f in result.fixed:
        groups[result.module_of(f.path)].append(f)
    out = []
    for module in sorted(groups):
        items = sorted(groups[module], key=lambda f: (f.rule, f.path, f.line))
        paths = sorted({f.path for f in items})
        where = escape.code(paths[0]) if len(paths) == 1 else _plural(len(paths), "file")
        lines = [f"**{escape.code(module, limit=100)}** ({where})", ""]
        rule = None
        for f in items:
            if f.rule != rule:
                rule = f.rule
                lines.append(f"- {escape.text(f.rule, limit=20)} {escape.text(f.name, limit=60)}")
            lines.append(fixed_line(f))
        out.append(lines)
    return out


def _suppressed_line(links_: Links, s: SuppressedFinding) -> str:
    return (
        f"{links_.rule(s.finding)} {escape.code(s.finding.symbol)} by "
        f"{escape.text(s.user)}: {escape.text(s.reason, limit=200)}"
    )


# ---- assembly ------------------------------------------------------------------------------


class _Out:
    """The body's lines and what is left of the length budget (UTF-16 code units).

    ``add`` always appends (structure: headings, counts, closing tags) and charges the budget;
    ``fit`` appends optional lines (list items) while they fit in what is left beyond the
    ``reserve`` kept for the structure still to come."""

    def __init__(self, limit: int, reserve: int = 600) -> None:
        self.lines: list[str] = []
        self.left = limit
        self.reserve = reserve

    def add(self, *lines: str) -> None:
        for line in lines:
            self.lines.append(line)
            self.left -= escape.utf16_len(line) + 1

    def fit(self, lines: list[str], cap: int | None = None) -> int:
        """Append lines while they fit (at most ``cap``); returns how many were left out."""
        shown = 0
        for line in lines[: len(lines) if cap is None else cap]:
            if escape.utf16_len(line) + 1 > self.left - self.reserve:
                break
            self.add(line)
            shown += 1
        return len(lines) - shown

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


def _not_shown(n: int, links_: Links, what: str = "") -> str:
    more = f"{n} more{(' ' + what) if what else ''} not shown"
    if links_.repo:
        return f"… {more}, see [the check run]({links_.checks()})."
    return f"… {more}, see the check run."


def render(
    result: CheckResult,
    *,
    rules_url: str = DEFAULT_RULES_URL,
    html_url: str = DEFAULT_HTML_URL,
    max_chars: int = MAX_BODY,
) -> str:
    """The comment body for ``result``."""
    out = _Out(max_chars)
    out.add(MARKER, f"### Subinterpreter isolation: {escape.text(result.title)}", "")
    if result.skipped is not None:
        out.add(f"The check was skipped: {escape.text(result.skipped)}")
        return out.text()
    if not result.files_checked:
        out.add("This pull request no longer changes C files under the watched paths.")
        return out.text()
    links_ = Links.of(result, rules_url, html_url)
    if not (result.changes_isolation_state or result.new):
        n = len(result.files_checked)
        out.add(f"No change in isolation state in the {_plural(n, 'checked file')}.")
    else:
        out.add(verdict(result), "")
    table = module_table(result)
    if table:
        out.add(*table, "")

    regressions = [
        f"- :warning: {escape.code(c.module)}: {escape.text(c.description)}"
        for c in result.regressions
    ]
    new = regressions + [new_line(f, links_) for f in by_severity(result.new)]
    if new:
        out.add(f"#### New in this pull request ({len(new)})", "")
        hidden = out.fit(new, MAX_NEW_SHOWN)
        if hidden:
            out.add(_not_shown(hidden, links_))
        out.add("")

    if result.fixed:
        out.add(f"#### Fixed ({len(result.fixed)})", "")
        counts = fixed_counts(result)
        hidden = out.fit(counts)
        if hidden:
            out.add(_not_shown(hidden, links_, "modules"))
        n = len(result.fixed)
        out.add("", f"<details><summary>The {_plural(n, 'fixed finding')}</summary>", "")
        left = n
        for title, blank, *lines in fixed_details(result):
            if out.fit([title]):
                break
            out.add(blank)
            shown = len(lines) - out.fit(lines)
            left -= sum(line.startswith("  - ") for line in lines[:shown])
            out.add("")
        if left:
            out.add(_not_shown(left, links_))
        out.add("", "</details>", "")

    if result.suppressed:
        n = len(result.suppressed)
        out.add(f"<details><summary>Suppressed for this pull request ({n})</summary>", "")
        lines = [f"- {_suppressed_line(links_, s)}" for s in result.suppressed]
        hidden = out.fit(lines, MAX_SUPPRESSED_SHOWN)
        if hidden:
            out.add(_not_shown(hidden, links_))
        out.add("", "</details>", "")
    if result.remaining:
        n = len(result.remaining)
        out.add(f"{_plural(n, 'finding')} in the changed files predate this pull request.")
    if result.notes:
        out.add("", "<details><summary>Analysis notes</summary>", "")
        lines = [f"- {escape.text(note, limit=300)}" for note in result.notes]
        hidden = out.fit(lines, MAX_NOTES_SHOWN)
        if hidden:
            out.add(_not_shown(hidden, links_))
        out.add("", "</details>")
    return out.text()
