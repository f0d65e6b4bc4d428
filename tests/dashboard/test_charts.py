"""SVG charts and badges: well-formed XML, accessible names, escaped text, sane geometry."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bot.dashboard.charts import badge_svg, line_chart_svg, progress_color

NS = "{http://www.w3.org/2000/svg}"


def test_line_chart_is_accessible_and_plots_every_point() -> None:
    pts = [(f"2026-W{i:02d}", v) for i, v in enumerate([10.0, 20.0, 55.5, 100.0, 130.0], 40)]
    svg = ET.fromstring(line_chart_svg(pts, title="Multi-phase <init>", chart_id="mp 1"))
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "mp-1-title mp-1-desc"
    assert svg.find(f"{NS}title").text == "Multi-phase <init>"  # type: ignore[union-attr]
    desc = svg.find(f"{NS}desc").text  # type: ignore[union-attr]
    assert desc == "5 points from 2026-W40 to 2026-W44: 10% to 130%."
    circles = svg.findall(f"{NS}circle")
    assert [c.find(f"{NS}title").text for c in circles][2] == "2026-W42: 55.5%"  # type: ignore[union-attr]
    ys = [float(c.get("cy", "0")) for c in circles]
    assert ys[0] > ys[1] > ys[2] > ys[3] == ys[4]  # higher value = higher on screen; clamped
    assert svg.find(f"{NS}polyline") is not None


def test_empty_and_single_point_charts() -> None:
    empty = ET.fromstring(line_chart_svg([], title="t", chart_id="e"))
    assert empty.find(f"{NS}polyline") is None
    assert "No data yet" in ET.tostring(empty, encoding="unicode")
    one = ET.fromstring(line_chart_svg([("2026-W01", 50.0)], title="t", chart_id="o"))
    assert len(one.findall(f"{NS}circle")) == 1


def test_badge() -> None:
    svg = ET.fromstring(badge_svg("multi-phase", "62.5%", progress_color(62.5)))
    assert svg.get("aria-label") == "multi-phase: 62.5%"
    texts = [t.text for t in svg.iter(f"{NS}text")]
    assert "multi-phase" in texts and "62.5%" in texts
    assert progress_color(95) != progress_color(10)
    assert "&lt;" in badge_svg("<x>", "1%", "#fff")
