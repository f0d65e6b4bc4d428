"""GitHub-style pagination: ?page=&per_page= and the Link header."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar
from urllib.parse import urlencode

T = TypeVar("T")

DEFAULT_PER_PAGE = 30
MAX_PER_PAGE = 100


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def paginate(
    items: Sequence[T], base_url: str, query: Mapping[str, str]
) -> tuple[list[T], str | None]:
    """The requested page of ``items`` and the Link header for it (None for a single page)."""
    per_page = min(max(_int(query.get("per_page"), DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
    page = max(_int(query.get("page"), 1), 1)
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = list(items[(page - 1) * per_page : page * per_page])

    def url(n: int) -> str:
        q = dict(query)
        q["per_page"] = str(per_page)
        q["page"] = str(n)
        return f"{base_url}?{urlencode(q)}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, last))}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    return chunk, (", ".join(links) or None)
