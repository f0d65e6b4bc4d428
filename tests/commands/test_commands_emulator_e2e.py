"""End to end against the GitHub emulator: real issue_comment deliveries (the emulator builds
them from GitHub's payload examples) dispatched through the commands router with an installation
client, then assertions on the emulator's state and on OpenAPI validation."""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import gidgethub
import pytest
from gidgethub import sansio
from gidgethub.aiohttp import GitHubAPI

from bot.commands.router import router
from bot.config import CommandSettings, Settings
from bot.emulator import GitHubEmulator
from bot.jobs import JobContext
from bot.prcheck.suppressions import list_suppressions
from bot.service.state import store_job
from bot.store import Database
from bot.store.queue import Queue

REPO = "python/cpython"


@dataclass
class World:
    emu: GitHubEmulator
    db: Database
    gh: GitHubAPI
    bot_login: str
    pr: int
    issue: int
    settings: Settings

    async def say(self, user: str, body: str, *, number: int | None = None) -> int:
        """``user`` comments ``body``; the resulting delivery is dispatched. Returns the id."""
        cid = self.emu.comment(REPO, number or self.pr, user=user, body=body)
        await self.dispatch_last()
        return cid

    async def edit(self, cid: int, body: str) -> None:
        self.emu.edit_comment(REPO, cid, body)
        await self.dispatch_last()

    async def dispatch_last(self) -> None:
        delivery = self.emu.deliveries[-1]
        assert delivery.event == "issue_comment"
        await self.dispatch(delivery.payload, delivery.id)

    async def dispatch(self, payload: dict[str, Any], delivery_id: str) -> None:
        event = sansio.Event(payload, event="issue_comment", delivery_id=delivery_id)
        ctx = JobContext(
            event="issue_comment",
            delivery_id=delivery_id,
            payload=payload,
            gh=self.gh,
            db=self.db,
            settings=self.settings,
            bot_login=self.bot_login,
            enqueue=functools.partial(store_job, Queue(self.db)),
        )
        await router.dispatch(event, ctx)

    def replies(self, number: int | None = None) -> list[str]:
        return [
            c["body"]
            for c in self.emu.issue_comments(REPO, number or self.pr)
            if c["user"]["login"] == self.bot_login
        ]

    def reactions(self, cid: int) -> list[str]:
        return [r["content"] for r in self.emu.reactions(REPO, cid)]


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    inst = emu.install(app, account="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {"Modules/xx.c": b"int x;\n"}, message="init", author="alice")
    emu.create_branch(REPO, "feature", from_ref="main")
    emu.commit(REPO, "feature", {"Modules/xx.c": b"int y;\n"}, message="change", author="alice")
    pr = emu.open_pull_request(REPO, head="feature", base="main", title="t", body="b", user="alice")
    issue = emu.create_issue(REPO, "an issue", "body", user="alice")
    for login, level in (
        ("reader", "read"),
        ("triager", "triage"),
        ("writer", "write"),
        ("maint", "maintain"),
        ("boss", "admin"),
    ):
        emu.add_user(login)
        emu.set_permission(REPO, login, level)
    emu.add_user("other-bot[bot]", type="Bot")
    async with emu.serve(port=0) as base_url, aiohttp.ClientSession() as session:
        token = emu.issue_token(inst).token
        gh = GitHubAPI(session, "isolation-bot", oauth_token=token, base_url=base_url)
        settings = Settings(api_url=base_url, commands=CommandSettings(rate_limit=6))
        yield World(emu, db, gh, app.bot_login, pr, issue, settings)
    assert emu.validation_errors == []


async def test_help_reply_and_reactions(world: World) -> None:
    cid = await world.say("reader", "Thanks!\n\n/isolation help")
    (reply,) = world.replies()
    assert f"isolation-bot:reply:{cid}:" in reply
    assert "> /isolation help" in reply
    assert "/isolation ignore" in reply
    assert world.reactions(cid) == ["+1"]


async def test_recheck_enqueues_a_pr_check(world: World) -> None:
    cid = await world.say("reader", "/isolation recheck")
    assert world.reactions(cid) == ["+1"]
    rows = await world.db.fetchall("SELECT kind, payload, job_key FROM jobs")
    assert [(r["kind"], r["job_key"]) for r in rows] == [("pr_check", f"pr:{REPO}#{world.pr}")]
    assert json.loads(rows[0]["payload"])["number"] == world.pr


async def test_recheck_in_an_issue_says_prs_only(world: World) -> None:
    cid = await world.say("reader", "/isolation recheck", number=world.issue)
    (reply,) = world.replies(world.issue)
    assert "pull requests only" in reply
    assert world.reactions(cid) == ["confused"]


@pytest.mark.parametrize(
    ("user", "allowed"),
    [("reader", False), ("triager", False), ("writer", True), ("maint", True), ("boss", True)],
)
async def test_ignore_permission_matrix(world: World, user: str, allowed: bool) -> None:
    cid = await world.say(user, "/isolation ignore ISO001 Xx_Type -- exempt: test module")
    (reply,) = world.replies()
    stored = await list_suppressions(world.db, REPO, world.pr)
    if allowed:
        assert [(s.rule, s.symbol, s.user) for s in stored] == [("ISO001", "Xx_Type", user)]
        assert world.reactions(cid) == ["+1"]
        assert "exempt" in reply
    else:
        assert stored == []
        assert "needs write, maintain or admin permission" in reply
        assert world.reactions(cid) == ["confused"]


async def test_permission_api_failure_denies(world: World) -> None:
    world.emu.faults.add(
        method="GET", path=r"^/repos/.+/collaborators/.+/permission$", status=500, times=10
    )
    cid = await world.say("boss", "/isolation unignore ISO001 Xx_Type")
    (reply,) = world.replies()
    assert "could not check" in reply
    assert world.reactions(cid) == ["confused"]


async def test_explain_status_and_summary(world: World) -> None:
    body = "/isolation explain static-type\n/isolation status _curses\n@isolation-bot summary\n"
    cid = await world.say("boss", body)
    (reply,) = world.replies()
    assert "ISO001 static-type" in reply
    assert "no analysis of the default branch yet" in reply.lower()
    assert "Isolation progress" in reply
    assert world.reactions(cid) == ["confused"]  # status had nothing to report


async def test_edited_comment_runs_only_new_commands(world: World) -> None:
    cid = await world.say("reader", "/isolation help")
    await world.edit(cid, "/isolation help\n\nfixed a typo")  # nothing new
    assert len(world.replies()) == 1
    await world.edit(cid, "/isolation help\n/isolation explain ISO002")
    replies = world.replies()
    assert len(replies) == 2
    assert "> /isolation explain ISO002" in replies[1]
    assert "> /isolation help" not in replies[1]


async def test_deleted_comment_and_bot_comments_are_ignored(world: World) -> None:
    cid = world.emu.comment(REPO, world.pr, user="reader", body="/isolation help")
    world.emu.delete_comment(REPO, cid)
    await world.dispatch_last()
    await world.say("other-bot[bot]", "/isolation help")
    assert world.replies() == []


async def test_redelivered_job_posts_one_reply(world: World) -> None:
    cid = await world.say("reader", "/isolation help\n/isolation recheck")
    delivery = next(
        d
        for d in world.emu.deliveries
        if d.event == "issue_comment" and d.payload["comment"]["id"] == cid
    )
    await world.dispatch(delivery.payload, delivery.id)  # a retried job
    assert len(world.replies()) == 1
    assert len(await world.db.fetchall("SELECT id FROM jobs")) == 1


async def test_rate_limit(world: World) -> None:
    body = "\n".join(f"/isolation explain ISO00{i}" for i in range(1, 5))
    await world.say("reader", body)
    cid = await world.say("reader", body)  # 8 > 6: two are refused, with a note
    assert world.replies()[-1].count("rate limit reached") == 2
    assert world.reactions(cid) == ["confused"]
    cid = await world.say("reader", "/isolation help")  # already told: reaction only
    assert len(world.replies()) == 2
    assert world.reactions(cid) == ["confused"]


async def test_injection_is_inert(world: World) -> None:
    await world.say("reader", "/isolation status @python/core <img src=x>")
    (reply,) = world.replies()
    assert "@python/core" not in reply
    assert "<img" not in reply.replace("\\<img", "")


async def test_failed_reply_is_retried_once_without_duplicates(world: World) -> None:
    world.emu.faults.add(
        method="POST", path=r"^/repos/.+/issues/\d+/comments$", status=500, times=1
    )
    cid = world.emu.comment(REPO, world.pr, user="reader", body="/isolation recheck")
    delivery = world.emu.deliveries[-1]
    with pytest.raises(gidgethub.GitHubException):
        await world.dispatch(delivery.payload, delivery.id)  # the job fails: the worker retries
    assert world.replies() == []
    await world.dispatch(delivery.payload, delivery.id)
    await world.dispatch(delivery.payload, delivery.id)  # and once more after success
    assert len(world.replies()) == 1
    assert world.reactions(cid) == ["+1"]
    assert len(await world.db.fetchall("SELECT id FROM jobs")) == 1  # recheck enqueued once
    usage = await world.db.fetchall("SELECT id FROM command_usage WHERE kind = 'command'")
    assert len(usage) == 1  # the retries were not counted against the rate limit


async def test_locked_conversation_ends_with_a_reaction(world: World) -> None:
    world.emu.lock_issue(REPO, world.pr)
    cid = await world.say("reader", "/isolation help")
    assert world.replies() == []
    assert world.reactions(cid) == ["confused"]


async def test_malformed_payloads_do_nothing(world: World) -> None:
    cid = world.emu.comment(REPO, world.pr, user="reader", body="/isolation help")
    payload = world.emu.deliveries[-1].payload
    for broken in (
        {**payload, "comment": None},
        {**payload, "issue": "x"},
        {**payload, "comment": {**payload["comment"], "body": None}},
        {**payload, "comment": {**payload["comment"], "id": "not-a-number"}},
        {**payload, "sender": None},
        {**payload, "changes": "x", "action": "edited"},
    ):
        await world.dispatch(broken, "d-broken")
    assert world.replies() == []
    assert world.reactions(cid) == []
