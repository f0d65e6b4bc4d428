"""Router for slash-commands: ``issue_comment`` and ``pull_request_review_comment``, created
and edited (deleted is ignored).

The worker dispatches each stored delivery here with a JobContext; all the work is in
bot.commands.runner (a conversation comment is answered on the conversation, a review comment
in its review thread).
"""

from __future__ import annotations

import logging

from gidgethub import routing, sansio

from bot.commands.runner import CommentOutcome, handle_comment_event, handle_review_comment_event
from bot.jobs import JobContext

log = logging.getLogger(__name__)

router = routing.Router()


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_issue_comment(event: sansio.Event, ctx: JobContext) -> None:
    _log(event, await handle_comment_event(ctx, event.data))


@router.register("pull_request_review_comment", action="created")
@router.register("pull_request_review_comment", action="edited")
async def on_review_comment(event: sansio.Event, ctx: JobContext) -> None:
    _log(event, await handle_review_comment_event(ctx, event.data))


def _log(event: sansio.Event, outcome: CommentOutcome) -> None:
    if outcome.commands:
        log.info(
            "%s %s: %d command(s), %d ran, replied=%s, skipped=%s",
            event.event,
            event.delivery_id,
            outcome.commands,
            outcome.ran,
            outcome.replied,
            outcome.skipped,
        )
