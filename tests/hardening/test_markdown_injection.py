"""Hostile strings through EVERY renderer come out inert.

Each renderer is fed the same data twice: once with a plain word in every field that can come
from outside (file names, C symbols, rule messages, module names, command arguments, PR
titles, author logins, reasons, notes), once with a hostile string there. Both outputs are
parsed with a CommonMark parser (markdown-it-py, GFM tables and strikethrough on) and must
have the same block structure (no heading, list, table or code block added or broken), the
same links (ours, never one from the data), the same raw HTML (our markers and <details>
only: no forged marker), no image, and no mention, issue reference or autolink in the text.
The dashboard's HTML is compared tag by tag the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.analysis.model import Finding, Metric, Ratio, Summary
from bot.commands import reply as command_reply
from bot.commands.reply import ReplySection
from bot.commands.status_source import ModuleChange as StatusChange
from bot.commands.status_source import ModuleView
from bot.dashboard.standalone import make_app
from bot.prcheck import check_run
from bot.prcheck import comment as pr_comment
from bot.prcheck.model import CheckResult, ModuleChange, SuppressedFinding
from bot.summary import render as weekly
from bot.summary.model import (
    CompletedModule,
    ModuleRow,
    OpenPullRequest,
    PullRequestChange,
    TrendPoint,
    WeeklyData,
)
from bot.summary.seed import make_event, make_snapshot
from bot.summary.source import MemorySource
from bot.tracking import checklist
from bot.tracking.events import ModuleEvent
from bot.tracking.state import ModuleState, Snapshot

PLAIN = "plain"
HOSTILE = [
    "[click](https://evil.example/x)",
    "![img](https://evil.example/i.png)",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<a href='https://evil.example'>x</a>",
    "<!-- isolation-bot:status -->",
    "<!-- isolation-bot:reply:1:abc -->",
    "<!-- isolation-bot:progress:start -->",
    "<!-- isolation-bot:progress:end -->",
    "-->",
    "<details><summary>x",
    "@python/core-devs please look",
    "@everyone",
    "#123",
    "GH-123 bpo-4567 gh-1",
    "python/cpython#1",
    "`code` ``more`` ```fence```",
    "a | b | c",
    "| --- | --- |",
    "line1\nline2\n# heading\n\n---\n- item",
    "\r\n## heading\r\n",
    "*emph* _under_ ~~strike~~ **bold**",
    "https://evil.example/path",
    "www.evil.example",
    "mailto:x@evil.example",
    "javascript:alert(1)",
    "<https://evil.example>",
    "[ref]: https://evil.example",
    "\u202egnp.exe",  # right-to-left override
    "a\u2066b\u2069c\u200fd\u200ee\u061cf",  # isolates and marks
    "zero\u200bwidth\u200c\u200d\ufeff",
    "\\",
    "&lt;b&gt; &amp;",
    "1. item",
    "> quote",
    "$x^2$",
    ":+1: :shipit:",
    "\x00\x07\x1b[31m",
]
_BIDI_AND_ZERO_WIDTH = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200f\u061c\ufeff]")
# GitHub's mention / reference / autolink forms, checked in plain text (not in code).
_MENTION = re.compile(r"(?<![\w`/])@[A-Za-z0-9][A-Za-z0-9-]*")
_REFERENCE = re.compile(r"(?<![\w&])#\d+|\b(?:gh|bpo)-\d+|\b[\w.-]+/[\w.-]+#\d+", re.I)
# GFM's extended autolinks: URLs, www., and e-mail addresses.
_AUTOLINK = re.compile(r"(?:https?|ftp)://|\bwww\.|[\w.+-]+@[\w-]+\.\w", re.I)
OUR_LINKS = ("https://github.com/", pr_comment.DEFAULT_RULES_URL.split("{")[0])
SHA = "0123456789abcdef0123456789abcdef01234567"

_md = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        out.append(t)
        if t.children:
            out.extend(_walk(t.children))
    return out


def _shape(text: str) -> dict[str, Any]:
    tokens = _walk(_md.parse(text))
    return {
        "blocks": [(t.type, t.tag) for t in tokens if t.block and t.type != "inline"],
        "links": [t.attrGet("href") for t in tokens if t.type == "link_open"],
        "html": [t.content.strip() for t in tokens if t.type in ("html_inline", "html_block")],
        "images": [t for t in tokens if t.type == "image"],
        "text": "\n".join(t.content for t in tokens if t.type == "text"),
        "code": "\n".join(t.content for t in tokens if t.type in ("code_inline", "fence")),
        "markers": text.count("<!--"),
    }


def assert_inert(hostile: str, plain: str, what: str) -> None:
    h, p = _shape(hostile), _shape(plain)
    assert h["blocks"] == p["blocks"], f"{what}: block structure changed"
    assert len(h["links"]) == len(p["links"]), f"{what}: links {h['links']}"
    for href in h["links"]:
        assert str(href).startswith(OUR_LINKS), f"{what}: foreign link {href}"
    assert h["html"] == p["html"], f"{what}: raw HTML {h['html']}"
    assert h["markers"] == p["markers"], f"{what}: forged marker"
    assert not h["images"], f"{what}: image"
    for rx in (_MENTION, _REFERENCE, _AUTOLINK):
        assert len(rx.findall(h["text"])) == len(rx.findall(p["text"])), (
            f"{what}: {rx.findall(h['text'])}"
        )
    assert not _BIDI_AND_ZERO_WIDTH.search(hostile.replace("\u2060", "")), f"{what}: bidi/ZW"
    assert "\x00" not in hostile and "\x1b" not in hostile, f"{what}: control characters"


# ---- the renderers, each as a function of one outside string ------------------------------


def _finding(s: str, rule: str = "ISO005", line: int = 3) -> Finding:
    return Finding(
        rule, "global-object", "error", f"Modules/{s}.c", line, 1, line, 9, s,
        f"global {s!r} holds state shared between interpreters", status_reason=s,
    )  # fmt: skip


def _result(s: str) -> CheckResult:
    path = f"Modules/{s}.c"
    f = _finding(s)
    return CheckResult(
        repo="python/cpython",
        number=7,
        head_sha=SHA,
        base_sha=SHA,
        files_checked=[path],
        new=[f],
        fixed=[_finding(s, "ISO001", 9)],
        remaining=[_finding(s, "ISO013", 12)],
        suppressed=[SuppressedFinding(_finding(s, "ISO006", 20), reason=s, user=s)],
        module_changes=[ModuleChange(s, path, "regression", f"{s}: new static type {s}")],
        notes=[f"{path}: could not analyse fully: {s}"],
        modules_by_path={path: s},
        changed_lines={path: frozenset({3})},
    )


def pr_comment_body(s: str) -> str:
    return pr_comment.render(_result(s))


def pr_comment_skipped(s: str) -> str:
    return pr_comment.render(replace(_result(s), skipped=f"not analysed: {s}"))


def check_run_summary(s: str) -> str:
    return check_run.summary(_result(s))


def _reply_sections(s: str) -> list[ReplySection]:
    view = ModuleView(s, f"Modules/{s}.c", "multi-phase", s, (s, s), (s,))
    changes = [
        StatusChange("regression", SHA, 12, s, None, s),
        StatusChange("completed", SHA, None, s, None, s),
    ]
    url = "https://github.com"
    findings = [_finding(s)]
    return [
        ReplySection(f"/isolation status {s}", command_reply.render_module_status(
            view, findings, changes, html_url=url, repo="python/cpython", sha=SHA)),
        ReplySection(s, command_reply.render_findings_status(
            f"Rule {command_reply.escape.text(s)}", findings, html_url=url,
            repo="python/cpython", sha=SHA)),
        ReplySection(s, command_reply.render_unknown_target(s)),
        ReplySection(s, command_reply.render_unknown_rule(s)),
        ReplySection(s, command_reply.render_usage_error(s, "/isolation status <target>")),
        ReplySection(s, command_reply.render_denied("write", s, s, None)),
        ReplySection(s, command_reply.render_denied("write", s, None, s)),
    ]  # fmt: skip


def command_reply_body(s: str) -> str:
    return command_reply.render_reply(_reply_sections(s), comment_id=1, digest="abc")


def _summary() -> Summary:
    m = Metric(Ratio(3, 4), Ratio(2, 3))
    return Summary(m, m, m)


def _snapshot(s: str) -> Snapshot:
    mods = (
        ModuleState(s, f"Modules/{s}.c", "multi-phase", "per-interpreter-gil", False),
        ModuleState(f"{s}2", f"Modules/{s}2.c", "multi-phase", "unspecified", False, (s,), (s,), 2),
        ModuleState(f"{s}3", f"Modules/{s}3.c", "single-phase", None, False, (s,), (), 3, 1, 1),
    )
    return Snapshot(
        repo="python/cpython",
        sha=SHA,
        committed_at=datetime(2026, 11, 20, tzinfo=UTC),
        summary=_summary(),
        modules=mods,
    )


def checklist_body(s: str) -> str:
    when = datetime(2026, 11, 20, tzinfo=UTC)
    events = [ModuleEvent("e1", "python/cpython", s, "completed", 12, SHA, s, when, s)]
    return checklist.render_checklist(_snapshot(s), events, branch=s)


def weekly_summary(s: str) -> str:
    since = datetime(2026, 11, 16, 9, tzinfo=UTC)
    row = ModuleRow(s, f"Modules/{s}.c", "single-phase", s, (s, s), 2, 1, False, "not-started")
    data = WeeklyData(
        repo="python/cpython",
        week="2026-W48",
        since=since,
        until=since + timedelta(days=7),
        current=_summary(),
        previous=_summary(),
        sha=SHA,
        changes=[
            PullRequestChange(12, SHA, s, "forward", (s,), (f"{s}: {s}",), title=s),
            PullRequestChange(None, SHA, s, "backward", (s,), (s,), title=s),
        ],
        completed=[CompletedModule(s, 12)],
        new_errors=[_finding(s)],
        open_prs=[OpenPullRequest(13, s, s, 1, 1, since)],
        single_phase=[row],
        static_types_left=[row],
        without_gil_slot=[row],
        trend=[TrendPoint(w, since, _summary()) for w in ("2026-W47", "2026-W48")],
    )
    return weekly.render_weekly_summary(data)


RENDERERS: dict[str, Callable[[str], str]] = {
    "PR comment": pr_comment_body,
    "PR comment (skipped)": pr_comment_skipped,
    "check-run summary": check_run_summary,
    "command reply": command_reply_body,
    "meta-issue checklist": checklist_body,
    "weekly summary": weekly_summary,
}


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
def test_hostile_strings_render_inert(renderer: str) -> None:
    render = RENDERERS[renderer]
    plain = render(PLAIN)
    assert PLAIN in plain  # not vacuous: the field is really shown
    for s in [*HOSTILE, " ".join(HOSTILE)]:
        assert_inert(render(s), plain, f"{renderer} with {s!r}")


def test_the_checks_catch_unescaped_text() -> None:
    # The comparison itself must see an injection: render without escaping and compare.
    for raw in ("[x](https://evil.example)", "@team", "#1", "<!-- isolation-bot:status -->"):
        with pytest.raises(AssertionError):
            assert_inert(f"- item {raw}\n", "- item plain\n", "unescaped")
    with pytest.raises(AssertionError):
        assert_inert("- a\n# heading\n", "- a plain\n", "unescaped")


@pytest.mark.parametrize("s", [*HOSTILE, " ".join(HOSTILE)])
def test_check_run_annotations_are_plain_text_within_limits(s: str) -> None:
    for ann in check_run.annotations_for(_result(s)):
        assert len(ann["title"]) <= 255 and len(ann["message"]) <= 64_000
        assert ann["path"] == f"Modules/{s}.c"  # GitHub matches it to the diff: kept exact
        assert not _BIDI_AND_ZERO_WIDTH.search(ann["title"] + ann["message"])
        assert "\x00" not in ann["title"] + ann["message"]


# ---- the dashboard: server-side HTML -------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(name for name, _ in attrs))))
        for name, value in attrs:
            assert not name.startswith("on"), f"event handler attribute {name}={value}"
            if name in ("href", "src", "xlink:href", "action") and value:
                # Ours only: relative, or GitHub (a hostile path is percent-encoded in it).
                assert urlsplit(value).netloc in ("", "github.com"), f"{name}={value}"
                assert urlsplit(value).scheme in ("", "https"), f"{name}={value}"


def _source(s: str) -> MemorySource:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    snaps = []
    for w, stage in enumerate((0, 1)):
        at = now - timedelta(weeks=2 - w)
        mods = [
            ModuleState(s, f"Modules/{s}.c", "multi-phase" if stage else "single-phase",
                        "supported" if stage else None, False, (s,), (s,), 1, 1, 1),
            ModuleState("_abc", "Modules/_abc.c", "multi-phase", "supported", False),
        ]  # fmt: skip
        sha = f"{w:02d}" + "ab" * 19
        snaps.append(make_snapshot("python/cpython", sha, at, mods, [_finding(s)]))
    event = make_event("python/cpython", s, "completed", now - timedelta(days=3), pr=12,
                       author=s, detail=s)  # fmt: skip
    src = MemorySource()
    src.add("python/cpython", snaps, [event])
    return src


async def _pages(s: str) -> list[str]:
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    app = make_app(_source(s), clock=lambda: now)
    async with TestClient(TestServer(app)) as client:
        out = []
        for url in ("/", f"/modules/{_quote(s)}", "/modules/_abc"):
            resp = await client.get(url)
            assert resp.status in (200, 404), url
            out.append(await resp.text())
        return out


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="")


@pytest.mark.parametrize("s", [*HOSTILE[:12], " ".join(HOSTILE)])
async def test_dashboard_pages_keep_their_tags(s: str) -> None:
    plain_pages = await _pages(PLAIN)
    assert PLAIN in plain_pages[0]
    for hostile, plain in zip(await _pages(s), plain_pages, strict=True):
        h, p = _Tags(), _Tags()
        h.feed(hostile)
        p.feed(plain)
        assert h.tags == p.tags, f"dashboard with {s!r}: tags differ"
