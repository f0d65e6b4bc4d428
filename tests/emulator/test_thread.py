"""serve_in_thread: the emulator for synchronous callers (PyGithub operator commands)."""

from __future__ import annotations

import socket

import github
import pytest
from github import Auth, GithubIntegration

from tests.emulator.conftest import REPO, make_emulator


def test_pygithub_against_the_threaded_emulator() -> None:
    emu, app, inst_id = make_emulator()
    emu.create_issue(REPO, "Meta issue: per-interpreter GIL", "tracking")
    with emu.serve_in_thread() as url:
        # PyGithub waits 0.25 s between requests and 1 s between writes by default
        fast = {"seconds_between_requests": 0, "seconds_between_writes": 0}
        integration = GithubIntegration(
            auth=Auth.AppAuth(app.id, app.private_key_pem), base_url=url, **fast
        )
        assert integration.get_app().slug == "isolation-bot"
        installation = integration.get_repo_installation("python", "cpython")
        assert installation.id == inst_id
        gh = github.Github(
            auth=Auth.AppInstallationAuth(Auth.AppAuth(app.id, app.private_key_pem), inst_id),
            base_url=url,
        )
        repo = gh.get_repo(REPO)
        assert repo.default_branch == "main"
        repo.create_label("topic-subinterpreters", "0e8a16", "Subinterpreter isolation")
        label = repo.get_label("topic-subinterpreters")
        label.edit("topic-subinterpreters", "1d76db", "changed")
        assert {lbl.name for lbl in repo.get_labels()} >= {"bug", "topic-subinterpreters"}
        assert repo.get_issue(1).title.startswith("Meta issue")
        emu.wait_for_deliveries_sync()
    stored = emu.repo_record(REPO).labels["topic-subinterpreters"]
    assert (stored.color, stored.description) == ("1d76db", "changed")
    assert emu.validation_errors == []


def test_serve_in_thread_reports_a_busy_port() -> None:
    emu, _, _ = make_emulator()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(OSError), emu.serve_in_thread(port=port):
            pass
