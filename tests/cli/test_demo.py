"""`isolation-bot demo`: the whole product on loopback, and a clear message when the
emulator's OpenAPI checks (the package's ``emulator`` extra) are not installed."""

from __future__ import annotations

import sys

import pytest

from bot.cli.demo import run_demo
from bot.cli.main import main


async def test_the_demo_reports_the_regression_and_the_improvements() -> None:
    lines: list[str] = []
    assert await run_demo(60.0, out=lines.append) == 0
    text = "\n".join(lines)
    assert "status: completed   conclusion: failure" in text
    assert "title: 1 new finding, 3 fixed, 3 improvements" in text
    assert "annotation Modules/_countermodule.c:13 [failure] ISO005 global-object" in text
    assert "isolation-improved, isolation-regression" in text
    assert lines[-1].endswith("emulator validation errors: 0")


def test_without_the_emulator_extra_the_demo_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "openapi_core", None)  # `import openapi_core` fails
    assert main(["demo"]) == 2
    err = capsys.readouterr().err
    assert "isolation-bot: error: the demo's GitHub emulator cannot start" in err
    assert "pip install 'isolation-bot[emulator]'" in err
    assert "Traceback" not in err
