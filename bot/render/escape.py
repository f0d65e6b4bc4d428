"""Make PR-controlled text inert in GitHub markdown.

File names, C identifiers, messages quoting them, user names and reasons come from whoever
opened the pull request. Rendered as-is they could inject markdown (links, images, tables,
headings), raw HTML, @-mentions that ping people, or #123 / GH-123 references that cross-link
issues. Every renderer passes such text through one of these functions:

- ``text``: plain text in running markdown (paragraphs, list items, table cells);
- ``code``: a code span (the usual way to show a path or identifier);
- ``link_text``: the visible text of a ``[text](url)`` link;
- ``url_path``: a path segment for a URL we build (percent-encoded).

Mentions and references are broken with a zero-width joiner after ``@`` / ``#``, which keeps
the text readable and copyable but stops GitHub from linking it. Control characters and line
breaks are flattened so text cannot end a list item or table row.
"""

from __future__ import annotations

import re
import urllib.parse

ZWJ = "\u2060"  # WORD JOINER: invisible, not a word character, so "@\u2060name" is no mention

# Punctuation that can open a markdown/GFM construct anywhere in a line: emphasis, code,
# links/images (brackets; parentheses only matter after "]"), HTML, tables, strikethrough,
# math ($), headings/refs (#). Escaping only these keeps the text readable.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]#!|<>~$])")
# Characters that only start a block (list item, heading underline) at the start of a line.
_LINE_START = re.compile(r"^([-+=.])")
# Control characters, bidi overrides/isolates/marks (they make text read other than it is:
# "\u202egnp.exe") and zero-width characters (they hide text or split words invisibly).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)
_LINEBREAKS = re.compile(r"[\r\n\t]+")
_MENTION = re.compile(r"@(?=[A-Za-z0-9_-])")
_REFERENCE = re.compile(r"#(?=\d)")
_GH_REF = re.compile(r"\b(gh|GH|bpo|BPO)(\\?-)(?=\d)", re.IGNORECASE)

# A named character reference: "&" + name + ";" (numeric ones start with "#", escaped above).
_ENTITY = re.compile(r"&(?=[A-Za-z0-9]+;)")

MAX_LEN = 500


def utf16_len(s: str) -> int:
    """Length as GitHub counts it (UTF-16 code units): its 65,536 limit is in these."""
    return len(s.encode("utf-16-le")) // 2


def _flatten(value: object, limit: int) -> str:
    s = str(value)
    s = _CONTROL.sub("", s)
    s = _LINEBREAKS.sub(" ", s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def _defuse_mentions(s: str) -> str:
    s = _MENTION.sub("@" + ZWJ, s)
    s = _REFERENCE.sub("#" + ZWJ, s)
    return _GH_REF.sub(lambda m: m.group(1) + m.group(2) + ZWJ, s)


def text(value: object, *, limit: int = MAX_LEN) -> str:
    """Plain text: no markdown, HTML, mentions or references survive."""
    s = _flatten(value, limit)
    s = _MARKDOWN_SPECIAL.sub(r"\\\1", s)
    # "&" stays "&" (it renders as itself) unless it starts an entity reference ("&lt;",
    # "&amp;"; "&#64;" is already broken by the escaped "#"): a backslash keeps it literal.
    s = _ENTITY.sub(r"\\&", s)
    s = _LINE_START.sub(r"\\\1", s)
    s = re.sub(r"^(\d+)([.)])", r"\1\\\2", s)  # "1." / "1)" would start an ordered list
    # Autolinks: "www." and "scheme://" would become links even with punctuation escaped.
    s = s.replace("://", ":\u2060//").replace("www.", "www\u2060.")
    return _defuse_mentions(s)


def plain(value: object, *, limit: int = MAX_LEN) -> str:
    """Plain text shown as-is (check-run annotation titles and messages, which GitHub does
    not render as markdown): only control, bidi and zero-width characters are removed."""
    s = _CONTROL.sub("", str(value))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def link_text(value: object, *, limit: int = 200) -> str:
    """The visible text of a link: like ``text`` (brackets are escaped, so it cannot close)."""
    return text(value, limit=limit)


def code(value: object, *, limit: int = MAX_LEN, in_table: bool = False) -> str:
    """A code span that shows ``value`` literally, whatever backticks it contains.

    Inside code spans GitHub renders no markdown, HTML, mentions or references. In a table cell
    a ``|`` still ends the cell (GFM), so ``in_table`` escapes it.
    """
    s = _flatten(value, limit)
    # An HTML comment opener or closer, even shown literally in code, would let the text forge
    # (or end) the hidden markers the bot finds its own comments and sections by.
    s = s.replace("<!--", "<\u2060!--").replace("-->", "-\u2060->")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    if (
        s.startswith("`")
        or s.endswith("`")
        or (s.startswith(" ") and s.endswith(" ") and s.strip())
    ):
        s = f" {s} "
    if not s:
        s = " "
    if in_table:
        s = s.replace("|", "\\|")
    return f"{fence}{s}{fence}"


def url_path(value: object) -> str:
    """A path for a URL we build (file paths in blob links): percent-encoded, "/" kept."""
    return urllib.parse.quote(str(value), safe="/")


def html_comment_safe(value: object) -> str:
    """Text to place inside an HTML comment (hidden markers): cannot close the comment."""
    return _flatten(value, 200).replace("--", "- -").replace(">", "&gt;")
