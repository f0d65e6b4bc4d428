"""The whole service behind a GitHub that insists on the documented conventions.

A proxy in front of the emulator refuses, as a strict fake may, any request without GitHub's
media type, the pinned API version or a User-Agent; App routes without a ``Bearer`` JWT and
other routes without an installation token; ``per_page`` over 100; and paths with characters
that must be percent-encoded. The emulator's links point at the proxy, so pagination goes
through it too. Then a pull request is checked twice (labels with a colon and a space are
added, then removed), a maintainer runs a slash-command, the PR is merged and the default
branch tracked, with the meta issue written: no request may be refused.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot.config import Labels, MetaIssue
from bot.emulator import GitHubEmulator
from bot.service.app import STATE, ServiceState, start_service
from bot.service.local import emulated_app_settings
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE, MODULE_PATH

REPO = "python/cpython"
JWT = re.compile(r"^Bearer [\w-]+\.[\w-]+\.[\w-]+$")
TOKEN = re.compile(r"^(token|Bearer) [^\s.]+$")
APP_ROUTE = re.compile(r"^/(app(/|$)|repos/[^/]+/[^/]+/installation$)")
# RFC 3986 pchar plus "/" and the query: anything else must be percent-encoded.
SAFE_PATH = re.compile(r"^[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$")
HOP = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "content-encoding",
}


@dataclass
class StrictProxy:
    upstream: str
    seen: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    def violations(self, request: web.Request) -> list[str]:
        h = request.headers
        out = []
        accept = h.get("Accept", "")
        # The documented media type, or a documented variant (.raw, .html+json, ...); the
        # legacy ".v3" form is what gidgethub sends by default.
        if accept != "application/vnd.github+json" and not (
            accept.startswith("application/vnd.github.") and ".v3" not in accept
        ):
            out.append(f"Accept {accept!r}")
        if h.get("X-GitHub-Api-Version") != "2022-11-28":
            out.append(f"X-GitHub-Api-Version {h.get('X-GitHub-Api-Version')!r}")
        if not h.get("User-Agent"):
            out.append("no User-Agent")
        auth = h.get("Authorization", "")
        if request.path == "/rate_limit":
            pass  # the health probe: anyone may ask
        elif APP_ROUTE.match(request.path):
            if not JWT.match(auth):
                out.append(f"App route without a Bearer JWT: {auth[:12]!r}")
        elif not TOKEN.match(auth):
            out.append(f"installation route without a token: {auth[:12]!r}")
        per_page = request.query.get("per_page")
        if per_page is not None and (not per_page.isdigit() or int(per_page) > 100):
            out.append(f"per_page={per_page}")
        if not SAFE_PATH.match(request.raw_path.split("?", 1)[0]):
            out.append(f"unencoded path {request.raw_path!r}")
        return out

    async def handle(self, request: web.Request) -> web.StreamResponse:
        line = f"{request.method} {request.raw_path}"
        self.seen.append(line)
        problems = self.violations(request)
        if problems:
            self.refused.append(f"{line}: {'; '.join(problems)}")
            return web.json_response({"message": "; ".join(problems)}, status=400)
        assert self.session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP}
        async with self.session.request(
            request.method,
            self.upstream + request.raw_path,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as resp:
            body = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP}
            return web.Response(status=resp.status, body=body, headers=out)


@dataclass
class World:
    emu: GitHubEmulator
    state: ServiceState
    proxy: StrictProxy
    meta_issue: int


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
async def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[World]:
    monkeypatch.setenv("ISOLATION_BOT_JOB_RETRY_SECONDS", "0.02")
    monkeypatch.setenv("ISOLATION_BOT_GITHUB_BACKOFF_SECONDS", "0.005")
    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(REPO, "main", {MODULE_PATH: BASE_SOURCE, "Lib/x.py": "x = 1\n"})
    emu.install(app, "python")
    meta = emu.create_issue(REPO, "Meta issue: per-interpreter GIL", body=None)
    async with emu.serve() as upstream:
        proxy = StrictProxy(upstream)
        proxy_app = web.Application()
        proxy_app.router.add_route("*", "/{tail:.*}", proxy.handle)
        proxy_runner, proxy_url = await _serve(proxy_app)
        emu.api_url = proxy_url  # links and URLs in bodies lead back through the proxy
        settings = emulated_app_settings(
            app,
            proxy_url,
            f"sqlite:///{tmp_path}/bot.sqlite3",
            workers=2,
            default_branch="main",
            labels=Labels(
                topic="topic-subinterpreters",
                improvement="isolation: improved",
                regression="isolation: regression",
            ),
            meta_issue=MetaIssue(REPO, meta),
        )
        runner, url = await start_service(settings)
        emu.webhook_url = f"{url}/webhook"
        async with aiohttp.ClientSession() as session:
            proxy.session = session
            try:
                yield World(emu, runner.app[STATE], proxy, meta)
            finally:
                await runner.cleanup()
                await proxy_runner.cleanup()
    assert emu.validation_errors == [], emu.validation_errors


async def _idle(w: World) -> None:
    await w.emu.wait_for_deliveries()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while loop.time() < deadline:
        rows = await w.state.db.fetchall("SELECT state FROM jobs", ())
        if all(r["state"] not in ("pending", "running") for r in rows):
            return
        await asyncio.sleep(0.03)
    raise AssertionError("jobs still running")


def _labels(w: World, number: int) -> set[str]:
    return {label.lower() for label in w.emu.issue_record(REPO, number).labels}


async def test_the_service_works_against_a_strict_github(world: World) -> None:
    w = world
    w.emu.create_branch(REPO, "feature")
    head = w.emu.commit(REPO, "feature", {MODULE_PATH: HEAD_SOURCE})
    number = w.emu.open_pull_request(REPO, "feature")
    await _idle(w)
    runs = [r for r in w.emu.check_runs(REPO, head) if r["status"] == "completed"]
    assert [r["conclusion"] for r in runs] == ["failure"]
    assert "isolation: regression" in _labels(w, number)

    # The fix lands on the branch: the regression label is removed (DELETE, encoded name).
    w.emu.push(REPO, "feature", {MODULE_PATH: BASE_SOURCE})
    await _idle(w)
    assert "isolation: regression" not in _labels(w, number)
    assert any(
        s.startswith(f"DELETE /repos/{REPO}/issues/{number}/labels/isolation%3A%20")
        for s in w.proxy.seen
    )

    # A maintainer asks for help: permission check, reactions, reply.
    w.emu.set_permission(REPO, "maintainer", "maintain")
    w.emu.comment(REPO, number, "maintainer", "/isolation help")
    await _idle(w)
    replies = [c for c in w.emu.issue_comments(REPO, number) if "/isolation" in str(c)]
    assert len(replies) >= 2  # the command and the bot's answer

    # Merged: the default branch is tracked and the meta issue (empty body: null) written.
    w.emu.merge_pull_request(REPO, number)
    await _idle(w)
    assert any(s.startswith(f"PATCH /repos/{REPO}/issues/{w.meta_issue}") for s in w.proxy.seen)

    assert w.proxy.refused == []
    # Not vacuous: App routes, installation routes and paginated lists all went through.
    assert any(s.startswith("POST /app/installations/") for s in w.proxy.seen)
    assert any("per_page=100" in s for s in w.proxy.seen)
    failed = await w.state.db.fetchall(
        "SELECT kind, event, state, last_error FROM jobs WHERE state <> 'done' "
        "AND state <> 'superseded'",
        (),
    )
    assert failed == []


async def test_the_proxy_refuses_what_github_would(world: World) -> None:
    """The strict checks are live: gidgethub's defaults alone would be refused."""
    w = world
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            f"{w.emu.api_url}/repos/{REPO}/pulls?per_page=500",
            headers={"Accept": "application/vnd.github.v3+json", "Authorization": "token x"},
        ) as resp,
    ):
        assert resp.status == 400
        message = (await resp.json())["message"]
    assert "Accept" in message and "Api-Version" in message and "per_page=500" in message


async def test_admin_commands_work_against_a_strict_github(world: World) -> None:
    """PyGithub (doctor, setup-labels) sends no Accept of its own: the bot's auth adds it."""
    import io

    from bot.cli.admin import run_doctor, setup_labels

    w = world
    settings = w.state.settings
    out = io.StringIO()
    assert await asyncio.to_thread(setup_labels, settings, REPO, out, throttle=False) == 0, (
        out.getvalue(),
        w.proxy.refused,
    )
    assert "created   isolation: regression" in out.getvalue()
    w.emu.create_label(REPO, "isolation: improved", color="000000")  # drifted: edited back
    out = io.StringIO()
    assert (
        await asyncio.to_thread(
            setup_labels, settings, REPO, out, throttle=False, update_existing=True
        )
        == 0
    )
    assert "updated   isolation: improved" in out.getvalue()
    report = io.StringIO()
    await asyncio.to_thread(run_doctor, settings, REPO, report, throttle=False)
    assert w.proxy.refused == []
    assert any(
        s.startswith("PATCH /repos/python/cpython/labels/isolation%3A%20improved")
        for s in w.proxy.seen
    ), w.proxy.seen
    assert any(s.startswith("GET /repos/python/cpython/installation") for s in w.proxy.seen)
