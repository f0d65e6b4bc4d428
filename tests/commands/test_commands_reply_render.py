"""Rendering of replies (pure): marker, quoting, escaping, size cap."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.grammar import new_commands, parse_commands
from bot.commands.reply import (
    TOO_LONG,
    ReplySection,
    has_marker,
    render_reply,
)


def test_marker_round_trip() -> None:
    text = render_reply([ReplySection("/isolation help", "ok")], comment_id=12, digest="abc123")
    assert text.startswith("<!-- isolation-bot:reply:12:abc123 -->")
    assert has_marker(text, 12, "abc123")
    assert not has_marker(text, 13, "abc123")
    assert not has_marker(text, 12, "abc124")
    assert not has_marker(None, 12, "abc123")


def test_quoted_command_is_inert() -> None:
    line = "/isolation status [x](javascript:alert(1)) @octocat <b>hi</b> #12 *y*"
    text = render_reply([ReplySection(line, "body")], comment_id=1, digest="d")
    quote = text.splitlines()[2]
    assert quote.startswith("> /isolation status ")
    for bad in ("[x](", "@octocat", "<b>", "#12", "*y*"):
        assert bad not in quote


def test_oversized_answers_are_replaced_whole() -> None:
    big = "```c\n" + "int x;\n" * 20_000 + "```"
    sections = [
        ReplySection("/isolation explain ISO001", big),
        ReplySection("/isolation help", "s"),
    ]
    text = render_reply(sections, comment_id=1, digest="d", max_chars=10_000)
    assert len(text) <= 10_000
    assert TOO_LONG in text and "> /isolation help\n\ns" in text
    assert "```c" not in text


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_property_unchanged_edit_runs_nothing(body: str) -> None:
    assert new_commands(body, body, "isolation-bot[bot]") == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(["/isolation help", "/isolation recheck", "hello", ""]), max_size=6)
)
def test_property_edit_from_empty_runs_everything(lines: list[str]) -> None:
    body = "\n".join(lines)
    assert new_commands("", body, None) == parse_commands(body, None)
