"""`isolation-bot diff`: the pull-request check on a local git checkout.

Every test builds its own repository in a temporary folder with the git binary."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.analysis.catalog import load_catalog
from bot.cli.main import main
from bot.prcheck import comment

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")

CATALOG = load_catalog()
GLOBAL_OBJECT = CATALOG["ISO005"].bad_example  # ISO005 error on ExampleError
CLEAN = CATALOG["ISO002"].fixed_example  # a multi-phase, per-interpreter-GIL module
SINGLE_PHASE = CATALOG["ISO002"].bad_example  # single-phase init


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = repo / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_repo(tmp_path: Path, files: dict[str, str], branch: str = "main") -> Path:
    repo = tmp_path / "ext"
    repo.mkdir()
    git(repo, "init", "-q", "-b", branch)
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    return repo


def commit_all(repo: Path, message: str = "change") -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def run_diff(
    capsys: pytest.CaptureFixture[str],
    repo: Path,
    *argv: str,
    monkeypatch: pytest.MonkeyPatch,
) -> tuple[int, str, str]:
    monkeypatch.chdir(repo)
    code = main(["diff", "--no-cache", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_uncommitted_edit_with_a_new_error_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN})
    write(repo, {"src/example.c": GLOBAL_OBJECT})  # not committed: the working tree counts
    code, out, err = run_diff(capsys, repo, monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert "new:" in out and "ISO005" in out and "ExampleError" in out
    assert "fails the check" in out


def test_committed_head_and_explicit_base(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": GLOBAL_OBJECT})
    write(repo, {"src/example.c": CLEAN})
    commit_all(repo)
    write(repo, {"src/example.c": GLOBAL_OBJECT})  # the working tree differs; --head wins
    code, out, err = run_diff(
        capsys,
        repo,
        "--base",
        "main",
        "--head",
        "feature",
        "--format",
        "json",
        monkeypatch=monkeypatch,
    )
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["base"] == "main" and doc["head"] == git(repo, "rev-parse", "feature")
    assert doc["new"] == []
    assert [f["symbol"] for f in doc["fixed"]] == ["ExampleError"]
    assert doc["conclusion"] == "success"
    assert doc["files_checked"] == ["src/example.c"]


def test_the_merge_base_is_compared_not_the_base_tip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN})
    git(repo, "checkout", "-q", "main")
    write(repo, {"src/other.c": GLOBAL_OBJECT})  # merged into main after the branch forked
    commit_all(repo, "main moves on")
    git(repo, "checkout", "-q", "feature")
    code, out, err = run_diff(capsys, repo, "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["files_checked"] == [] and doc["fixed"] == []  # main's file is not the PR's


def test_untracked_files_count_and_ignored_ones_do_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN, ".gitignore": "build/\n"})
    write(repo, {"src/new.c": GLOBAL_OBJECT, "build/gen.c": GLOBAL_OBJECT})
    code, out, err = run_diff(capsys, repo, "--format", "json", monkeypatch=monkeypatch)
    assert code == 1, out + err
    doc = json.loads(out)
    assert doc["files_checked"] == ["src/new.c"]
    assert {f["path"] for f in doc["new"]} == {"src/new.c"}


def test_inline_comment_and_ignored_tsv_suppress_as_in_the_pr_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/a.c": CLEAN, "src/b.c": CLEAN})
    inline = GLOBAL_OBJECT.replace(
        "static PyObject *ExampleError",
        "/* isolation-bot: ignore[ISO005] set once at import */\nstatic PyObject *ExampleError",
    )
    tsv = "filename\tfuncname\tname\treason\nsrc/b.c\t-\tExampleError\tvendored\n"
    write(
        repo,
        {
            "src/a.c": inline,
            "src/b.c": GLOBAL_OBJECT,
            "Tools/c-analyzer/cpython/ignored.tsv": tsv,
        },
    )
    code, out, err = run_diff(capsys, repo, "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["new"] == []
    by = {s["finding"]["path"]: (s["by"], s["reason"]) for s in doc["suppressed"]}
    assert by == {
        "src/a.c": ("an inline comment", "set once at import"),
        "src/b.c": ("ignored.tsv", "vendored"),
    }


def test_markdown_is_the_pull_request_comment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": SINGLE_PHASE})
    write(repo, {"src/example.c": CLEAN})
    code, out, err = run_diff(capsys, repo, "--format", "markdown", monkeypatch=monkeypatch)
    assert code == 0, out + err
    assert out.startswith(comment.MARKER)
    assert "converted to multi-phase init" in out

    from argparse import Namespace

    from bot.cli import diff

    args = Namespace(base=None, head=None, paths=[], jobs=1, no_cache=True, cache_dir=None)
    result, _ = diff.compute(args, str(repo))
    assert out == comment.render(result, rules_url=comment.DEFAULT_RULES_URL)


def test_renamed_file_keeps_its_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": GLOBAL_OBJECT})
    git(repo, "mv", "src/example.c", "src/renamed.c")
    code, out, err = run_diff(capsys, repo, "--format", "json", monkeypatch=monkeypatch)
    assert code == 0, out + err
    doc = json.loads(out)
    assert doc["new"] == [] and doc["fixed"] == []
    assert [f["path"] for f in doc["remaining"]] == ["src/renamed.c"]


def test_paths_limit_the_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/a.c": CLEAN, "lib/b.c": CLEAN})
    write(repo, {"src/a.c": GLOBAL_OBJECT, "lib/b.c": GLOBAL_OBJECT})
    code, out, err = run_diff(capsys, repo, "lib", "--format", "json", monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert json.loads(out)["files_checked"] == ["lib/b.c"]


def test_cpython_checkout_uses_the_watched_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(
        tmp_path,
        {"Include/Python.h": "/* stand-in */\n", "Modules/x.c": CLEAN, "Tools/y.c": CLEAN},
    )
    write(repo, {"Modules/x.c": GLOBAL_OBJECT, "Tools/y.c": GLOBAL_OBJECT})
    code, out, err = run_diff(capsys, repo, "--format", "json", monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert json.loads(out)["files_checked"] == ["Modules/x.c"]


def test_default_base_follows_origin_head(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN}, branch="trunk")
    base = git(repo, "rev-parse", "trunk")
    git(repo, "update-ref", "refs/remotes/origin/trunk", base)
    git(repo, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/trunk")
    git(repo, "branch", "-q", "-m", "trunk", "local-only")  # no main, no master, no trunk
    write(repo, {"src/example.c": GLOBAL_OBJECT})
    code, out, err = run_diff(capsys, repo, monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert "with origin/trunk" in out


def test_no_default_branch_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN}, branch="trunk")
    code, _out, err = run_diff(capsys, repo, monkeypatch=monkeypatch)
    assert code == 2
    assert "--base" in err and "Traceback" not in err


def test_unknown_ref_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN})
    code, _, err = run_diff(capsys, repo, "--base", "no-such-branch", monkeypatch=monkeypatch)
    assert code == 2
    assert "no-such-branch: unknown revision" in err and "Traceback" not in err
    code, _, err = run_diff(capsys, repo, "--head", "nope", monkeypatch=monkeypatch)
    assert code == 2 and "nope: unknown revision" in err


def test_not_a_git_checkout_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    code, _out, err = run_diff(capsys, folder, monkeypatch=monkeypatch)
    assert code == 2
    assert "not a git checkout" in err and "Traceback" not in err


def test_nothing_in_the_repository_is_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, {"src/example.c": CLEAN})
    marker = tmp_path / "ran"
    hook = tmp_path / "hook.sh"
    hook.write_text(f"#!/bin/sh\ntouch {marker}\n")
    hook.chmod(0o755)
    git(repo, "config", "core.fsmonitor", str(hook))
    git(repo, "config", "diff.external", str(hook))
    git(repo, "config", "diff.evil.textconv", str(hook))
    write(repo, {".gitattributes": "*.c diff=evil\n", "src/example.c": GLOBAL_OBJECT})
    code, out, err = run_diff(capsys, repo, monkeypatch=monkeypatch)
    assert code == 1, out + err
    assert not marker.exists()


def test_help_describes_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("--base", "--head", "origin/HEAD", "working tree", "markdown", "Exit status"):
        assert text in out
