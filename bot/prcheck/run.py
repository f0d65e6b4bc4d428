"""One pull-request check against GitHub and the store (the imperative shell of the check).

Calls for a typical synchronize event with cached blobs (3 changed C files): list files (1),
create the check run (1), compare for the merge base (1), base tree listing (1, cached by tree
SHA so 0 when the merge base did not move), re-read the PR before reporting (1), complete the
check run (1), edit the comment only if its text changed (0-1), labels only when they change.
That is 5-7 calls; blobs and analyses come from the caches, and so does the head's
Tools/c-analyzer/cpython/ignored.tsv (one blob read when a version is first seen: its rows
suppress new findings, as CPython's ``make check-c-globals`` accepts them).

Why the merge base and one tree listing for base blobs: the files API diffs the head against
the merge base and only gives head blob SHAs. Reading the base side at ``base.sha`` would credit
the PR with everything merged into main since it forked; the compare API names the merge base
(and its tree) in one call, and one recursive tree listing gives every base blob SHA at once,
where the contents API would cost one call per file.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from gidgethub import BadRequest
from gidgethub.abc import GitHubAPI

from bot.analysis.model import FileReport
from bot.analysis.paths import SOURCE_SUFFIXES
from bot.analysis.tsv import IGNORED_TSV
from bot.caches import ServiceCaches
from bot.config import Settings
from bot.github.gitdata import GitDataError, contents_sha
from bot.prcheck import comment as pr_comment
from bot.prcheck import lifecycle
from bot.prcheck import store as pr_state
from bot.prcheck.changes import FILES_LIMIT, ChangedFile, select_files
from bot.prcheck.model import CheckResult
from bot.prcheck.modules import assess
from bot.prcheck.suppressions import list_suppressions
from bot.render.links import rules_url_template
from bot.store.db import Database

log = logging.getLogger(__name__)

ANALYSIS_CONCURRENCY = 8
# The base tree listing keeps C sources and the c-analyzer lists (ignored.tsv).
_LISTED = (*SOURCE_SUFFIXES, ".tsv")


class StaleResult(Exception):
    """The PR moved on (new head, closed) while it was being checked: nothing was reported."""


def rules_url(settings: Settings) -> str:
    """Where rule links point: the service's /rules pages when its public URL is known, else
    Settings.rules_url (ISOLATION_BOT_RULES_URL), else the project's rule reference."""
    return rules_url_template(settings.public_url, settings.rules_url)


async def _files(gh: GitHubAPI, repo: str, number: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    with _retry_404(gh):
        async for entry in gh.getiter(f"/repos/{repo}/pulls/{number}/files?per_page=100"):
            out.append(entry)
            if len(out) > FILES_LIMIT:
                break
    return out


def _retry_404(gh: GitHubAPI) -> Any:
    import contextlib

    retry = getattr(gh, "retry_not_found", None)
    return retry() if retry is not None else contextlib.nullcontext()


async def _base_shas(
    gh: GitHubAPI,
    caches: ServiceCaches,
    repo: str,
    base_sha: str,
    head_sha: str,
    wanted: Sequence[str],
) -> dict[str, str]:
    """Blob SHA of each of ``wanted`` at the merge base of the PR (absent when not there)."""
    if not wanted:
        return {}
    try:
        with _retry_404(gh):
            cmp = await gh.getitem(
                f"/repos/{repo}/compare/{quote(base_sha, safe='')}...{quote(head_sha, safe='')}"
                "?per_page=1"
            )
    except BadRequest as exc:
        # A compare GitHub refuses (404 for an unrelated history, 422 for a diff too large to
        # compute): read the base branch's head instead; the per-file fallback below still works.
        log.info("compare %s...%s failed (%s); using the base head", base_sha, head_sha, exc)
        cmp = {}
    merge_base = cmp.get("merge_base_commit") or {}
    ref = str(merge_base.get("sha") or base_sha)
    tree_sha = ((merge_base.get("commit") or {}).get("tree") or {}).get("sha")
    listing = None
    if tree_sha:
        try:
            listing = await caches.git.tree_blob_shas(gh, repo, str(tree_sha), _LISTED)
        except GitDataError as exc:  # an unreadable listing: ask per file, as when truncated
            log.info("tree %s of %s: %s; reading the base files one by one", tree_sha, repo, exc)
    if listing is not None:
        return {p: listing[p] for p in wanted if p in listing}
    found = {}
    for path in wanted:
        sha = await contents_sha(gh, repo, path, ref)
        if sha:
            found[path] = sha
    return found


async def _analyse(
    gh: GitHubAPI,
    db: Database,
    caches: ServiceCaches,
    repo: str,
    files: Sequence[ChangedFile],
    base_shas: dict[str, str],
) -> tuple[list[FileReport], list[FileReport], list[str]]:
    sem = asyncio.Semaphore(ANALYSIS_CONCURRENCY)
    notes: list[str] = []

    async def one(sha: str, path: str) -> FileReport | None:
        async with sem:
            try:
                return await caches.analysis.report(
                    db, sha, path, lambda: caches.git.blob(gh, repo, sha)
                )
            except GitDataError as exc:
                notes.append(f"{path}: could not read blob {sha[:12]}: {exc}")
                return None

    base_jobs = [
        one(base_shas[f.base_path], f.base_path) for f in files if f.base_path in base_shas
    ]
    head_jobs = [one(f.head_sha, f.path) for f in files if f.head_sha]
    results = await asyncio.gather(*base_jobs, *head_jobs)
    base = [r for r in results[: len(base_jobs)] if r is not None]
    head = [r for r in results[len(base_jobs) :] if r is not None]
    return base, head, notes


async def _suppressions(db: Database, repo: str, number: int) -> list[Any]:
    return list(await list_suppressions(db, repo, number))


async def compute(
    gh: GitHubAPI,
    db: Database,
    settings: Any,
    repo: str,
    pr: dict[str, Any],
    caches: ServiceCaches | None = None,
) -> tuple[CheckResult, list[ChangedFile]]:
    """The check's result for ``pr`` (nothing reported); ``caches``: the service's (a fresh
    set when None)."""
    caches = caches if caches is not None else ServiceCaches()
    number = int(pr["number"])
    head_sha, base_sha = str(pr["head"]["sha"]), str(pr["base"]["sha"])
    result = CheckResult(repo=repo, number=number, head_sha=head_sha, base_sha=base_sha)
    if int(pr.get("changed_files") or 0) > FILES_LIMIT:
        result.skipped = (
            f"this pull request changes {pr['changed_files']} files; GitHub lists at most "
            f"{FILES_LIMIT}, so the check cannot see them all"
        )
        return result, []
    entries = await _files(gh, repo, number)
    if len(entries) >= FILES_LIMIT:
        result.skipped = (
            f"this pull request changes {FILES_LIMIT} files or more; GitHub lists at most "
            f"{FILES_LIMIT}, so the check cannot see them all"
        )
        return result, []
    files = select_files(entries, settings.watched_paths)
    result.files_checked = [f.path for f in files]
    result.changed_lines = {f.path: f.changed_lines for f in files if f.changed_lines}
    if not files:
        return result, files
    # ignored.tsv as the head has it: changed by the PR (its head blob is in the file list),
    # else the merge base's, read with the base files.
    tsv_entry = next((e for e in entries if e.get("filename") == IGNORED_TSV), None)
    wanted = [f.base_path for f in files if f.base_path]
    if tsv_entry is None:
        wanted.append(IGNORED_TSV)
    base_shas = await _base_shas(gh, caches, repo, base_sha, head_sha, wanted)
    if tsv_entry is None:
        tsv_sha = base_shas.pop(IGNORED_TSV, None)
    elif tsv_entry.get("status") == "removed":
        tsv_sha = None
    else:
        tsv_sha = str(tsv_entry.get("sha") or "") or None
    with _retry_404(gh):  # blobs of a just-pushed head can 404 for a moment
        base, head, notes = await _analyse(gh, db, caches, repo, files, base_shas)
        ignored_tsv = await _ignored_tsv(gh, caches, repo, tsv_sha, notes)
    suppressions = await _suppressions(db, repo, number)
    assess(result, files, base, head, suppressions, ignored_tsv=ignored_tsv, notes=notes)
    return result, files


async def _ignored_tsv(
    gh: GitHubAPI, caches: ServiceCaches, repo: str, sha: str | None, notes: list[str]
) -> bytes | None:
    """The head's ignored.tsv (its rows suppress new findings, as ``make check-c-globals``
    accepts them); None when the tree has none. Unreadable: a note, and nothing suppressed."""
    if sha is None:
        return None
    try:
        return await caches.git.blob(gh, repo, sha)
    except GitDataError as exc:
        notes.append(f"{IGNORED_TSV}: could not read blob {sha[:12]}: {exc}")
        return None


async def _find_comment(gh: GitHubAPI, repo: str, number: int, bot_login: str) -> int | None:
    async for c in gh.getiter(f"/repos/{repo}/issues/{number}/comments?per_page=100"):
        user = (c.get("user") or {}).get("login")
        if user == bot_login and pr_comment.MARKER in str(c.get("body") or ""):
            return int(c["id"])
    return None


async def _report_comment(
    gh: GitHubAPI,
    repo: str,
    state: pr_state.PrState,
    result: CheckResult,
    bot_login: str,
    url: str,
    html_url: str,
) -> None:
    body = pr_comment.render(result, rules_url=url, html_url=html_url)
    digest = hashlib.sha256(body.encode()).hexdigest()
    if state.comment_id is not None and state.comment_hash == digest:
        return  # unchanged: no edit, no notification
    if not result.files_checked and state.comment_id is None and result.skipped is None:
        # A PR touching no checked file gets no comment, unless the bot commented before.
        state.comment_id = await _find_comment(gh, repo, result.number, bot_login)
        if state.comment_id is None:
            return
    if state.comment_id is not None:
        try:
            await gh.patch(f"/repos/{repo}/issues/comments/{state.comment_id}", data={"body": body})
            state.comment_hash = digest
            return
        except BadRequest as exc:
            if exc.status_code != 404:
                raise
            state.comment_id = None  # deleted by someone: find another or post anew
    found = await _find_comment(gh, repo, result.number, bot_login)
    if found is not None:
        await gh.patch(f"/repos/{repo}/issues/comments/{found}", data={"body": body})
        state.comment_id = found
    else:
        created = await gh.post(
            f"/repos/{repo}/issues/{result.number}/comments", data={"body": body}
        )
        state.comment_id = int(created["id"])
    state.comment_hash = digest


async def _report_labels(
    gh: GitHubAPI,
    repo: str,
    state: pr_state.PrState,
    result: CheckResult,
    settings: Any,
    current: set[str],
) -> None:
    labels = settings.labels
    desired: set[str] = set()
    if result.skipped is None:
        if result.changes_isolation_state:
            desired.add(labels.topic)
        if result.improves:
            desired.add(labels.improvement)
        if result.regresses:
            desired.add(labels.regression)
    ours = set(state.labels_added) & current  # a human removed one of ours: forget it
    to_add = sorted(desired - current)
    to_remove = sorted(ours - desired)
    if to_add:
        await gh.post(f"/repos/{repo}/issues/{result.number}/labels", data={"labels": to_add})
    for name in to_remove:
        try:
            await gh.delete(f"/repos/{repo}/issues/{result.number}/labels/{quote(name, safe='')}")
        except BadRequest as exc:
            if exc.status_code != 404:
                raise
    state.labels_added = sorted((ours | set(to_add)) - set(to_remove))


async def run_pr_check(
    gh: GitHubAPI,
    db: Database,
    settings: Any,
    *,
    repo: str,
    number: int,
    bot_login: str,
    pr: dict[str, Any] | None = None,
    caches: ServiceCaches | None = None,
    job: str | None = None,
) -> CheckResult | None:
    """Check PR ``number`` and report: check run, sticky comment, labels. None when closed.

    ``pr`` is the pull request object from the webhook payload (saves a call); it is re-read
    before reporting, and a result for a head that moved on is dropped (StaleResult).
    ``job`` names the job this try belongs to (the same on its retries): a retry after the
    run got its result goes on with the comment and labels (bot.prcheck.lifecycle).

    Every run this creates ends completed: an open run the store knows on an older head (or
    of a closed PR) is ended first with the reason, and this try's own run is completed with
    the result, as "could not complete" when the check fails, or as superseded/closed."""
    state = await pr_state.get(db, repo, number)
    payload_head = None if pr is None else str(pr["head"]["sha"])
    if pr is None or state.run_unfinished:
        # A run left open (an interrupted try: this job's own, reclaimed, or an older
        # head's): the PR as it is now decides what becomes of it, before any work.
        with _retry_404(gh):
            pr = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    assert pr is not None
    head_sha = str(pr["head"]["sha"])
    open_here = state.run_unfinished and state.head_sha == head_sha
    if pr.get("state") != "open":
        await lifecycle.end_run(gh, db, state, lifecycle.CLOSED)
        return None
    if state.run_unfinished and state.head_sha != head_sha:
        await lifecycle.end_run(gh, db, state, lifecycle.superseded(head_sha))
    if payload_head not in (None, head_sha) and not open_here:
        # The payload's head was superseded (a reclaimed job, or a late delivery): its run
        # is ended above; the new head's own delivery checks it.
        raise StaleResult(f"{repo}#{number}: head moved from {payload_head[:12]}")
    url = rules_url(settings)
    if lifecycle.reported_by(state, head_sha, job):
        # This job's earlier try completed the run with its result, then failed (comment,
        # labels): the run is final and holds its annotations; finish the rest.
        result, _files_checked = await compute(gh, db, settings, repo, pr, caches)
        latest = await gh.getitem(f"/repos/{repo}/pulls/{number}")
        if latest.get("state") != "open" or str(latest["head"]["sha"]) != head_sha:
            raise StaleResult(f"{repo}#{number}: head moved from {head_sha[:12]} or PR closed")
        await _finish(gh, db, repo, state, result, bot_login, settings, url, latest)
        return result
    run = await lifecycle.open_run(gh, db, state, head_sha, job)
    try:
        result, _files_checked = await compute(gh, db, settings, repo, pr, caches)
    except Exception as exc:
        # Leave no check run spinning: say what failed. The worker retries the job, in a new
        # run (this one is final). If even this fails, the run stays open in the store and
        # the retry reports on it.
        try:
            await lifecycle.end_run(gh, db, state, lifecycle.could_not_complete(exc))
        except Exception as end_exc:
            log.warning("%s#%d: could not end check run %s: %s", repo, number, run.id, end_exc)
        raise
    latest = await gh.getitem(f"/repos/{repo}/pulls/{number}")
    if latest.get("state") != "open" or str(latest["head"]["sha"]) != head_sha:
        # Nothing will check this head again: say why it has no result.
        closed = latest.get("state") != "open"
        reason = lifecycle.CLOSED if closed else lifecycle.superseded(str(latest["head"]["sha"]))
        await lifecycle.end_run(gh, db, state, reason)
        raise StaleResult(f"{repo}#{number}: head moved from {head_sha[:12]} or PR closed")
    await lifecycle.report(
        gh, db, state, run, result, rules_url=url, html_url=settings.html_url, job=job
    )
    await _finish(gh, db, repo, state, result, bot_login, settings, url, latest)
    return result


async def _finish(
    gh: GitHubAPI,
    db: Database,
    repo: str,
    state: pr_state.PrState,
    result: CheckResult,
    bot_login: str,
    settings: Any,
    url: str,
    latest: dict[str, Any],
) -> None:
    """The comment and the labels, after the run got its result; then the result stored."""
    await _report_comment(gh, repo, state, result, bot_login, url, settings.html_url)
    current = {str(label.get("name")) for label in latest.get("labels") or []}
    await _report_labels(gh, repo, state, result, settings, current)
    state.result = result.summary_dict()
    await pr_state.save(db, state)
