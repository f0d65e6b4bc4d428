"""The persistent result cache of `scan` and `diff` (bot.scanner.ResultCache)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from bot.analysis.catalog import load_catalog
from bot.cli.main import main
from bot.render.json_report import render_json
from bot.scanner import ResultCache, default_cache_dir, scan_paths

CATALOG = load_catalog()
SOURCES = {
    f"Modules/{rule.lower()}module.c": CATALOG[rule].bad_example
    for rule in ("ISO001", "ISO002", "ISO005", "ISO006")
}
FILES = len(SOURCES) + 1  # and the checkout's Include/Python.h


def _tree(tmp_path: Path, files: dict[str, str] = SOURCES) -> Path:
    root = tmp_path / "cpython"
    (root / "Include").mkdir(parents=True)
    (root / "Include" / "Python.h").write_text("/* stand-in */\n")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _json(root: Path, cache: ResultCache | None) -> str:
    return render_json(scan_paths([str(root)], jobs=1, cache=cache))


def _entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.rglob("*.json"))


def test_second_scan_analyses_no_file_and_results_are_identical(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    plain = _json(root, None)
    cold = ResultCache(str(tmp_path / "cache"), "v1")
    assert _json(root, cold) == plain
    assert (cold.hits, cold.misses) == (0, FILES)
    warm = ResultCache(str(tmp_path / "cache"), "v1")
    assert _json(root, warm) == plain
    assert (warm.hits, warm.misses) == (FILES, 0)
    assert len(_entries(tmp_path / "cache")) == FILES


def test_changed_content_and_another_analyser_version_miss(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _json(root, ResultCache(str(tmp_path / "cache"), "v1"))
    (root / "Modules/iso005module.c").write_text(CATALOG["ISO005"].fixed_example)
    again = ResultCache(str(tmp_path / "cache"), "v1")
    assert _json(root, again) == _json(root, None)
    assert (again.hits, again.misses) == (FILES - 1, 1)
    other = ResultCache(str(tmp_path / "cache"), "v2")
    _json(root, other)
    assert other.hits == 0


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00garbage",
        b'{"format": "someone-else/9", "key": "x", "report": {}}',
        b"[1, 2, 3]",
    ],
)
def test_corrupt_or_foreign_entries_are_ignored_and_rebuilt(tmp_path: Path, damage: bytes) -> None:
    root = _tree(tmp_path)
    plain = _json(root, None)
    _json(root, ResultCache(str(tmp_path / "cache"), "v1"))
    for entry in _entries(tmp_path / "cache"):
        entry.write_bytes(damage)
    rebuilt = ResultCache(str(tmp_path / "cache"), "v1")
    assert _json(root, rebuilt) == plain
    assert rebuilt.hits == 0
    for entry in _entries(tmp_path / "cache"):
        assert json.loads(entry.read_bytes())["format"] == "isolation-bot-result/1"
    assert ResultCache(str(tmp_path / "cache"), "v1").get("0" * 40) is None


def test_an_entry_under_another_key_is_not_trusted(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    _json(root, ResultCache(str(tmp_path / "cache"), "v1"))
    entries = _entries(tmp_path / "cache")
    first = entries[0].read_bytes()
    for entry in entries[1:]:
        entry.write_bytes(first)  # a valid entry, copied under other names
    again = ResultCache(str(tmp_path / "cache"), "v1")
    assert _json(root, again) == _json(root, None)
    assert again.hits == 1


def test_concurrent_runs_share_one_cache(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    plain = _json(root, None)
    outputs: list[str] = []
    errors: list[BaseException] = []

    def scan() -> None:
        try:
            outputs.append(_json(root, ResultCache(str(tmp_path / "cache"), "v1")))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=scan) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert outputs == [plain] * 6
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    assert len(_entries(tmp_path / "cache")) == FILES


def test_an_unwritable_cache_only_loses_the_caching(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be\n")
    cache = ResultCache(str(blocker / "cache"), "v1")
    assert _json(root, cache) == _json(root, None)


def test_default_location(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "isolation-bot")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "isolation-bot")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "isolation-bot")


def test_cli_cache_dir_and_no_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _tree(tmp_path)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert main(["scan", "--no-progress", "--no-cache", "--format", "json", str(root)]) == 1
    uncached = capsys.readouterr().out
    assert not (tmp_path / "xdg").exists()
    assert main(["scan", "--no-progress", "--format", "json", str(root)]) == 1
    assert capsys.readouterr().out == uncached
    assert (tmp_path / "xdg" / "isolation-bot" / "CACHEDIR.TAG").is_file()
    chosen = tmp_path / "chosen"
    for _ in range(2):
        argv = ["scan", "--no-progress", "--format", "json", "--cache-dir", str(chosen)]
        assert main([*argv, str(root)]) == 1
        assert capsys.readouterr().out == uncached
    assert len(_entries(chosen)) == FILES
    assert (chosen / ".gitignore").read_text() == "*\n"


def test_timed_out_reports_are_not_kept(tmp_path: Path) -> None:
    from bot.analysis.deadline import TIMEOUT_REASON_PREFIX
    from bot.analysis.model import FileReport

    cache = ResultCache(str(tmp_path / "cache"), "v1")
    key = cache.key("Modules/x.c", b"int x;")
    cache.put(key, FileReport(path="Modules/x.c", skipped=TIMEOUT_REASON_PREFIX + " 10 s"))
    assert cache.get(key) is None
    assert not os.path.exists(tmp_path / "cache" / "results")
