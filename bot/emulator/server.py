"""The emulator's HTTP side: GitHub's REST routes over the EmulatorCore state.

Every request goes through ``_serve``: faults, authentication, request validation against the
OpenAPI description, the route handler (under the state lock), response validation, ETag/304,
rate-limit headers, and the request log.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from . import validation
from .archives import DownloadRecord
from .core import MAX_PR_FILES, EmulatorCore, RequestRecord
from .faults import SECONDARY_RATE_LIMIT, error_body
from .pagination import paginate
from .shapes import APP_PERMISSIONS, REACTION_CONTENTS, iso
from .state import CheckRun, Comment, Issue, Repo, ReviewComment

MAX_COMMENT = 65536
MAX_ANNOTATIONS = 50  # per create/update request


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        doc: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(status, message)
        if doc:
            self.body["documentation_url"] = doc
        if errors is not None:
            self.body["errors"] = errors
        self.headers = headers or {}


@dataclass
class Ctx:
    emu: EmulatorCore
    method: str
    path: str
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    installation_id: int | None = None
    app_id: int | None = None
    accept: str = ""

    @property
    def wants_raw(self) -> bool:
        """Accept: application/vnd.github.raw (or the older .v3.raw): the bytes themselves."""
        return any(
            part.split(";")[0].strip()
            in ("application/vnd.github.raw", "application/vnd.github.v3.raw")
            for part in self.accept.split(",")
        )

    @property
    def repo(self) -> Repo:
        r = self.emu.find_repo(self.params["owner"], self.params["repo"])
        if r is None:
            raise ApiError(404)
        if self.installation_id is not None:
            inst = self.emu.installation_record(self.installation_id)
            if inst is None or inst.account.lower() != r.owner.lower():
                raise ApiError(404)  # GitHub hides repositories a token cannot see
        return r

    def obj(self) -> dict[str, Any]:
        """The JSON body as an object (400 otherwise, as GitHub answers)."""
        if not isinstance(self.body, dict):
            raise ApiError(400, "Problems parsing JSON")
        return self.body

    def url(self) -> str:
        return f"{self.emu.api_url}{self.path}"

    def page_url(self) -> str:
        """Base of Link header URLs. For repository routes GitHub links to the id form,
        /repositories/{id}/..., which the emulator serves too."""
        prefix = f"/repos/{self.params.get('owner')}/{self.params.get('repo')}"
        if "owner" in self.params and self.path.startswith(prefix):
            return f"{self.emu.api_url}/repositories/{self.repo.id}{self.path[len(prefix) :]}"
        return self.url()

    def actor(self) -> str:
        if self.installation_id is None:
            raise ApiError(403, "Resource not accessible by integration")
        inst = self.emu.installation_record(self.installation_id)
        assert inst is not None
        return self.emu.app_record(inst.app_id).bot_login


@dataclass
class Resp:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a raw media-type answer (not described by the OpenAPI)


Handler = Callable[[Ctx], Resp]


@dataclass
class Route:
    method: str
    template: str  # the OpenAPI path template
    handler: Handler
    auth: str  # "jwt", "token" or "any"


ROUTES: list[Route] = []


def route(method: str, template: str, auth: str = "token") -> Callable[[Handler], Handler]:
    def deco(fn: Handler) -> Handler:
        ROUTES.append(Route(method, template, fn, auth))
        return fn

    return deco


def _int_param(ctx: Ctx, name: str) -> int:
    try:
        return int(ctx.params[name])
    except ValueError:
        raise ApiError(404) from None


def _issue(ctx: Ctx, name: str = "issue_number") -> tuple[Repo, Issue]:
    r = ctx.repo
    issue = r.issues.get(_int_param(ctx, name))
    if issue is None:
        raise ApiError(404)
    if issue.deleted:
        raise ApiError(410, "This issue was deleted")
    return r, issue


def _pull(ctx: Ctx) -> tuple[Repo, Issue]:
    r = ctx.repo
    issue = r.issues.get(_int_param(ctx, "pull_number"))
    if issue is None or issue.pull is None:
        raise ApiError(404)
    return r, issue


def _paged(ctx: Ctx, items: list[Any]) -> Resp:
    chunk, link = paginate(items, ctx.page_url(), ctx.query)
    return Resp(200, chunk, {"Link": link} if link else {})


def _invalid(resource: str, field_name: str, code: str = "invalid") -> ApiError:
    return ApiError(422, errors=[{"resource": resource, "field": field_name, "code": code}])


# --- apps and installations ------------------------------------------------------------------


@route("GET", "/app", auth="jwt")
def get_app(ctx: Ctx) -> Resp:
    assert ctx.app_id is not None
    return Resp(200, ctx.emu.shapes.app(ctx.app_id, full=True))


@route("GET", "/app/installations", auth="jwt")
def list_installations(ctx: Ctx) -> Resp:
    assert ctx.app_id is not None
    insts = ctx.emu.installations_of(ctx.app_id)
    return _paged(ctx, [ctx.emu.shapes.installation(i) for i in insts])


@route("GET", "/app/installations/{installation_id}", auth="jwt")
def get_installation(ctx: Ctx) -> Resp:
    inst = ctx.emu.installation_record(_int_param(ctx, "installation_id"))
    if inst is None or inst.app_id != ctx.app_id:
        raise ApiError(404)
    return Resp(200, ctx.emu.shapes.installation(inst))


@route("POST", "/app/installations/{installation_id}/access_tokens", auth="jwt")
def create_token(ctx: Ctx) -> Resp:
    inst = ctx.emu.installation_record(_int_param(ctx, "installation_id"))
    if inst is None or inst.app_id != ctx.app_id:
        raise ApiError(404)
    token = ctx.emu.issue_token(inst.id)

    return Resp(
        201,
        {
            "token": token.token,
            "expires_at": iso(token.expires_at),
            "permissions": dict(APP_PERMISSIONS),
            "repository_selection": inst.repository_selection,
        },
    )


@route("GET", "/app/hook/config", auth="jwt")
def hook_config(ctx: Ctx) -> Resp:
    return Resp(
        200,
        {
            "content_type": "json",
            "insecure_ssl": "0",
            "url": ctx.emu.webhook_url or "",
            "secret": "********",
        },
    )


@route("GET", "/app/hook/deliveries", auth="jwt")
def hook_deliveries(ctx: Ctx) -> Resp:
    """The App's delivery attempts, newest first; ``status=failure|success``; cursor pages."""
    emu = ctx.emu
    items = []
    for number, d in enumerate(emu.deliveries, start=1):
        if d.status is None:
            continue  # not attempted yet
        ok = 200 <= d.status < 300
        if ctx.query.get("status") == ("success" if not ok else "failure"):
            continue
        installation = d.payload.get("installation") or {}
        repository = d.payload.get("repository") or {}
        items.append(
            {
                "id": number,
                "guid": d.id,
                "delivered_at": iso(d.delivered_at),
                "redelivery": d.redelivery,
                "duration": 0.01,
                "status": "OK" if ok else f"Invalid HTTP Response: {d.status}",
                "status_code": d.status,
                "event": d.event,
                "action": d.action,
                "installation_id": installation.get("id"),
                "repository_id": repository.get("id"),
            }
        )
    items.reverse()
    per_page = min(max(int(ctx.query.get("per_page") or 30), 1), 100)
    start = int(ctx.query.get("cursor") or 0)
    chunk = items[start : start + per_page]
    headers = {}
    if start + per_page < len(items):
        nxt = f"{emu.api_url}/app/hook/deliveries?per_page={per_page}&cursor={start + per_page}"
        if ctx.query.get("status"):
            nxt += f"&status={ctx.query['status']}"
        headers["Link"] = f'<{nxt}>; rel="next"'
    return Resp(200, chunk, headers)


@route("POST", "/app/hook/deliveries/{delivery_id}/attempts", auth="jwt")
def hook_redeliver(ctx: Ctx) -> Resp:
    try:
        ctx.emu.redeliver_number(int(ctx.params["delivery_id"]))
    except (KeyError, ValueError):
        raise ApiError(404) from None
    return Resp(202, {})


@route("GET", "/repos/{owner}/{repo}/installation", auth="jwt")
def repo_installation(ctx: Ctx) -> Resp:
    r = ctx.emu.find_repo(ctx.params["owner"], ctx.params["repo"])
    inst = ctx.emu.installation_for(r, ctx.app_id) if r else None
    if inst is None:
        raise ApiError(404)
    return Resp(200, ctx.emu.shapes.installation(inst))


@route("GET", "/installation/repositories")
def installation_repositories(ctx: Ctx) -> Resp:
    assert ctx.installation_id is not None
    inst = ctx.emu.installation_record(ctx.installation_id)
    assert inst is not None
    repos = [ctx.emu.shapes.repo(r) for r in ctx.emu.installation_repos(inst)]
    chunk, link = paginate(repos, ctx.page_url(), ctx.query)
    body = {
        "total_count": len(repos),
        "repository_selection": inst.repository_selection,
        "repositories": chunk,
    }
    return Resp(200, body, {"Link": link} if link else {})


@route("GET", "/rate_limit", auth="any")
def rate_limit(ctx: Ctx) -> Resp:
    used = ctx.emu.rate_used(ctx.installation_id)
    reset = int(time.time() // 3600 * 3600 + 3600)
    core = {
        "limit": ctx.emu.rate_limit,
        "remaining": max(ctx.emu.rate_limit - used, 0),
        "reset": reset,
        "used": used,
    }
    other = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
    return Resp(200, {"resources": {"core": core, "search": other}, "rate": core})


# --- repositories and git data --------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}")
def get_repo(ctx: Ctx) -> Resp:
    return Resp(200, ctx.emu.shapes.full_repo(ctx.repo))


def _resolve(ctx: Ctx, r: Repo, ref: str) -> str:
    sha = ctx.emu.resolve(r.full_name, ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


@route("GET", "/repos/{owner}/{repo}/branches/{branch}")
def get_branch(ctx: Ctx) -> Resp:
    r = ctx.repo
    name = ctx.params["branch"]
    sha = r.branches.get(name)
    if sha is None:
        raise ApiError(404, "Branch not found")
    api = f"{ctx.emu.api_url}/repos/{r.full_name}/branches/{name}"
    return Resp(
        200,
        {
            "name": name,
            "commit": ctx.emu.shapes.commit(r.full_name, sha),
            "_links": {"self": api, "html": f"https://github.com/{r.full_name}/tree/{name}"},
            "protected": False,
            "protection": {"enabled": False},
            "protection_url": f"{api}/protection",
        },
    )


@route("GET", "/repos/{owner}/{repo}/git/blobs/{file_sha}")
def get_blob(ctx: Ctx) -> Resp:
    r = ctx.repo
    sha = ctx.params["file_sha"].lower()
    if sha not in ctx.emu.store.blobs:
        raise ApiError(404)
    if ctx.wants_raw:
        return Resp(200, raw=ctx.emu.store.blobs[sha])
    return Resp(200, ctx.emu.shapes.blob(r.full_name, sha))


@route("GET", "/repos/{owner}/{repo}/git/trees/{tree_sha}")
def get_tree(ctx: Ctx) -> Resp:
    r = ctx.repo
    ref = ctx.params["tree_sha"]
    store = ctx.emu.store
    sha = ref.lower()
    if sha not in store.trees:
        commit = ctx.emu.resolve(r.full_name, ref)
        if commit is None:
            raise ApiError(404)
        sha = store.commits[commit].tree
    recursive = ctx.query.get("recursive") not in (None, "", "0", "false")
    entries = store.walk_tree(sha) if recursive else [(e.name, e) for e in store.trees[sha]]
    api = f"{ctx.emu.api_url}/repos/{r.full_name}/git"
    tree = []
    for path, e in entries:
        item: dict[str, Any] = {
            "path": path,
            "mode": e.mode,
            "type": "tree" if e.is_tree else "blob",
            "sha": e.sha,
            "url": f"{api}/{'trees' if e.is_tree else 'blobs'}/{e.sha}",
        }
        if not e.is_tree:
            item["size"] = len(store.blobs[e.sha])
        tree.append(item)
    return Resp(200, {"sha": sha, "url": f"{api}/trees/{sha}", "tree": tree, "truncated": False})


@route("GET", "/repos/{owner}/{repo}/tarball/{ref}")
def get_tarball(ctx: Ctx) -> Resp:
    """302 to the download host (a link with its own short-lived token), as GitHub does."""
    r = ctx.repo
    sha = ctx.emu.resolve(r.full_name, ctx.params["ref"])
    if sha is None:
        raise ApiError(404)
    return Resp(302, None, {"Location": ctx.emu.archives.link(ctx.emu.api_url, r.full_name, sha)})


@route("GET", "/repos/{owner}/{repo}/git/commits/{commit_sha}")
def get_git_commit(ctx: Ctx) -> Resp:
    r = ctx.repo
    sha = ctx.params["commit_sha"].lower()
    if sha not in ctx.emu.store.commits:
        raise ApiError(404)
    return Resp(200, ctx.emu.shapes.git_commit(r.full_name, sha))


@route("GET", "/repos/{owner}/{repo}/git/ref/{ref}")
def get_ref(ctx: Ctx) -> Resp:
    r = ctx.repo
    ref = ctx.params["ref"]
    if not ref.startswith("heads/"):
        raise ApiError(404)
    branch = ref[len("heads/") :]
    if branch not in r.branches:
        raise ApiError(404)
    return Resp(200, ctx.emu.shapes.ref(r.full_name, branch, r.branches[branch]))


@route("GET", "/repos/{owner}/{repo}/commits")
def list_commits(ctx: Ctx) -> Resp:
    r = ctx.repo
    start = _resolve(ctx, r, ctx.query.get("sha") or r.default_branch)
    shas = ctx.emu.store.ancestors(start)
    path = ctx.query.get("path")
    store = ctx.emu.store
    if path:

        def touches(sha: str) -> bool:
            c = store.commits[sha]
            parent = store.commits[c.parents[0]].files if c.parents else {}
            return parent.get(path) != c.files.get(path)

        shas = [s for s in shas if touches(s)]
    shas.sort(key=lambda s: -store.commits[s].timestamp)
    return _paged(ctx, [ctx.emu.shapes.commit(r.full_name, s) for s in shas])


@route("GET", "/repos/{owner}/{repo}/commits/{ref}")
def get_commit(ctx: Ctx) -> Resp:
    r = ctx.repo
    sha = ctx.emu.resolve(r.full_name, ctx.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}")
    return Resp(200, ctx.emu.shapes.commit(r.full_name, sha, files=True))


@route("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls")
def commit_pulls(ctx: Ctx) -> Resp:
    r = ctx.repo
    sha = _resolve(ctx, r, ctx.params["commit_sha"])
    store = ctx.emu.store
    found = []
    for issue in sorted(r.issues.values(), key=lambda i: -i.number):
        p = issue.pull
        if p is None:
            continue
        if p.head_repo.lower() != r.full_name.lower() and not p.merged:
            # A head in a fork is not found from the base repository: GitHub answers [] for
            # a commit that only exists in the fork (the fork-PR re-run reports in issue
            # threads TooTallNate/nx.js#410, HypothesisWorks/hypothesis#4840).
            continue
        if p.merge_commit_sha == sha or (
            sha in store.ancestors(p.head_sha)
            and (issue.state == "open" or p.merged)
            and sha not in store.ancestors(p.base_sha)
        ):
            found.append(ctx.emu.shapes.pull(r, issue, full=False))
    return _paged(ctx, found)


@route("GET", "/repos/{owner}/{repo}/compare/{basehead}")
def compare(ctx: Ctx) -> Resp:
    r = ctx.repo
    base_ref, sep, head_ref = ctx.params["basehead"].partition("...")
    if not sep:
        raise ApiError(404)
    head_repo = r
    if ":" in head_ref:
        owner, _, head_ref = head_ref.partition(":")
        head_repo = (
            next(
                (
                    x
                    for x in ctx.emu.all_repos()
                    if x.owner.lower() == owner.lower()
                    and (x.fork_of or "").lower() == r.full_name.lower()
                ),
                r if owner.lower() == r.owner.lower() else None,
            )
            or r
        )
    base = ctx.emu.resolve(r.full_name, base_ref)
    head = ctx.emu.resolve(head_repo.full_name, head_ref)
    if base is None or head is None:
        raise ApiError(404)
    store = ctx.emu.store
    mb = store.merge_base(base, head) or base
    base_anc = set(store.ancestors(base))
    head_anc = set(store.ancestors(head))
    ahead = [s for s in store.ancestors(head) if s not in base_anc]
    behind = [s for s in store.ancestors(base) if s not in head_anc]
    status = (
        "identical"
        if base == head
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    ahead.sort(key=lambda s: store.commits[s].timestamp)
    changes = ctx.emu.diff_commits(mb, head)
    shapes = ctx.emu.shapes
    html = f"https://github.com/{r.full_name}/compare/{ctx.params['basehead']}"
    return Resp(
        200,
        {
            "url": ctx.url(),
            "html_url": html,
            "permalink_url": f"https://github.com/{r.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": shapes.commit(r.full_name, base),
            "merge_base_commit": shapes.commit(r.full_name, mb),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [shapes.commit(r.full_name, s) for s in ahead[:250]],
            "files": [shapes.diff_entry(r.full_name, head, ch) for ch in changes[:300]],
        },
    )


@route("GET", "/repos/{owner}/{repo}/contents/{path}")
def get_contents(ctx: Ctx) -> Resp:
    r = ctx.repo
    ref = ctx.query.get("ref") or r.default_branch
    sha = ctx.emu.resolve(r.full_name, ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    path = ctx.params["path"].strip("/")
    files = ctx.emu.store.commits[sha].files
    if path in files:
        if ctx.wants_raw:
            return Resp(200, raw=ctx.emu.store.blobs[files[path]])
        return Resp(200, ctx.emu.shapes.content_file(r.full_name, path, files[path], ref))
    prefix = path + "/"
    below = sorted(p for p in files if p.startswith(prefix))
    if not below:
        raise ApiError(404)
    entries: dict[str, dict[str, Any]] = {}
    for p in below:
        rest = p[len(prefix) :]
        name = rest.split("/", 1)[0]
        full = prefix + name
        if "/" in rest:
            entries.setdefault(
                name, {"type": "dir", "name": name, "path": full, "sha": "", "size": 0}
            )
        else:
            shaped = ctx.emu.shapes.content_file(r.full_name, full, files[p], ref)
            shaped.pop("content")
            shaped.pop("encoding")
            entries[name] = shaped
    out = []
    for e in entries.values():
        if e["type"] == "dir":
            api = f"{ctx.emu.api_url}/repos/{r.full_name}/contents/{e['path']}?ref={ref}"
            e.update(
                {
                    "url": api,
                    "git_url": None,
                    "html_url": None,
                    "download_url": None,
                    "_links": {"self": api, "git": None, "html": None},
                }
            )
        out.append(e)
    return Resp(200, out)


# --- pull requests ------------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/pulls")
def list_pulls(ctx: Ctx) -> Resp:
    r = ctx.repo
    state = ctx.query.get("state", "open")
    head = ctx.query.get("head")
    base = ctx.query.get("base")
    out = []
    for issue in sorted(r.issues.values(), key=lambda i: -i.number):
        p = issue.pull
        if p is None or (state != "all" and issue.state != state):
            continue
        if base and p.base_ref != base:
            continue
        if head:
            owner, _, branch = head.partition(":")
            if p.head_repo.split("/")[0].lower() != owner.lower() or (
                branch and p.head_ref != branch
            ):
                continue
        out.append(ctx.emu.shapes.pull(r, issue, full=False))
    return _paged(ctx, out)


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}")
def get_pull(ctx: Ctx) -> Resp:
    r, issue = _pull(ctx)
    return Resp(200, ctx.emu.shapes.pull(r, issue))


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/files")
def pull_files(ctx: Ctx) -> Resp:
    r, issue = _pull(ctx)
    assert issue.pull is not None
    changes = ctx.emu.pull_changes(r.full_name, issue.number)[:MAX_PR_FILES]
    head = issue.pull.head_sha
    return _paged(ctx, [ctx.emu.shapes.diff_entry(r.full_name, head, ch) for ch in changes])


# --- check runs -----------------------------------------------------------------------------------


def _apply_check_fields(ctx: Ctx, run: CheckRun, body: dict[str, Any]) -> None:
    now = ctx.emu.now()
    output = body.get("output")
    if isinstance(output, dict):
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS:
            raise ApiError(
                422,
                "Only 50 annotations are allowed per request",
                errors=[{"resource": "CheckRun", "field": "annotations", "code": "invalid"}],
            )
        for key in ("title", "summary", "text"):
            if key in output:
                run.output[key] = output[key]
        required = ("path", "start_line", "end_line", "annotation_level", "message")
        for a in annotations:
            if not isinstance(a, dict) or any(k not in a for k in required):
                raise _invalid("CheckRun", "annotations", "missing_field")
            run.annotations.append(
                {
                    "path": a["path"],
                    "start_line": a["start_line"],
                    "end_line": a["end_line"],
                    "start_column": a.get("start_column"),
                    "end_column": a.get("end_column"),
                    "annotation_level": a["annotation_level"],
                    "title": a.get("title"),
                    "message": a["message"],
                    "raw_details": a.get("raw_details"),
                    "blob_href": f"https://github.com/{run.repo}/blob/{run.head_sha}/{a['path']}",
                }
            )
    for key in ("name", "external_id", "details_url"):
        if key in body:
            setattr(run, key, body[key])
    if "started_at" in body:
        run.started_at = _parse_time(body["started_at"]) or now
    status = body.get("status")
    conclusion = body.get("conclusion")
    if conclusion is not None:
        status = "completed"
    if status == "completed" and conclusion is None and run.conclusion is None:
        raise ApiError(
            422,
            "Conclusion must be set when status is completed",
            errors=[{"resource": "CheckRun", "field": "conclusion", "code": "missing_field"}],
        )
    if status:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = now
    if run.status == "completed":
        run.completed_at = _parse_time(body.get("completed_at")) or run.completed_at or now
        run.started_at = run.started_at or now


def _parse_time(value: Any) -> int | None:
    if not isinstance(value, str):
        return None

    try:
        return int(dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


@route("POST", "/repos/{owner}/{repo}/check-runs")
def create_check_run(ctx: Ctx) -> Resp:
    r = ctx.repo
    body = ctx.obj()
    if not isinstance(body.get("name"), str) or not body["name"]:
        raise _invalid("CheckRun", "name", "missing_field")
    head_sha = str(body.get("head_sha", ""))
    if head_sha not in ctx.emu.store.commits:
        raise ApiError(422, f"No commit found for SHA: {head_sha}")
    inst = ctx.emu.installation_record(ctx.installation_id or 0)
    assert inst is not None
    run = CheckRun(
        ctx.emu.next_id(),
        r.full_name,
        head_sha,
        str(body.get("name", "")),
        inst.app_id,
        started_at=ctx.emu.now(),
    )
    run.check_suite_id = _suite_id(ctx, r, head_sha, inst.app_id)
    _apply_check_fields(ctx, run, body)
    ctx.emu.add_check_run(run)
    ctx.emu.emit_check_run(r, run, "created", ctx.actor())
    if run.status == "completed":
        ctx.emu.emit_check_run(r, run, "completed", ctx.actor())
    return Resp(201, ctx.emu.shapes.check_run(r, run))


def _suite_id(ctx: Ctx, r: Repo, head_sha: str, app_id: int) -> int:
    return ctx.emu.suite_id(r.full_name, head_sha, app_id)


def _check_run(ctx: Ctx) -> tuple[Repo, CheckRun]:
    r = ctx.repo
    run = ctx.emu.check_run_record(_int_param(ctx, "check_run_id"))
    if run is None or run.repo != r.full_name:
        raise ApiError(404)
    return r, run


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(ctx: Ctx) -> Resp:
    r, run = _check_run(ctx)
    return Resp(200, ctx.emu.shapes.check_run(r, run))


@route("PATCH", "/repos/{owner}/{repo}/check-runs/{check_run_id}")
def update_check_run(ctx: Ctx) -> Resp:
    r, run = _check_run(ctx)
    was_completed = run.status == "completed"
    body = ctx.obj()
    if was_completed and _reopens(run, body):
        # GitHub: once a run is completed neither its status nor its conclusion can change
        # (a re-run is a new check run); its output and annotations can still be updated.
        raise ApiError(
            422,
            "Cannot change the status or conclusion of a completed check run",
            errors=[{"resource": "CheckRun", "field": "status", "code": "invalid"}],
        )
    _apply_check_fields(ctx, run, body)
    if run.status == "completed" and not was_completed:
        ctx.emu.emit_check_run(r, run, "completed", ctx.actor())
    return Resp(200, ctx.emu.shapes.check_run(r, run))


def _reopens(run: CheckRun, body: dict[str, Any]) -> bool:
    """Whether a PATCH ``body`` would change a completed run's status or conclusion."""
    status, conclusion = body.get("status"), body.get("conclusion")
    if status is not None and status != "completed":
        return True
    return conclusion is not None and conclusion != run.conclusion


@route("GET", "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations")
def check_run_annotations(ctx: Ctx) -> Resp:
    _, run = _check_run(ctx)
    return _paged(ctx, [dict(a) for a in run.annotations])


@route("GET", "/repos/{owner}/{repo}/commits/{ref}/check-runs")
def commit_check_runs(ctx: Ctx) -> Resp:
    r = ctx.repo
    sha = _resolve(ctx, r, ctx.params["ref"])
    return _list_check_runs(ctx, r, lambda run: run.head_sha == sha)


@route("GET", "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs")
def suite_check_runs(ctx: Ctx) -> Resp:
    r = ctx.repo
    suite = _int_param(ctx, "check_suite_id")
    if not ctx.emu.has_suite(r.full_name, suite):
        raise ApiError(404)
    return _list_check_runs(ctx, r, lambda run: run.check_suite_id == suite)


def _list_check_runs(ctx: Ctx, r: Repo, select: Callable[[CheckRun], bool]) -> Resp:
    """The check-runs list answer (newest first; ``filter=latest``, the default, keeps the
    newest run per name and App), filtered by check_name and status."""
    name = ctx.query.get("check_name")
    status = ctx.query.get("status")
    runs = [
        run
        for run in reversed(list(ctx.emu.all_check_runs()))
        if run.repo == r.full_name
        and select(run)
        and (name is None or run.name == name)
        and (status is None or run.status == status)
    ]
    if ctx.query.get("filter", "latest") == "latest":
        latest: dict[tuple[str, int], CheckRun] = {}
        for run in runs:
            latest.setdefault((run.name, run.app_id), run)
        runs = list(latest.values())
    shaped = [ctx.emu.shapes.check_run(r, run) for run in runs]
    chunk, link = paginate(shaped, ctx.page_url(), ctx.query)
    return Resp(
        200, {"total_count": len(shaped), "check_runs": chunk}, {"Link": link} if link else {}
    )


# --- issues and comments --------------------------------------------------------------------------


@route("GET", "/repos/{owner}/{repo}/issues")
def list_issues(ctx: Ctx) -> Resp:
    r = ctx.repo
    state = ctx.query.get("state", "open")
    labels = [x for x in ctx.query.get("labels", "").split(",") if x]
    out = []
    for issue in sorted(r.issues.values(), key=lambda i: -i.number):
        if issue.deleted or (state != "all" and issue.state != state):
            continue
        if labels and not all(lbl.lower() in (x.lower() for x in issue.labels) for lbl in labels):
            continue
        out.append(ctx.emu.shapes.issue(r, issue))
    return _paged(ctx, out)


@route("POST", "/repos/{owner}/{repo}/issues")
def create_issue(ctx: Ctx) -> Resp:
    r = ctx.repo
    body = ctx.obj()
    if not isinstance(body.get("title"), (str, int)) or not str(body["title"]).strip():
        raise _invalid("Issue", "title", "missing_field")
    issue = ctx.emu.new_issue(r, str(body["title"]), body.get("body"), ctx.actor())
    ctx.emu.emit_issue(r, issue, "opened", ctx.actor())
    ctx.emu.add_labels(r, issue, [str(x) for x in body.get("labels") or []], ctx.actor())
    shaped = ctx.emu.shapes.issue_detail(r, issue)
    return Resp(201, shaped, {"Location": shaped["url"]})


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}")
def get_issue(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    return Resp(200, ctx.emu.shapes.issue_detail(r, issue))


@route("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}")
def update_issue(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    body = ctx.obj()
    changes: dict[str, Any] = {}
    if "title" in body and body["title"] != issue.title:
        changes["title"] = {"from": issue.title}
        issue.title = str(body["title"])
    if "body" in body and body["body"] != issue.body:
        if body["body"] is not None and len(body["body"]) > MAX_COMMENT:
            raise _invalid("Issue", "body", "custom")
        changes["body"] = {"from": issue.body or ""}
        issue.body = body["body"]
        issue.body_edits.append(issue.body or "")
    state_action = None
    if "state" in body and body["state"] != issue.state:
        if issue.pull and issue.pull.merged:
            raise _invalid("Issue", "state", "custom")
        ctx.emu.set_state(issue, body["state"], body.get("state_reason"), by=ctx.actor())
        state_action = "closed" if issue.state == "closed" else "reopened"
    if "labels" in body:
        for name in list(issue.labels):
            ctx.emu.remove_label(r, issue, name, ctx.actor())
        ctx.emu.add_labels(r, issue, [str(x) for x in body["labels"] or []], ctx.actor())
    issue.updated_at = ctx.emu.now()
    for action in ("edited", state_action):
        if action is None or (action == "edited" and not changes):
            continue
        extra = {"changes": changes} if action == "edited" else {}
        if issue.pull is None:
            ctx.emu.emit_issue(r, issue, action, ctx.actor(), **extra)
        else:
            ctx.emu.emit_pull(r, issue, action, ctx.actor(), **extra)
    return Resp(200, ctx.emu.shapes.issue_detail(r, issue))


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def list_comments(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    return _paged(
        ctx, [ctx.emu.shapes.comment(r, ctx.emu.comment_by_id(c)) for c in issue.comment_ids]
    )


def _comment_body(ctx: Ctx) -> str:
    body = ctx.body.get("body") if isinstance(ctx.body, dict) else None
    if not isinstance(body, str) or not body.strip():
        raise _invalid("IssueComment", "body", "missing_field")
    if len(body) > MAX_COMMENT:
        raise ApiError(
            422,
            "Body is too long (maximum is 65536 characters)",
            errors=[
                {
                    "resource": "IssueComment",
                    "field": "data",
                    "code": "invalid",
                    "message": "Body is too long (maximum is 65536 characters)",
                }
            ],
        )
    return body


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments")
def create_comment(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    body = _comment_body(ctx)
    if issue.locked:
        raise ApiError(
            403,
            "Unable to create comment because issue is locked.",
            doc="https://docs.github.com/articles/locking-conversations/",
        )
    inst = ctx.emu.installation_record(ctx.installation_id or 0)
    c = ctx.emu.add_comment(
        r.full_name, issue.number, ctx.actor(), body, app_id=inst.app_id if inst else None
    )
    return Resp(
        201,
        ctx.emu.shapes.comment(r, c),
        {"Location": f"{ctx.emu.api_url}/repos/{r.full_name}/issues/comments/{c.id}"},
    )


def _comment(ctx: Ctx) -> tuple[Repo, Comment]:
    r = ctx.repo
    c = ctx.emu.comment_record(r.full_name, _int_param(ctx, "comment_id"))
    if c is None:
        raise ApiError(404)
    return r, c


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def get_comment(ctx: Ctx) -> Resp:
    r, c = _comment(ctx)
    return Resp(200, ctx.emu.shapes.comment(r, c))


@route("PATCH", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def update_comment(ctx: Ctx) -> Resp:
    r, c = _comment(ctx)
    body = _comment_body(ctx)
    if r.issues[c.issue_number].locked:
        raise ApiError(403, "Unable to update comment because issue is locked.")
    if body != c.body:
        ctx.emu.update_comment(c, body, ctx.actor())
    return Resp(200, ctx.emu.shapes.comment(r, c))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}")
def delete_comment(ctx: Ctx) -> Resp:
    _, c = _comment(ctx)
    ctx.emu.remove_comment(c, ctx.actor())
    return Resp(204)


@route("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def list_reactions(ctx: Ctx) -> Resp:
    _, c = _comment(ctx)
    content = ctx.query.get("content")
    items = [x for x in c.reactions if content in (None, x.content)]
    return _paged(ctx, [ctx.emu.shapes.reaction(x) for x in items])


@route("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions")
def create_reaction(ctx: Ctx) -> Resp:
    _, c = _comment(ctx)
    content = ctx.body.get("content") if isinstance(ctx.body, dict) else None
    if content not in REACTION_CONTENTS:
        raise _invalid("Reaction", "content")
    x, created = ctx.emu.add_reaction(c, ctx.actor(), str(content))
    return Resp(201 if created else 200, ctx.emu.shapes.reaction(x))


@route("DELETE", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}")
def delete_reaction(ctx: Ctx) -> Resp:
    _, c = _comment(ctx)
    rid = _int_param(ctx, "reaction_id")
    c.reactions[:] = [x for x in c.reactions if x.id != rid]
    return Resp(204)


# --- pull request review comments ----------------------------------------------------------------


def _since_filter(ctx: Ctx) -> int | None:
    since = ctx.query.get("since")
    if since is None:
        return None
    when = _parse_time(since)
    if when is None:
        raise _invalid("ReviewComment", "since")
    return when


@route("GET", "/repos/{owner}/{repo}/pulls/{pull_number}/comments")
def list_review_comments(ctx: Ctx) -> Resp:
    r, issue = _pull(ctx)
    since = _since_filter(ctx)
    items = [
        c
        for c in ctx.emu.review_comments_of(r.full_name, issue.number)
        if since is None or c.updated_at >= since
    ]
    if ctx.query.get("direction", "asc") == "desc":
        items.reverse()
    return _paged(ctx, [ctx.emu.shapes.review_comment(r, c) for c in items])


@route("POST", "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies")
def reply_review_comment(ctx: Ctx) -> Resp:
    r, issue = _pull(ctx)
    parent = ctx.emu.review_comment_record(r.full_name, _int_param(ctx, "comment_id"))
    # "This must be the ID of a top-level review comment, not a reply to that comment.
    # Replies to replies are not supported." (REST description; it documents only 201, 404)
    if parent is None or parent.pull_number != issue.number or parent.in_reply_to is not None:
        raise ApiError(404)
    body = _comment_body(ctx)
    if issue.locked:
        raise ApiError(403, "Unable to create comment because issue is locked.")
    inst = ctx.emu.installation_record(ctx.installation_id or 0)
    c = ctx.emu.add_review_comment(
        r.full_name,
        issue.number,
        ctx.actor(),
        body,
        in_reply_to=parent.id,
        app_id=inst.app_id if inst else None,
    )
    shaped = ctx.emu.shapes.review_comment(r, c)
    return Resp(201, shaped, {"Location": shaped["url"]})


def _review_comment(ctx: Ctx) -> tuple[Repo, ReviewComment]:
    r = ctx.repo
    c = ctx.emu.review_comment_record(r.full_name, _int_param(ctx, "comment_id"))
    if c is None:
        raise ApiError(404)
    return r, c


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def get_review_comment(ctx: Ctx) -> Resp:
    r, c = _review_comment(ctx)
    return Resp(200, ctx.emu.shapes.review_comment(r, c))


@route("PATCH", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def update_review_comment(ctx: Ctx) -> Resp:
    r, c = _review_comment(ctx)
    body = _comment_body(ctx)
    if body != c.body:
        ctx.emu.update_review_comment(c, body, ctx.actor())
    return Resp(200, ctx.emu.shapes.review_comment(r, c))


@route("DELETE", "/repos/{owner}/{repo}/pulls/comments/{comment_id}")
def delete_review_comment(ctx: Ctx) -> Resp:
    _, c = _review_comment(ctx)
    ctx.emu.remove_review_comment(c, ctx.actor())
    return Resp(204)


@route("GET", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
def list_review_reactions(ctx: Ctx) -> Resp:
    _, c = _review_comment(ctx)
    content = ctx.query.get("content")
    items = [x for x in c.reactions if content in (None, x.content)]
    return _paged(ctx, [ctx.emu.shapes.reaction(x) for x in items])


@route("POST", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions")
def create_review_reaction(ctx: Ctx) -> Resp:
    _, c = _review_comment(ctx)
    content = ctx.body.get("content") if isinstance(ctx.body, dict) else None
    if content not in REACTION_CONTENTS:
        raise _invalid("Reaction", "content")
    x, created = ctx.emu.add_reaction(c, ctx.actor(), str(content))
    return Resp(201 if created else 200, ctx.emu.shapes.reaction(x))


@route("DELETE", "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions/{reaction_id}")
def delete_review_reaction(ctx: Ctx) -> Resp:
    _, c = _review_comment(ctx)
    rid = _int_param(ctx, "reaction_id")
    c.reactions[:] = [x for x in c.reactions if x.id != rid]
    return Resp(204)


# --- labels ---------------------------------------------------------------------------------------


def _label_names(ctx: Ctx) -> list[str]:
    body = ctx.body
    labels = body.get("labels") if isinstance(body, dict) else body
    if not isinstance(labels, list):
        raise _invalid("Label", "labels", "missing_field")
    names = []
    for x in labels:
        name = x.get("name") if isinstance(x, dict) else x
        if not isinstance(name, str) or not name.strip():
            raise _invalid("Label", "name")
        names.append(name)
    return names


def _issue_labels(ctx: Ctx, r: Repo, issue: Issue) -> list[dict[str, Any]]:
    return [ctx.emu.shapes.label(r, r.labels[n.lower()]) for n in issue.labels]


@route("GET", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def list_issue_labels(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    return _paged(ctx, _issue_labels(ctx, r, issue))


@route("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def add_issue_labels(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    ctx.emu.add_labels(r, issue, _label_names(ctx), ctx.actor())
    return Resp(200, _issue_labels(ctx, r, issue))


@route("PUT", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def set_issue_labels(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    names = _label_names(ctx)
    for name in list(issue.labels):
        if name.lower() not in (n.lower() for n in names):
            ctx.emu.remove_label(r, issue, name, ctx.actor())
    ctx.emu.add_labels(r, issue, names, ctx.actor())
    return Resp(200, _issue_labels(ctx, r, issue))


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels")
def clear_issue_labels(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    for name in list(issue.labels):
        ctx.emu.remove_label(r, issue, name, ctx.actor())
    return Resp(204)


@route("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}")
def remove_issue_label(ctx: Ctx) -> Resp:
    r, issue = _issue(ctx)
    if not ctx.emu.remove_label(r, issue, ctx.params["name"], ctx.actor()):
        raise ApiError(404, "Label does not exist")
    return Resp(200, _issue_labels(ctx, r, issue))


@route("GET", "/repos/{owner}/{repo}/labels")
def list_labels(ctx: Ctx) -> Resp:
    r = ctx.repo
    return _paged(ctx, [ctx.emu.shapes.label(r, lbl) for lbl in r.labels.values()])


_COLOR = re.compile(r"^[0-9a-fA-F]{6}$")


@route("POST", "/repos/{owner}/{repo}/labels")
def create_label(ctx: Ctx) -> Resp:
    r = ctx.repo
    body = ctx.obj()
    if not isinstance(body.get("name"), str) or not body["name"].strip():
        raise _invalid("Label", "name", "missing_field")
    name = body["name"]
    if name.lower() in r.labels:
        raise ApiError(
            422, errors=[{"resource": "Label", "code": "already_exists", "field": "name"}]
        )
    color = str(body.get("color") or "ededed").lstrip("#")
    if not _COLOR.match(color):
        raise _invalid("Label", "color")
    label = ctx.emu.create_label(r.full_name, name, color, body.get("description"))
    shaped = ctx.emu.shapes.label(r, label)
    return Resp(201, shaped, {"Location": shaped["url"]})


def _label(ctx: Ctx) -> tuple[Repo, Any]:
    r = ctx.repo
    label = r.labels.get(ctx.params["name"].lower())
    if label is None:
        raise ApiError(404)
    return r, label


@route("GET", "/repos/{owner}/{repo}/labels/{name}")
def get_label(ctx: Ctx) -> Resp:
    r, label = _label(ctx)
    return Resp(200, ctx.emu.shapes.label(r, label))


@route("PATCH", "/repos/{owner}/{repo}/labels/{name}")
def update_label(ctx: Ctx) -> Resp:
    r, label = _label(ctx)
    body = ctx.obj()
    if "color" in body:
        color = str(body["color"]).lstrip("#")
        if not _COLOR.match(color):
            raise _invalid("Label", "color")
        label.color = color
    if "description" in body:
        label.description = body["description"]
    new_name = body.get("new_name")
    if new_name and new_name != label.name:
        if new_name.lower() in r.labels and new_name.lower() != label.name.lower():
            raise ApiError(
                422, errors=[{"resource": "Label", "code": "already_exists", "field": "name"}]
            )
        del r.labels[label.name.lower()]
        for issue in r.issues.values():
            issue.labels = [new_name if n == label.name else n for n in issue.labels]
        label.name = new_name
        r.labels[new_name.lower()] = label
    return Resp(200, ctx.emu.shapes.label(r, label))


@route("DELETE", "/repos/{owner}/{repo}/labels/{name}")
def delete_label(ctx: Ctx) -> Resp:
    r, label = _label(ctx)
    del r.labels[label.name.lower()]
    for issue in r.issues.values():
        issue.labels = [n for n in issue.labels if n != label.name]
    return Resp(204)


# --- collaborators ----------------------------------------------------------------------

_LEGACY_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
    "none": "none",
}


@route("GET", "/repos/{owner}/{repo}/collaborators/{username}/permission")
def collaborator_permission(ctx: Ctx) -> Resp:
    r = ctx.repo
    login = ctx.params["username"]
    if not ctx.emu.has_user(login):
        raise ApiError(404, f"{login} is not a user")
    level = ctx.emu.permission_of(r, login)
    user = ctx.emu.shapes.user(login)
    user["permissions"] = {
        "pull": level != "none",
        "triage": level in ("triage", "write", "maintain", "admin"),
        "push": level in ("write", "maintain", "admin"),
        "maintain": level in ("maintain", "admin"),
        "admin": level == "admin",
    }
    user["role_name"] = level
    return Resp(
        200,
        {"permission": _LEGACY_PERMISSION[level], "role_name": level, "user": user},
    )


# --- the request pipeline ------------------------------------------------------------


def _aiohttp_path(template: str) -> str:
    # Parameters that may hold slashes match greedily; the rest one segment each.
    for suffix in ("/contents/{path}", "/git/ref/{ref}", "/compare/{basehead}", "/tarball/{ref}"):
        if template.endswith(suffix):
            name = suffix.rsplit("{", 1)[1].rstrip("}")
            template = template[: -len(name) - 2] + "{" + name + ":.+}"
    return template


def _authenticate(
    emu: EmulatorCore, request: web.Request, kind: str
) -> tuple[int | None, int | None]:
    """(installation id, app id) of the caller; raises 401 when the route needs more."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    if scheme.lower() not in ("token", "bearer") or not credential:
        if kind == "any":
            return None, None
        raise ApiError(401, "Requires authentication")
    if credential.count(".") == 2:  # a JWT
        if kind == "token":
            raise ApiError(
                401 if kind == "token" else 403,
                "A JSON web token could not be decoded",
            )
        return None, _verify_jwt(emu, credential)
    if kind == "jwt":
        raise ApiError(401, "A JSON web token could not be decoded")
    token = emu.token_record(credential)
    if token is None or token.expires_at <= emu.clock():
        raise ApiError(401, "Bad credentials")
    return token.installation_id, None


def _verify_jwt(emu: EmulatorCore, credential: str) -> int:
    try:
        claims = jwt.decode(credential, options={"verify_signature": False})
        iss = str(claims.get("iss", ""))
    except jwt.PyJWTError:
        raise ApiError(401, "A JSON web token could not be decoded") from None
    app = next((a for a in emu.apps() if iss in (str(a.id), a.client_id)), None)
    if app is None:
        raise ApiError(401, "Integration not found")
    try:
        claims = jwt.decode(
            credential,
            emu.public_key(app.id),
            algorithms=["RS256"],
            options={"require": ["exp", "iat", "iss"]},
            leeway=60,
        )
    except jwt.ExpiredSignatureError:
        raise ApiError(
            401,
            "'Expiration time' claim ('exp') must be a numeric value representing the future "
            "time at which the assertion expires",
        ) from None
    except jwt.PyJWTError:
        raise ApiError(401, "A JSON web token could not be decoded") from None
    if int(claims["exp"]) - int(claims["iat"]) > 600 + 60:
        raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
    return app.id


def _rate_headers(emu: EmulatorCore, inst_id: int | None, *, count: bool) -> dict[str, str]:
    used = emu.rate_used(inst_id)
    if count:
        used, _ = emu.count_rate(inst_id)
    return {
        "x-ratelimit-limit": str(emu.rate_limit),
        "x-ratelimit-remaining": str(max(emu.rate_limit - used, 0)),
        "x-ratelimit-reset": str(int(time.time() // 3600 * 3600 + 3600)),
        "x-ratelimit-used": str(used),
        "x-ratelimit-resource": "core",
    }


def _json_response(status: int, body: Any, headers: dict[str, str]) -> web.Response:
    """``body``: JSON-able data, or its encoded bytes."""
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(
        status=status,
        body=body if isinstance(body, bytes) else json.dumps(body).encode(),
        content_type="application/json",
        charset="utf-8",
        headers=headers,
    )


def make_app(emu: EmulatorCore) -> web.Application:
    app = web.Application(client_max_size=50 * 1024**2)

    def endpoint(rt: Route) -> Callable[[web.Request], Any]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await _serve(emu, rt, request)

        return handle

    for rt in ROUTES:
        app.router.add_route(rt.method, _aiohttp_path(rt.template), endpoint(rt))
        if rt.template.startswith(_REPO_PREFIX):
            by_id = "/repositories/{repo_id}" + rt.template[len(_REPO_PREFIX) :]
            app.router.add_route(rt.method, _aiohttp_path(by_id), endpoint(rt))

    async def not_found(request: web.Request) -> web.StreamResponse:
        now = emu.clock()
        # GitHub answers 404 too, but a client calling a route the emulator lacks is worth
        # knowing about: tests assert validation_errors is empty.
        await request.read()
        emu.validation_errors.append(
            f"no such route in the emulator: {request.method} {request.path}"
        )
        emu.requests.append(
            RequestRecord(request.method, request.path, dict(request.query), 404, None, now, now)
        )
        return _json_response(404, error_body(404), {})

    async def download(request: web.Request) -> web.StreamResponse:
        """The download host: a tarball behind a link the API handed out (no API token)."""
        host = emu.archives
        repo = f"{request.match_info['owner']}/{request.match_info['repo']}"
        sha = request.match_info["sha"]
        status = 200
        try:
            if not host.valid(request.query.get("token", ""), repo, sha):
                status = 404
                return web.Response(status=404, text="Not Found")
            with emu.lock:
                data = host.archive(emu.store, repo, sha)
            resp = web.StreamResponse(
                headers={
                    "Content-Type": "application/x-gzip",
                    "Content-Disposition": f"attachment; filename={repo.replace('/', '-')}"
                    f"-{sha[:7]}.tar.gz",
                }
            )
            await resp.prepare(request)
            for i in range(0, len(data), 256 * 1024):
                await resp.write(data[i : i + 256 * 1024])
            await resp.write_eof()
            return resp
        finally:
            host.downloads.append(
                DownloadRecord(request.path, status, "Authorization" in request.headers)
            )

    app.router.add_get("/{owner}/{repo}/legacy.tar.gz/{sha}", download)
    app.router.add_route("*", "/{tail:.*}", not_found)
    return app


_REPO_PREFIX = "/repos/{owner}/{repo}"


def _canonical(emu: EmulatorCore, request: web.Request, params: dict[str, str]) -> str:
    """/repositories/{id}/rest -> /repos/{owner}/{repo}/rest (params gain owner and repo)."""
    repo_id = params.pop("repo_id", None)
    if repo_id is None:
        return request.path
    repo = next((r for r in emu.all_repos() if str(r.id) == repo_id), None)
    if repo is None:
        raise ApiError(404)
    params["owner"], params["repo"] = repo.owner, repo.name
    rest = request.path.split("/", 3)[3] if request.path.count("/") >= 3 else ""
    return f"/repos/{repo.owner}/{repo.name}" + (f"/{rest}" if rest else "")


async def _serve(emu: EmulatorCore, rt: Route, request: web.Request) -> web.StreamResponse:
    arrived = emu.clock()
    raw = await request.read()
    query = {k: v for k, v in request.query.items()}
    params = dict(request.match_info)
    path = request.path  # canonical /repos/{owner}/{repo}/... form once resolved
    inst_id: int | None = None
    headers: dict[str, str] = {
        "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
        "X-GitHub-Media-Type": "github.v3; format=json",
        "X-GitHub-Api-Version-Selected": "2022-11-28",
    }
    status = 500
    spath = rt.template
    try:
        path = _canonical(emu, request, params)
        spath = validation.spec_path(rt.template, params)
        fault = emu.faults.take(request.method, path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.before is not None:
                with emu.lock:
                    fault.before()
            if fault.status is not None:
                extra = {}
                if fault.retry_after is not None:
                    extra["Retry-After"] = str(fault.retry_after)
                raise ApiError(fault.status, fault.message, headers=extra)
        inst_id, app_id = _authenticate(emu, request, rt.auth)
        if rt.template != "/rate_limit" and emu.rate_used(inst_id) >= emu.rate_limit:
            who = f"installation ID {inst_id}" if inst_id else "this app"
            raise ApiError(
                403,
                f"API rate limit exceeded for {who}. If you reach out to GitHub Support for "
                "help, please include the request ID.",
                doc="https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
                "#about-primary-rate-limits",
            )
        if emu.write_limit is not None and request.method in ("POST", "PATCH", "PUT", "DELETE"):
            most, window = emu.write_limit
            since = emu.clock() - window
            recent = [t for t in emu.write_times(inst_id) if t > since]
            if inst_id is not None and len(recent) >= most:
                # GitHub's content-creation limit answers without Retry-After.
                raise ApiError(403, SECONDARY_RATE_LIMIT)
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ApiError(400, "Problems parsing JSON") from None
        if emu.validate:
            problem = validation.check_request(
                rt.method, spath, query, raw, request.headers.get("Content-Type")
            )
            if problem:
                emu.validation_errors.append(problem)
                raise ApiError(422, f"Invalid request.\n\n{problem}")
        ctx = Ctx(
            emu,
            rt.method,
            request.path,
            params,
            query,
            body,
            inst_id,
            app_id,
            request.headers.get("Accept", ""),
        )
        with emu.lock:
            resp = rt.handler(ctx)
        status = resp.status
        if resp.raw is not None:
            headers["ETag"] = '"' + hashlib.sha256(resp.raw).hexdigest() + '"'
            headers.update(_rate_headers(emu, inst_id, count=True))
            return web.Response(
                status=status,
                body=resp.raw,
                headers=headers,
                content_type="application/vnd.github.raw",
            )
        payload = None if resp.body is None else json.dumps(resp.body).encode()
        if emu.validate and 200 <= status < 300:
            problem = validation.check_response(rt.method, spath, query, status, payload or b"")
            if problem:
                emu.validation_errors.append(problem)
        headers.update(resp.headers)
        if status in (200, 201) and payload is not None:
            etag = 'W/"' + hashlib.sha256(payload).hexdigest() + '"'
            headers["ETag"] = etag
            headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            headers["Vary"] = "Accept, Authorization, Cookie, X-GitHub-OTP"
            if rt.method == "GET" and _etag_matches(request.headers.get("If-None-Match"), etag):
                # 304s are free: they do not count against the rate limit
                headers.update(_rate_headers(emu, inst_id, count=False))
                status = 304
                return web.Response(status=304, headers=headers)
        headers.update(_rate_headers(emu, inst_id, count=True))
        return _json_response(status, payload, headers)
    except ApiError as err:
        status = err.status
        if emu.validate and status != 400:
            # error bodies too, where the description documents that status for the route
            problem = validation.check_response(
                rt.method, spath, query, status, json.dumps(err.body).encode()
            )
            if problem and "ResponseNotFound" not in problem:
                emu.validation_errors.append(problem)
        # failed authentication and exhausted budgets do not count
        headers.update(
            _rate_headers(
                emu,
                inst_id,
                count=status != 401 and emu.rate_used(inst_id) < emu.rate_limit,
            )
        )
        headers.update(err.headers)
        return _json_response(status, err.body, headers)
    except asyncio.CancelledError:
        status = 499  # the client went away (nginx's code): logged, not answered
        raise
    except Exception as exc:  # a handler bug: answer like GitHub's 500, keep the detail
        status = 500
        emu.validation_errors.append(
            f"emulator error on {request.method} {request.path}: {type(exc).__name__}: {exc}"
        )
        return _json_response(500, error_body(500), headers)
    finally:
        emu.requests.append(
            RequestRecord(request.method, path, query, status, inst_id, arrived, emu.clock())
        )


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    strong = etag[2:]
    return any(tag.strip() in (etag, strong, "*") for tag in header.split(","))


__all__ = ["ROUTES", "ApiError", "make_app"]
