"""The state machine without HTTP: git objects, branches, forks, pull requests, merges, and the
events each change emits."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bot.emulator import EmulatorError, GitHubEmulator
from bot.emulator.gitobjects import git_sha
from tests.emulator.conftest import REPO, make_emulator


def events(emu: GitHubEmulator) -> list[tuple[str, str | None]]:
    return [(d.event, d.action) for d in emu.deliveries]


def test_object_ids_are_gits(tmp_path: Path, emulator: GitHubEmulator) -> None:
    # `printf 'hello\n' | git hash-object --stdin`
    assert git_sha("blob", b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
    files = {"a/b.c": b"x\n", "a-b.txt": b"dash\n", "top.txt": b"t\n", "a/z/deep.h": b"d\n"}
    emu = emulator
    emu.create_repo("o/r")
    emu.commit("o/r", "main", files)
    commit = emu.store.commits[emu.head_sha("o/r", "main")]
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for path, data in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(data)

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, capture_output=True, check=True, text=True
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    assert git("write-tree") == commit.tree


def test_pull_request_files_follow_the_merge_base() -> None:
    emu, _, _ = make_emulator()
    emu.create_branch(REPO, "feature", from_ref="main")
    emu.commit(REPO, "feature", {"Modules/new.c": b"n\n", "Modules/a.c": None})
    # main moves on after the branch point: its change must not show in the PR
    emu.commit(REPO, "main", {"Objects/later.c": b"later\n"})
    n = emu.open_pull_request(REPO, head="feature", base="main", user="alice")
    changes = {c.filename: c.status for c in emu.pull_changes(REPO, n)}
    assert changes == {"Modules/a.c": "removed", "Modules/new.c": "added"}


def test_rename_is_one_entry_with_previous_filename() -> None:
    emu, _, _ = make_emulator()
    emu.create_branch(REPO, "mv")
    emu.commit(REPO, "mv", {"Modules/a.c": None, "Modules/b.c": b"int a;\n"})
    n = emu.open_pull_request(REPO, head="mv")
    [change] = emu.pull_changes(REPO, n)
    assert (change.status, change.filename, change.previous_filename) == (
        "renamed",
        "Modules/b.c",
        "Modules/a.c",
    )


def test_push_moves_pr_head_and_emits_push_and_synchronize() -> None:
    emu, _, _ = make_emulator()
    fork = emu.fork(REPO, "alice")
    emu.commit(fork, "feature", {"Modules/a.c": b"int b;\n"})
    n = emu.open_pull_request(REPO, head="alice:feature", user="alice")
    old_head = emu.pull_request(REPO, n)["head"]["sha"]
    sha = emu.push(fork, "feature", {"Modules/a.c": b"int c;\n"}, author="alice")
    pr = emu.pull_request(REPO, n)
    assert pr["head"]["sha"] == sha != old_head
    sync = emu.deliveries[-1]
    assert (sync.event, sync.action) == ("pull_request", "synchronize")
    assert (sync.payload["before"], sync.payload["after"]) == (old_head, sha)
    # the fork is not an installed repository: no push event is delivered for it
    assert ("push", None) not in events(emu)


def test_merge_closes_pr_and_pushes_to_base() -> None:
    emu, _, _ = make_emulator()
    emu.create_branch(REPO, "feature")
    emu.commit(REPO, "feature", {"Modules/a.c": b"int merged;\n"})
    n = emu.open_pull_request(REPO, head="feature", title="Convert a")
    base_before = emu.head_sha(REPO, "main")
    merge_sha = emu.merge_pull_request(REPO, n, user="guido")
    pr = emu.pull_request(REPO, n)
    assert (pr["state"], pr["merged"], pr["merge_commit_sha"]) == ("closed", True, merge_sha)
    assert emu.head_sha(REPO, "main") == merge_sha
    assert emu.store.commits[merge_sha].parents[0] == base_before
    assert emu.store.commits[merge_sha].files["Modules/a.c"] == git_sha("blob", b"int merged;\n")
    closed, push = emu.deliveries[-2:]
    assert (closed.action, closed.payload["pull_request"]["merged"]) == ("closed", True)
    assert push.event == "push" and push.payload["after"] == merge_sha
    assert push.payload["ref"] == "refs/heads/main"
    with pytest.raises(EmulatorError):
        emu.reopen_pull_request(REPO, n)


def test_edit_base_close_reopen_and_comment_events() -> None:
    emu, _, _ = make_emulator()
    emu.create_branch(REPO, "feature")
    emu.create_branch(REPO, "3.13")
    emu.commit(REPO, "feature", {"Modules/a.c": b"int e;\n"})
    n = emu.open_pull_request(REPO, head="feature")
    old_base = emu.pull_request(REPO, n)["base"]["sha"]
    emu.edit_pull_request(REPO, n, base="3.13")
    edited = emu.deliveries[-1].payload
    assert edited["changes"] == {"base": {"ref": {"from": "main"}, "sha": {"from": old_base}}}
    emu.close_pull_request(REPO, n)
    emu.reopen_pull_request(REPO, n)
    cid = emu.comment(REPO, n, user="bob", body="first")
    emu.edit_comment(REPO, cid, "second")
    assert emu.deliveries[-1].payload["changes"] == {"body": {"from": "first"}}
    emu.delete_comment(REPO, cid)
    assert events(emu)[-6:] == [
        ("pull_request", "edited"),
        ("pull_request", "closed"),
        ("pull_request", "reopened"),
        ("issue_comment", "created"),
        ("issue_comment", "edited"),
        ("issue_comment", "deleted"),
    ]
    assert emu.issue_comments(REPO, n) == []


def test_driver_errors_are_clear() -> None:
    emu, _, _ = make_emulator()
    with pytest.raises(EmulatorError, match="unknown head"):
        emu.open_pull_request(REPO, head="nope")
    with pytest.raises(EmulatorError, match="no fork"):
        emu.open_pull_request(REPO, head="mallory:main")
    with pytest.raises(EmulatorError, match="permission"):
        emu.set_permission(REPO, "bob", "superuser")
    with pytest.raises(EmulatorError, match="exists"):
        emu.create_repo(REPO)


def test_force_push_rewrites_the_pr_head() -> None:
    emu, _, _ = make_emulator()
    emu.create_branch(REPO, "feature")
    old = emu.push(REPO, "feature", {"Modules/a.c": b"int one;\n"})
    n = emu.open_pull_request(REPO, head="feature")
    emu.commit(REPO, "main", {"Objects/new.c": b"n\n"})
    new = emu.push(REPO, "feature", {"Modules/a.c": b"int two;\n"}, force_onto="main")
    assert old not in emu.store.ancestors(new)
    push, sync = emu.deliveries[-2:]
    assert (push.payload["forced"], push.payload["before"], push.payload["after"]) == (
        True,
        old,
        new,
    )
    assert (sync.action, sync.payload["before"], sync.payload["after"]) == ("synchronize", old, new)
    # the PR now shows only its own change on top of the new main
    assert [c.filename for c in emu.pull_changes(REPO, n)] == ["Modules/a.c"]
    with pytest.raises(EmulatorError):
        emu.push(REPO, "feature", {}, force_onto="no-such-ref")
