"""Open PRs with isolation changes, from the PR check's state table (bot/prcheck/store.py).

pr_state keeps one row per checked PR with the last result (``result`` JSON: "improvements" and
"regressions" lists), but not whether the PR is still open, nor its title or author. So:
``candidate_prs`` reads rows with isolation changes checked recently (a PR untouched for
``RECENT`` is not "waiting for review" in any useful sense), and ``confirm_open`` asks GitHub,
when a client is at hand (the weekly post), which of them are open, with title and author.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from bot.store.db import Database
from bot.summary.model import OpenPullRequest

log = logging.getLogger(__name__)

RECENT_SECONDS = 60 * 86400
MAX_CONFIRMED = 30  # GitHub calls per weekly post, at most


def _count(value: Any) -> int:
    return len(value) if isinstance(value, list) else 0


async def candidate_prs(
    db: Database, repo: str, *, now: float | None = None
) -> list[OpenPullRequest]:
    now = time.time() if now is None else now
    rows = await db.fetchall(
        "SELECT number, result, updated_at FROM pr_state WHERE repo = ? AND updated_at >= ? "
        "ORDER BY number",
        (repo, now - RECENT_SECONDS),
    )
    prs = []
    for row in rows:
        try:
            result = json.loads(row["result"]) if row.get("result") else {}
        except ValueError:
            log.warning("pr_state %s#%s: result is not JSON; skipped", repo, row["number"])
            continue
        if not isinstance(result, dict):
            continue
        improvements = _count(result.get("improvements"))
        regressions = _count(result.get("regressions"))
        if improvements or regressions:
            prs.append(OpenPullRequest(int(row["number"]), None, None, improvements, regressions))
    return prs


async def confirm_open(gh: Any, repo: str, prs: list[OpenPullRequest]) -> list[OpenPullRequest]:
    """Keep the PRs GitHub says are open, with their title and author (newest first, capped)."""
    out = []
    for pr in sorted(prs, key=lambda p: -p.number)[:MAX_CONFIRMED]:
        try:
            data = await gh.getitem(f"/repos/{repo}/pulls/{pr.number}")
        except Exception as exc:  # one PR we cannot read must not stop the weekly post
            log.warning("cannot read %s#%s: %s", repo, pr.number, exc)
            continue
        if data.get("state") != "open" or data.get("draft"):
            continue
        out.append(
            OpenPullRequest(
                pr.number,
                data.get("title"),
                (data.get("user") or {}).get("login"),
                pr.improvements,
                pr.regressions,
            )
        )
    return sorted(out, key=lambda p: p.number)
