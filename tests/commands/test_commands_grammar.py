"""The slash-command grammar: unit cases and hypothesis properties."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.grammar import (
    COMMANDS,
    MAX_COMMANDS_PER_COMMENT,
    Command,
    CommandError,
    commands_digest,
    new_commands,
    parse_commands,
)

LOGIN = "isolation-bot[bot]"


def names(body: str) -> list[str]:
    return [i.name if isinstance(i, Command) else "ERR" for i in parse_commands(body, LOGIN)]


# --------------------------------------------------------------------------- prefixes


@pytest.mark.parametrize(
    "line",
    [
        "/isolation help",
        "/ISOLATION HELP",
        "/Isolation Help",
        "   /isolation help",
        "/isolation   help   ",
        "/isolation\thelp",
        "@isolation-bot help",
        "@isolation-bot[bot] help",
        "@Isolation-Bot[BOT] help",
        "@isolation-bot: help",
        "@isolation-bot, help",
    ],
)
def test_prefix_variants_run(line: str) -> None:
    assert names(line) == ["help"]


@pytest.mark.parametrize(
    "line",
    [
        "/isolationhelp",
        "/isolation-bot help",
        "@isolation-botty help",
        "@someone-else help",
        "please /isolation help",
        "- /isolation help",
        "    /isolation help",  # indented code
        "\t/isolation help",
        "isolation help",
    ],
)
def test_not_commands(line: str) -> None:
    assert parse_commands(line, LOGIN) == []


def test_without_login_only_slash_prefix() -> None:
    assert parse_commands("@isolation-bot help", None) == []
    assert [c.name for c in parse_commands("/isolation help", None)] == ["help"]


# --------------------------------------------------------------------------- hidden contexts


@pytest.mark.parametrize(
    "body",
    [
        "```\n/isolation help\n```",
        "````\n/isolation help\n```\n/isolation help\n````",
        "~~~\n/isolation help\n~~~",
        "~~~~~ python\n/isolation help\n~~~~~",
        "   ```\n/isolation help\n   ```",
        "```\n/isolation help",  # unclosed fence: code to the end
        "> /isolation help",
        ">/isolation help",
        "   > /isolation help",
        "> > /isolation help",
        "<!-- /isolation help -->",
        "<!--\n/isolation help\n-->",
        "<!--\n\n/isolation help\n\n-->",
        "<!-- never closed\n/isolation help",
        "text <!--\n/isolation help\n--> more",
        "`/isolation help`",
        "``/isolation help``",
        "some `inline\n/isolation help\ncode` here",
        "a `` x ` \n/isolation help\n`` b",
    ],
)
def test_hidden_commands_never_run(body: str) -> None:
    assert parse_commands(body, LOGIN) == []


def test_after_closed_contexts_commands_run() -> None:
    body = "\n".join(
        [
            "```",
            "/isolation explain ISO001",
            "```",
            "/isolation help",
            "> /isolation recheck",
            "",
            "<!-- /isolation summary -->",
            "/isolation status _curses",
            "`unclosed backtick",
            "",
            "/isolation explain static-type",
        ]
    )
    items = parse_commands(body, LOGIN)
    assert [(i.name, i.args) for i in items if isinstance(i, Command)] == [
        ("help", ()),
        ("status", ("_curses",)),
        ("explain", ("static-type",)),
    ]
    assert [i.line for i in items] == [4, 8, 11]


def test_unmatched_backticks_are_literal() -> None:
    # A lone backtick on an earlier line does not open a code span: the command is visible.
    assert names("see `foo\n/isolation help") == ["help"]


def test_fence_with_backtick_in_info_is_not_a_fence() -> None:
    assert names("``` a`b\n/isolation help") == ["help"]


def test_shorter_closing_fence_does_not_close() -> None:
    assert names("`````\n```\n/isolation help\n`````\n/isolation recheck") == ["recheck"]


def test_trailing_html_comment_is_dropped_from_arguments() -> None:
    (item,) = parse_commands("/isolation status _curses <!-- hidden arg -->", LOGIN)
    assert isinstance(item, Command)
    assert item.args == ("_curses",)


def test_crlf_bodies() -> None:
    assert names("hi\r\n/isolation help\r\n/isolation recheck\r\n") == ["help", "recheck"]


def test_several_commands_in_order() -> None:
    body = "Thanks!\n/isolation recheck\n@isolation-bot status\n/isolation explain ISO001\n"
    assert names(body) == ["recheck", "status", "explain"]


def test_too_many_commands_are_capped_with_an_error() -> None:
    body = "\n".join(["/isolation help"] * (MAX_COMMANDS_PER_COMMENT + 5))
    items = parse_commands(body, LOGIN)
    assert len(items) == MAX_COMMANDS_PER_COMMENT + 1
    assert isinstance(items[-1], CommandError)
    assert "too many" in items[-1].message


# --------------------------------------------------------------------------- arguments


def test_ignore_syntax() -> None:
    (item,) = parse_commands("/isolation ignore ISO001 Foo_Type --  it is  exempt ", LOGIN)
    assert isinstance(item, Command)
    assert item.args == ("ISO001", "Foo_Type")
    assert item.reason == "it is exempt"


def test_ignore_accepts_em_dash_and_backticked_args() -> None:
    (item,) = parse_commands("/isolation ignore static-type `Foo_Type` — generated", LOGIN)
    assert isinstance(item, Command)
    assert item.args == ("static-type", "Foo_Type")
    assert item.reason == "generated"


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("/isolation ignore ISO001 Foo", "reason"),
        ("/isolation ignore ISO001 Foo --   ", "reason"),
        ("/isolation ignore ISO001 -- why", "rule and a symbol"),
        ("/isolation ignore ISO001 a b -- why", "rule and a symbol"),
        ("/isolation ignore ISO001 <img> -- why", "C identifier"),
        ("/isolation ignore [x](y) Foo -- why", "rule"),
        ("/isolation unignore ISO001", "rule and a symbol"),
        ("/isolation explain", "exactly one"),
        ("/isolation explain a b", "exactly one"),
        ("/isolation explain <script>", "rule"),
        ("/isolation recheck now", "no arguments"),
        ("/isolation summary please", "no arguments"),
        ("/isolation status a b", "at most one"),
        ("/isolation status <b>x</b>", "not a module"),
        ("/isolation help a b", "at most one"),
        ("/isolation help nothing", "unknown command"),
        ("/isolation frobnicate", "unknown command"),
        ("/isolation", "no command"),
    ],
)
def test_bad_arguments_give_usage(line: str, fragment: str) -> None:
    (item,) = parse_commands(line, LOGIN)
    assert isinstance(item, CommandError)
    assert fragment in item.message
    assert item.usage.startswith("/isolation")
    if item.name:
        assert item.usage == COMMANDS[item.name].usage


def test_unknown_command_usage_lists_every_command() -> None:
    (item,) = parse_commands("/isolation nope", LOGIN)
    assert isinstance(item, CommandError)
    for spec in COMMANDS.values():
        assert spec.usage in item.usage


def test_reason_too_long() -> None:
    (item,) = parse_commands("/isolation ignore ISO001 Foo -- " + "x" * 600, LOGIN)
    assert isinstance(item, CommandError)


# --------------------------------------------------------------------------- edits


def test_new_commands_only_the_added_ones() -> None:
    old = "/isolation help\n/isolation status _curses"
    new = "/isolation help\n/isolation status _curses\n/isolation recheck"
    assert [i.name for i in new_commands(old, new, LOGIN) if isinstance(i, Command)] == ["recheck"]


def test_unchanged_or_reformatted_edit_runs_nothing() -> None:
    old = "/isolation help\ntext"
    assert new_commands(old, old, LOGIN) == []
    assert new_commands(old, "@isolation-bot   HELP\nother text", LOGIN) == []


def test_edit_is_a_multiset() -> None:
    old = "/isolation recheck"
    new = "/isolation recheck\n/isolation recheck"
    assert [i.name for i in new_commands(old, new, LOGIN) if isinstance(i, Command)] == ["recheck"]


def test_edit_changing_an_argument_runs_it() -> None:
    fresh = new_commands("/isolation status _curses", "/isolation status readline", LOGIN)
    assert [(i.name, i.args) for i in fresh if isinstance(i, Command)] == [
        ("status", ("readline",))
    ]


def test_edit_moving_a_command_into_code_runs_nothing() -> None:
    assert new_commands("/isolation help", "```\n/isolation help\n```", LOGIN) == []


def test_edit_from_empty_previous_body() -> None:
    assert [i.name for i in new_commands(None, "/isolation help", LOGIN)] == ["help"]


def test_digest_depends_on_the_commands_only() -> None:
    a = parse_commands("hi\n/isolation help", LOGIN)
    b = parse_commands("hello\n@isolation-bot help", LOGIN)
    c = parse_commands("/isolation recheck", LOGIN)
    assert commands_digest(a) == commands_digest(b) != commands_digest(c)


# --------------------------------------------------------------------------- robustness


def test_no_redos_on_hostile_input() -> None:
    hostile = [
        "`" * 50_000,
        "`a" * 25_000,
        "<!--" * 20_000,
        "/isolation " + "-" * 50_000,
        "\n".join("`" * i for i in range(1, 400)),
        ("> " * 10_000) + "/isolation help",
        "/isolation ignore " + "a " * 20_000 + "-- x",
        "`<!--" * 13_000,  # once quadratic: a fresh search for "-->" at every comment opener
        "x <!--" * 10_000 + "-->",
    ]
    start = time.process_time()
    for body in hostile:
        parse_commands(body, LOGIN)
    # Generous bound (quadratic behaviour would take minutes); not a performance assertion.
    assert time.process_time() - start < 20


COMMAND_LINES = st.sampled_from(
    [
        "/isolation help",
        "/isolation recheck",
        "/isolation status _curses",
        "/isolation explain ISO001",
        "/isolation summary",
        "@isolation-bot status",
        "/isolation ignore ISO001 Foo -- why",
    ]
)
NOISE = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="`~<>\r"),
        max_size=40,
    )
    .map(lambda s: s.replace("/isolation", "").replace("@isolation", ""))
    .filter(lambda s: not s.lstrip(" ").startswith(("#", "-", "=", "*", "+")))
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(COMMAND_LINES, min_size=1, max_size=4),
    st.sampled_from(["fence", "tilde", "quote", "comment", "inline", "indent"]),
    NOISE,
    st.integers(min_value=3, max_value=6),
)
def test_property_hidden_contexts_never_run(
    lines: list[str], context: str, noise: str, fence_len: int
) -> None:
    inner = "\n".join(lines)
    if context == "fence":
        body = f"{noise}\n\n{'`' * fence_len}\n{inner}\n{'`' * fence_len}\n"
    elif context == "tilde":
        body = f"{noise}\n\n{'~' * fence_len} c\n{inner}\n{'~' * fence_len}\n"
    elif context == "quote":
        body = noise + "\n\n" + "\n".join("> " + line for line in lines)
    elif context == "comment":
        body = f"{noise}\n<!--\n{inner}\n-->"
    elif context == "inline":
        body = "\n".join(f"`{line}` {noise.strip()}" for line in lines)
    else:
        body = "\n\n" + "\n".join("    " + line for line in lines)
    assert parse_commands(body, LOGIN) == []


@settings(max_examples=150, deadline=None)
@given(
    st.lists(COMMAND_LINES, min_size=1, max_size=4),
    st.lists(st.sampled_from(["lower", "upper", "title"]), min_size=4, max_size=4),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=1, max_value=4),
    st.text(alphabet=" \t", max_size=3),
)
def test_property_whitespace_and_case_variants_run(
    lines: list[str], cases: list[str], indent: int, gap: int, trailing: str
) -> None:
    variants = []
    for i, line in enumerate(lines):
        prefix, _, rest = line.partition(" ")
        prefix = getattr(prefix, cases[i % 4])()
        name, _, args = rest.partition(" ")
        name = getattr(name, cases[(i + 1) % 4])()
        variants.append(
            " " * indent + prefix + " " * gap + name + (" " + args if args else "") + trailing
        )
    expected = parse_commands("\n".join(lines), LOGIN)
    got = parse_commands("Some text first.\n\n" + "\n".join(variants), LOGIN)
    assert [i.normalized for i in got] == [i.normalized for i in expected]
    assert all(isinstance(i, Command) for i in got)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_property_never_raises(body: str) -> None:
    for item in parse_commands(body, LOGIN):
        assert isinstance(item, Command | CommandError)
