"""Every GitHub REST call the bot makes (bot/, outside the emulator), as data.

docs/github-api.md shows the same table for people; tests/fidelity/test_rest_calls.py checks
this one against the source (no call missing), against GitHub's REST description (path,
parameters, body) and against the documented response schemas (every field read exists; a
field the description marks optional or nullable is marked ``?`` here, meaning the code reads
it with a guard: ``.get()``, ``or {}``, isinstance).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SHA = "0123456789abcdef0123456789abcdef01234567"
SHA2 = "89abcdef0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class Call:
    method: str
    template: str  # the path as GitHub's REST description names it
    example: str  # a concrete path as the bot builds it (percent-encoding included)
    where: str  # the bot module(s) making it
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None
    status: int = 200  # the success status whose schema the reads are checked against
    reads: tuple[str, ...] = ()  # dotted response fields; "[]" steps into arrays; "?" guarded
    auth: str = "installation"  # or "jwt" (App routes)


CALLS: tuple[Call, ...] = (
    Call(
        "POST",
        "/app/installations/{installation_id}/access_tokens",
        "/app/installations/42/access_tokens",
        "github/app.py",
        status=201,
        reads=("token", "expires_at?"),
        auth="jwt",
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/installation",
        "/repos/python/cpython/installation",
        "github/app.py",
        reads=("id",),
        auth="jwt",
    ),
    Call("GET", "/app", "/app", "github/app.py", reads=("slug?",), auth="jwt"),
    Call(
        "GET",
        "/app/hook/deliveries",
        "/app/hook/deliveries",
        "service/redelivery.py",
        query={"per_page": "100"},
        reads=("[].guid", "[].id", "[].status_code", "[].delivered_at"),
        auth="jwt",
    ),
    Call(
        "POST",
        "/app/hook/deliveries/{delivery_id}/attempts",
        "/app/hook/deliveries/12345/attempts",
        "service/redelivery.py",
        status=202,
        auth="jwt",
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}",
        "/repos/python/cpython",
        "tracking/pipeline.py",
        reads=("default_branch",),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/commits/{ref}",
        "/repos/python/cpython/commits/main",
        "tracking/pipeline.py",
        reads=("sha", "commit.message", "commit.committer?.date?", "author?.login"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
        f"/repos/python/cpython/commits/{SHA}/pulls",
        "tracking/pipeline.py, prcheck/router.py",
        reads=("[].number", "[].state", "[].merged_at?", "[].merge_commit_sha?", "[].user?.login"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/compare/{basehead}",
        f"/repos/python/cpython/compare/{SHA}...{SHA2}",
        "prcheck/run.py, tracking/pipeline.py",
        query={"per_page": "1"},
        reads=("status", "merge_base_commit.sha", "merge_base_commit.commit.tree.sha"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/git/commits/{commit_sha}",
        f"/repos/python/cpython/git/commits/{SHA}",
        "tracking/pipeline.py, tracking/tree_sync.py",
        reads=("message", "author.name", "committer.date"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/git/trees/{tree_sha}",
        f"/repos/python/cpython/git/trees/{SHA}",
        "github/gitdata.py",
        query={"recursive": "1"},
        reads=("truncated", "tree.[].path", "tree.[].sha", "tree.[].type"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/git/blobs/{file_sha}",
        f"/repos/python/cpython/git/blobs/{SHA}",
        "github/gitdata.py",
        reads=("content", "encoding"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/tarball/{ref}",
        f"/repos/python/cpython/tarball/{SHA}",
        "github/gitdata.py",
        status=302,
        reads=(),
    ),  # the redirect is not followed: its Location is downloaded without the token
    Call(
        "GET",
        "/repos/{owner}/{repo}/contents/{path}",
        "/repos/python/cpython/contents/Modules%2F_abc.c",
        "github/gitdata.py",
        query={"ref": SHA},
        reads=(),
    ),  # a oneOf (file/dir/symlink): reads type, sha guarded
    Call(
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}",
        "/repos/python/cpython/pulls/7",
        "prcheck/run.py, summary/open_prs.py, summary/weekly.py",
        reads=(
            "number",
            "state",
            "title",
            "draft?",
            "user.login",
            "head.sha",
            "base.sha",
            "labels.[].name",
        ),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/files",
        "/repos/python/cpython/pulls/7/files",
        "prcheck/run.py",
        query={"per_page": "100"},
        reads=("[].filename", "[].status", "[].previous_filename?", "[].sha?", "[].patch?"),
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/check-runs",
        "/repos/python/cpython/check-runs",
        "prcheck/lifecycle.py",
        status=201,
        body={
            "name": "isolation",
            "head_sha": SHA,
            "status": "in_progress",
            "external_id": "python/cpython#7",
        },
        reads=("id",),
    ),
    Call(
        "PATCH",
        "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        "/repos/python/cpython/check-runs/5",
        "prcheck/lifecycle.py",
        body={
            "status": "completed",
            "conclusion": "neutral",
            "output": {"title": "Superseded", "summary": "moved on"},
        },
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        "/repos/python/cpython/check-runs/5",
        "prcheck/lifecycle.py",
        reads=("status", "conclusion?"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/commits/{ref}/check-runs",
        f"/repos/python/cpython/commits/{SHA}/check-runs",
        "prcheck/lifecycle.py",
        query={
            "check_name": "isolation",
            "status": "in_progress",
            "filter": "all",
            "per_page": "100",
        },
        reads=("check_runs.[].id", "check_runs.[].external_id?"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs",
        "/repos/python/cpython/check-suites/5/check-runs",
        "prcheck/router.py",
        query={"check_name": "isolation", "filter": "all", "per_page": "100"},
        reads=("check_runs.[].external_id?",),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        "/repos/python/cpython/issues/7/comments",
        "prcheck/run.py, commands/runner.py, summary/weekly.py",
        query={"per_page": "100", "since": "2026-11-27T12:00:00Z"},
        reads=("[].id", "[].body?", "[].user?.login", "[].html_url"),
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/comments",
        "/repos/python/cpython/issues/7/comments",
        "prcheck/run.py, commands/runner.py, summary/weekly.py",
        status=201,
        body={"body": "<!-- isolation-bot -->\nhello"},
        reads=("id", "html_url"),
    ),
    Call(
        "PATCH",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}",
        "/repos/python/cpython/issues/comments/99",
        "prcheck/run.py",
        body={"body": "<!-- isolation-bot -->\nupdated"},
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels",
        "/repos/python/cpython/issues/7/labels",
        "prcheck/run.py",
        body={"labels": ["topic-subinterpreters", "isolation: regression"]},
    ),
    Call(
        "DELETE",
        "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        "/repos/python/cpython/issues/7/labels/isolation%3A%20regression",
        "prcheck/run.py",
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
        "/repos/python/cpython/issues/comments/99/reactions",
        "commands/runner.py",
        status=201,
        body={"content": "eyes"},
        reads=("id",),
    ),
    Call(
        "DELETE",
        "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}",
        "/repos/python/cpython/issues/comments/99/reactions/3",
        "commands/runner.py",
        status=204,
    ),
    # commands in review comments: reactions on the review comment, the reply in its thread
    Call(
        "GET",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments",
        "/repos/python/cpython/pulls/7/comments",
        "commands/runner.py",
        query={"per_page": "100", "since": "2026-11-27T12:00:00Z"},
        reads=("[].body", "[].user?.login"),
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies",
        "/repos/python/cpython/pulls/7/comments/99/replies",
        "commands/runner.py",
        status=201,
        body={"body": "<!-- isolation-bot:reply:99:0123456789abcdef -->\nreply"},
    ),
    Call(
        "POST",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions",
        "/repos/python/cpython/pulls/comments/99/reactions",
        "commands/runner.py",
        status=201,
        body={"content": "eyes"},
        reads=("id",),
    ),
    Call(
        "DELETE",
        "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions/{reaction_id}",
        "/repos/python/cpython/pulls/comments/99/reactions/3",
        "commands/runner.py",
        status=204,
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/collaborators/{username}/permission",
        "/repos/python/cpython/collaborators/some-user/permission",
        "github/permissions.py",
        reads=("permission", "role_name?"),
    ),
    Call(
        "GET",
        "/repos/{owner}/{repo}/issues/{issue_number}",
        "/repos/python/cpython/issues/1",
        "tracking/meta_issue.py",
        reads=("body?", "locked?"),
    ),
    Call(
        "PATCH",
        "/repos/{owner}/{repo}/issues/{issue_number}",
        "/repos/python/cpython/issues/1",
        "tracking/meta_issue.py",
        body={"body": "people's text\n<!-- isolation-bot:start -->"},
    ),
)

# cli/admin.py (``doctor``, ``setup-labels``) goes through PyGithub, not gidgethub:
# the App, its installation on the repository, an installation token, the repository, the meta
# issue, and the labels (listed, created, edited). Listed in docs/github-api.md.
PYGITHUB_CALLS: tuple[tuple[str, str], ...] = (
    ("GET", "/app"),
    ("GET", "/repos/{owner}/{repo}/installation"),
    ("POST", "/app/installations/{installation_id}/access_tokens"),
    ("GET", "/repos/{owner}/{repo}"),
    ("GET", "/repos/{owner}/{repo}/issues/{issue_number}"),
    ("GET", "/repos/{owner}/{repo}/labels"),
    ("POST", "/repos/{owner}/{repo}/labels"),
    ("PATCH", "/repos/{owner}/{repo}/labels/{name}"),
)
