"""`/isolation status` of a big module: counts first, the long lists folded away."""

from __future__ import annotations

import re

from bot.analysis import analyze_file
from bot.commands import reply
from bot.commands.status_source import ModuleView
from tests.support.conversions import FOUR_MODULES, base_source

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_status_of_a_big_module_counts_then_folds() -> None:
    c = FOUR_MODULES[0]  # _pickle before its conversion: dozens of findings
    report = analyze_file(c.path, base_source(c).encode())
    findings = report.findings
    assert len(findings) > 40
    types = tuple(f"Type{i}" for i in range(40))
    view = ModuleView(c.module, c.path, "single-phase", None, types, ())
    body = reply.render_module_status(
        view, findings, [], html_url="https://github.com", repo="python/cpython", sha=SHA
    )
    outside = re.sub(r"<details>.*?</details>", "", body, flags=re.DOTALL)
    assert f"Open findings ({len(findings)}):" in outside
    assert "By rule: ISO005 global-object ×24, ISO006 py-identifier ×18" in outside
    assert "- Static types: 40 <details>" in body
    # The list itself is folded, one short line each (no advice), every finding linked.
    assert "#L" not in outside
    assert body.count("/blob/" + SHA) == len(findings)
    for f in findings:
        assert f.message not in body
    assert body.count("<details>") == body.count("</details>") == 2
    assert len(body) < 12_000


def test_status_of_a_small_module_lists_findings_in_full() -> None:
    c = FOUR_MODULES[3]
    findings = analyze_file(c.path, base_source(c).encode()).findings[:3]
    view = ModuleView(c.module, c.path, "single-phase", None, ("sock_Type",), ())
    body = reply.render_module_status(
        view, findings, [], html_url="https://github.com", repo="python/cpython", sha=SHA
    )
    assert "<details>" not in body
    assert "- Static types (1): `sock_Type`" in body
    for f in findings:
        assert f"{f.path}:{f.line}" in body and "— " in body
