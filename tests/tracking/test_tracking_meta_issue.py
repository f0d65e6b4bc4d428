"""The meta-issue writer against the emulator: byte-identical outside text, racing edits,
no-op writes, removed markers, deleted and locked issues, and a person's edit that lands between
the bot's read and its write (overwritten, then restored from the write's own delivery)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from gidgethub.aiohttp import GitHubAPI

from bot.emulator import GitHubEmulator
from bot.store import Database
from bot.tracking.checklist import END_MARKER, START_MARKER
from bot.tracking.meta_issue import check_own_edit, find_section, overwrote_text, write_section
from tests.support.github import installation_token

REPO = "python/cpython"
OUTSIDE = "Intro written by a person.  \r\n\r\n| a | b |\r\n|---|---|\r\n\ttabbed \r\n"


def section(*lines: str) -> Callable[[int], str]:
    text = "\n".join([START_MARKER, *lines, END_MARKER]) + "\n"
    return lambda room: text


class RacingAPI(GitHubAPI):
    """A client during whose writes a person edits the issue (GitHub has no compare-and-swap).

    ``race(n)`` runs right after the bot's n-th PATCH of the issue body is answered;
    ``window(n)`` runs right before it is sent (after the read it is based on). ``log`` lists
    the issue requests in order."""

    def __init__(self, *args: Any, race: Callable[[int], None] | None = None, **kw: Any):
        super().__init__(*args, **kw)
        self.race = race
        self.window: Callable[[int], None] | None = None
        self.patches = 0
        self.log: list[str] = []

    async def _request(self, method: str, url: str, headers: Any, body: bytes = b"") -> Any:
        is_issue = "/issues/" in url
        if is_issue:
            self.log.append(method)
        if method == "PATCH" and is_issue and self.window:
            self.window(self.patches + 1)
        answer = await super()._request(method, url, headers, body)
        if method == "PATCH" and is_issue:
            self.patches += 1
            if self.race:
                self.race(self.patches)
        return answer


@dataclass
class World:
    emu: GitHubEmulator
    gh: RacingAPI
    db: Database
    number: int

    def body(self) -> str:
        return str(self.emu.issue(REPO, self.number)["body"])

    def edits(self) -> int:
        return len(self.emu.issue_body_edits(REPO, self.number))

    async def write(self, render: Callable[[int], str]) -> Any:
        return await write_section(self.gh, self.db, REPO, self.number, render)

    def own_edits(self) -> list[dict[str, Any]]:
        """The issues.edited deliveries of the bot's own writes, oldest first."""
        bot = self.emu.apps()[0].bot_login
        return [
            d.payload
            for d in self.emu.deliveries
            if d.event == "issues"
            and d.action == "edited"
            and d.payload["issue"]["number"] == self.number
            and d.payload["sender"]["login"] == bot
        ]

    async def check(self, payload: dict[str, Any]) -> Any:
        """What the tracking router does with an issues.edited delivery."""
        bot = self.emu.apps()[0].bot_login
        return await check_own_edit(
            self.gh, self.db, payload, bot_login=bot, repo=REPO, number=self.number
        )


@pytest.fixture
async def world(db: Database) -> AsyncIterator[World]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO)
    number = emu.create_issue(REPO, "Meta issue", OUTSIDE, user="vstinner")
    inst = emu.install(app, account="python")
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        token = await installation_token(session, url, app, inst)
        gh = RacingAPI(session, "isolation-bot", oauth_token=token, base_url=url)
        yield World(emu, gh, db, number)
    assert emu.validation_errors == [], emu.validation_errors


async def test_append_then_replace_then_no_op(world: World) -> None:
    w = world
    r = await w.write(section("v1"))
    assert r.outcome == "appended" and r.attempts == 1
    assert w.body() == OUTSIDE + "\r\n" + f"{START_MARKER}\r\nv1\r\n{END_MARKER}\r\n"
    r = await w.write(section("v1"))
    assert r.outcome == "unchanged" and w.edits() == 1  # no write, no edit-history noise
    # A person adds text after the section and edits text before it.
    w.emu.edit_issue_body(REPO, w.number, "Edited intro \r\n" + w.body() + "P.S.  ")
    r = await w.write(section("v1"))
    assert r.outcome == "unchanged" and w.edits() == 2
    r = await w.write(section("v2", "more"))
    assert r.outcome == "written"
    assert w.body() == (
        "Edited intro \r\n"
        + OUTSIDE
        + "\r\n"
        + f"{START_MARKER}\r\nv2\r\nmore\r\n{END_MARKER}\r\n"
        + "P.S.  "
    )


async def test_edit_racing_after_the_write_is_kept(world: World) -> None:
    w = world
    await w.write(section("v1"))

    def person_appends(n: int) -> None:
        if n == 2:  # right after the bot's second write lands
            w.emu.edit_issue_body(REPO, w.number, w.body() + "\r\nA late comment.")

    w.gh.race = person_appends
    r = await w.write(section("v2"))
    body = w.body()
    assert body.endswith("\r\nA late comment.") and "\r\nv2\r\n" in body
    assert r.outcome == "written" and r.attempts == 1  # their edit kept ours: nothing to redo


async def test_stale_human_save_is_redone_on_top_of_their_text(world: World) -> None:
    w = world
    await w.write(section("v1"))
    stale = w.body()

    def person_saves_stale_copy(n: int) -> None:
        # Their editor opened before the bot's write: saving restores v1 around their change.
        if n == 2:
            w.emu.edit_issue_body(REPO, w.number, "Their new line\r\n" + stale)

    w.gh.race = person_saves_stale_copy
    r = await w.write(section("v2"))
    assert r.outcome == "written" and r.attempts == 2
    body = w.body()
    assert body.startswith("Their new line\r\n" + OUTSIDE) and "\r\nv2\r\n" in body
    assert "v1" not in body


async def test_endless_race_is_bounded(world: World) -> None:
    w = world
    await w.write(section("v1"))
    stale = w.body()
    w.gh.race = lambda n: w.emu.edit_issue_body(REPO, w.number, stale + f"edit {n}")
    r = await w.write(section("v2"))
    assert r.outcome == "gave-up" and r.attempts == 3


async def test_markers_removed_reappended_once_then_left_alone(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    await w.write(section("v1"))
    w.emu.edit_issue_body(REPO, w.number, "I removed the bot's section.\r\n")
    with caplog.at_level(logging.WARNING, logger="bot.tracking.meta_issue"):
        r = await w.write(section("v2"))
    assert r.outcome == "reappended"
    assert "markers were removed" in caplog.text
    assert w.body().startswith("I removed the bot's section.\r\n")
    assert find_section(w.body()) is not None
    w.emu.edit_issue_body(REPO, w.number, "Really, no section.\r\n")
    edits = w.edits()
    r = await w.write(section("v3"))
    assert r.outcome == "left-alone" and w.edits() == edits
    assert w.body() == "Really, no section.\r\n"


async def test_deleted_issue_is_reported_not_raised(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    w.emu.delete_issue(REPO, w.number)
    with caplog.at_level(logging.ERROR, logger="bot.tracking.meta_issue"):
        r = await w.write(section("v1"))
    assert r.outcome == "unavailable" and "deleted" in r.message
    assert "checklist not updated" in caplog.text
    missing = await write_section(w.gh, w.db, REPO, 99999, section("v1"))
    assert missing.outcome == "unavailable" and "not found" in missing.message


async def test_locked_issue_still_gets_the_section(world: World) -> None:
    # Locking limits comments; people with write access (the App) can still edit the body.
    w = world
    w.emu.lock_issue(REPO, w.number)
    r = await w.write(section("v1"))
    assert r.outcome == "appended" and w.body().startswith(OUTSIDE)


async def test_one_writer_at_a_time(world: World) -> None:
    """The writer waits while another writer (worker, replica) holds the meta-issue lock."""
    import asyncio

    w = world
    async with w.db.lock("meta-issue") as held:
        assert held
        task = asyncio.create_task(w.write(section("one")))
        done, _ = await asyncio.wait({task}, timeout=0.5)
        assert not done and w.edits() == 0  # blocked on the lock, nothing written
    result = await task
    assert result.outcome == "appended" and w.edits() == 1


async def test_concurrent_writers_leave_one_section(world: World) -> None:
    import asyncio

    w = world
    first, second = await asyncio.gather(w.write(section("one")), w.write(section("two")))
    assert {first.outcome, second.outcome} == {"appended", "written"}
    body = w.body()
    assert body.count(START_MARKER) == 1 and body.count(END_MARKER) == 1
    assert body.startswith(OUTSIDE) and w.edits() == 2


# --- a person's edit inside the window between the bot's read and its write -------------------


async def test_render_happens_before_the_read_the_write_is_based_on(world: World) -> None:
    """The window is one GET answer to one PATCH: the rendering is not inside it."""
    w = world
    order: list[str] = []

    def render(room: int) -> str:
        order.append("render")
        return section("v1")(room)

    w.gh.log = order
    await w.write(render)
    assert order == ["GET", "render", "GET", "PATCH", "GET"]
    order.clear()
    await w.write(render)  # the room is unchanged: rendered once, read once
    assert order == ["GET", "render", "GET"]


async def test_edit_inside_the_window_is_restored_from_the_writes_delivery(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    await w.write(section("v1"))

    def person_saves_inside_the_window(n: int) -> None:
        if n == 2:  # after the read of the bot's second write, before its PATCH arrives
            w.emu.edit_issue_body(REPO, w.number, "Their new line\r\n" + w.body())

    w.gh.window = person_saves_inside_the_window
    r = await w.write(section("v2"))
    w.gh.window = None
    # Nothing the writer can read shows the loss: the body is exactly what it wrote.
    assert r.outcome == "written" and r.attempts == 1
    assert "Their new line" not in w.body()
    # The delivery of the bot's write names the body it replaced: their edit.
    own = w.own_edits()[-1]
    assert own["changes"]["body"]["from"].startswith("Their new line\r\n")
    with caplog.at_level(logging.WARNING, logger="bot.tracking.meta_issue"):
        result = await w.check(own)
    assert result.outcome == "restored" and "overwrote an edit by a person" in caplog.text
    body = w.body()
    assert body.startswith("Their new line\r\n" + OUTSIDE)
    assert "\r\nv2\r\n" in body and "v1" not in body
    assert body.count(START_MARKER) == 1
    # The restore's own delivery is recognised: no second restore, no loop.
    edits = w.edits()
    assert (await w.check(w.own_edits()[-1])).outcome == "restore-echo"
    assert (await w.check(own)).outcome == "kept"  # a redelivery: nothing left to restore
    assert w.edits() == edits
    # and the next regular write keeps their line
    await w.write(section("v3"))
    assert w.body().startswith("Their new line\r\n" + OUTSIDE) and "\r\nv3\r\n" in w.body()


async def test_writes_without_a_lost_edit_change_nothing(world: World) -> None:
    w = world
    await w.write(section("v1"))  # appended
    await w.write(section("v2"))  # replaced
    w.emu.edit_issue_body(REPO, w.number, "A person's edit\r\n" + w.body(), user="vstinner")
    person = w.emu.deliveries[-1].payload
    edits = w.edits()
    for own in w.own_edits():
        assert (await w.check(own)).outcome == "kept"
    assert (await w.check(person)).outcome == "not-ours"
    other = {**person, "issue": {**person["issue"], "number": w.number + 1}}
    assert (await w.check(other)).outcome == "not-ours"
    assert w.edits() == edits


async def test_an_edit_inside_the_section_is_the_bots_to_replace(world: World) -> None:
    w = world
    await w.write(section("v1"))
    w.gh.window = lambda n: w.emu.edit_issue_body(
        REPO, w.number, w.body().replace("v1", "hand-edited")
    )
    await w.write(section("v2"))
    w.gh.window = None
    edits = w.edits()
    assert (await w.check(w.own_edits()[-1])).outcome == "kept"
    assert w.edits() == edits and "hand-edited" not in w.body()


async def test_lost_edit_after_further_edits_is_reported_not_forced(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    w = world
    await w.write(section("v1"))
    w.gh.window = lambda n: w.emu.edit_issue_body(REPO, w.number, "Lost line\r\n" + w.body())
    await w.write(section("v2"))
    w.gh.window = None
    own = w.own_edits()[-1]
    w.emu.edit_issue_body(REPO, w.number, w.body() + "A later line", user="vstinner")
    later = w.body()
    with caplog.at_level(logging.ERROR, logger="bot.tracking.meta_issue"):
        result = await w.check(own)
    assert result.outcome == "edited-since" and "edit history" in caplog.text
    assert w.body() == later  # nothing written over the later edit


async def test_lost_edit_is_restored_on_top_of_a_newer_section(world: World) -> None:
    w = world
    await w.write(section("v1"))
    w.gh.window = lambda n: w.emu.edit_issue_body(REPO, w.number, "Lost line\r\n" + w.body())
    await w.write(section("v2"))
    w.gh.window = None
    own = w.own_edits()[-1]
    await w.write(section("v3"))  # another write of ours before the delivery is handled
    assert (await w.check(own)).outcome == "restored"
    body = w.body()
    assert body.startswith("Lost line\r\n" + OUTSIDE) and "\r\nv3\r\n" in body


async def test_markers_removed_inside_the_window_stay_removed(world: World) -> None:
    w = world
    await w.write(section("v1"))
    w.gh.window = lambda n: w.emu.edit_issue_body(REPO, w.number, "No section here.\r\n")
    await w.write(section("v2"))
    w.gh.window = None
    assert (await w.check(w.own_edits()[-1])).outcome == "restored"
    assert w.body() == "No section here.\r\n"  # their choice; the writer's rules apply next


def test_overwrote_text() -> None:
    sec = f"{START_MARKER}\nx\n{END_MARKER}"
    assert not overwrote_text("intro\n", f"intro\n\n{sec}\n")  # appended
    assert not overwrote_text(f"a\n{sec}\nb", f"a\n{sec.replace('x', 'y')}\nb")  # replaced
    assert overwrote_text(f"a\nnew\n{sec}\nb", f"a\n{sec}\nb")  # a line lost
    assert not overwrote_text("anything", "no section at all")  # not the writer's body
