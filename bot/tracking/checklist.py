"""The meta-issue checklist section (pure): a snapshot and its events -> markdown.

The section is delimited by ``START_MARKER`` / ``END_MARKER`` (bot/tracking/meta_issue.py
splices it into the issue body and never touches anything outside). Contents:

- the headline metrics in the effort's own style, stdlib and all variants
  ("Multi-phase init: 97% (140/144) stdlib, 95% (150/158) all");
- one checklist line per stdlib module, grouped done / partly done / not started, with the work
  left and, for finished modules, the PR that completed it:
  ``- [x] `_abc`: multi-phase, heap types, per-interpreter GIL (#12345)``; a group of more than
  ``FOLD_AFTER`` modules is folded into a ``<details>`` under its heading and count.

Test and demo modules count in the "all" metrics but are not listed. Every name taken from the
code goes through bot.render.escape; the section can never contain its own markers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.analysis.model import Metric, Ratio
from bot.render import escape
from bot.tracking.events import ModuleEvent
from bot.tracking.state import ModuleState, Snapshot

START_MARKER = "<!-- isolation-bot:checklist:start -->"
END_MARKER = "<!-- isolation-bot:checklist:end -->"

# GitHub's issue body limit is 65,536 characters; leave room for the text people own.
DEFAULT_MAX_CHARS = 40_000

# Groups longer than this are listed inside a collapsed <details> (the count stays visible).
FOLD_AFTER = 15

_GROUPS = (("done", "Done"), ("partly", "Partly done"), ("not-started", "Not started"))


def percent(r: Ratio) -> str:
    """Whole percent, rounded down so that 100% means really everything ("NN% (n/N)")."""
    if not r.total:
        return "n/a (0/0)"
    return f"{100 * r.done // r.total}% ({r.done}/{r.total})"


def _metric_line(label: str, m: Metric) -> str:
    return f"- **{label}**: {percent(m.stdlib)} stdlib, {percent(m.all)} all"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _done_parts(m: ModuleState) -> list[str]:
    parts = []
    if m.multi_phase:
        parts.append("multi-phase")
    if m.heap_types_done and (m.heap_types or m.status != "not-started"):
        parts.append("heap types" if m.heap_types else "no static types")
    if m.per_interpreter_gil:
        parts.append("per-interpreter GIL")
    return parts


def _todo_parts(m: ModuleState) -> list[str]:
    todo = []
    if not m.multi_phase:
        todo.append("single-phase init")
    if m.static_types:
        todo.append(_plural(len(m.static_types), "static type"))
    if not m.per_interpreter_gil:
        if m.multiple_interpreters == "not-supported":
            todo.append("opts out of multiple interpreters")
        elif m.multi_phase:
            todo.append("missing per-interpreter GIL slot")
        else:
            todo.append("per-interpreter GIL slot")
    if m.global_state_findings:
        todo.append(_plural(m.global_state_findings, "global-state finding"))
    return todo


def _completing_pr(events: Iterable[ModuleEvent]) -> dict[str, int]:
    """Module -> the PR of its latest "completed" event (events are oldest first)."""
    prs: dict[str, int] = {}
    for e in events:
        if e.kind == "completed" and e.pr_number is not None:
            prs[e.module] = e.pr_number
    return prs


def _safe(line: str) -> str:
    # Names are escaped already; this only guarantees the section cannot fake a marker.
    return line.replace("<!--", "<\u2060!--").replace("-->", "-\u2060->")


def module_line(m: ModuleState, pr: int | None) -> str:
    box = "x" if m.status == "done" else " "
    line = f"- [{box}] {escape.code(m.name)}: "
    done = _done_parts(m)
    if m.status == "done":
        line += ", ".join(done)
    else:
        if done:
            line += ", ".join(done) + "; "
        line += "to do: " + ", ".join(_todo_parts(m))
    if pr is not None:
        line += f" (#{pr})"
    return _safe(line)


def render_checklist(
    snapshot: Snapshot | None,
    events: Sequence[ModuleEvent] = (),
    *,
    branch: str = "main",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> str:
    """The whole section, markers included, ending with a newline after the end marker."""
    out = [START_MARKER, "## Isolation progress (maintained by isolation-bot)", ""]
    if snapshot is None:
        out += ["_No commit of the default branch analysed yet._", "", END_MARKER]
        return "\n".join(out) + "\n"
    # Nothing commit-specific (sha, time) here: a push that changes no module's state must
    # leave the section identical, so the issue gets no edit.
    out.append(
        f"Measured on {escape.code(branch)} by the bot, which rewrites this section after "
        "each change of isolation state; edit outside it."
    )
    out.append("")
    s = snapshot.summary
    out.append(_metric_line("Multi-phase init", s.multi_phase))
    out.append(_metric_line("Heap types", s.heap_types))
    out.append(_metric_line("Per-interpreter GIL", s.per_interpreter_gil))
    prs = _completing_pr(events)
    listed = [m for m in snapshot.modules if not m.is_test]
    hidden = len(snapshot.modules) - len(listed)
    head_len = sum(len(x) + 1 for x in out) + len(END_MARKER) + 200
    budget = max(max_chars - head_len, 0)
    for status, title in _GROUPS:
        group = sorted((m for m in listed if m.status == status), key=lambda m: m.name)
        out += ["", f"### {title} ({len(group)})", ""]
        if not group:
            out.append("_None._")
            continue
        fold = len(group) > FOLD_AFTER  # a long list folds away under its count
        if fold:
            out += [f"<details><summary>{_plural(len(group), 'module')}</summary>", ""]
        for i, m in enumerate(group):
            line = module_line(m, prs.get(m.name) if status == "done" else None)
            if len(line) + 1 > budget:
                out.append(f"- … and {len(group) - i} more")
                break
            budget -= len(line) + 1
            out.append(line)
        if fold:
            out += ["", "</details>"]
    if hidden:
        out += ["", f'_{_plural(hidden, "test or demo module")} counted in "all", not listed._']
    out += ["", END_MARKER]
    return "\n".join(out) + "\n"
