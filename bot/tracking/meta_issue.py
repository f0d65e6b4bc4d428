"""The meta-issue writer: keeps the bot's checklist section of the issue body current.

Rules (GitHub has no compare-and-swap on issue bodies: a PATCH replaces the whole body):

- one writer at a time across replicas: ``db.lock("meta-issue")``;
- the window between reading the body and writing it is as short as the API allows: the
  section is rendered first, then the body is read (a conditional GET, free when unchanged),
  spliced (pure string work) and PATCHed at once; only the text between the markers is
  rebuilt, the rest is kept byte for byte (line endings, trailing whitespace and all);
- after the PATCH the body is read again: if it differs from what was written, a person edited
  in between, so the section is rebuilt on top of their text (a bounded number of times);
- a person's edit that lands inside the window (after the read, before the PATCH) is
  overwritten, and no read can show it afterwards. GitHub's ``issues.edited`` delivery of the
  bot's own write can: its ``changes.body.from`` is the body the PATCH replaced.
  :func:`check_own_edit` compares it with what was written: when the write changed text
  outside the section, it replaced a person's edit, and their text is restored with the bot's
  section applied (docs/deploy.md states what is still left to chance);
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
from bot.store.effects import once
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


def _outside(body: str) -> str:
    """The body without the section (markers included): the text people own."""
    span = find_section(body)
    return body if span is None else body[: span[0]] + body[span[1] :]


def _room(body: str) -> int:
    """Characters the section may use: GitHub's limit minus the text people own, less a margin."""
    return max(GITHUB_BODY_LIMIT - len(_outside(body)) - 100, 0)


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


async def _read_rendered(
    gh: GitHubAPI, url: str, render: Callable[[int], str], cached: tuple[int, str] | None
) -> tuple[str | None, tuple[int, str] | None]:
    """The body as GitHub has it now, and the section rendered for its room ((room, text)).

    Rendering takes CPU time; it never sits between the read the write is based on and the
    write: when the room changed (or nothing is rendered yet) the section is rendered and the
    body read again, so the write follows that read with only a splice in between."""
    body = await _read_body(gh, url)
    for _ in range(3):  # the room changes only when people edit while we render: bounded
        if body is None:
            return None, cached
        room = _room(body)
        if cached is not None and cached[0] == room:
            break
        cached = (room, render(room))
        body = await _read_body(gh, url)
    return body, cached


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
        rendered: tuple[int, str] | None = None
        try:
            for _ in range(max_attempts):
                body, rendered = await _read_rendered(gh, url, render, rendered)
                if body is None or rendered is None:
                    return WriteResult("unavailable", patches, f"{where}: unexpected answer")
                section = rendered[1]
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


# --- a person's edit overwritten inside the window ----------------------------------------------

RESTORE_EFFECT = "meta-issue-restore:"  # + sha256 of a body the bot wrote to restore an edit

CheckOutcome = Literal[
    "not-ours", "kept", "restore-echo", "restored", "edited-since", "unavailable", "too-large"
]


@dataclass(frozen=True)
class EditCheck:
    outcome: CheckOutcome
    message: str


def overwrote_text(before: str, written: str) -> bool:
    """Whether the bot's write of ``written`` over ``before`` changed text outside its section.

    The section writer only ever changes the section (or appends one), so such a write was
    based on a body read before a person's edit landed: their edit is ``before``, lost."""
    span = find_section(written)
    if span is None:
        return False  # not a body the section writer produces
    expected = splice(before, written[span[0] : span[1]], may_append=True)
    return expected is None or expected.body != written


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def is_meta_issue_edit_by_a_bot(payload: dict[str, object], repo: str, number: int) -> bool:
    """Whether an ``issues.edited`` payload can concern :func:`check_own_edit`: an edit of the
    meta issue ``repo#number`` by a bot account. Pure: the intake asks it before storing, so
    the edits of every other issue of a busy repository cost no job."""
    issue, repository = payload.get("issue"), payload.get("repository")
    sender = payload.get("sender")
    return (
        isinstance(issue, dict)
        and isinstance(repository, dict)
        and isinstance(sender, dict)
        and str(repository.get("full_name", "")).lower() == repo.lower()
        and issue.get("number") == number
        and sender.get("type") == "Bot"
    )


async def check_own_edit(
    gh: GitHubAPI,
    db: Database,
    payload: dict[str, object],
    *,
    bot_login: str,
    repo: str,
    number: int,
) -> EditCheck:
    """React to an ``issues.edited`` delivery: for the bot's own write of meta issue
    ``repo#number``, restore a person's edit that the write overwrote.

    ``changes.body.from`` is the body GitHub replaced; when the write changed text outside the
    section, that body is a person's edit made after the bot's read. It is written back with
    the section applied (the newest section when another write of ours came since), unless the
    issue was edited again meanwhile: then only a log line says what was lost (the issue's
    edit history on GitHub keeps the text). Deliveries of other issues, of people's edits and
    of the restores themselves change nothing."""
    where = f"{repo}#{number}"
    issue, repository = payload.get("issue"), payload.get("repository")
    sender, changes = payload.get("sender"), payload.get("changes")
    if not (
        isinstance(issue, dict)
        and isinstance(repository, dict)
        and isinstance(sender, dict)
        and isinstance(changes, dict)
        and str(repository.get("full_name", "")).lower() == repo.lower()
        and issue.get("number") == number
        and str(sender.get("login", "")).lower() == bot_login.lower()
    ):
        return EditCheck("not-ours", "not the bot's edit of the meta issue")
    body_change = changes.get("body")
    before = body_change.get("from") if isinstance(body_change, dict) else None
    written = issue.get("body")
    if not isinstance(before, str) or not isinstance(written, str):
        return EditCheck("not-ours", "the edit did not change the body")
    if await db.fetchone(
        "SELECT effect_key FROM processed_effects WHERE effect_key = ?",
        (RESTORE_EFFECT + _digest(written),),
    ):
        return EditCheck("restore-echo", f"{where}: the delivery of a restore")
    if not overwrote_text(before, written):
        return EditCheck("kept", f"{where}: the write changed only the section")
    url = f"/repos/{repo}/issues/{number}"
    async with db.lock(LOCK_NAME) as acquired:
        if not acquired:  # a writer is busy: try again later (the job is retried)
            raise RuntimeError(f"meta issue {where}: the writer's lock is held; retry")
        try:
            current = await _read_body(gh, url)
            if current is None:
                return EditCheck("unavailable", f"{where}: unexpected answer")
            if _outside(current) == _outside(before):
                return EditCheck("kept", f"{where}: their text is in the body (restored before)")
            if _outside(current) != _outside(written):
                msg = (
                    f"meta issue {where}: a write of the bot overwrote an edit by a person, and "
                    "the issue was edited again since, so it is not restored automatically; "
                    "the overwritten text is in the issue's edit history"
                )
                log.error(msg)
                return EditCheck("edited-since", msg)
            # the newest section: the current one (a later write of ours), else the one written
            newest = current if find_section(current) is not None else written
            span = find_section(newest)
            restored = None
            if span is not None:
                restored = splice(before, newest[span[0] : span[1]], may_append=False)
            # no markers in their text: they removed the section, theirs to decide
            restored_body = restored.body if restored is not None else before
            if restored_body == current:
                return EditCheck("kept", f"{where}: nothing to restore")
            if len(restored_body) > GITHUB_BODY_LIMIT:
                msg = f"meta issue {where}: an overwritten edit is too long to restore"
                log.error(msg)
                return EditCheck("too-large", msg)
            await once(db, RESTORE_EFFECT + _digest(restored_body))
            await gh.patch(url, data={"body": restored_body})
        except BadRequest as exc:
            status, text = _describe(exc)
            if status in (403, 404, 410, 422):
                msg = (
                    f"meta issue {where}: could not restore an overwritten edit ({status}: {text})"
                )
                log.error(msg)
                return EditCheck("unavailable", msg)
            raise
    msg = (
        f"meta issue {where}: a write of the bot overwrote an edit by a person (made between "
        "the bot's read and its write); their text is restored with the section applied"
    )
    log.warning(msg)
    return EditCheck("restored", msg)
