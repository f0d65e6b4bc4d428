"""The meta-issue writer: keeps the bot's checklist section of the issue body current.

Rules (GitHub has no compare-and-swap on issue bodies):

- one writer at a time across replicas: ``db.lock("meta-issue")``;
- the body is read right before writing, only the text between the markers is rebuilt, and the
  rest is kept byte for byte (line endings, trailing whitespace and all);
- after the PATCH the body is read again: if it differs from what was written, a person edited
  in between, so the section is rebuilt on top of their text (a bounded number of times);
- no PATCH at all when the section would not change (no noise in the edit history);
- the section is appended on the first run; if a person later removes the markers, a fresh
  section is appended once and logged, after that the bot leaves the issue alone;
- a deleted, transferred or locked issue (404/410/403/422) is logged clearly, never raised.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from gidgethub import BadRequest, GitHubException, RedirectionException
from gidgethub.abc import GitHubAPI

from bot.store.db import Database
from bot.tracking.checklist import END_MARKER, START_MARKER
from bot.tracking.state import format_time

log = logging.getLogger(__name__)

GITHUB_BODY_LIMIT = 65_536
MAX_ATTEMPTS = 3
LOCK_NAME = "meta-issue"

Outcome = Literal[
    "written",
    "appended",
    "reappended",
    "unchanged",
    "left-alone",
    "unavailable",
    "gave-up",
    "busy",
    "too-large",
]


@dataclass(frozen=True)
class WriteResult:
    outcome: Outcome
    attempts: int  # PATCH requests sent
    message: str


@dataclass(frozen=True)
class Splice:
    body: str
    mode: Literal["replaced", "appended"]


def _eol(body: str) -> str:
    return "\r\n" if "\r\n" in body else "\n"


def find_section(body: str) -> tuple[int, int] | None:
    """(start, end) offsets of the whole section, markers included; None without both markers."""
    start = body.find(START_MARKER)
    if start < 0:
        return None
    end = body.find(END_MARKER, start + len(START_MARKER))
    if end < 0:
        return None
    return start, end + len(END_MARKER)


def splice(body: str, section: str, *, may_append: bool) -> Splice | None:
    """``body`` with the section replaced (or appended when allowed); None to leave it alone.

    ``section`` is the renderer's output (markers included, "\\n" line ends); it is written
    with the body's own line ending so the body stays consistent.
    """
    eol = _eol(body)
    text = section.rstrip("\n").replace("\r\n", "\n").replace("\n", eol)
    where = find_section(body)
    if where is not None:
        start, end = where
        return Splice(body[:start] + text + body[end:], "replaced")
    if not may_append:
        return None
    if not body:
        return Splice(text + eol, "appended")
    # Only text is added after the person's body; a blank line keeps the section its own block.
    if body.endswith(eol + eol):
        sep = ""
    elif body.endswith(("\n", "\r")):
        sep = eol
    else:
        sep = eol + eol
    return Splice(body + sep + text + eol, "appended")


def _describe(exc: GitHubException) -> tuple[int | None, str]:
    status = getattr(exc, "status_code", None)
    code = int(status) if status is not None else None
    return code, str(exc) or type(exc).__name__


async def _state(db: Database, repo: str, number: int) -> dict[str, object] | None:
    return await db.fetchone(
        "SELECT written_at, reappended_at, last_section_hash FROM tracking_meta_issue "
        "WHERE repo = ? AND number = ?",
        (repo, number),
    )


async def _remember(
    db: Database, repo: str, number: int, section: str, *, reappended: bool
) -> None:
    now = format_time(datetime.now(UTC))
    digest = hashlib.sha256(section.encode()).hexdigest()
    await db.execute(
        "INSERT INTO tracking_meta_issue (repo, number, written_at, reappended_at, "
        "last_section_hash) VALUES (?, ?, ?, ?, ?) ON CONFLICT (repo, number) DO UPDATE SET "
        "written_at = excluded.written_at, last_section_hash = excluded.last_section_hash, "
        "reappended_at = COALESCE(excluded.reappended_at, tracking_meta_issue.reappended_at)",
        (repo, number, now, now if reappended else None, digest),
    )


async def _read_body(gh: GitHubAPI, url: str) -> str | None:
    issue = await gh.getitem(url)
    if not isinstance(issue, dict):
        return None
    if issue.get("locked"):
        # Locking stops comments, not body edits by people (or Apps) with write access.
        log.info("meta issue %s is locked; its body can still be edited", url)
    body = issue.get("body")
    return body if isinstance(body, str) else ""


async def write_section(
    gh: GitHubAPI,
    db: Database,
    repo: str,
    number: int,
    render: Callable[[int], str],
    *,
    max_attempts: int = MAX_ATTEMPTS,
) -> WriteResult:
    """Bring the section of issue ``repo#number`` up to ``render(max_chars)``.

    ``render`` gets the room left in the body (GitHub's limit minus the text people own)."""
    where = f"{repo}#{number}"
    url = f"/repos/{repo}/issues/{number}"
    async with db.lock(LOCK_NAME) as acquired:
        if not acquired:
            return WriteResult("busy", 0, f"meta issue {where}: another writer holds the lock")
        state = await _state(db, repo, number)
        written_before = bool(state and state.get("written_at"))
        reappended_before = bool(state and state.get("reappended_at"))
        patches = 0
        try:
            for _ in range(max_attempts):
                body = await _read_body(gh, url)
                if body is None:
                    return WriteResult("unavailable", patches, f"{where}: unexpected answer")
                outside = len(body)
                if (span := find_section(body)) is not None:
                    outside -= span[1] - span[0]
                section = render(max(GITHUB_BODY_LIMIT - outside - 100, 0))
                may_append = not written_before or not reappended_before
                result = splice(body, section, may_append=may_append)
                if result is None:
                    msg = (
                        f"meta issue {where}: the checklist markers were removed again after "
                        "the bot re-added them once; leaving the issue to the people editing it"
                    )
                    log.warning(msg)
                    return WriteResult("left-alone", patches, msg)
                if result.body == body:
                    # After a write of ours, someone's edit kept the section as written.
                    outcome_now: Outcome = "written" if patches else "unchanged"
                    return WriteResult(outcome_now, patches, f"{where}: section up to date")
                if len(result.body) > GITHUB_BODY_LIMIT:
                    msg = f"{where}: body would exceed GitHub's limit; not written"
                    log.error(msg)
                    return WriteResult("too-large", patches, msg)
                reappend = result.mode == "appended" and written_before
                if reappend:
                    log.warning(
                        "meta issue %s: the checklist markers were removed by someone; "
                        "appending a fresh section once (it will not be re-added again)",
                        where,
                    )
                await gh.patch(url, data={"body": result.body})
                patches += 1
                after = await _read_body(gh, url)
                await _remember(db, repo, number, section, reappended=reappend)
                written_before = True
                reappended_before = reappended_before or reappend
                if after == result.body:
                    outcome: Outcome = (
                        "reappended"
                        if reappend
                        else "appended"
                        if result.mode == "appended"
                        else "written"
                    )
                    return WriteResult(outcome, patches, f"{where}: section {outcome}")
                log.info("meta issue %s: edited by someone while writing; rebuilding", where)
            msg = f"meta issue {where}: still racing with edits after {patches} writes; giving up"
            log.warning(msg)
            return WriteResult("gave-up", patches, msg)
        except BadRequest as exc:
            status, text = _describe(exc)
            if status in (403, 404, 410, 422):
                reason = {
                    403: "forbidden (the issue is locked or the App lacks issues:write)",
                    404: "not found (deleted, transferred, or no access)",
                    410: "deleted",
                    422: "the edit was rejected",
                }[status]
                msg = f"meta issue {where}: {reason}; checklist not updated ({status}: {text})"
                log.error(msg)
                return WriteResult("unavailable", patches, msg)
            raise
        except RedirectionException as exc:
            msg = (
                f"meta issue {where}: moved (transferred to another repository?); checklist "
                f"not updated; point meta_issue.repo/.number at its new place ({exc})"
            )
            log.error(msg)
            return WriteResult("unavailable", patches, msg)
