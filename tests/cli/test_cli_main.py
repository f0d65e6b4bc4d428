"""The `isolation-bot` dispatcher: version, help, usage errors, broken or missing subcommands,
errors as messages (never tracebacks), `rules` and `explain`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pytest

from bot import __version__
from bot.analysis.catalog import load_catalog, rules_index_markdown
from bot.cli import main as cli_main
from bot.cli.main import CLIError, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"isolation-bot {__version__}"


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "scan" in err and "explain" in err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--help"]) == 0
    assert "--select" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["frobnicate"], ["scan", "--format", "xml"], ["scan", "--jobs", "0"], ["scan", "--bogus"]],
)
def test_usage_errors_exit_2_with_a_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "isolation-bot: error:" in err
    assert "Traceback" not in err


def _fake_module(monkeypatch: pytest.MonkeyPatch, name: str, register: Any) -> None:
    monkeypatch.setitem(cli_main.SUBCOMMANDS, name, register)


def test_every_subcommand_is_registered() -> None:
    parser = cli_main.build_parser()
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subparsers.choices) == {
        "scan",
        "diff",
        "rules",
        "explain",
        "serve",
        "demo",
        "history",
        "sync",
        "summary",
        "doctor",
        "setup-labels",
    }


def test_a_broken_subcommand_is_an_error_not_a_missing_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def register(subparsers: Any) -> None:
        raise RuntimeError("half-written module")

    _fake_module(monkeypatch, "brokencmd", register)
    assert main(["rules"]) == 0
    capsys.readouterr()
    assert main(["brokencmd", "x"]) == 2
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: half-written module" in err
    assert main(["explain", "ISO001"]) == 2  # every module is loaded: the broken one says so
    assert "half-written module" in capsys.readouterr().err


def test_handlers_func_async_and_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def coro_handler(args: argparse.Namespace) -> int:
        return 3

    def crash(args: argparse.Namespace) -> int:
        raise ZeroDivisionError("boom")

    def usage(args: argparse.Namespace) -> int:
        raise CLIError("bad thing", exit_code=2)

    def register(subparsers: Any) -> None:
        subparsers.add_parser("async").set_defaults(func=coro_handler)  # `func=` works too
        subparsers.add_parser("crash").set_defaults(handler=crash)
        subparsers.add_parser("usage").set_defaults(handler=usage)
        subparsers.add_parser("none").set_defaults(handler=lambda args: None)
        subparsers.add_parser("exits").set_defaults(handler=lambda args: sys.exit(4))
        subparsers.add_parser("exitmsg").set_defaults(handler=lambda args: sys.exit("gone"))

    _fake_module(monkeypatch, "fakecmds", register)
    assert main(["async"]) == 3
    assert main(["none"]) == 0
    assert main(["exits"]) == 4
    assert main(["exitmsg"]) == 2
    assert "isolation-bot: error: gone" in capsys.readouterr().err
    assert main(["usage"]) == 2
    assert "isolation-bot: error: bad thing" in capsys.readouterr().err
    monkeypatch.delenv("ISOLATION_BOT_DEBUG", raising=False)
    assert main(["crash"]) == 2
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError: boom" in err and "Traceback" not in err


def test_rules_lists_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SEVERITY", "SUMMARY"]
    assert len(lines) == 1 + len(load_catalog())
    assert lines[1].split()[:3] == ["ISO001", "static-type", "error"]


def test_rules_json_and_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(load_catalog())
    assert rows[4] == {
        "id": "ISO005",
        "name": "global-object",
        "severity": "error",
        "summary": load_catalog()["ISO005"].summary,
        "help_uri": load_catalog()["ISO005"].help_uri,
    }
    assert main(["rules", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == rules_index_markdown(load_catalog())


@pytest.mark.parametrize("key", ["ISO001", "iso001", "static-type", "Static-Type"])
def test_explain_by_id_or_name(key: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", key]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ISO001 static-type\n")
    for section in ("## Why this breaks isolation", "## Example", "## How to fix", "```c"):
        assert section in out
    assert load_catalog()["ISO001"].bad_example.strip() in out


def test_explain_unknown_rule(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "ISO999"]) == 2
    assert "unknown rule 'ISO999'" in capsys.readouterr().err


def test_a_broken_catalog_is_a_message_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.analysis.catalog import CatalogError
    from bot.cli import rules as rules_cli
    from bot.cli import scan as scan_cli

    def broken() -> None:
        raise CatalogError("invalid rule file rules/ISO001-static-type.toml: key 'why': missing")

    monkeypatch.setattr(rules_cli, "load_catalog", broken)
    monkeypatch.setattr(scan_cli, "load_catalog", broken)
    for argv in (["rules"], ["explain", "ISO001"], ["scan", "."]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "ISO001-static-type.toml: key 'why': missing" in err, argv
        assert "Traceback" not in err
