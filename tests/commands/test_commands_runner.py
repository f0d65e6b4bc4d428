"""The command runner against a scripted GitHub client: reactions, one reply, permissions,
rate limit, edits, bots, idempotency, escaping. (The emulator tests do the same end to end.)"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any

import gidgethub
import pytest

from bot.analysis.catalog import load_catalog
from bot.analysis.model import Finding, Metric, Ratio, Summary
from bot.commands import handlers
from bot.commands.runner import handle_comment_event
from bot.commands.status_source import BranchSnapshot, ModuleChange, ModuleView
from bot.config import CommandSettings
from bot.prcheck.suppressions import list_suppressions
from bot.store import Database
from tests.commands.cmdtest_support import BOT, FakeGitHub, comment_payload, make_ctx


async def run(
    gh: FakeGitHub, db: Database, payload: dict[str, Any], source: Any = None, **settings: Any
) -> Any:
    return await handle_comment_event(make_ctx(gh, db, payload, **settings), payload, source=source)


async def jobs(db: Database) -> list[dict[str, Any]]:
    return await db.fetchall(
        "SELECT kind, payload, job_key, dedup_id FROM jobs ORDER BY created_at"
    )


async def test_help_gets_one_reply_with_marker_quote_and_reactions(db: Database) -> None:
    gh = FakeGitHub()
    outcome = await run(gh, db, comment_payload("Hi!\n/isolation help\n@isolation-bot help ignore"))
    assert outcome.replied and outcome.ran == 2
    (reply,) = gh.replies()
    assert reply.startswith("<!-- isolation-bot:reply:4242:")
    assert "> /isolation help\n" in reply
    quoted = [line for line in reply.splitlines() if line.startswith("> ")]
    assert len(quoted) == 2
    assert quoted[1].startswith("> @\u2060isolation") and quoted[1].endswith("help ignore")
    assert "@isolation" not in reply  # quoted, mention defused
    assert "/isolation recheck" in reply and "/isolation summary" in reply
    assert gh.reaction_contents() == ["+1"]  # eyes removed after the work
    posted = [c[2]["content"] for c in gh.calls if c[0] == "POST" and c[1].endswith("reactions")]
    assert posted == ["eyes", "+1"]


@pytest.mark.parametrize(
    ("user", "user_type"),
    [(BOT, "Bot"), ("dependabot[bot]", "Bot"), ("someapp[bot]", "User"), ("ci", "Bot")],
)
async def test_bots_are_ignored_without_any_call(db: Database, user: str, user_type: str) -> None:
    gh = FakeGitHub()
    outcome = await run(gh, db, comment_payload("/isolation help", user=user, user_type=user_type))
    assert outcome.skipped == "bot"
    assert gh.calls == []


async def test_comment_without_commands_makes_no_call(db: Database) -> None:
    gh = FakeGitHub()
    body = "LGTM\n```\n/isolation recheck\n```\n> /isolation summary"
    assert (await run(gh, db, comment_payload(body))).skipped == "no-commands"
    assert gh.calls == []


async def test_deleted_comments_run_nothing(db: Database) -> None:
    gh = FakeGitHub()
    payload = comment_payload("/isolation help")
    payload["action"] = "deleted"
    await run(gh, db, payload)
    assert gh.calls == []


async def test_edit_runs_only_new_commands(db: Database) -> None:
    gh = FakeGitHub()
    payload = comment_payload(
        "/isolation help\n/isolation explain-typo\n/isolation help recheck",
        action="edited",
        old_body="/isolation help\n/isolation explain-typo",
    )
    outcome = await run(gh, db, payload)
    assert outcome.commands == 1
    (reply,) = gh.replies()
    assert "> /isolation help recheck" in reply
    assert "> /isolation help\n" not in reply


async def test_edit_that_changes_nothing_runs_nothing(db: Database) -> None:
    gh = FakeGitHub()
    body = "/isolation recheck\nthanks"
    await run(gh, db, comment_payload(body + "!", action="edited", old_body=body))
    assert gh.calls == []
    assert await jobs(db) == []


async def test_recheck_enqueues_one_pr_check_even_when_retried(db: Database) -> None:
    gh = FakeGitHub()
    payload = comment_payload("/isolation recheck", number=12)
    await run(gh, db, payload)
    await run(gh, db, payload)  # the same job again (crash after posting, retry)
    assert len(gh.replies()) == 1
    (job,) = await jobs(db)
    assert job["kind"] == "pr_check"
    assert job["job_key"] == "pr:python/cpython#12"
    assert json.loads(job["payload"]) == {
        "repo": "python/cpython",
        "number": 12,
        "installation_id": 99,
    }


async def test_pr_only_commands_in_an_issue(db: Database) -> None:
    gh = FakeGitHub()
    await run(gh, db, comment_payload("/isolation recheck", pull_request=False))
    (reply,) = gh.replies()
    assert "pull requests only" in reply
    assert gh.reaction_contents() == ["confused"]
    assert await jobs(db) == []


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("read", "read", False),
        ("triage", "read", False),
        ("write", "write", True),
        ("maintain", "write", True),
        ("admin", "admin", True),
    ],
)
async def test_ignore_permission_matrix(
    db: Database, monkeypatch: pytest.MonkeyPatch, role: str, permission: str, allowed: bool
) -> None:
    monkeypatch.setattr(handlers, "resolve_rule", lambda name: load_catalog().get_rule("ISO001"))
    gh = FakeGitHub()
    user = f"user-{role}"
    gh.permissions[user] = {"permission": permission, "role_name": role}
    body = "/isolation ignore static-type Foo_Type -- generated by Argument Clinic"
    await run(gh, db, comment_payload(body, user=user, comment_id=hash(role) % 10_000))
    (reply,) = gh.replies()
    stored = await list_suppressions(db, "python/cpython", 7)
    if allowed:
        assert [(s.rule, s.symbol, s.reason, s.user) for s in stored] == [
            ("ISO001", "Foo_Type", "generated by Argument Clinic", user)
        ]
        assert "generated by Argument Clinic" in reply
        assert [j["kind"] for j in await jobs(db)] == ["pr_check"]
        assert gh.reaction_contents() == ["+1"]
    else:
        assert stored == []
        assert "write, maintain or admin" in reply
        assert f"`{role}`" in reply
        assert await jobs(db) == []
        assert gh.reaction_contents() == ["confused"]


async def test_permission_api_error_denies_and_says_why(db: Database) -> None:
    gh = FakeGitHub()
    gh.permissions["erin"] = gidgethub.BadRequest(HTTPStatus.SERVICE_UNAVAILABLE)
    await run(gh, db, comment_payload("/isolation summary", user="erin"))
    (reply,) = gh.replies()
    assert "could not check" in reply and "503" in reply
    assert gh.reaction_contents() == ["confused"]


async def test_unignore(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handlers, "resolve_rule", lambda name: load_catalog().get_rule("ISO001"))
    gh = FakeGitHub()
    gh.permissions["mo"] = {"permission": "write", "role_name": "write"}
    await run(gh, db, comment_payload("/isolation unignore ISO001 Foo", user="mo", comment_id=1))
    assert "no suppression" in gh.replies()[-1]
    await run(gh, db, comment_payload("/isolation ignore ISO001 Foo -- x", user="mo", comment_id=2))
    await run(gh, db, comment_payload("/isolation unignore ISO001 Foo", user="mo", comment_id=3))
    assert "Removed the suppression" in gh.replies()[-1]
    assert await list_suppressions(db, "python/cpython", 7) == []
    assert len(await jobs(db)) == 2  # after ignore and after unignore


async def test_rate_limit_replies_once_then_only_reacts(db: Database) -> None:
    gh = FakeGitHub()
    limits = {"commands": CommandSettings(rate_limit=2, rate_window_seconds=600)}
    three = "/isolation help\n/isolation help recheck\n/isolation help status"
    outcome = await run(gh, db, comment_payload(three, comment_id=1), **limits)
    assert outcome.ran == 2
    (reply,) = gh.replies()
    assert reply.count("rate limit reached") == 1
    assert "2 commands per 10 minutes" in reply
    outcome = await run(gh, db, comment_payload("/isolation help", comment_id=2), **limits)
    assert outcome.skipped == "rate-limited"
    assert len(gh.replies()) == 1
    assert gh.reaction_contents()[-1] == "confused"
    # Someone else is not limited.
    await run(gh, db, comment_payload("/isolation help", user="zed", comment_id=3), **limits)
    assert len(gh.replies()) == 2


async def test_existing_reply_with_marker_is_not_posted_again(db: Database) -> None:
    gh = FakeGitHub()
    payload = comment_payload("/isolation help")
    await run(gh, db, payload)
    await run(gh, db, payload)
    assert len(gh.replies()) == 1
    # A reply by someone else carrying the marker text does not count.
    gh2 = FakeGitHub()
    gh2.comments.append({"id": 1, "body": gh.replies()[0], "user": {"login": "mallory"}})
    await run(gh2, db, comment_payload("/isolation help", comment_id=4242))
    assert len(gh2.replies()) == 2


@pytest.mark.parametrize(
    "body",
    [
        "/isolation frobnicate @everyone <img src=x onerror=alert(1)> [x](http://evil)",
        "/isolation status <script>@python/core-devs</script>",
        "/isolation explain **bold** #1234",
    ],
)
async def test_arguments_cannot_inject(db: Database, body: str) -> None:
    gh = FakeGitHub()
    await run(gh, db, comment_payload(body))
    (reply,) = gh.replies()
    for bad in ("@everyone", "@python", "[x](", "**bold**", "#1234"):
        assert bad not in reply
    # Outside the usage code block, "<" only appears backslash-escaped (a literal "<") or in
    # our own marker.
    prose = "\n".join(line for line in reply.splitlines() if not line.startswith("    "))
    assert re.findall(r"(?<!\\)<(?!!-- isolation-bot:reply:)", prose) == []
    assert "Usage" in reply
    assert gh.reaction_contents() == ["confused"]


def summary(done: int, total: int) -> Summary:
    m = Metric(Ratio(done, total), Ratio(done, total))
    return Summary(m, m, m)


class FakeSource:
    def __init__(self, snap: BranchSnapshot | None) -> None:
        self.snap = snap

    async def latest_snapshot(self, repo: str) -> BranchSnapshot | None:
        return self.snap

    async def module_events(self, repo: str, module: str) -> list[ModuleChange]:
        return [
            ModuleChange(
                "multi-phase",
                "abc123def4567",
                4321,
                "alice",
                datetime.now(UTC),
                "converted to multi-phase init",
            )
        ]


def snapshot() -> BranchSnapshot:
    finding = Finding(
        "ISO001",
        "static-type",
        "error",
        "Modules/_cursesmodule.c",
        120,
        1,
        130,
        2,
        "PyCursesWindow_Type",
        "static type PyCursesWindow_Type",
    )
    return BranchSnapshot(
        sha="0123456789abcdef0123",
        summary=summary(150, 154),
        modules=(
            ModuleView(
                "_curses",
                "Modules/_cursesmodule.c",
                "single-phase",
                None,
                static_types=("PyCursesWindow_Type",),
            ),
        ),
        findings=(finding,),
    )


async def test_status_module(db: Database) -> None:
    gh = FakeGitHub()
    await run(gh, db, comment_payload("/isolation status _curses"), source=FakeSource(snapshot()))
    (reply,) = gh.replies()
    assert "> /isolation status \\_curses" in reply
    assert "single-phase" in reply and "no slots" in reply
    assert "`PyCursesWindow_Type`" in reply
    assert (
        "https://github.com/python/cpython/blob/0123456789abcdef0123/"
        "Modules/_cursesmodule.c#L120" in reply
    )
    assert "https://github.com/python/cpython/pull/4321" in reply


async def test_status_overall_path_rule_and_unknown(db: Database) -> None:
    gh = FakeGitHub()
    source = FakeSource(snapshot())
    body = (
        "/isolation status\n/isolation status Modules/_cursesmodule.c\n"
        "/isolation status ISO001\n/isolation status nosuchthing"
    )
    await run(gh, db, comment_payload(body), source=source)
    (reply,) = gh.replies()
    assert "97.4% (150/154)" in reply
    assert reply.count("#L120") == 2  # the path and the rule list the finding
    assert "No module, file or rule named `nosuchthing`" in reply
    assert gh.reaction_contents() == ["confused"]  # one of four failed


async def test_status_without_analysis(db: Database) -> None:
    gh = FakeGitHub()
    await run(gh, db, comment_payload("/isolation status _curses"), source=FakeSource(None))
    assert "no analysis of the default branch yet" in gh.replies()[0].lower()
    assert "isolation-bot sync" in gh.replies()[0]


async def test_handler_crash_is_reported_not_fatal(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def boom(*_: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(handlers.HANDLERS, "help", boom)
    import bot.commands.runner as runner

    monkeypatch.setattr(runner, "HANDLERS", handlers.HANDLERS)
    gh = FakeGitHub()
    await run(gh, db, comment_payload("/isolation help\n/isolation explain nope-rule"))
    (reply,) = gh.replies()
    assert "Something went wrong" in reply
    assert gh.reaction_contents() == ["confused"]


async def test_reaction_failures_are_not_fatal(db: Database) -> None:
    class NoReactions(FakeGitHub):
        async def post(self, url: str, *, data: Any = None, **kw: Any) -> Any:
            if url.endswith("/reactions"):
                raise gidgethub.BadRequest(HTTPStatus.FORBIDDEN)
            return await super().post(url, data=data, **kw)

    gh = NoReactions()
    assert (await run(gh, db, comment_payload("/isolation help"))).replied
    assert len(gh.replies()) == 1
