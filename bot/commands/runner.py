"""The imperative shell of the commands: one comment event -> reactions + ONE reply.

Two kinds of comment carry commands, with the same grammar, permissions, rate limit,
reactions and de-duplication: conversation comments (``issue_comment``; the reply is a new
comment on the conversation) and comments on a pull request's diff
(``pull_request_review_comment``; the reply goes in the same review thread, through
``POST /repos/{o}/{r}/pulls/{n}/comments/{thread}/replies``, so it sits under the question and
the thread can be resolved with it). A :class:`CommentPlace` says where the comment, its
reactions and the reply live.

Order of work for a comment (created, or edited with new commands):

1. ignore bots (the bot itself included) and comments without commands — no API call at all;
2. rate limit per user (store-backed); a user over the limit gets one reply per window;
3. look for an earlier reply carrying this revision's marker (a retried job posts nothing
   twice; its commands' effects are idempotent anyway);
4. ``eyes`` reaction (a 404 there means the comment was deleted since: nothing runs), run the
   commands in order (maintainer check cached, fail closed), post the reply quoting each
   command, then swap ``eyes`` for ``+1`` or ``confused``.

Reactions are cosmetic: their failures are logged, never fatal. Failing to post the reply
raises, so the job is retried (and step 3 keeps it single).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import gidgethub

from bot.commands import reply as render
from bot.commands.grammar import (
    Command,
    CommandError,
    ParsedItem,
    commands_digest,
    new_commands,
    parse_commands,
)
from bot.commands.handlers import HANDLERS, CommandCall, default_source
from bot.commands.ratelimit import RateLimiter
from bot.commands.status_source import StatusSource
from bot.github.permissions import NEEDED

if TYPE_CHECKING:
    from bot.jobs import JobContext

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommentOutcome:
    """What handling one comment did (for logs and tests)."""

    commands: int
    ran: int = 0
    replied: bool = False
    skipped: str | None = None  # why nothing ran: "bot", "no-commands", "rate-limited", ...


def is_bot_sender(user: Any, bot_login: str) -> bool:
    if not isinstance(user, dict):
        return True  # no sender we can check: do nothing
    login = str(user.get("login") or "")
    return (
        user.get("type") == "Bot"
        or login.lower().endswith("[bot]")
        or login.lower() == bot_login.lower()
        or login.lower() == bot_login.lower().removesuffix("[bot]")
    )


def commands_of_event(payload: dict[str, Any], bot_login: str) -> list[ParsedItem]:
    """The commands an issue_comment payload asks to run (pure)."""
    action = payload.get("action")
    comment = payload.get("comment") or {}
    body = comment.get("body")
    if not isinstance(body, str):
        return []
    if action == "created":
        return parse_commands(body, bot_login)
    if action == "edited":
        changes = payload.get("changes") or {}
        old = (changes.get("body") or {}).get("from") if isinstance(changes, dict) else None
        if not isinstance(old, str):
            return []  # the edit did not change the body (title etc.): nothing new
        return new_commands(old, body, bot_login)
    return []


@dataclass(frozen=True)
class CommentPlace:
    """Where a comment with commands lives: its reactions, the reply, earlier replies.

    ``kind`` "issue": a conversation comment (issue or PR), answered on the conversation.
    ``kind`` "review": a comment on a PR's diff, answered in its review thread, whose first
    comment is ``thread_id`` (GitHub takes replies to a thread's first comment only).
    """

    kind: Literal["issue", "review"]
    repo: str
    number: int
    comment_id: int
    thread_id: int

    @property
    def reactions_url(self) -> str:
        if self.kind == "issue":
            return f"/repos/{self.repo}/issues/comments/{self.comment_id}/reactions"
        return f"/repos/{self.repo}/pulls/comments/{self.comment_id}/reactions"

    def reaction_url(self, reaction_id: int) -> str:
        if self.kind == "issue":
            return f"/repos/{self.repo}/issues/comments/{self.comment_id}/reactions/{reaction_id}"
        return f"/repos/{self.repo}/pulls/comments/{self.comment_id}/reactions/{reaction_id}"

    @property
    def reply_url(self) -> str:
        if self.kind == "issue":
            return f"/repos/{self.repo}/issues/{self.number}/comments"
        return f"/repos/{self.repo}/pulls/{self.number}/comments/{self.thread_id}/replies"

    @property
    def replies_url(self) -> str:
        """Where an earlier reply would be listed (``since`` and paging are added)."""
        if self.kind == "issue":
            return f"/repos/{self.repo}/issues/{self.number}/comments?per_page=100"
        return f"/repos/{self.repo}/pulls/{self.number}/comments?per_page=100"

    @property
    def revision_prefix(self) -> str:
        """Issue and review comment ids are separate series: keep their effects apart."""
        return "" if self.kind == "issue" else "review:"

    def __str__(self) -> str:
        what = "comment" if self.kind == "issue" else "review comment"
        return f"{what} {self.comment_id} in {self.repo}#{self.number}"


class _CommentGone(Exception):
    """The comment was deleted (its reaction endpoint answers 404/410)."""


async def _react(
    ctx: JobContext, place: CommentPlace, content: str, *, gone_raises: bool = False
) -> int | None:
    try:
        data = await ctx.gh.post(place.reactions_url, data={"content": content})
    except gidgethub.BadRequest as exc:
        if gone_raises and int(exc.status_code) in (404, 410):
            raise _CommentGone from exc
        log.warning("could not add the %s reaction to %s", content, place)
        return None
    except Exception:
        log.warning("could not add the %s reaction to %s", content, place)
        return None
    return int(data["id"]) if isinstance(data, dict) and "id" in data else None


async def _unreact(ctx: JobContext, place: CommentPlace, reaction_id: int) -> None:
    try:
        await ctx.gh.delete(place.reaction_url(reaction_id))
    except Exception:
        log.warning("could not remove reaction %s from %s", reaction_id, place)


def revision_digest(items: list[ParsedItem], comment: dict[str, Any]) -> str:
    """The reply marker's revision: the commands plus the comment's edit time.

    A retried job (same payload) gets the same digest, so it finds its earlier reply; a later
    edit that brings back a command answered before gets a new one, so it is answered again.
    """
    stamp = str(comment.get("updated_at") or comment.get("created_at") or "")
    text = commands_digest(items) + "@" + stamp
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _since(stamp: Any) -> str | None:
    """A second before the comment's time: our reply is newer; the margin covers rounding."""
    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when.astimezone(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _find_reply(
    ctx: JobContext, place: CommentPlace, comment: dict[str, Any], digest: str
) -> bool:
    """Did an earlier attempt already post the reply for this revision?"""
    url = place.replies_url
    since = _since(comment.get("updated_at") or comment.get("created_at"))
    if since:
        url += f"&since={since}"
    async for existing in ctx.gh.getiter(url):
        user = existing.get("user") or {}
        if str(user.get("login", "")).lower() != ctx.bot_login.lower():
            continue
        if render.has_marker(existing.get("body"), place.comment_id, digest):
            return True
    return False


def _positive_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


async def handle_comment_event(
    ctx: JobContext, payload: dict[str, Any], *, source: StatusSource | None = None
) -> CommentOutcome:
    """An ``issue_comment`` event: answered on the conversation."""
    issue = payload.get("issue")
    if not isinstance(issue, dict):
        return CommentOutcome(0, skipped="malformed")

    def place(repo: str, comment_id: int) -> CommentPlace | None:
        number = _positive_int(issue.get("number"))
        return None if number is None else CommentPlace("issue", repo, number, comment_id, 0)

    return await _handle(ctx, payload, place, bool(issue.get("pull_request")), source)


async def handle_review_comment_event(
    ctx: JobContext, payload: dict[str, Any], *, source: StatusSource | None = None
) -> CommentOutcome:
    """A ``pull_request_review_comment`` event: answered in the comment's review thread."""
    pull = payload.get("pull_request")
    comment = payload.get("comment")
    if not isinstance(pull, dict) or not isinstance(comment, dict):
        return CommentOutcome(0, skipped="malformed")

    def place(repo: str, comment_id: int) -> CommentPlace | None:
        number = _positive_int(pull.get("number"))
        if number is None:
            return None
        # a reply's in_reply_to_id is its thread's first comment
        thread = _positive_int(comment.get("in_reply_to_id")) or comment_id
        return CommentPlace("review", repo, number, comment_id, thread)

    return await _handle(ctx, payload, place, True, source)


async def _handle(
    ctx: JobContext,
    payload: dict[str, Any],
    place_of: Callable[[str, int], CommentPlace | None],
    is_pr: bool,
    source: StatusSource | None,
) -> CommentOutcome:
    comment = payload.get("comment")
    repository = payload.get("repository")
    if not (isinstance(comment, dict) and isinstance(repository, dict)):
        return CommentOutcome(0, skipped="malformed")
    if is_bot_sender(payload.get("sender"), ctx.bot_login) or is_bot_sender(
        comment.get("user"), ctx.bot_login
    ):
        return CommentOutcome(0, skipped="bot")
    items = commands_of_event(payload, ctx.bot_login)
    if not items:
        return CommentOutcome(0, skipped="no-commands")
    try:
        repo = str(repository["full_name"])
        comment_id = int(comment["id"])
        user = str((payload.get("sender") or comment.get("user") or {})["login"])
        place = place_of(repo, comment_id)
    except (KeyError, TypeError, ValueError):
        return CommentOutcome(len(items), skipped="malformed")
    if place is None:
        return CommentOutcome(len(items), skipped="malformed")
    number = place.number
    installation = payload.get("installation") or {}
    installation_id = installation.get("id") if isinstance(installation, dict) else None

    digest = revision_digest(items, comment)
    revision = f"{place.revision_prefix}{comment_id}:{digest}"
    settings = ctx.settings.commands
    limiter = RateLimiter(
        ctx.db, limit=settings.rate_limit, window_seconds=settings.rate_window_seconds
    )
    decision = await limiter.admit(user, revision, [f"{revision}:{i}" for i in range(len(items))])
    if decision.admitted == 0 and not decision.notify:
        # Over the limit and already told this window: a reaction only, no reply spam.
        await _react(ctx, place, "confused")
        return CommentOutcome(len(items), skipped="rate-limited")

    if await _find_reply(ctx, place, comment, digest):
        return CommentOutcome(len(items), skipped="already-replied")

    try:
        # The first call on the comment itself doubles as "does it still exist?": a comment
        # deleted before its job ran (the created delivery comes first) runs nothing.
        eyes = await _react(ctx, place, "eyes", gone_raises=True)
    except _CommentGone:
        log.info("%s was deleted: its commands do not run", place)
        return CommentOutcome(len(items), skipped="deleted")
    source = source or default_source(ctx)
    sections: list[render.ReplySection] = []
    ran = 0
    for index, item in enumerate(items):
        if index >= decision.admitted:
            sections.append(
                render.ReplySection(
                    item.raw,
                    render.render_rate_limited(
                        settings.rate_limit, settings.rate_window_seconds, decision.retry_after
                    ),
                    ok=False,
                )
            )
            continue
        section = await _run_one(
            ctx,
            item,
            CommandCall(
                command=item,
                repo=repo,
                number=number,
                is_pr=is_pr,
                user=user,
                effect_id=f"{revision}:{index}",
                installation_id=installation_id if isinstance(installation_id, int) else None,
            )
            if isinstance(item, Command)
            else None,
            source,
        )
        ran += isinstance(item, Command) and section.ok
        sections.append(section)

    body = render.render_reply(sections, comment_id=comment_id, digest=digest)
    try:
        await ctx.gh.post(place.reply_url, data={"body": body})
    except gidgethub.BadRequest as exc:
        # Locked conversation (403), deleted issue or thread (404/410), rejected body (422):
        # retrying cannot help. Other errors (5xx after the client's retries) propagate: the
        # job retries.
        if int(exc.status_code) not in (403, 404, 410, 422):
            raise
        log.warning("could not reply to %s: %s", place, exc)
        if eyes is not None:
            await _unreact(ctx, place, eyes)
        await _react(ctx, place, "confused")
        return CommentOutcome(len(items), ran=ran, replied=False, skipped="reply-refused")
    if eyes is not None:
        await _unreact(ctx, place, eyes)
    all_ok = all(s.ok for s in sections)
    await _react(ctx, place, "+1" if all_ok else "confused")
    return CommentOutcome(len(items), ran=ran, replied=True)


async def _run_one(
    ctx: JobContext,
    item: ParsedItem,
    call: CommandCall | None,
    source: StatusSource,
) -> render.ReplySection:
    if isinstance(item, CommandError) or call is None:
        assert isinstance(item, CommandError)
        return render.ReplySection(
            item.raw, render.render_usage_error(item.message, item.usage), ok=False
        )
    spec = item.spec
    if spec.pr_only and not call.is_pr:
        return render.ReplySection(item.raw, render.render_pr_only(), ok=False)
    if spec.maintainer_only:
        permission = await ctx.caches.permissions.check(ctx.gh, call.repo, call.user)
        if not permission.allowed:
            return render.ReplySection(
                item.raw,
                render.render_denied(NEEDED, call.user, permission.level, permission.error),
                ok=False,
            )
    try:
        ok, body = await HANDLERS[item.name](ctx, call, source)
    except Exception:
        log.exception("command %r failed in %s#%s", item.name, call.repo, call.number)
        return render.ReplySection(item.raw, render.render_internal_error(), ok=False)
    return render.ReplySection(item.raw, body, ok=ok)
