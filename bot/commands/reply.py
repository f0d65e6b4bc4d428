"""Replies to slash-commands (PURE): one comment answering every command of a comment.

Everything user- or code-controlled (the command line, arguments, reasons, module and file
names, messages) goes through bot.render.escape, so an argument cannot inject markdown, HTML,
links or @-mentions. The reply starts with a hidden marker naming the comment and the revision
of its commands, which makes posting idempotent (a retried job finds its earlier reply).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.analysis.model import METRIC_NAMES, Finding, Summary
from bot.render import escape

MARKER_PREFIX = "<!-- isolation-bot:reply:"
_MARKER_RE = re.compile(r"<!-- isolation-bot:reply:(\d+):([0-9a-f]+) -->")
MAX_FINDINGS_SHOWN = 10  # more are counted per rule and folded into <details>
MAX_FINDINGS_FOLDED = 200
MAX_TYPES_SHOWN = 8
MAX_TYPES_FOLDED = 60

METRIC_TITLES = {
    "multi_phase": "Multi-phase init",
    "heap_types": "Heap types",
    "per_interpreter_gil": "Per-interpreter GIL",
}


@dataclass(frozen=True)
class ReplySection:
    """The answer to one command: the line as written (quoted) and a markdown body."""

    command: str  # the command line as the user wrote it (escaped when rendered)
    body: str  # markdown, already escaped by its renderer
    ok: bool = True


def reply_marker(comment_id: int, digest: str) -> str:
    return f"{MARKER_PREFIX}{int(comment_id)}:{escape.html_comment_safe(digest)} -->"


def has_marker(body: str | None, comment_id: int, digest: str) -> bool:
    if not body:
        return False
    return any(
        int(m.group(1)) == int(comment_id) and m.group(2) == digest
        for m in _MARKER_RE.finditer(body)
    )


def quote_command(command: str) -> str:
    return "> " + escape.text(command, limit=300)


# GitHub refuses comments over 65536 characters; keep a margin.
MAX_REPLY_CHARS = 60_000
TOO_LONG = "This answer is too long to show together with the others; run the command alone."


def render_reply(
    sections: Sequence[ReplySection],
    *,
    comment_id: int,
    digest: str,
    max_chars: int = MAX_REPLY_CHARS,
) -> str:
    """One reply for all the commands of a comment, each answer under its quoted command.

    When the whole would exceed GitHub's comment size, the longest answers are replaced by a
    short note (never cut in the middle, which could leave a code block open).
    """
    bodies = [section.body.strip() for section in sections]
    quotes = [quote_command(section.command) for section in sections]

    def assemble() -> str:
        parts = [reply_marker(comment_id, digest)]
        parts += [f"{q}\n\n{b}" for q, b in zip(quotes, bodies, strict=True)]
        return "\n\n".join(parts) + "\n"

    text = assemble()
    while len(text) > max_chars:
        longest = max(range(len(bodies)), key=lambda i: len(bodies[i]))
        if len(bodies[longest]) <= len(TOO_LONG):
            break  # nothing left to shorten (cannot happen with the command cap)
        bodies[longest] = TOO_LONG
        text = assemble()
    return text


# --------------------------------------------------------------------------- simple bodies


def render_help(commands: Iterable[Any], *, only: str | None = None) -> str:
    """``commands``: grammar.CommandSpec values (usage, summary, maintainer_only, pr_only)."""
    lines = []
    for spec in commands:
        if only is not None and spec.name != only:
            continue
        notes = []
        if spec.pr_only:
            notes.append("pull requests")
        if spec.maintainer_only:
            notes.append("maintainers")
        extra = f" _({', '.join(notes)})_" if notes else ""
        lines.append(f"- {escape.code(spec.usage)}: {escape.text(spec.summary)}{extra}")
    lines.append("")
    lines.append(
        "Commands start a line with `/isolation` (or a mention of the bot); several may be "
        "given in one comment."
    )
    return "\n".join(lines)


def render_usage_error(message: str, usage: str) -> str:
    usage_lines = "\n".join(f"    {line}" for line in usage.splitlines())
    return f"I could not run this: {escape.text(message)}.\n\nUsage:\n\n{usage_lines}"


def render_denied(needed: str, user: str, level: str | None, error: str | None) -> str:
    if error:
        return (
            f"Not run: this command needs {escape.text(needed)} permission on the repository, "
            f"and I could not check yours ({escape.text(error)}), so I denied it to be safe."
        )
    shown = escape.code(level) if level else "no"
    return (
        f"Not run: this command needs {escape.text(needed)} permission on the repository; "
        f"{escape.text('@' + user)} has {shown} permission."
    )


def render_pr_only() -> str:
    return "Not run: this command works in pull requests only."


def render_rate_limited(limit: int, window_seconds: int, retry_after: float) -> str:
    minutes = max(1, round(window_seconds / 60))
    wait = max(1, round(retry_after / 60))
    return (
        f"Not run: rate limit reached ({limit} commands per {minutes} minutes per user). "
        f"Try again in about {wait} minute{'s' if wait != 1 else ''}."
    )


def render_internal_error() -> str:
    return "Something went wrong while running this command; it was logged. Try again later."


# --------------------------------------------------------------------------- explain


def _field(rule: Any, *names: str) -> Any:
    for name in names:
        value = rule.get(name) if isinstance(rule, dict) else getattr(rule, name, None)
        if value:
            return value
    return None


def render_explain(rule: Any, *, doc_url: str | None = None) -> str:
    """A catalog rule's documentation. Catalog text is ours (trusted): the catalog's own page
    (``Rule.to_markdown``) with small headings, else the fields one by one."""
    to_markdown = getattr(rule, "to_markdown", None)
    if callable(to_markdown):
        page = str(to_markdown(heading_level=4)).strip()
        return page + (f"\n\n[Full documentation]({doc_url})" if doc_url else "")
    rid = str(_field(rule, "id") or "?")
    name = str(_field(rule, "name") or "")
    severity = _field(rule, "severity")
    title = f"**{escape.text(rid)} {escape.code(name)}**" if name else f"**{escape.text(rid)}**"
    if severity:
        title += f" (severity: {escape.text(severity)})"
    parts = [title]
    summary = _field(rule, "summary", "description")
    if summary:
        parts.append(str(summary).strip())
    why = _field(rule, "why")
    if why:
        parts.append("**Why this breaks isolation**\n\n" + str(why).strip())
    fix = _field(rule, "how_to_fix", "fix")
    if fix:
        parts.append("**How to fix**\n\n" + str(fix).strip())
    bad = _field(rule, "bad_example")
    if bad:
        parts.append("Before:\n\n```c\n" + str(bad).strip().replace("```", "` ` `") + "\n```")
    fixed = _field(rule, "fixed_example")
    if fixed:
        parts.append("After:\n\n```c\n" + str(fixed).strip().replace("```", "` ` `") + "\n```")
    links = _field(rule, "links")
    if links and isinstance(links, list | tuple):
        items = []
        for link in links:
            url = link.get("url") if isinstance(link, dict) else link
            label = link.get("title") if isinstance(link, dict) else None
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                items.append(f"- [{escape.link_text(label or url)}]({url})")
        if items:
            parts.append("\n".join(items))
    if doc_url:
        parts.append(f"[Full documentation]({doc_url})")
    return "\n\n".join(parts)


def render_unknown_rule(name: str) -> str:
    return (
        f"I don't know the rule {escape.code(name)}. "
        "`/isolation help` lists the commands; rule ids look like `ISO001`."
    )


# --------------------------------------------------------------------------- status


def render_metrics(summary: Summary) -> str:
    rows = ["| Metric | All | Standard library |", "|---|---|---|"]
    for name in METRIC_NAMES:
        metric = getattr(summary, name)
        rows.append(
            f"| {METRIC_TITLES[name]} | {metric.all.percent}% ({metric.all.done}/"
            f"{metric.all.total}) | {metric.stdlib.percent}% ({metric.stdlib.done}/"
            f"{metric.stdlib.total}) |"
        )
    return "\n".join(rows)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def render_no_snapshot() -> str:
    return "There is no analysis of the default branch yet; run `isolation-bot sync`."


def blob_link(html_url: str, repo: str, sha: str, path: str, line: int) -> str:
    return (
        f"{html_url.rstrip('/')}/{escape.url_path(repo)}/blob/{escape.url_path(sha)}/"
        f"{escape.url_path(path)}#L{int(line)}"
    )


def render_overall_status(summary: Summary, *, sha: str, modules: int, findings: int) -> str:
    return (
        f"Progress on the default branch (commit {escape.code(sha[:12])}):\n\n"
        + render_metrics(summary)
        + f"\n\n{_plural(modules, 'module')}, {_plural(findings, 'open finding')}."
    )


_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _finding_line(f: Finding, *, html_url: str, repo: str, sha: str, advice: bool) -> str:
    link = blob_link(html_url, repo, sha, f.path, f.line)
    where = escape.link_text(f"{f.path}:{f.line}")
    line = (
        f"- [{where}]({link}) {escape.text(f.rule)} {escape.code(f.name)}: {escape.code(f.symbol)}"
    )
    return line + (f" — {escape.text(f.message)}" if advice else "")


def _findings_list(findings: Sequence[Finding], *, html_url: str, repo: str, sha: str) -> str:
    """A few findings in full; many are counted per rule and listed, one short line each,
    inside a collapsed <details> (errors first), so a big module's status stays readable."""
    ordered = sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 1), f.path, f.line))
    if len(ordered) <= MAX_FINDINGS_SHOWN:
        return "\n".join(
            _finding_line(f, html_url=html_url, repo=repo, sha=sha, advice=True) for f in ordered
        )
    counts = Counter(f"{f.rule} {f.name}" for f in ordered)
    by_rule = ", ".join(f"{escape.text(r)} ×{n}" for r, n in counts.most_common())
    lines = [
        f"By rule: {by_rule}.",
        "",
        f"<details><summary>The {len(ordered)} open findings</summary>",
        "",
    ]
    lines += [
        _finding_line(f, html_url=html_url, repo=repo, sha=sha, advice=False)
        for f in ordered[:MAX_FINDINGS_FOLDED]
    ]
    if len(ordered) > MAX_FINDINGS_FOLDED:
        lines.append(f"- … and {len(ordered) - MAX_FINDINGS_FOLDED} more")
    lines += ["", "</details>"]
    return "\n".join(lines)


def render_module_status(
    module: Any,
    findings: Sequence[Finding],
    changes: Sequence[Any],
    *,
    html_url: str,
    repo: str,
    sha: str,
) -> str:
    """``module``: status_source.ModuleView; ``changes``: status_source.ModuleChange."""
    slot = module.multiple_interpreters
    if module.init != "multi-phase":
        slot_text = "no slots (single-phase init)"
    elif slot in (None, "unspecified"):
        slot_text = "not declared (defaults to supported, shared GIL)"
    else:
        slot_text = escape.code(slot)
    lines = [
        f"**{escape.code(module.name)}** in {escape.code(module.path)} "
        f"(default branch at {escape.code(sha[:12])})",
        "",
        f"- Init: {escape.text(module.init)}",
        f"- `Py_mod_multiple_interpreters`: {slot_text}",
    ]
    if module.static_types:
        names = ", ".join(escape.code(t) for t in module.static_types[:MAX_TYPES_FOLDED])
        left = len(module.static_types) - MAX_TYPES_FOLDED
        names += f" and {left} more" if left > 0 else ""
        n = len(module.static_types)
        if n <= MAX_TYPES_SHOWN:
            lines.append(f"- Static types ({n}): {names}")
        else:  # a long list of names folds away
            lines.append(f"- Static types: {n} <details><summary>names</summary>{names}</details>")
    else:
        lines.append("- Static types: none")
    if module.heap_types:
        lines.append(f"- Heap types: {len(module.heap_types)}")
    lines.append("")
    if findings:
        lines.append(f"Open findings ({len(findings)}):")
        lines.append("")
        lines.append(_findings_list(findings, html_url=html_url, repo=repo, sha=sha))
    else:
        lines.append("No open findings.")
    prs = []
    for change in changes:
        who = f" by {escape.text('@' + change.author)}" if change.author else ""
        what = escape.text(change.detail or change.kind)
        if change.pr_number:
            link = f"{html_url.rstrip('/')}/{escape.url_path(repo)}/pull/{int(change.pr_number)}"
            prs.append(f"- [PR {int(change.pr_number)}]({link}){who}: {what}")
        else:
            prs.append(f"- commit {escape.code(change.sha[:12])}{who}: {what}")
    if prs:
        lines += ["", "Changes to its isolation state:", "", *prs]
    return "\n".join(lines)


def render_findings_status(
    title: str, findings: Sequence[Finding], *, html_url: str, repo: str, sha: str
) -> str:
    """Status of a path or rule: the open findings matching it."""
    head = f"{title} (default branch at {escape.code(sha[:12])}): "
    if not findings:
        return head + "no open findings."
    return (
        head
        + f"{len(findings)} open finding{'s' if len(findings) != 1 else ''}.\n\n"
        + _findings_list(findings, html_url=html_url, repo=repo, sha=sha)
    )


def render_unknown_target(target: str) -> str:
    return (
        f"No module, file or rule named {escape.code(target)} on the default branch. "
        "Modules are named like `_curses`, files like `Modules/_cursesmodule.c`, rules like "
        "`ISO001`."
    )
