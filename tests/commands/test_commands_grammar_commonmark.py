"""The grammar checked against a CommonMark reference parser (markdown-it-py).

Bodies are generated from fragments that mix commands with fences, quotes, HTML comments,
inline code spans (also across lines) and indented code. The oracle is what markdown renders
as visible paragraph text: a line of a paragraph outside block quotes whose first inline is
plain text starting with the command prefix. The grammar must find exactly those lines.

Documented deviation (grammar.py): a command line right after a quote line is a command for
us but a lazy continuation of the quote for CommonMark, so the generator always ends a quote
with a blank line.
"""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bot.commands.grammar import MAX_COMMANDS_PER_COMMENT, parse_commands

markdown_it = pytest.importorskip("markdown_it")

PREFIXES = ("/isolation", "@isolation-bot[bot]", "@isolation-bot")


def is_command_start(text: str) -> bool:
    lowered = text.lower()
    for prefix in PREFIXES:
        if lowered.startswith(prefix):
            rest = lowered[len(prefix) :]
            if prefix != "/isolation" and rest[:1] in (":", ","):
                rest = rest[1:]
            return rest == "" or rest[0].isspace()
    return False


FRAGMENTS = [
    "/isolation help",
    "/isolation recheck",
    "@isolation-bot status _curses",
    "/isolation explain ISO001",
    "plain words",
    "some `code",
    "end` here",
    "``double",
    "tick`` done",
    "`/isolation help`",
    "a <!-- b",
    "c --> d",
    "<!--",
    "-->",
    "<!-- /isolation summary -->",
    "```",
    "~~~",
    "````",
    "``` c",
    "> quoted",
    "> /isolation help",
    "    /isolation help",
    "",
    "",
    # indentation and prefix variants
    "   ```",
    "  ~~~~",
    "~~~ `x`",
    "``` a`b",
    "  > x",
    "\t> x",
    "\t```",
    "   /isolation help",
    "\t/isolation help",
    "  \t/isolation help",
    "        /isolation help",
    "/ISOLATION Help",
    "@isolation-bot[bot] recheck",
    "/isolation",
    # comment and code-span fragments
    "<!-- a -->",
    "   <!--",
    "text -->",
    "/isolation help <!-- z -->",
    "x `` y",
    "`",
]


def visible_command_lines(body: str) -> list[str]:
    """The lines markdown shows as paragraph text starting with a command prefix."""
    md = markdown_it.MarkdownIt("commonmark")
    tokens = md.parse(body)
    quote_depth = 0
    in_paragraph = False
    found: list[str] = []
    for token in tokens:
        if token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif token.type == "paragraph_open":
            in_paragraph = True
        elif token.type == "paragraph_close":
            in_paragraph = False
        elif token.type == "inline" and in_paragraph and quote_depth == 0:
            lines: list[list[markdown_it.token.Token]] = [[]]
            for child in token.children or []:
                if child.type in ("softbreak", "hardbreak"):
                    lines.append([])
                else:
                    lines[-1].append(child)
            for line in lines:
                if line and line[0].type == "text" and is_command_start(line[0].content):
                    text = "".join(c.content for c in line if c.type == "text")
                    found.append(" ".join(text.split()))
    return found


def grammar_command_lines(body: str) -> list[str]:
    return [item.raw for item in parse_commands(body, "isolation-bot[bot]")]


def build(lines: list[str]) -> str:
    out: list[str] = []
    for line in lines:
        if line.startswith("    ") and out and out[-1] != "":
            out.append("")  # indented code needs a blank line before it
        out.append(line)
        if line.lstrip(" ").startswith(">"):
            out.append("")  # see the module docstring: no lazy continuation lines
    return "\n".join(out)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14))
@example(["some `code", "/isolation help", "end` here"])
@example(["a <!-- b", "/isolation help", "c --> d", "/isolation recheck"])
@example(["<!--", "/isolation help", "-->", "/isolation recheck"])
@example(["````", "/isolation help", "```", "/isolation help", "````", "/isolation recheck"])
def test_commands_are_exactly_the_visible_command_lines(lines: list[str]) -> None:
    body = build(lines)
    visible = visible_command_lines(body)
    found = grammar_command_lines(body)
    if len(visible) <= MAX_COMMANDS_PER_COMMENT:
        assert found == visible, body
    else:  # capped: the first ones, then one "too many commands" error
        assert found[:-1] == visible[:MAX_COMMANDS_PER_COMMENT], body
        assert len(found) == MAX_COMMANDS_PER_COMMENT + 1
