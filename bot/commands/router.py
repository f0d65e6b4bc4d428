"""Router for slash-commands: ``issue_comment`` created and edited (deleted is ignored).

The worker dispatches each stored delivery here with a JobContext; all the work is in
bot.commands.runner.
"""

from __future__ import annotations

import logging

from gidgethub import routing, sansio

from bot.commands.runner import handle_comment_event
from bot.jobs import JobContext

log = logging.getLogger(__name__)

router = routing.Router()


@router.register("issue_comment", action="created")
@router.register("issue_comment", action="edited")
async def on_issue_comment(event: sansio.Event, ctx: JobContext) -> None:
    outcome = await handle_comment_event(ctx, event.data)
    if outcome.commands:
        log.info(
            "issue_comment %s: %d command(s), %d ran, replied=%s, skipped=%s",
            event.delivery_id,
            outcome.commands,
            outcome.ran,
            outcome.replied,
            outcome.skipped,
        )
