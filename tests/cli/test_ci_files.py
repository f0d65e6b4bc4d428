"""The GitHub Action (action.yml) and the pre-commit hook (.pre-commit-hooks.yaml) run commands
the CLI accepts, and the action never pastes an input into a script's text."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from bot.cli.main import build_parser

REPO = Path(__file__).resolve().parents[2]


def test_action_is_a_composite_with_the_documented_inputs() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"path", "args", "fail", "sarif", "annotate"} <= set(action["inputs"])
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    scripts = [s["run"] for s in action["runs"]["steps"] if "run" in s]
    assert any("--format github" in s for s in scripts)
    assert any("--format sarif" in s for s in scripts)
    for script in scripts:
        # Inputs go through env: (an input pasted into a script could run as shell code).
        assert "${{" not in script, script


def test_action_scan_arguments_parse() -> None:
    parser = build_parser()
    for fmt in (["--format", "sarif", "--output", "x.sarif"], ["--format", "github"], []):
        args = parser.parse_args(["scan", ".", "--no-progress", *fmt])
        assert args.command == "scan"


def test_pre_commit_hook() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "isolation-bot"
    assert set(hook["types_or"]) == {"c", "c++"}
    argv = shlex.split(hook["entry"])
    assert argv[0] == "isolation-bot"
    args = build_parser().parse_args([*argv[1:], "Modules/a.c", "Modules/b.h"])
    assert args.force_exclude and args.paths == ["Modules/a.c", "Modules/b.h"]


def test_docs_show_the_workflow() -> None:
    text = (REPO / "docs" / "ci.md").read_text()
    assert re.search(r"uses: python/isolation-bot@", text)
    assert "security-events: write" in text and "id: isolation-bot" in text
