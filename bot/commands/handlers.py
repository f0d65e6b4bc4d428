"""One function per command: do the work, return the markdown of its part of the reply.

Each handler gets a :class:`CommandCall` (the parsed command, where it was written, who wrote
it, a stable id for idempotent side effects) and returns a ``(ok, body)`` pair. Permission and
"PRs only" checks happen in the runner before a handler is called.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.analysis.catalog import Rule, load_catalog
from bot.analysis.paths import SOURCE_SUFFIXES
from bot.commands import reply as render
from bot.commands.grammar import COMMANDS, Command
from bot.commands.status_source import StatusSource, TrackingStatusSource
from bot.jobs import JobContext
from bot.prcheck import suppressions
from bot.prcheck.jobs import pr_check_job
from bot.render.links import rule_url, rules_url_template
from bot.summary.compose import render_summary_now

log = logging.getLogger(__name__)

_BOT_MARKER = re.compile(r"<!--\s*isolation-bot:[^>]*-->\n?")


@dataclass(frozen=True)
class CommandCall:
    command: Command
    repo: str
    number: int
    is_pr: bool
    user: str
    effect_id: str  # comment id + revision + index: dedup id for side effects
    installation_id: int | None


Result = tuple[bool, str]
Handler = Callable[["JobContext", CommandCall, StatusSource], Awaitable[Result]]


# --------------------------------------------------------------------------- catalog


def resolve_rule(name: str) -> Rule | None:
    """The catalog rule with this id or name (case-insensitive), or None.

    A broken catalog file must not break the other commands: explain/ignore then say
    "unknown rule" (the error is logged).
    """
    try:
        catalog = load_catalog()
    except Exception:  # a broken catalog file: explain/ignore say "unknown rule"
        log.exception("cannot load the rule catalog")
        return None
    try:
        return catalog.get_rule(name)
    except Exception:  # a lookup must never fail a command
        log.exception("rule lookup failed for %r", name)
        return None


def _rule_id(rule: Rule) -> str:
    return rule.id


# --------------------------------------------------------------------------- handlers


async def do_help(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    only = call.command.args[0] if call.command.args else None
    return True, render.render_help(COMMANDS.values(), only=only)


async def _enqueue_pr_check(ctx: JobContext, call: CommandCall) -> None:
    await ctx.enqueue(
        pr_check_job(
            call.repo, call.number, call.installation_id, dedup_id=f"command:{call.effect_id}"
        )
    )


async def do_recheck(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    await _enqueue_pr_check(ctx, call)
    return True, "Queued: the isolation check will run again on the current head of this PR."


async def do_explain(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    rule = resolve_rule(call.command.args[0])
    if rule is None:
        return False, render.render_unknown_rule(call.command.args[0])
    settings = ctx.settings
    template = rules_url_template(settings.public_url, settings.rules_url)
    return True, render.render_explain(rule, doc_url=rule_url(template, rule.id, rule.name))


async def do_ignore(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    rule_name, symbol = call.command.args
    rule = resolve_rule(rule_name)
    if rule is None:
        return False, render.render_unknown_rule(rule_name)
    rule_id = _rule_id(rule)
    reason = call.command.reason or ""
    await suppressions.add_suppression(
        ctx.db, call.repo, call.number, rule_id, symbol, reason, call.user
    )
    await _enqueue_pr_check(ctx, call)
    from bot.render import escape

    return True, (
        f"Suppressed {escape.text(rule_id)} for {escape.code(symbol)} on this pull request "
        f"(reason: {escape.text(reason)}). The check will run again and honour it."
    )


async def do_unignore(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    from bot.render import escape

    rule_name, symbol = call.command.args
    rule = resolve_rule(rule_name)
    rule_id = _rule_id(rule) if rule is not None else rule_name.upper()
    removed = await suppressions.remove_suppression(ctx.db, call.repo, call.number, rule_id, symbol)
    if not removed:
        return False, (
            f"There was no suppression of {escape.text(rule_id)} for {escape.code(symbol)} "
            "on this pull request."
        )
    await _enqueue_pr_check(ctx, call)
    return True, (
        f"Removed the suppression of {escape.text(rule_id)} for {escape.code(symbol)}. "
        "The check will run again."
    )


async def do_status(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    snap = await source.latest_snapshot(call.repo)
    if snap is None:
        return False, render.render_no_snapshot()
    html_url = ctx.settings.html_url
    if not call.command.args:
        return True, render.render_overall_status(
            snap.summary, sha=snap.sha, modules=len(snap.modules), findings=len(snap.findings)
        )
    target = call.command.args[0]
    module = snap.module(target)
    if module is not None:
        module_paths = {module.path}
        module_paths.update(t.path for t in snap.types if t.module == module.name)
        findings = [f for f in snap.findings if f.path in module_paths]
        findings.sort(key=lambda f: (f.path, f.line, f.rule))
        changes = await source.module_events(call.repo, module.name)
        return True, render.render_module_status(
            module, findings, changes, html_url=html_url, repo=call.repo, sha=snap.sha
        )
    from bot.render import escape

    path = target.strip("/")
    if "/" in path or path.endswith(SOURCE_SUFFIXES):
        matching = [f for f in snap.findings if f.path == path or f.path.startswith(path + "/")]
        known = matching or any(
            m.path == path or m.path.startswith(path + "/") for m in snap.modules
        )
        if known:
            matching.sort(key=lambda f: (f.path, f.line, f.rule))
            return True, render.render_findings_status(
                escape.code(path), matching, html_url=html_url, repo=call.repo, sha=snap.sha
            )
    rule = resolve_rule(target)
    rule_ids = {target.upper()}
    if rule is not None:
        rule_ids.add(_rule_id(rule).upper())
    matching = [f for f in snap.findings if f.rule.upper() in rule_ids or f.name == target]
    if rule is not None or matching:
        shown = _rule_id(rule) if rule is not None else target
        matching.sort(key=lambda f: (f.path, f.line))
        return True, render.render_findings_status(
            f"Rule {escape.text(shown)}", matching, html_url=html_url, repo=call.repo, sha=snap.sha
        )
    return False, render.render_unknown_target(target)


async def do_summary(ctx: JobContext, call: CommandCall, source: StatusSource) -> Result:
    rendered = await _summary_from_summary_part(ctx, call.repo)
    if rendered is not None:
        return True, rendered
    snap = await source.latest_snapshot(call.repo)
    if snap is None:
        return False, render.render_no_snapshot()
    return True, "Progress summary (current metrics):\n\n" + render.render_metrics(snap.summary)


async def _summary_from_summary_part(ctx: JobContext, repo: str) -> str | None:
    """The weekly summary's rendering of the current state, or None when it fails: a
    summary is never worth failing the whole reply for (the caller shows the metrics)."""
    try:
        result = await render_summary_now(ctx.db, repo, ctx.settings)
    except Exception:
        log.exception("summary rendering failed; falling back to the metrics")
        return None
    # Drop the weekly post's hidden marker: the weekly poster finds its own comment by it, and
    # must never mistake this reply for the week's summary.
    result = _BOT_MARKER.sub("", result).strip()
    return result or None


HANDLERS: dict[str, Handler] = {
    "help": do_help,
    "recheck": do_recheck,
    "status": do_status,
    "explain": do_explain,
    "ignore": do_ignore,
    "unignore": do_unignore,
    "summary": do_summary,
}


def default_source(ctx: JobContext) -> StatusSource:
    return TrackingStatusSource(ctx.db)
