"""PR-controlled text stays inert: no markdown, HTML, mentions or references survive."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from bot.render import escape


def test_text_defuses_markdown_html_mentions_and_refs() -> None:
    out = escape.text("**x** [a](http://e.com) <img src=x> @octocat #123 gh-45 `c` | ![i](u)")
    assert "<img" not in out.replace("\\<img", "")
    assert "\\*\\*x\\*\\*" in out
    assert "\\[a\\](http" in out
    assert not re.search(r"@[A-Za-z0-9]", out)  # no mention
    assert not re.search(r"#\d", out)  # no issue reference
    assert "gh-" + escape.ZWJ + "45" in out
    assert "http://" not in out  # no autolink


def test_text_flattens_newlines_and_controls() -> None:
    assert escape.text("a\n# heading\r\n- item\x00") == "a \\# heading - item"
    assert escape.text("- item") == "\\- item"
    assert escape.text("1. item") == "1\\. item"


def test_code_span_survives_backticks() -> None:
    assert escape.code("a`b") == "``a`b``"
    assert escape.code("`x`") == "`` `x` ``"
    assert escape.code("x|y", in_table=True) == "`x\\|y`"
    assert escape.code("") == "` `"


def test_url_path_encodes() -> None:
    assert escape.url_path("Modules/a b#c.c") == "Modules/a%20b%23c.c"


def test_truncation() -> None:
    assert len(escape.text("x" * 2000)) == escape.MAX_LEN


@given(st.text(max_size=200))
def test_text_never_leaves_an_unescaped_special(s: str) -> None:
    out = escape.text(s)
    assert "\n" not in out and "\r" not in out
    # every markdown-special ASCII char is preceded by a backslash (or is part of &amp;)
    stripped = out.replace("&amp;", "")
    for m in re.finditer(r"[`*_\[\]<>|!]", stripped):
        assert stripped[m.start() - 1] == "\\"
    assert not re.search(r"@[A-Za-z0-9_-]", out)


@given(st.text(max_size=100))
def test_code_span_contains_the_text_literally(s: str) -> None:
    out = escape.code(s)
    fence = re.match(r"`+", out)
    assert fence is not None
    inner = out[len(fence.group()) : -len(fence.group())]
    assert fence.group() not in inner


_md = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _rendered_text(markdown: str) -> str:
    """The text a CommonMark renderer shows for ``markdown`` (one paragraph's inline text)."""
    tokens = _md.parseInline(markdown)
    return "".join(
        t.content
        for tok in tokens
        for t in (tok.children or [])
        if t.type in ("text", "code_inline")
    )


def test_ampersands_render_as_themselves() -> None:
    # "&" needs no escape in markdown: the source stays readable ("&def", "a && b") ...
    assert escape.text("return PyModuleDef_Init(&def);") == r"return PyModuleDef\_Init(&def);"
    assert escape.text("a && b") == "a && b"
    # ... and what looks like an entity is kept literal, not decoded.
    for s in ("&lt;b&gt; &amp;", "&copy; &#64;x &#x40;", "PyModuleDef_Init(&def)"):
        assert _rendered_text(escape.text(s)).replace(escape.ZWJ, "") == s


@given(st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=80))
def test_text_renders_as_the_original(s: str) -> None:
    shown = _rendered_text(escape.text(s)).replace(escape.ZWJ, "")
    assert shown.strip(" ") == s.strip(" ")
