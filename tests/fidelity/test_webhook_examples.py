"""GitHub's own webhook examples, signed, through the real intake, queue, workers and routers,
with the GitHub emulator behind them.

Every example of the events the App subscribes to (all actions; the shared copy when present,
else the few vendored in tests/fidelity/data) is kept as GitHub wrote it except for identities:
repository, installation, PR number and SHAs are pointed at the emulator's world, so the
handlers' calls reach something real. Then: every delivery is acknowledged (200 ping, 202
otherwise), events no handler wants are "ignored" and never queued, every queued job finishes
on its first try (nothing crashes, nothing is retried), and the emulator saw only requests that
are valid for GitHub's REST description. Variants null the fields GitHub's webhook schemas mark
nullable or optional (PR/issue body, head.repo of a deleted fork, push head_commit, ...).
"""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import GitHubEmulator
from bot.emulator.webhooks import delivery_headers, encode
from bot.service.app import STATE, ServiceState, start_service
from bot.service.local import emulated_app_settings
from bot.tracking.snapshots import latest_snapshot
from tests.service.test_wiring import HANDLED  # every other example is answered "ignored"
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"
EVENTS = (
    "pull_request",
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request_review_comment",
    "push",
    "installation",
    "installation_repositories",
    "ping",
)
SHARED = Path("/work/shared/github/webhook-examples")
VENDORED = Path(__file__).parent / "data"


def examples() -> list[tuple[str, str, dict[str, Any]]]:
    """(event, file name, payload) for every example: the shared set, else the vendored one."""
    out = []
    if SHARED.is_dir():
        for event in EVENTS:
            for path in sorted((SHARED / event).glob("*.json")):
                out.append((event, path.name, json.loads(path.read_text("utf-8"))))
    else:
        for path in sorted(VENDORED.glob("*__*.json")):
            event, _, name = path.name.partition("__")
            out.append((event, name, json.loads(path.read_text("utf-8"))))
    return out


@dataclass
class World:
    emu: GitHubEmulator
    state: ServiceState
    url: str
    app_id: int
    secret: str
    installation: int
    pr: int
    head_sha: str
    base_sha: str

    async def send(self, event: str, payload: dict[str, Any], delivery: str) -> tuple[int, Any]:
        body = encode(payload)
        headers = delivery_headers(
            event, delivery, body, self.secret, installation_target_id=self.app_id
        )
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.url}/webhook", data=body, headers=headers) as resp,
        ):
            return resp.status, await resp.json()

    async def jobs(self) -> list[dict[str, Any]]:
        return await self.state.db.fetchall(
            "SELECT kind, delivery_id, event, action, state, attempts, last_error FROM jobs", ()
        )

    async def idle(self) -> list[dict[str, Any]]:
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while loop.time() < deadline:
            rows = await self.jobs()
            if all(r["state"] not in ("pending", "running") for r in rows):
                return rows
            await asyncio.sleep(0.05)
        raise AssertionError(f"jobs still running: {await self.jobs()}")


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("ISOLATION_BOT_JOB_RETRY_SECONDS", "0.02")
    monkeypatch.setenv("ISOLATION_BOT_GITHUB_BACKOFF_SECONDS", "0.005")
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    base_sha = emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE, "Lib/x.py": "x = 1\n"})
    installation = emu.install(app, "python")
    emu.create_branch(REPO, "feature")
    head_sha = emu.commit(REPO, "feature", {MODULE_PATH: HEAD_SOURCE})
    pr = emu.open_pull_request(REPO, "feature")
    async with emu.serve() as api_url:
        settings = emulated_app_settings(
            app, api_url, f"sqlite:///{tmp_path}/bot.sqlite3", workers=2
        )
        runner, url = await start_service(settings)
        try:
            yield World(
                emu,
                runner.app[STATE],
                url,
                app.id,
                app.webhook_secret,
                installation,
                pr,
                head_sha,
                base_sha,
            )
        finally:
            await runner.cleanup()
    assert emu.validation_errors == [], emu.validation_errors


def adapt(w: World, event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The example with its identities pointed at the emulator's world; its shape untouched."""
    p = copy.deepcopy(payload)
    if isinstance(p.get("repository"), dict):
        repo = p["repository"]
        repo.update(full_name=REPO, name="cpython", default_branch="main")
        if isinstance(repo.get("owner"), dict):
            repo["owner"]["login"] = "python"
        if "master_branch" in repo:
            repo["master_branch"] = "main"
    if event != "ping":
        # An App's deliveries always carry the installation (repository hooks' examples don't).
        inst = p.get("installation")
        p["installation"] = {**(inst if isinstance(inst, dict) else {}), "id": w.installation}
    pull = p.get("pull_request")
    if event == "pull_request" and isinstance(pull, dict):
        pull["number"] = w.pr
        pull["head"].update(sha=w.head_sha, ref="feature")
        pull["base"].update(sha=w.base_sha, ref="main")
        p["number"] = w.pr
    if event == "issue_comment" and isinstance(p.get("issue"), dict):
        p["issue"]["number"] = w.pr
    if event == "issues" and isinstance(p.get("issue"), dict) and isinstance(p.get("sender"), dict):
        # Only a bot's edit of the meta issue is stored (others are "ignored" at intake).
        p["issue"]["number"] = w.state.settings.meta_issue.number
        p["sender"]["type"] = "Bot"
    if event == "pull_request_review_comment" and isinstance(pull, dict):
        pull["number"] = w.pr
    suite = p.get("check_suite")
    if event == "check_suite" and isinstance(suite, dict):
        suite["head_sha"] = w.head_sha
        for item in suite.get("pull_requests") or []:
            item["number"] = w.pr
    run = p.get("check_run")
    if event == "check_run" and isinstance(run, dict):
        run["head_sha"] = w.head_sha
        for item in run.get("pull_requests") or []:
            item["number"] = w.pr
    if event == "push" and str(p.get("ref", "")).startswith("refs/heads/"):
        p["ref"] = "refs/heads/main"
        p["after"] = w.base_sha
        if isinstance(p.get("head_commit"), dict):
            p["head_commit"]["id"] = w.base_sha
    for key in ("repositories", "repositories_added"):
        for item in p.get(key) or []:
            item.update(full_name=REPO, name="cpython")
    return p


def variants(w: World) -> list[tuple[str, str, dict[str, Any]]]:
    """Fields GitHub's schemas allow to be null or missing, in payloads the bot does act on."""
    ex = {(e, n): p for e, n, p in examples()}
    opened = next(
        p for (e, n), p in ex.items() if e == "pull_request" and p.get("action") == "opened"
    )
    out = []
    pr = adapt(w, "pull_request", opened)
    pr["pull_request"]["head"]["repo"] = None  # the fork was deleted
    pr["pull_request"]["body"] = None
    pr["pull_request"]["milestone"] = None
    out.append(("pull_request", "opened: deleted fork, null body", pr))
    edited = adapt(w, "pull_request", opened)
    edited["action"] = "edited"
    edited["changes"] = {"base": {"ref": {"from": "old"}, "sha": {"from": w.base_sha}}}
    out.append(("pull_request", "edited: base changed (derived from opened)", edited))
    title = adapt(w, "pull_request", opened)
    title.update(action="edited", changes={"title": {"from": "old"}})
    out.append(("pull_request", "edited: title only (derived from opened)", title))
    comment = next(
        p for (e, n), p in ex.items() if e == "issue_comment" and p.get("action") == "created"
    )
    for body in ("/isolation help", None):
        c = adapt(w, "issue_comment", comment)
        c["comment"]["body"] = body
        c["issue"]["body"] = None
        c["issue"]["pull_request"] = {"url": "", "html_url": "", "diff_url": "", "patch_url": ""}
        out.append(("issue_comment", f"created: comment body {body!r}, null issue body", c))
    push = next(
        p
        for (e, n), p in ex.items()
        if e == "push" and str(p.get("ref", "")).startswith("refs/heads/")
    )
    gone = adapt(w, "push", push)
    gone.update(
        deleted=True, head_commit=None, commits=[], after="0000000000000000000000000000000000000000"
    )
    out.append(("push", "branch deleted: null head_commit", gone))
    bare = adapt(w, "push", push)
    bare["head_commit"] = None
    bare["pusher"] = {"name": "someone", "email": None}
    out.append(("push", "null head_commit, pusher without email", bare))
    rerun = next(
        p for (e, n), p in ex.items() if e == "check_run" and p.get("action") == "rerequested"
    )
    ours = adapt(w, "check_run", rerun)
    ours["check_run"].update(name="isolation", pull_requests=[])  # a fork PR: no list
    ours["check_run"]["app"] = {**(ours["check_run"].get("app") or {}), "id": w.app_id}
    out.append(("check_run", "rerequested: ours, fork PR (empty pull_requests)", ours))
    suite_rerun = next(
        p for (e, n), p in ex.items() if e == "check_suite" and p.get("action") == "rerequested"
    )
    fork_suite = adapt(w, "check_suite", suite_rerun)
    fork_suite["check_suite"].update(pull_requests=[], head_branch=None)  # a fork's head
    fork_suite["check_suite"]["app"] = {**fork_suite["check_suite"]["app"], "id": w.app_id}
    out.append(
        ("check_suite", "rerequested: ours, fork PR, a suite GitHub no longer has", fork_suite)
    )
    review = next(
        p
        for (e, n), p in ex.items()
        if e == "pull_request_review_comment" and p.get("action") == "created"
    )
    command = adapt(w, "pull_request_review_comment", review)
    command["comment"]["body"] = "/isolation help"
    out.append(("pull_request_review_comment", "created: a command on the diff", command))
    install = next(
        p for (e, n), p in ex.items() if e == "installation" and p.get("action") == "created"
    )
    no_list = adapt(w, "installation", install)
    no_list.pop("repositories", None)  # optional in the schema ("all repositories" installs)
    out.append(("installation", "created: no repositories list", no_list))
    return out


async def test_every_real_example_is_acknowledged_and_handled_without_errors(
    world: World,
) -> None:
    w = world
    cases = [(e, n, adapt(w, e, p)) for e, n, p in examples()] + variants(w)
    assert len(cases) >= 20
    problems: list[str] = []
    queued: dict[str, str] = {}
    for i, (event, name, payload) in enumerate(cases):
        delivery = f"fidelity-{i}"
        status, answer = await w.send(event, payload, delivery)
        action = payload.get("action")
        wanted = (event, None if event == "push" else action) in HANDLED
        if event == "ping":
            ok = status == 200 and answer["status"] == "pong"
        elif wanted:
            ok = status == 202 and answer["status"] == "queued"
            queued[delivery] = f"{event}/{name}"
        else:
            ok = status == 202 and answer["status"] == "ignored"
        if not ok:
            problems.append(f"{event}/{name}: {status} {answer}")
    rows = await w.idle()
    by_delivery = {r["delivery_id"]: r for r in rows}
    for delivery, what in queued.items():
        row = by_delivery.get(delivery)
        if row is None:
            problems.append(f"{what}: acknowledged but no job")  # coalesced jobs keep theirs
            continue
        if row["state"] not in ("done", "superseded") or row["attempts"] > 1 or row["last_error"]:
            problems.append(f"{what}: job {row}")
    # internal jobs (a fork's re-run checks its PR in a pr_check job) are not deliveries
    stored = {r["delivery_id"] for r in rows if r["kind"] == "webhook"}
    assert not (stored - set(queued)), "ignored deliveries were queued"
    assert problems == []
    assert len(queued) >= 10 and len(cases) - len(queued) >= 5  # both kinds were exercised
    # The handlers did their work against the emulator, not just returned early.
    runs = [r for r in w.emu.check_runs(REPO, w.head_sha) if r["status"] == "completed"]
    assert runs and all(r["name"] == "isolation" for r in runs)
    assert await latest_snapshot(w.state.db, REPO) is not None
    replies = [c for c in w.emu.issue_comments(REPO, w.pr) if "/isolation" in str(c)]
    assert replies, "the /isolation help comment got no reply"
