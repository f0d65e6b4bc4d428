"""The rule documentation pages: ``/rules`` (the catalog) and ``/rules/<id-or-name>``.

Rendered on the server from the rule catalog (rules/*.toml, the same text as
``isolation-bot explain``), with the bad and fixed C examples highlighted by a small
tokenizer here: no JavaScript and no highlighting library needed. Every rule link the bot
writes points here when the service's public URL is set (bot.render.links).

The catalog's prose is light Markdown (paragraphs, `code` spans, "- " lists); it is shown with
that much formatting, everything HTML-escaped first.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from markupsafe import Markup, escape

from bot.analysis.catalog import Rule, load_catalog
from bot.dashboard.templating import render

CACHE_CONTROL = "public, max-age=300"

# One pass over the source: every alternative consumes what it starts (an unterminated comment
# or string runs to the end of the source or line), so no start is scanned twice.
_C_TOKEN = re.compile(
    r"(?P<comment>/\*(?:[^*]|\*(?!/))*(?:\*/)?|//[^\n]*)"
    r"|(?P<preproc>^[ \t]*#[^\n]*)"
    r"|(?P<string>\"(?:\\.|[^\"\\\n])*\"?|'(?:\\.|[^'\\\n])*'?)"
    r"|(?P<number>\b\d+(?:\.\d+)?[uUlLfF]*\b|\b0[xX][0-9a-fA-F]+\b)"
    r"|(?P<word>\b[A-Za-z_][A-Za-z0-9_]*\b)",
    re.MULTILINE,
)
_C_KEYWORDS = frozenset(
    [
        "auto",
        "break",
        "case",
        "char",
        "const",
        "continue",
        "default",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "register",
        "restrict",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "typedef",
        "union",
        "unsigned",
        "void",
        "volatile",
        "while",
    ]
)


def highlight_c(source: str) -> Markup:
    """C source as HTML spans (class ``c-comment``, ``c-pre``, ``c-str``, ``c-num``,
    ``c-kw``, ``c-api`` for Py*/_Py* names); everything escaped."""
    out: list[str] = []
    pos = 0
    for m in _C_TOKEN.finditer(source):
        out.append(str(escape(source[pos : m.start()])))
        kind, text = m.lastgroup, m.group()
        css = {"comment": "c-comment", "preproc": "c-pre", "string": "c-str", "number": "c-num"}
        if kind == "word":
            cls = (
                "c-kw"
                if text in _C_KEYWORDS
                else "c-api"
                if text.startswith(("Py", "_Py"))
                else None
            )
        else:
            cls = css.get(str(kind))
        out.append(f'<span class="{cls}">{escape(text)}</span>' if cls else str(escape(text)))
        pos = m.end()
    out.append(str(escape(source[pos:])))
    return Markup("".join(out))


_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\[\]]+)\]\((https://[^)\s]+)\)")


def inline(text: str) -> Markup:
    """One paragraph of catalog prose: escaped, `code` spans and https links kept."""
    html = str(escape(" ".join(text.split())))
    html = _CODE_SPAN.sub(lambda m: f"<code>{m.group(1)}</code>", html)
    return Markup(_LINK.sub(lambda m: f'<a href="{m.group(2)}">{m.group(1)}</a>', html))


def blocks(text: str) -> list[dict[str, Any]]:
    """Paragraphs and "- " lists of catalog prose, for the template."""
    out: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in chunk.splitlines() if line.strip()]
        if lines and all(line.startswith(("- ", "* ")) for line in lines):
            out.append({"list": [inline(line[2:]) for line in lines], "paragraph": None})
        elif lines:
            out.append({"list": None, "paragraph": inline(" ".join(lines))})
    return out


def rule_context(rule: Rule) -> dict[str, Any]:
    return {
        "rule": rule,
        "summary": inline(rule.summary),
        "why": blocks(rule.why),
        "how_to_fix": blocks(rule.how_to_fix),
        "known_problems": blocks(getattr(rule, "known_problems", "") or ""),
        "bad": highlight_c(rule.bad_example.strip("\n")),
        "fixed": highlight_c(rule.fixed_example.strip("\n")),
    }


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={"Cache-Control": CACHE_CONTROL},
    )


def rules_index(repo: str) -> web.Response:
    """The catalog: one row per rule (``repo`` names the tracked repository in the header)."""
    rows = [{"rule": r, "summary": inline(r.summary)} for r in load_catalog().rules()]
    return _page(render("rules.html", repo=repo, rows=rows))


def rule_page(key: str, repo: str) -> web.Response:
    """One rule's page, by id ("ISO001", any case) or name; a name redirects to the id."""
    rule = load_catalog().get_rule(key)
    if rule is None:
        body = render(
            "error.html",
            repo=repo,
            status=404,
            heading="Not found",
            message=f"No rule {key!r}: see the list of rules at /rules.",
        )
        return _page(body, 404)
    if key != rule.id:  # one address per rule: /rules/static-type -> /rules/ISO001
        raise web.HTTPFound(f"/rules/{rule.id}")
    return _page(render("rule.html", repo=repo, **rule_context(rule)))
