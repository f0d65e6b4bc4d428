"""SVG charts and badges (PURE): series -> SVG text, generated server-side for the dashboard.

Accessible by construction: every chart is ``role="img"`` labelled by its ``<title>`` and
``<desc>`` (the desc says the first and last values in words), and every data point carries its
own ``<title>`` (shown as a tooltip, read by screen readers). All text is XML-escaped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape

_ID_SAFE = re.compile(r"[^A-Za-z0-9_-]")


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def progress_color(percent: float) -> str:
    """Badge / bar colour by completion (shields' palette)."""
    if percent >= 90:
        return "#4c1"
    if percent >= 75:
        return "#97ca00"
    if percent >= 50:
        return "#dfb317"
    if percent >= 25:
        return "#fe7d37"
    return "#e05d44"


def line_chart_svg(
    points: Sequence[tuple[str, float]],
    *,
    title: str,
    chart_id: str,
    unit: str = "%",
    y_max: float = 100.0,
    width: int = 360,
    height: int = 180,
    color: str = "#3572a5",
) -> str:
    """A line chart of (label, value) points, oldest first, values in 0..y_max."""
    cid = _ID_SAFE.sub("-", chart_id) or "chart"
    left, right, top, bottom = 40, 8, 10, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    if points:
        desc = (
            f"{len(points)} points from {points[0][0]} to {points[-1][0]}: "
            f"{_fmt(points[0][1])}{unit} to {_fmt(points[-1][1])}{unit}."
        )
    else:
        desc = "No data yet."
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{cid}" '
        f'viewBox="0 0 {width} {height}" role="img" '
        f'aria-labelledby="{cid}-title {cid}-desc" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{cid}-title">{_e(title)}</title>',
        f'<desc id="{cid}-desc">{_e(desc)}</desc>',
    ]
    # Grid lines and y labels at 0, 25, 50, 75, 100 % of y_max.
    for i in range(5):
        v = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" '
            'stroke="#ddd" stroke-width="1"/>'
        )
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#555">{_fmt(v)}{_e(unit)}</text>'
        )
    if points:
        n = len(points)
        step = plot_w / (n - 1) if n > 1 else 0.0

        def xy(i: int, v: float) -> tuple[float, float]:
            v = min(max(v, 0.0), y_max)
            x = left + (step * i if n > 1 else plot_w / 2)
            return x, top + plot_h - plot_h * v / y_max

        coords = [xy(i, v) for i, (_, v) in enumerate(points)]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(
            f'<polyline points="{path}" fill="none" stroke="{_e(color)}" stroke-width="2.5" '
            'stroke-linejoin="round"/>'
        )
        label_every = max(1, -(-n // 3))  # at most ~4 x labels: they must not overlap
        for i, ((label, v), (x, y)) in enumerate(zip(points, coords, strict=True)):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{_e(color)}">'
                f"<title>{_e(label)}: {_fmt(v)}{_e(unit)}</title></circle>"
            )
            if (n - 1 - i) % label_every == 0:  # counted from the newest, always labelled
                # The outermost labels are anchored inwards so they are never clipped.
                anchor = "start" if i == 0 else "end" if i == n - 1 else "middle"
                if n == 1:
                    anchor = "middle"
                parts.append(
                    f'<text x="{x:.1f}" y="{height - 8}" text-anchor="{anchor}" font-size="10" '
                    f'fill="#555">{_e(label)}</text>'
                )
    else:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h / 2:.1f}" '
            'text-anchor="middle" font-size="14" fill="#555">No data yet</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _text_width(text: str) -> int:
    """Approximate width of Verdana 11px text (what shields-style badges use)."""
    wide = sum(1 for c in text if c in "mwMW%@")
    return int(len(text) * 6.8 + wide * 3) + 10


def badge_svg(label: str, message: str, color: str) -> str:
    """A shields.io-style flat badge: grey label, coloured message."""
    lw, mw = _text_width(label), _text_width(message)
    w = lw + mw
    title = f"{label}: {message}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" '
        f'aria-label="{_e(title)}"><title>{_e(title)}</title>'
        '<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" '
        'stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>'
        f'<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/>'
        f'<rect x="{lw}" width="{mw}" height="20" fill="{_e(color)}"/>'
        f'<rect width="{w}" height="20" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" '
        'font-size="11">'
        f'<text x="{lw / 2:.1f}" y="14" fill="#010101" fill-opacity=".3">{_e(label)}</text>'
        f'<text x="{lw / 2:.1f}" y="13">{_e(label)}</text>'
        f'<text x="{lw + mw / 2:.1f}" y="14" fill="#010101" fill-opacity=".3">{_e(message)}</text>'
        f'<text x="{lw + mw / 2:.1f}" y="13">{_e(message)}</text></g></svg>'
    )
