"""The body-splicing rules of the meta-issue writer (pure part)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.tracking.checklist import END_MARKER, START_MARKER
from bot.tracking.meta_issue import find_section, splice

SECTION = f"{START_MARKER}\nnew\nlines\n{END_MARKER}\n"


def test_replace_keeps_crlf_and_trailing_whitespace_outside() -> None:
    before = "Intro  \r\n\r\n* item\t\r\n"
    after = "\r\n\r\nOutro with trailing spaces   \r\n"
    body = before + f"{START_MARKER}\r\nold\r\n{END_MARKER}" + after
    out = splice(body, SECTION, may_append=False)
    assert out is not None and out.mode == "replaced"
    assert out.body == before + f"{START_MARKER}\r\nnew\r\nlines\r\n{END_MARKER}" + after


def test_replace_is_stable() -> None:
    body = f"x\n{START_MARKER}\nold\n{END_MARKER}\ny"
    once = splice(body, SECTION, may_append=False)
    assert once is not None
    twice = splice(once.body, SECTION, may_append=False)
    assert twice is not None and twice.body == once.body


def test_append_to_various_bodies() -> None:
    sec = SECTION.rstrip("\n")
    cases = {
        "": sec + "\n",
        "text": "text\n\n" + sec + "\n",
        "text\n": "text\n\n" + sec + "\n",
        "text\n\n": "text\n\n" + sec + "\n",
        "a\r\nb": "a\r\nb\r\n\r\n" + sec.replace("\n", "\r\n") + "\r\n",
    }
    for body, expected in cases.items():
        out = splice(body, SECTION, may_append=True)
        assert out is not None and out.mode == "appended"
        assert out.body == expected
        assert out.body.startswith(body)  # text people own stays byte-identical


def test_missing_or_broken_markers_are_not_fought() -> None:
    assert splice("no markers", SECTION, may_append=False) is None
    # Only the start marker left (someone deleted the end): not a section of ours any more.
    assert find_section(f"a {START_MARKER} b") is None
    assert find_section(f"{END_MARKER} then {START_MARKER}") is None


@given(st.text(), st.text())
def test_outside_text_is_byte_identical(before: str, after: str) -> None:
    # Text people own, whatever it contains, except our own markers.
    before = before.replace(START_MARKER, "").replace(END_MARKER, "")
    after = after.replace(START_MARKER, "").replace(END_MARKER, "")
    if START_MARKER in before + after or END_MARKER in before + after:
        return
    body = before + f"{START_MARKER}\nold\n{END_MARKER}" + after
    out = splice(body, SECTION, may_append=False)
    assert out is not None
    assert out.body.startswith(before) and out.body.endswith(after)
