"""Commands under load and abuse, through the running service (intake -> queue -> workers).

The command tests in tests/commands dispatch one delivery at a time to the router; here a
flood of comments from many users, bots, users without permission, edits by other people and
deletions all arrive as signed webhooks at once, and the queue must drain with exactly one
answer per commanding comment, nothing for the rest, and no job left dead or pending.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.world import REPO, World, make_world

USERS = [f"user{i}" for i in range(12)]
BOTS = ["dependabot[bot]", "other-bot[bot]"]


def _marker(cid: int) -> str:
    return f"isolation-bot:reply:{cid}:"


def _replies(world: World, number: int) -> list[str]:
    """The bot's replies: comments by the App's bot user carrying a reply marker."""
    return [
        c["body"]
        for c in world.emu.issue_comments(REPO, number)
        if c["user"]["login"] == "isolation-bot[bot]" and "isolation-bot:reply:" in c["body"]
    ]


async def test_a_flood_of_comments_gets_one_answer_per_command_and_nothing_else(
    tmp_path: Path,
) -> None:
    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3") as world:
        emu = world.emu
        for login in USERS:
            emu.add_user(login)
            emu.set_permission(REPO, login, "read")
        emu.add_user("maint")
        emu.set_permission(REPO, "maint", "maintain")
        for login in BOTS:
            emu.add_user(login, type="Bot")
        number = emu.create_issue(REPO, "Isolation questions", "body", user="maint")

        answered: list[int] = []  # comments that must get exactly one reply
        silent: list[int] = []  # comments that must get none
        # Many users, two commands each, all at once.
        for login in USERS:
            answered.append(emu.comment(REPO, number, login, "/isolation help"))
            answered.append(emu.comment(REPO, number, login, "thanks!\n/isolation explain ISO001"))
        # Bots, however many commands they write.
        for login in BOTS:
            for _ in range(5):
                silent.append(emu.comment(REPO, number, login, "/isolation help\n/isolation help"))
        # Comments without commands, or with commands hidden in code and quotes.
        silent.append(emu.comment(REPO, number, "user0", "no command here"))
        silent.append(emu.comment(REPO, number, "user1", "```\n/isolation help\n```"))
        silent.append(emu.comment(REPO, number, "user2", "> /isolation help"))
        # Deleted before (or while) the bot looks at it.
        deleted = emu.comment(REPO, number, "user3", "/isolation help")
        emu.delete_comment(REPO, deleted)
        silent.append(deleted)
        # A maintainers' command from a reader: answered with a denial, nothing done.
        denied = emu.comment(REPO, number, "user4", "/isolation summary")
        # An edit by someone else (a maintainer tidying) that adds no command: no new reply.
        emu.edit_comment(REPO, answered[0], "/isolation help\n\n(edited)", user="maint")
        # An edit by a bot that adds a command to a human's comment: the bot is the sender.
        bot_edited = emu.comment(REPO, number, "user5", "no command yet")
        emu.edit_comment(REPO, bot_edited, "/isolation help", user=BOTS[0])
        # One user floods: past the rate limit (10 commands in the window) only reactions.
        flooder = [emu.comment(REPO, number, "user6", "/isolation help") for _ in range(12)]
        await world.idle()

        replies = _replies(world, number)
        for cid in answered:
            assert sum(_marker(cid) in r for r in replies) == 1, cid
        for cid in silent:
            assert not any(_marker(cid) in r for r in replies), cid
        (denial,) = [r for r in replies if _marker(denied) in r]
        assert "permission" in denial
        assert not any("weekly-summary" in c["body"] for c in emu.issue_comments(REPO, number))
        # The bot's edit does not make the bot run the user's (new) command.
        assert not any(_marker(bot_edited) in r for r in replies)
        # The flooder: at most one reply per comment, then reactions only.
        flood_replies = [r for r in replies if any(_marker(c) in r for c in flooder)]
        assert len(flood_replies) <= 9  # 2 + 8 = 10 commands max for user6; one notice
        assert sum("rate limit" in r for r in flood_replies) == 1
        assert all(emu.reactions(REPO, c) for c in flooder)  # every one acknowledged somehow
        # Nothing duplicated, nothing lost: the queue is drained and no job died.
        markers = [r.split("-->")[0] for r in replies]
        assert len(markers) == len(set(markers))
        stats = await world.state.queue.stats()
        assert not stats.pending and not stats.running
        dead = await world.state.db.fetchall("SELECT id, last_error FROM jobs WHERE state='dead'")
        assert dead == []
