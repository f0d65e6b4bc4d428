"""JSON representations of the emulator's records, shaped like GitHub's REST responses.

Field sets follow the OpenAPI schemas (simple-user, full-repository, pull-request, issue,
issue-comment, check-run, ...) so responses validate against the vendored description; the
same objects are embedded in webhook payloads, as GitHub does.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, Protocol
from urllib.parse import quote

from .gitobjects import FileChange, ObjectStore
from .state import (
    AppRecord,
    CheckRun,
    Comment,
    Installation,
    Issue,
    Label,
    Reaction,
    Repo,
    ReviewComment,
    User,
)

HTML = "https://github.com"


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


CONTENTS_INLINE_LIMIT = 1024 * 1024

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")


class ShapeSource(Protocol):
    """What shaping needs from the emulator's state (EmulatorCore provides it); a protocol, so
    this module does not import core.py, which imports it."""

    api_url: str
    store: ObjectStore

    def now(self) -> int: ...
    def user_record(self, login: str) -> User: ...
    def repo_record(self, full_name: str) -> Repo: ...
    def app_record(self, app_id: int) -> AppRecord: ...
    def installations_of(self, app_id: int) -> list[Installation]: ...
    def pull_changes(self, repo: str, number: int) -> list[FileChange]: ...
    def pull_commit_count(self, repo: str, number: int) -> int: ...
    def diff_commits(self, old: str | None, new: str) -> list[FileChange]: ...


class Shapes:
    def __init__(self, emu: ShapeSource) -> None:
        self.emu = emu

    def iso_now(self) -> str:
        return iso(self.emu.now()) or ""

    @property
    def api(self) -> str:
        return self.emu.api_url

    def user(self, login: str) -> dict[str, Any]:
        u = self.emu.user_record(login)
        api = f"{self.api}/users/{login}"
        return {
            "login": u.login,
            "id": u.id,
            "node_id": node_id("User", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": api,
            "html_url": f"{HTML}/{login}",
            "followers_url": f"{api}/followers",
            "following_url": f"{api}/following{{/other_user}}",
            "gists_url": f"{api}/gists{{/gist_id}}",
            "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/subscriptions",
            "organizations_url": f"{api}/orgs",
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events{{/privacy}}",
            "received_events_url": f"{api}/received_events",
            "type": u.type,
            "site_admin": False,
        }

    def repo(self, r: Repo) -> dict[str, Any]:
        api = f"{self.api}/repos/{r.full_name}"
        html = f"{HTML}/{r.full_name}"
        open_issues = sum(1 for i in r.issues.values() if i.state == "open" and not i.deleted)
        out: dict[str, Any] = {
            "id": r.id,
            "node_id": node_id("Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": r.private,
            "owner": self.user(r.owner),
            "html_url": html,
            "description": None,
            "fork": r.fork_of is not None,
            "url": api,
        }
        for key, suffix in _REPO_URLS:
            out[key] = f"{api}{suffix}"
        out.update(
            {
                "created_at": iso(r.created_at),
                "updated_at": iso(r.pushed_at or r.created_at),
                "pushed_at": iso(r.pushed_at or r.created_at),
                "git_url": f"git://github.com/{r.full_name}.git",
                "ssh_url": f"git@github.com:{r.full_name}.git",
                "clone_url": f"{html}.git",
                "svn_url": html,
                "homepage": None,
                "size": 0,
                "stargazers_count": 0,
                "watchers_count": 0,
                "language": "C",
                "has_issues": True,
                "has_projects": True,
                "has_downloads": True,
                "has_wiki": True,
                "has_pages": False,
                "has_discussions": False,
                "forks_count": 0,
                "mirror_url": None,
                "archived": False,
                "disabled": False,
                "open_issues_count": open_issues,
                "license": None,
                "allow_forking": True,
                "is_template": False,
                "web_commit_signoff_required": False,
                "topics": [],
                "visibility": "private" if r.private else "public",
                "forks": 0,
                "open_issues": open_issues,
                "watchers": 0,
                "default_branch": r.default_branch,
                "custom_properties": {},
            }
        )
        return out

    def full_repo(self, r: Repo) -> dict[str, Any]:
        """GET /repos/{owner}/{repo}: the embedded form plus counts, parent and permissions."""
        out = self.repo(r)
        out.update(
            {
                "allow_auto_merge": False,
                "allow_merge_commit": True,
                "allow_rebase_merge": True,
                "allow_squash_merge": True,
                "allow_update_branch": False,
                "delete_branch_on_merge": False,
                "use_squash_pr_title_as_default": False,
                "temp_clone_token": "",
                "network_count": 0,
                "subscribers_count": 0,
            }
        )
        if self.emu.user_record(r.owner).type == "Organization":
            out["organization"] = self.user(r.owner)
        if r.fork_of:
            parent = self.emu.repo_record(r.fork_of)
            out["parent"] = self.repo(parent)
            out["source"] = out["parent"]
        out["permissions"] = {
            "admin": False,
            "maintain": False,
            "push": False,
            "triage": False,
            "pull": True,
        }
        return out

    def app(self, app_id: int, *, full: bool = False) -> dict[str, Any]:
        """The App as embedded in check runs and comments; ``full`` for GET /app."""
        app = self.emu.app_record(app_id)
        out: dict[str, Any] = {
            "id": app.id,
            "slug": app.slug,
            "node_id": node_id("Integration", app.id),
            "owner": self.user(app.owner),
            "name": app.name or app.slug,
            "description": "",
            "external_url": f"https://{app.slug}.example",
            "html_url": f"{HTML}/apps/{app.slug}",
            "created_at": iso(0),
            "updated_at": iso(0),
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
        }
        if full:
            out["client_id"] = app.client_id
            out["installations_count"] = len(self.emu.installations_of(app.id))
        return out

    def installation(self, inst: Installation) -> dict[str, Any]:
        account = self.emu.user_record(inst.account)
        app = self.emu.app_record(inst.app_id)
        return {
            "id": inst.id,
            "account": self.user(inst.account),
            "repository_selection": inst.repository_selection,
            "access_tokens_url": f"{self.api}/app/installations/{inst.id}/access_tokens",
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{HTML}/settings/installations/{inst.id}",
            "app_id": inst.app_id,
            "app_slug": app.slug,
            "target_id": account.id,
            "target_type": "Organization" if account.type == "Organization" else "User",
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
            "created_at": iso(inst.created_at),
            "updated_at": iso(inst.created_at),
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    def label(self, r: Repo, label: Label) -> dict[str, Any]:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{self.api}/repos/{r.full_name}/labels/{quote(label.name, safe='')}",
            "name": label.name,
            "description": label.description,
            "color": label.color,
            "default": label.default,
        }

    def reaction_rollup(self, url: str, reactions: list[Reaction]) -> dict[str, Any]:
        out: dict[str, Any] = {"url": url, "total_count": len(reactions)}
        for content in REACTION_CONTENTS:
            out[content] = sum(1 for x in reactions if x.content == content)
        return out

    def reaction(self, x: Reaction) -> dict[str, Any]:
        return {
            "id": x.id,
            "node_id": node_id("Reaction", x.id),
            "user": self.user(x.user),
            "content": x.content,
            "created_at": iso(x.created_at),
        }

    def author_association(self, r: Repo, login: str) -> str:
        if login == r.owner:
            return "OWNER"
        level = r.permissions.get(login)
        if level in ("write", "maintain", "admin"):
            return (
                "MEMBER"
                if self.emu.user_record(r.owner).type == "Organization"
                else ("COLLABORATOR")
            )
        if level in ("read", "triage"):
            return "COLLABORATOR"
        return (
            "CONTRIBUTOR"
            if any(i.user == login and i.pull and i.pull.merged for i in r.issues.values())
            else "NONE"
        )

    def issue(self, r: Repo, i: Issue) -> dict[str, Any]:
        api = f"{self.api}/repos/{r.full_name}/issues/{i.number}"
        kind = "pull" if i.pull else "issues"
        out: dict[str, Any] = {
            "url": api,
            "repository_url": f"{self.api}/repos/{r.full_name}",
            "labels_url": f"{api}/labels{{/name}}",
            "comments_url": f"{api}/comments",
            "events_url": f"{api}/events",
            "html_url": f"{HTML}/{r.full_name}/{kind}/{i.number}",
            "id": i.id,
            "node_id": node_id("Issue", i.id),
            "number": i.number,
            "title": i.title,
            "user": self.user(i.user),
            "labels": [self.label(r, r.labels[n.lower()]) for n in i.labels],
            "state": i.state,
            "state_reason": i.state_reason,
            "locked": i.locked,
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "comments": len(i.comment_ids),
            "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at),
            "closed_at": iso(i.closed_at),
            "author_association": self.author_association(r, i.user),
            "active_lock_reason": None,
            "body": i.body,
            "reactions": self.reaction_rollup(f"{api}/reactions", []),
            "timeline_url": f"{api}/timeline",
            "performed_via_github_app": None,
        }
        if i.pull:
            pulls = f"{self.api}/repos/{r.full_name}/pulls/{i.number}"
            out["pull_request"] = {
                "url": pulls,
                "html_url": f"{HTML}/{r.full_name}/pull/{i.number}",
                "diff_url": f"{HTML}/{r.full_name}/pull/{i.number}.diff",
                "patch_url": f"{HTML}/{r.full_name}/pull/{i.number}.patch",
                "merged_at": iso(i.pull.merged_at),
            }
            out["draft"] = i.pull.draft
        return out

    def issue_detail(self, r: Repo, i: Issue) -> dict[str, Any]:
        """A single issue from the REST API: the list form plus ``closed_by`` (webhooks and
        lists do not carry it)."""
        out = self.issue(r, i)
        out["closed_by"] = self.user(i.closed_by) if i.closed_by else None
        return out

    def comment(self, r: Repo, c: Comment) -> dict[str, Any]:
        api = f"{self.api}/repos/{r.full_name}/issues/comments/{c.id}"
        issue = r.issues[c.issue_number]
        kind = "pull" if issue.pull else "issues"
        return {
            "url": api,
            "html_url": f"{HTML}/{r.full_name}/{kind}/{c.issue_number}#issuecomment-{c.id}",
            "issue_url": f"{self.api}/repos/{r.full_name}/issues/{c.issue_number}",
            "id": c.id,
            "node_id": node_id("IssueComment", c.id),
            "user": self.user(c.user),
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "author_association": self.author_association(r, c.user),
            "body": c.body,
            "reactions": self.reaction_rollup(f"{api}/reactions", c.reactions),
            "performed_via_github_app": self.app(c.app_id) if c.app_id else None,
        }

    def review_comment(self, r: Repo, c: ReviewComment) -> dict[str, Any]:
        """A pull request review comment (REST ``pull-request-review-comment``)."""
        api = f"{self.api}/repos/{r.full_name}/pulls/comments/{c.id}"
        html = f"{HTML}/{r.full_name}/pull/{c.pull_number}#discussion_r{c.id}"
        pull_api = f"{self.api}/repos/{r.full_name}/pulls/{c.pull_number}"
        out: dict[str, Any] = {
            "url": api,
            "pull_request_review_id": c.review_id,
            "id": c.id,
            "node_id": node_id("PullRequestReviewComment", c.id),
            "diff_hunk": f"@@ -{c.line},1 +{c.line},1 @@",
            "path": c.path,
            "position": 1,
            "original_position": 1,
            "commit_id": c.commit_id,
            "original_commit_id": c.commit_id,
            "user": self.user(c.user),
            "body": c.body,
            "created_at": iso(c.created_at),
            "updated_at": iso(c.updated_at),
            "html_url": html,
            "pull_request_url": pull_api,
            "author_association": self.author_association(r, c.user),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "pull_request": {"href": pull_api},
            },
            "start_line": None,
            "original_start_line": None,
            "start_side": None,
            "line": c.line,
            "original_line": c.line,
            "side": "RIGHT",
            "subject_type": "line",
            "reactions": self.reaction_rollup(f"{api}/reactions", c.reactions),
        }
        if c.in_reply_to is not None:
            out["in_reply_to_id"] = c.in_reply_to
        if c.app_id is not None:
            out["performed_via_github_app"] = self.app(c.app_id)
        return out

    def check_suite(
        self, r: Repo, suite_id: int, head_sha: str, app_id: int, runs: list[CheckRun]
    ) -> dict[str, Any]:
        """A check suite as webhooks carry it. ``pull_requests`` lists the open PRs whose head
        is this commit in this repository: GitHub leaves it empty for heads in a fork."""
        statuses = {run.status for run in runs}
        if not runs:
            status = "queued"
        elif statuses == {"completed"}:
            status = "completed"
        else:
            status = "in_progress" if "in_progress" in statuses else "queued"
        conclusion = None
        if status == "completed":
            order = ("action_required", "cancelled", "timed_out", "failure", "neutral", "success")
            found = {run.conclusion for run in runs}
            conclusion = next((c for c in order if c in found), "success")
        branch = next((b for b, s in r.branches.items() if s == head_sha), None)
        c = self.emu.store.commits.get(head_sha)
        api = f"{self.api}/repos/{r.full_name}/check-suites/{suite_id}"
        times = [t for run in runs for t in (run.started_at, run.completed_at) if t is not None]
        ident = {"name": c.author if c else "", "email": f"{c.author if c else ''}@example.com"}
        return {
            "id": suite_id,
            "node_id": node_id("CheckSuite", suite_id),
            "head_branch": branch,
            "head_sha": head_sha,
            "status": status,
            "conclusion": conclusion,
            "url": api,
            "before": c.parents[0] if c and c.parents else None,
            "after": head_sha,
            "pull_requests": self.pulls_with_head(r, head_sha),
            "app": self.app(app_id),
            "created_at": iso(min(times, default=self.emu.now())),
            "updated_at": iso(max(times, default=self.emu.now())),
            "latest_check_runs_count": len({run.name for run in runs}),
            "check_runs_url": f"{api}/check-runs",
            "head_commit": {
                "id": head_sha,
                "tree_id": c.tree if c else "",
                "message": c.message if c else "",
                "timestamp": iso(c.timestamp if c else 0),
                "author": ident,
                "committer": ident,
            },
        }

    def pulls_with_head(self, r: Repo, head_sha: str) -> list[dict[str, Any]]:
        """The ``pull_requests`` of a check run or suite: open PRs of ``r`` whose head is
        ``head_sha`` on a branch of ``r`` itself. A head in a fork is never listed (REST
        checks/create: "Pushes to a branch in a forked repository are not detected and return
        an empty ``pull_requests`` array")."""
        return [
            self.pull_minimal(r, i)
            for i in r.issues.values()
            if i.pull
            and i.pull.head_sha == head_sha
            and i.state == "open"
            and i.pull.head_repo.lower() == r.full_name.lower()
        ]

    def branch_ref(self, repo_name: str, ref: str, sha: str) -> dict[str, Any]:
        r = self.emu.repo_record(repo_name)
        return {
            "label": f"{r.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(r.owner),
            "repo": self.repo(r),
        }

    def pull(self, r: Repo, i: Issue, *, full: bool = True) -> dict[str, Any]:
        assert i.pull is not None
        p = i.pull
        api = f"{self.api}/repos/{r.full_name}/pulls/{i.number}"
        html = f"{HTML}/{r.full_name}/pull/{i.number}"
        issue_api = f"{self.api}/repos/{r.full_name}/issues/{i.number}"
        out: dict[str, Any] = {
            "url": api,
            "id": i.id,
            "node_id": node_id("PullRequest", i.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_api,
            "number": i.number,
            "state": i.state,
            "locked": i.locked,
            "title": i.title,
            "user": self.user(i.user),
            "body": i.body,
            "created_at": iso(i.created_at),
            "updated_at": iso(i.updated_at),
            "closed_at": iso(i.closed_at),
            "merged_at": iso(p.merged_at),
            "merge_commit_sha": p.merge_commit_sha,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self.label(r, r.labels[n.lower()]) for n in i.labels],
            "milestone": None,
            "draft": p.draft,
            "commits_url": f"{api}/commits",
            "review_comments_url": f"{api}/comments",
            "review_comment_url": f"{self.api}/repos/{r.full_name}/pulls/comments{{/number}}",
            "comments_url": f"{issue_api}/comments",
            "statuses_url": f"{self.api}/repos/{r.full_name}/statuses/{p.head_sha}",
            "head": self.branch_ref(p.head_repo, p.head_ref, p.head_sha),
            "base": self.branch_ref(r.full_name, p.base_ref, p.base_sha),
            "_links": {
                "self": {"href": api},
                "html": {"href": html},
                "issue": {"href": issue_api},
                "comments": {"href": f"{issue_api}/comments"},
                "review_comments": {"href": f"{api}/comments"},
                "review_comment": {
                    "href": f"{self.api}/repos/{r.full_name}/pulls/comments{{/number}}"
                },
                "commits": {"href": f"{api}/commits"},
                "statuses": {"href": f"{self.api}/repos/{r.full_name}/statuses/{p.head_sha}"},
            },
            "author_association": self.author_association(r, i.user),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if full:
            changes = self.emu.pull_changes(r.full_name, i.number)
            out.update(
                {
                    "merged": p.merged,
                    "mergeable": None if p.merged else True,
                    "rebaseable": None if p.merged else True,
                    "mergeable_state": "unknown" if p.merged else "clean",
                    "merged_by": self.user(p.merged_by) if p.merged_by else None,
                    "comments": len(i.comment_ids),
                    "review_comments": 0,
                    "maintainer_can_modify": False,
                    "commits": self.emu.pull_commit_count(r.full_name, i.number),
                    "additions": sum(c.additions for c in changes),
                    "deletions": sum(c.deletions for c in changes),
                    "changed_files": len(changes),
                }
            )
        return out

    def pull_minimal(self, r: Repo, i: Issue) -> dict[str, Any]:
        """The short form embedded in check runs."""
        assert i.pull is not None
        head = self.emu.repo_record(i.pull.head_repo)
        return {
            "id": i.id,
            "number": i.number,
            "url": f"{self.api}/repos/{r.full_name}/pulls/{i.number}",
            "head": {
                "ref": i.pull.head_ref,
                "sha": i.pull.head_sha,
                "repo": {
                    "id": head.id,
                    "url": f"{self.api}/repos/{head.full_name}",
                    "name": head.name,
                },
            },
            "base": {
                "ref": i.pull.base_ref,
                "sha": i.pull.base_sha,
                "repo": {"id": r.id, "url": f"{self.api}/repos/{r.full_name}", "name": r.name},
            },
        }

    def check_run(self, r: Repo, c: CheckRun) -> dict[str, Any]:
        api = f"{self.api}/repos/{r.full_name}/check-runs/{c.id}"
        output = c.output
        pulls = self.pulls_with_head(r, c.head_sha)
        return {
            "id": c.id,
            "head_sha": c.head_sha,
            "node_id": node_id("CheckRun", c.id),
            "external_id": c.external_id or "",
            "url": api,
            "html_url": f"{HTML}/{r.full_name}/runs/{c.id}",
            "details_url": c.details_url or f"{HTML}/{r.full_name}/runs/{c.id}",
            "status": c.status,
            "conclusion": c.conclusion,
            "started_at": iso(c.started_at),
            "completed_at": iso(c.completed_at),
            "output": {
                "title": output.get("title"),
                "summary": output.get("summary"),
                "text": output.get("text"),
                "annotations_count": len(c.annotations),
                "annotations_url": f"{api}/annotations",
            },
            "name": c.name,
            "check_suite": {"id": c.check_suite_id},
            "app": self.app(c.app_id),
            "pull_requests": pulls,
        }

    # --- git data -----------------------------------------------------------------------

    def git_user(self, login: str, ts: int) -> dict[str, Any]:
        return {
            "name": login,
            "email": f"{login}@users.noreply.github.com",
            "date": iso(ts),
        }

    def git_commit(self, repo_name: str, sha: str) -> dict[str, Any]:
        c = self.emu.store.commits[sha]
        base = f"{self.api}/repos/{repo_name}/git"
        return {
            "sha": c.sha,
            "node_id": node_id("Commit", c.sha),
            "url": f"{base}/commits/{c.sha}",
            "html_url": f"{HTML}/{repo_name}/commit/{c.sha}",
            "author": self.git_user(c.author, c.timestamp),
            "committer": self.git_user(c.author, c.timestamp),
            "tree": {"sha": c.tree, "url": f"{base}/trees/{c.tree}"},
            "message": c.message,
            "parents": [
                {
                    "sha": p,
                    "url": f"{base}/commits/{p}",
                    "html_url": f"{HTML}/{repo_name}/commit/{p}",
                }
                for p in c.parents
            ],
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def commit(self, repo_name: str, sha: str, *, files: bool = False) -> dict[str, Any]:
        c = self.emu.store.commits[sha]
        api = f"{self.api}/repos/{repo_name}"
        git = self.git_commit(repo_name, sha)
        inner = {
            "url": git["url"],
            "author": git["author"],
            "committer": git["committer"],
            "message": c.message,
            "tree": git["tree"],
            "comment_count": 0,
            "verification": git["verification"],
        }
        out: dict[str, Any] = {
            "url": f"{api}/commits/{sha}",
            "sha": sha,
            "node_id": git["node_id"],
            "html_url": git["html_url"],
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": inner,
            "author": self.user(c.author),
            "committer": self.user(c.author),
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{HTML}/{repo_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }
        if files:
            changes = self.emu.diff_commits(c.parents[0] if c.parents else None, sha)
            out["files"] = [self.diff_entry(repo_name, sha, ch) for ch in changes]
            out["stats"] = {
                "additions": sum(ch.additions for ch in changes),
                "deletions": sum(ch.deletions for ch in changes),
                "total": sum(ch.additions + ch.deletions for ch in changes),
            }
        return out

    def diff_entry(self, repo_name: str, ref: str, ch: Any) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sha": ch.sha,
            "filename": ch.filename,
            "status": ch.status,
            "additions": ch.additions,
            "deletions": ch.deletions,
            "changes": ch.additions + ch.deletions,
            "blob_url": f"{HTML}/{repo_name}/blob/{ref}/{ch.filename}",
            "raw_url": f"{HTML}/{repo_name}/raw/{ref}/{ch.filename}",
            "contents_url": f"{self.api}/repos/{repo_name}/contents/{ch.filename}?ref={ref}",
        }
        if ch.patch is not None:
            out["patch"] = ch.patch
        if ch.previous_filename is not None:
            out["previous_filename"] = ch.previous_filename
        return out

    def blob(self, repo_name: str, sha: str) -> dict[str, Any]:
        data = self.emu.store.blobs[sha]
        return {
            "sha": sha,
            "node_id": node_id("Blob", sha),
            "size": len(data),
            "url": f"{self.api}/repos/{repo_name}/git/blobs/{sha}",
            "content": base64.encodebytes(data).decode("ascii"),
            "encoding": "base64",
        }

    def content_file(self, repo_name: str, path: str, sha: str, ref: str) -> dict[str, Any]:
        data = self.emu.store.blobs[sha]
        api = f"{self.api}/repos/{repo_name}/contents/{path}?ref={ref}"
        git = f"{self.api}/repos/{repo_name}/git/blobs/{sha}"
        html = f"{HTML}/{repo_name}/blob/{ref}/{path}"
        # Over 1 MB the contents API leaves the content out (clients use the blob API).
        small = len(data) <= CONTENTS_INLINE_LIMIT
        return {
            "type": "file",
            "encoding": "base64" if small else "none",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": base64.encodebytes(data).decode("ascii") if small else "",
            "sha": sha,
            "url": api,
            "git_url": git,
            "html_url": html,
            "download_url": f"https://raw.githubusercontent.com/{repo_name}/{ref}/{path}",
            "_links": {"self": api, "git": git, "html": html},
        }

    def ref(self, repo_name: str, branch: str, sha: str) -> dict[str, Any]:
        ref = f"refs/heads/{branch}"
        return {
            "ref": ref,
            "node_id": node_id("Ref", f"{repo_name}:{ref}"),
            "url": f"{self.api}/repos/{repo_name}/git/{ref}",
            "object": {
                "type": "commit",
                "sha": sha,
                "url": f"{self.api}/repos/{repo_name}/git/commits/{sha}",
            },
        }


APP_PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
APP_EVENTS = (
    "check_run",
    "check_suite",
    "issue_comment",
    "issues",
    "pull_request",
    "pull_request_review_comment",
    "push",
)

_REPO_URLS = (
    ("forks_url", "/forks"),
    ("keys_url", "/keys{/key_id}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("teams_url", "/teams"),
    ("hooks_url", "/hooks"),
    ("issue_events_url", "/issues/events{/number}"),
    ("events_url", "/events"),
    ("assignees_url", "/assignees{/user}"),
    ("branches_url", "/branches{/branch}"),
    ("tags_url", "/tags"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("trees_url", "/git/trees{/sha}"),
    ("statuses_url", "/statuses/{sha}"),
    ("languages_url", "/languages"),
    ("stargazers_url", "/stargazers"),
    ("contributors_url", "/contributors"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("commits_url", "/commits{/sha}"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("comments_url", "/comments{/number}"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("contents_url", "/contents/{+path}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("merges_url", "/merges"),
    ("archive_url", "/{archive_format}{/ref}"),
    ("downloads_url", "/downloads"),
    ("issues_url", "/issues{/number}"),
    ("pulls_url", "/pulls{/number}"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("labels_url", "/labels{/name}"),
    ("releases_url", "/releases{/id}"),
    ("deployments_url", "/deployments"),
)
