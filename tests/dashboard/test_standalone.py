"""`python -m bot.dashboard`: bad input exits 2 with a message (serving is tested elsewhere)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.dashboard.standalone import main


def test_missing_seed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seed", str(tmp_path / "nope.json")]) == 2
    assert "cannot read seed file" in capsys.readouterr().err


def test_malformed_seed_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"repo": "python/cpython", "snapshots": [{"sha": "x"}]}', encoding="utf-8")
    assert main(["--seed", str(bad)]) == 2
    assert "snapshots[0]: missing 'modules'" in capsys.readouterr().err


def test_a_source_is_required() -> None:
    with pytest.raises(SystemExit):
        main([])
