"""The sticky PR status comment (pure): what the PR improves and regresses, module by module.

The body starts with a hidden marker so the bot finds its own comment again; the body holds no
head SHA or time, so an unchanged result renders byte-identical and the comment is not edited.
Everything that came from the PR goes through bot.render.escape.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from bot.analysis.model import Finding
from bot.prcheck.model import CheckResult
from bot.render import escape

MARKER = "<!-- isolation-bot:status -->"
# The rule's TOML file in the repository (its docs); a setting (Settings.rules_url, or the
# ISOLATION_BOT_RULES_URL environment variable) overrides it. Placeholders: {rule}, {name}.
DEFAULT_RULES_URL = (
    "https://github.com/isolation-bot/isolation-bot/blob/main/rules/{rule}-{name}.toml"
)
MAX_ITEMS_PER_MODULE = 30
MAX_BODY = 60_000  # GitHub's limit is 65,536 characters


def rule_url(template: str, rule: str, name: str = "") -> str:
    """The docs link of a rule: ``template`` may use {rule} ("ISO001"), {name}, {anchor}."""
    anchor = f"{rule}-{name}".lower().strip("-") if name else rule.lower()
    return template.format(
        rule=escape.url_path(rule), name=escape.url_path(name), anchor=escape.url_path(anchor)
    )


def rule_link(template: str, f: Finding) -> str:
    return f"[{escape.link_text(f.rule)}]({rule_url(template, f.rule, f.name)})"


@dataclass
class _Section:
    improvements: list[str]
    regressions: list[str]


def _finding_line(template: str, f: Finding) -> str:
    return (
        f"{rule_link(template, f)} {escape.text(f.name)} {escape.code(f.symbol)} "
        f"({escape.code(f.path)} line {f.line}): {escape.text(f.message, limit=300)}"
    )


def _sections(result: CheckResult, template: str) -> dict[str, _Section]:
    by_module: dict[str, _Section] = defaultdict(lambda: _Section([], []))
    for change in result.module_changes:
        line = escape.text(change.description)
        target = by_module[change.module]
        (target.improvements if change.kind == "improvement" else target.regressions).append(line)
    for f in result.fixed:
        by_module[result.module_of(f.path)].improvements.append(
            "fixed " + _finding_line(template, f)
        )
    for f in result.new:
        by_module[result.module_of(f.path)].regressions.append("new " + _finding_line(template, f))
    return dict(sorted(by_module.items()))


def _capped(lines: list[str], limit: int) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], f"… and {len(lines) - limit} more (see the check run)"]


def render(result: CheckResult, *, rules_url: str = DEFAULT_RULES_URL) -> str:
    """The comment body for ``result``."""
    out = [MARKER, f"### Subinterpreter isolation: {escape.text(result.title)}", ""]
    if result.skipped is not None:
        out += [f"The check was skipped: {escape.text(result.skipped)}", ""]
        return "\n".join(out)
    if not result.files_checked:
        out += ["This pull request no longer changes C files under the watched paths.", ""]
        return "\n".join(out)
    sections = _sections(result, rules_url)
    if not sections:
        out.append(
            f"No change in isolation state in the {len(result.files_checked)} checked "
            f"file{'s' * (len(result.files_checked) != 1)}."
        )
    for module, section in sections.items():
        out.append(f"#### {escape.code(module)}")
        for line in _capped(section.improvements, MAX_ITEMS_PER_MODULE):
            out.append(f"- :white_check_mark: {line}")
        for line in _capped(section.regressions, MAX_ITEMS_PER_MODULE):
            out.append(f"- :x: {line}")
        out.append("")
    if result.suppressed:
        out.append("<details><summary>Suppressed for this pull request</summary>\n")
        for s in _capped([_suppressed_line(rules_url, s) for s in result.suppressed], 50):
            out.append(f"- {s}")
        out.append("\n</details>\n")
    if result.remaining:
        n = len(result.remaining)
        out.append(f"{n} finding{'s' * (n != 1)} in the changed files predate this pull request.")
    if result.notes:
        out.append("")
        out.append("<details><summary>Analysis notes</summary>\n")
        out += [f"- {escape.text(note, limit=300)}" for note in result.notes[:20]]
        out.append("\n</details>")
    body = "\n".join(out).rstrip() + "\n"
    if len(body) > MAX_BODY:
        body = body[:MAX_BODY].rsplit("\n", 1)[0] + "\n\n… (truncated; see the check run)\n"
    return body


def _suppressed_line(template: str, s: object) -> str:
    from bot.prcheck.model import SuppressedFinding

    assert isinstance(s, SuppressedFinding)
    return (
        f"{rule_link(template, s.finding)} {escape.code(s.finding.symbol)} by "
        f"{escape.text(s.user)}: {escape.text(s.reason, limit=200)}"
    )
