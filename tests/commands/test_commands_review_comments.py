"""Commands in comments on a pull request's diff (``pull_request_review_comment``), end to end
against the GitHub emulator: the same grammar, permissions, rate limit and de-duplication as in
conversation comments; reactions on the review comment; the reply in the same review thread."""

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
PATH = "Modules/xx.c"


@dataclass
class World:
    emu: GitHubEmulator
    db: Database
    gh: GitHubAPI
    bot_login: str
    pr: int
    settings: Settings

    async def review(self, user: str, body: str, *, in_reply_to: int | None = None) -> int:
        """``user`` comments ``body`` on the diff (or in the thread of ``in_reply_to``); the
        delivery is dispatched. Returns the comment's id."""
        cid = self.emu.review_comment(
            REPO, self.pr, user, body, path=PATH, line=1, in_reply_to=in_reply_to
        )
        await self.dispatch_last()
        return cid

    async def edit(self, cid: int, body: str) -> None:
        self.emu.edit_review_comment(REPO, cid, body)
        await self.dispatch_last()

    async def dispatch_last(self) -> None:
        delivery = self.emu.deliveries[-1]
        assert delivery.event == "pull_request_review_comment"
        await self.dispatch(delivery.payload, delivery.id)

    async def dispatch(
        self, payload: dict[str, Any], delivery_id: str, event: str = "pull_request_review_comment"
    ) -> None:
        ctx = JobContext(
            event=event,
            delivery_id=delivery_id,
            payload=payload,
            gh=self.gh,
            db=self.db,
            settings=self.settings,
            bot_login=self.bot_login,
            enqueue=functools.partial(store_job, Queue(self.db)),
        )
        await router.dispatch(sansio.Event(payload, event=event, delivery_id=delivery_id), ctx)

    def thread_replies(self) -> list[dict[str, Any]]:
        return [
            c
            for c in self.emu.review_comments(REPO, self.pr)
            if c["user"]["login"] == self.bot_login
        ]

    def conversation_replies(self) -> list[str]:
        return [
            c["body"]
            for c in self.emu.issue_comments(REPO, self.pr)
            if c["user"]["login"] == self.bot_login
        ]

    def reactions(self, cid: int) -> list[str]:
        return [r["content"] for r in self.emu.review_reactions(REPO, cid)]


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    inst = emu.install(app, account="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {PATH: b"int x;\n"}, message="init", author="alice")
    fork = emu.fork(REPO, "alice")  # as nearly every CPython PR: from a fork
    emu.commit(fork, "feature", {PATH: b"int y;\n"}, message="change", author="alice")
    pr = emu.open_pull_request(REPO, head="alice:feature", title="t", body="b", user="alice")
    for login, level in (("reader", "read"), ("writer", "write")):
        emu.add_user(login)
        emu.set_permission(REPO, login, level)
    emu.add_user("other-bot[bot]", type="Bot")
    async with emu.serve(port=0) as base_url, aiohttp.ClientSession() as session:
        token = emu.issue_token(inst).token
        gh = GitHubAPI(session, "isolation-bot", oauth_token=token, base_url=base_url)
        settings = Settings(api_url=base_url, commands=CommandSettings(rate_limit=6))
        yield World(emu, db, gh, app.bot_login, pr, settings)
    assert emu.validation_errors == []


async def test_reply_goes_in_the_review_thread(world: World) -> None:
    cid = await world.review("reader", "Why is this flagged?\n\n/isolation help")
    (reply,) = world.thread_replies()
    assert reply["in_reply_to_id"] == cid and reply["path"] == PATH
    assert f"isolation-bot:reply:{cid}:" in reply["body"]
    assert "> /isolation help" in reply["body"]
    assert world.conversation_replies() == []  # nothing on the conversation
    assert world.reactions(cid) == ["+1"]  # on the review comment itself


async def test_a_command_in_a_thread_reply_is_answered_in_that_thread(world: World) -> None:
    root = world.emu.review_comment(REPO, world.pr, "alice", "a question", path=PATH)
    cid = await world.review("reader", "/isolation explain ISO002", in_reply_to=root)
    (reply,) = world.thread_replies()
    assert reply["in_reply_to_id"] == root  # GitHub takes replies to a thread's first comment
    assert f"isolation-bot:reply:{cid}:" in reply["body"]
    assert world.reactions(cid) == ["+1"] and world.reactions(root) == []


async def test_permissions_are_the_same_as_in_conversation_comments(world: World) -> None:
    command = "/isolation ignore ISO001 Xx_Type -- exempt: test module"
    denied = await world.review("reader", command)
    assert "needs write, maintain or admin permission" in world.thread_replies()[0]["body"]
    assert world.reactions(denied) == ["confused"]
    assert await list_suppressions(world.db, REPO, world.pr) == []
    allowed = await world.review("writer", command)
    stored = await list_suppressions(world.db, REPO, world.pr)
    assert [(s.rule, s.symbol, s.user) for s in stored] == [("ISO001", "Xx_Type", "writer")]
    assert world.reactions(allowed) == ["+1"]


async def test_recheck_enqueues_the_prs_check(world: World) -> None:
    await world.review("reader", "/isolation recheck")
    rows = await world.db.fetchall("SELECT kind, payload, job_key FROM jobs")
    assert [(r["kind"], r["job_key"]) for r in rows] == [("pr_check", f"pr:{REPO}#{world.pr}")]
    assert json.loads(rows[0]["payload"])["number"] == world.pr


async def test_redelivery_and_edits_reply_once_per_revision(world: World) -> None:
    cid = await world.review("reader", "/isolation help")
    delivery = world.emu.deliveries[-1]
    await world.dispatch(delivery.payload, delivery.id)  # a retried job: found its reply
    assert len(world.thread_replies()) == 1
    await world.edit(cid, "/isolation help\n\nfixed a typo")  # nothing new
    assert len(world.thread_replies()) == 1
    await world.edit(cid, "/isolation help\n/isolation explain ISO002")
    replies = world.thread_replies()
    assert len(replies) == 2
    assert "> /isolation explain ISO002" in replies[1]["body"]
    assert "> /isolation help" not in replies[1]["body"]


async def test_failed_reply_is_retried_without_duplicates(world: World) -> None:
    world.emu.faults.add(method="POST", path=r"/pulls/\d+/comments/\d+/replies$", status=500)
    cid = world.emu.review_comment(REPO, world.pr, "reader", "/isolation recheck", path=PATH)
    delivery = world.emu.deliveries[-1]
    with pytest.raises(gidgethub.GitHubException):
        await world.dispatch(delivery.payload, delivery.id)
    world.emu.faults.clear()
    await world.dispatch(delivery.payload, delivery.id)
    await world.dispatch(delivery.payload, delivery.id)
    assert len(world.thread_replies()) == 1
    assert world.reactions(cid) == ["+1"]
    assert len(await world.db.fetchall("SELECT id FROM jobs")) == 1  # recheck enqueued once


async def test_rate_limit_is_shared_with_conversation_comments(world: World) -> None:
    body = "\n".join(f"/isolation explain ISO00{i}" for i in range(1, 5))
    world.emu.comment(REPO, world.pr, user="reader", body=body)
    issue_delivery = world.emu.deliveries[-1]
    await world.dispatch(issue_delivery.payload, issue_delivery.id, event="issue_comment")
    cid = await world.review("reader", body)  # 8 > 6: two are refused, with a note
    assert world.thread_replies()[-1]["body"].count("rate limit reached") == 2
    assert world.reactions(cid) == ["confused"]


async def test_deleted_locked_bots_and_malformed(world: World) -> None:
    cid = world.emu.review_comment(REPO, world.pr, "reader", "/isolation help", path=PATH)
    created = world.emu.deliveries[-1]
    world.emu.delete_review_comment(REPO, cid)
    await world.dispatch(created.payload, created.id)  # deleted before its job ran
    await world.dispatch_last()  # the deleted event itself
    await world.review("other-bot[bot]", "/isolation help")
    assert world.thread_replies() == []
    payload = world.emu.deliveries[-1].payload
    for broken in (
        {**payload, "comment": None},
        {**payload, "pull_request": "x"},
        {**payload, "pull_request": {**payload["pull_request"], "number": "1"}},
        {**payload, "comment": {**payload["comment"], "user": {"login": "reader"}, "id": "x"}},
    ):
        await world.dispatch({**broken, "sender": {"login": "reader", "type": "User"}}, "d-bad")
    assert world.thread_replies() == []
    world.emu.lock_issue(REPO, world.pr)
    locked = await world.review("reader", "/isolation help")
    assert world.thread_replies() == []
    assert world.reactions(locked) == ["confused"]
