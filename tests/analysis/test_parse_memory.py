"""Parsing under a deadline (tree-sitter's read callback) must not keep the parsed text alive:
py-tree-sitter 0.26 holds on to every object the read callback returns, which made a
long-running service grow by the size of every file it analysed (bench/soak.py)."""

from __future__ import annotations

import sys

from bot.analysis.cparse import _parse_tree
from bot.analysis.deadline import Deadline


def test_a_deadline_parse_keeps_no_reference_to_the_text() -> None:
    text = b"static int counter = 0;\nint f(void) { return counter; }\n" * 2000
    reference = str(_parse_tree(text, Deadline(None)))  # the plain bytes parse
    before = sys.getrefcount(text)
    for _ in range(20):
        # Read through one refilled buffer, chunk by chunk: the same tree.
        assert str(_parse_tree(text, Deadline(60.0))) == reference
    assert sys.getrefcount(text) == before  # 20 more with slices returned to tree-sitter
