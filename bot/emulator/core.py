"""EmulatorCore: the state machine (repositories, pull requests, issues, checks), its driver
API for tests and the demo, and webhook delivery. It knows nothing of HTTP serving: server.py
builds the REST routes over it and serving.py adds ``serve()`` (GitHubEmulator)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from multidict import CIMultiDict

from . import validation, webhooks
from .archives import ArchiveHost
from .faults import FaultSet
from .gitobjects import FileChange, ObjectStore, diff_files
from .shapes import Shapes, node_id
from .state import (
    PERMISSION_LEVELS,
    AppRecord,
    CheckRun,
    Comment,
    Installation,
    Issue,
    Label,
    PullInfo,
    Reaction,
    Repo,
    ReviewComment,
    Token,
    User,
)

MAX_PR_FILES = 3000  # GitHub lists at most 3000 files of a pull request
TOKEN_LIFETIME = 3600.0


class EmulatorError(Exception):
    """A driver call that makes no sense for the current state (a test bug)."""


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int
    installation_id: int | None
    # When the request arrived and when it was answered (the emulator's clock, epoch
    # seconds): tests read the pacing of writes from them (``EmulatorCore.write_times``).
    at: float = 0.0
    answered_at: float = 0.0


@dataclass
class _Key:
    pem: str
    public: Any


_KEY_CACHE: list[_Key] = []


def _private_key() -> _Key:
    # RSA key generation costs ~50 ms; tests create many emulators, one key is enough.
    if not _KEY_CACHE:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        ).decode()
        _KEY_CACHE.append(_Key(pem, key.public_key()))
    return _KEY_CACHE[0]


class EmulatorCore:
    """A stateful GitHub: drive it from tests, read what the bot did. Serving it over HTTP is
    GitHubEmulator's part (serving.py)."""

    def __init__(self, *, validate: bool = True, clock: Callable[[], float] = time.time) -> None:
        if validate:
            validation.require()  # ValidationUnavailable now, not a 500 at the first request
        self.validate = validate
        self.clock = clock
        self.api_url = "https://api.github.com"
        self.webhook_url: str | None = None
        self.token_lifetime = TOKEN_LIFETIME
        self.rate_limit = 5000
        # GitHub's secondary limit on content creation (80 writes a minute): (most, seconds)
        # per installation, answered 403 without Retry-After; None: not modelled.
        self.write_limit: tuple[int, float] | None = None
        self.faults = FaultSet()
        self.store = ObjectStore()
        self.archives = ArchiveHost()  # the download host of repository archives
        self.shapes = Shapes(self)
        self.requests: list[RequestRecord] = []
        self.validation_errors: list[str] = []
        self.deliveries: list[webhooks.Delivery] = []
        self.lock = threading.RLock()
        self._ids = 1000
        self._users: dict[str, User] = {}
        self._apps: dict[int, AppRecord] = {}
        self._public_keys: dict[int, Any] = {}
        self._installations: dict[int, Installation] = {}
        self._tokens: dict[str, Token] = {}
        self._repos: dict[str, Repo] = {}
        self._comments: dict[int, Comment] = {}
        self._check_runs: dict[int, CheckRun] = {}
        self._review_comments: dict[int, ReviewComment] = {}
        self._suites: dict[tuple[str, str, int], int] = {}  # (repo, head sha, app id) -> id
        self._rate_used: dict[int | None, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[webhooks.Delivery] | None = None
        self._pending: list[webhooks.Delivery] = []
        self._loop_thread: int | None = None
        self._diff_cache: dict[tuple[str, str], list[FileChange]] = {}

    # --- ids, time, lookups --------------------------------------------------------------

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def now(self) -> int:
        return int(self.clock())

    def add_user(self, login: str, type: str = "User") -> User:
        with self.lock:
            if login not in self._users:
                self._users[login] = User(login, self.next_id(), type)
            return self._users[login]

    def user_record(self, login: str) -> User:
        return self._users.get(login) or self.add_user(login)

    def repo_record(self, full_name: str) -> Repo:
        try:
            return self._repos[full_name.lower()]
        except KeyError:
            raise EmulatorError(f"no repository {full_name}") from None

    def find_repo(self, owner: str, name: str) -> Repo | None:
        return self._repos.get(f"{owner}/{name}".lower())

    def app_record(self, app_id: int) -> AppRecord:
        return self._apps[app_id]

    def apps(self) -> list[AppRecord]:
        return list(self._apps.values())

    def public_key(self, app_id: int) -> Any:
        return self._public_keys.get(app_id)

    def installations_of(self, app_id: int) -> list[Installation]:
        return [i for i in self._installations.values() if i.app_id == app_id]

    def installation_record(self, inst_id: int) -> Installation | None:
        return self._installations.get(inst_id)

    def installation_for(self, repo: Repo, app_id: int | None = None) -> Installation | None:
        for inst in self._installations.values():
            if inst.account.lower() == repo.owner.lower() and app_id in (None, inst.app_id):
                return inst
        return None

    def installation_repos(self, inst: Installation) -> list[Repo]:
        return [r for r in self._repos.values() if r.owner.lower() == inst.account.lower()]

    def issue_record(self, repo: str, number: int) -> Issue:
        r = self.repo_record(repo)
        try:
            return r.issues[number]
        except KeyError:
            raise EmulatorError(f"no issue {repo}#{number}") from None

    # --- apps, installations, tokens ------------------------------------------------------

    def register_app(self, slug: str = "isolation-bot", *, owner: str = "python") -> AppRecord:
        with self.lock:
            key = _private_key()
            app = AppRecord(
                id=self.next_id(),
                slug=slug,
                private_key_pem=key.pem,
                webhook_secret=secrets.token_hex(16),
                name=slug,
                owner=owner,
            )
            self._apps[app.id] = app
            self._public_keys[app.id] = key.public
            self.add_user(owner, type="Organization")
            self.add_user(app.bot_login, type="Bot")
            return app

    def install(self, app: AppRecord, account: str) -> int:
        with self.lock:
            if account not in self._users:
                self.add_user(account, type="Organization")
            inst = Installation(self.next_id(), app.id, account, self.now())
            self._installations[inst.id] = inst
            self._emit(
                "installation",
                {
                    "action": "created",
                    "installation": self.shapes.installation(inst),
                    "repositories": [
                        {
                            "id": r.id,
                            "node_id": self.shapes.repo(r)["node_id"],
                            "name": r.name,
                            "full_name": r.full_name,
                            "private": r.private,
                        }
                        for r in self.installation_repos(inst)
                    ],
                    "sender": self.shapes.user(account),
                },
                app=app,
            )
            return inst.id

    def issue_token(self, inst_id: int) -> Token:
        with self.lock:
            token = Token(
                "ghs_" + secrets.token_urlsafe(27)[:36], inst_id, self.clock() + self.token_lifetime
            )
            self._tokens[token.token] = token
            return token

    def token_record(self, token: str) -> Token | None:
        return self._tokens.get(token)

    def expire_tokens(self) -> None:
        """Make every issued installation token expired (tests of token refresh)."""
        with self.lock:
            for token in self._tokens.values():
                token.expires_at = self.clock() - 1

    def rate_used(self, inst_id: int | None) -> int:
        """Requests counted against this installation's (None: the App's) budget."""
        return self._rate_used.get(inst_id, 0)

    def all_check_runs(self) -> list[CheckRun]:
        return list(self._check_runs.values())

    def all_repos(self) -> list[Repo]:
        return list(self._repos.values())

    def has_user(self, login: str) -> bool:
        return login in self._users

    def comment_by_id(self, comment_id: int) -> Comment:
        return self._comments[comment_id]

    def reset_rate_limits(self) -> None:
        """A new rate-limit window: every budget is full again."""
        with self.lock:
            self._rate_used.clear()

    def count_rate(self, inst_id: int | None) -> tuple[int, int]:
        """Count one request against the caller's budget; (used, remaining)."""
        used = self._rate_used.get(inst_id, 0) + 1
        self._rate_used[inst_id] = used
        return used, max(self.rate_limit - used, 0)

    # --- repositories and git -------------------------------------------------------------

    def create_repo(
        self, full_name: str, default_branch: str = "main", *, private: bool = False
    ) -> Repo:
        with self.lock:
            owner, _, name = full_name.partition("/")
            if not name:
                raise EmulatorError(f"repository name must be owner/name: {full_name!r}")
            if full_name.lower() in self._repos:
                raise EmulatorError(f"repository {full_name} exists")
            self.user_record(owner)
            repo = Repo(owner, name, self.next_id(), default_branch, self.now(), private=private)
            for label, color, text in (
                ("bug", "d73a4a", "Something isn't working"),
                ("documentation", "0075ca", "Improvements or additions to documentation"),
            ):
                repo.labels[label] = Label(self.next_id(), label, color, text, True)
            self._repos[full_name.lower()] = repo
            return repo

    def fork(self, full_name: str, owner: str) -> str:
        with self.lock:
            parent = self.repo_record(full_name)
            name = f"{owner}/{parent.name}"
            fork = self.create_repo(name, parent.default_branch, private=parent.private)
            fork.fork_of = parent.full_name
            fork.branches = dict(parent.branches)
            return fork.full_name

    def resolve(self, repo: str, ref: str) -> str | None:
        """A branch name, refs/heads/ name, or (a prefix of) a commit sha -> commit sha."""
        r = self.repo_record(repo)
        if ref.startswith("refs/heads/"):
            ref = ref[len("refs/heads/") :]
        if ref in r.branches:
            return r.branches[ref]
        if len(ref) >= 7 and all(c in "0123456789abcdef" for c in ref.lower()):
            for sha in self.store.commits:
                if sha.startswith(ref.lower()):
                    return sha
        return None

    def commit(
        self,
        repo: str,
        branch: str,
        changes: dict[str, bytes | str | None],
        message: str = "Update",
        author: str = "octocat",
    ) -> str:
        """Commit ``changes`` (path -> content, None deletes) on ``branch`` without webhooks
        (setting the scene); the branch is created when missing. Returns the commit sha."""
        sha, _before = self._commit(repo, branch, changes, message, author)
        return sha

    def _commit(
        self,
        repo: str,
        branch: str,
        changes: dict[str, bytes | str | None],
        message: str,
        author: str,
        onto: str | None = None,
    ) -> tuple[str, str | None]:
        with self.lock:
            r = self.repo_record(repo)
            self.user_record(author)
            before = r.branches.get(branch)
            # a new branch starts from the default branch (a new repository from nothing);
            # ``onto`` rewrites history: the commit's parent is that ref instead of the tip
            if onto is not None:
                start: str | None = self.resolve(repo, onto)
                if start is None:
                    raise EmulatorError(f"{repo}: no ref {onto!r} to push onto")
            else:
                start = before or r.branches.get(r.default_branch)
            files = dict(self.store.commits[start].files) if start else {}
            for path, data in changes.items():
                path = path.strip("/")
                if data is None:
                    files.pop(path, None)
                else:
                    raw = data.encode() if isinstance(data, str) else data
                    files[path] = self.store.put_blob(raw)
            ts = max(self.now(), self.store.commits[start].timestamp + 1 if start else 0)
            c = self.store.put_commit(files, [start] if start else [], message, author, ts)
            r.branches[branch] = c.sha
            r.pushed_at = ts
            self._move_pull_heads(r, branch, c.sha)
            return c.sha, before

    def _move_pull_heads(self, r: Repo, branch: str, sha: str) -> list[tuple[Repo, Issue]]:
        moved = self._pulls_with_head(r, branch)
        for _, issue in moved:
            assert issue.pull is not None
            issue.pull.head_sha = sha
            issue.updated_at = self.now()
        for issue in r.issues.values():
            if issue.pull and issue.state == "open" and issue.pull.base_ref == branch:
                issue.pull.base_sha = sha
        return moved

    def create_branch(self, repo: str, branch: str, from_ref: str | None = None) -> str:
        with self.lock:
            r = self.repo_record(repo)
            sha = self.resolve(repo, from_ref or r.default_branch)
            if sha is None:
                raise EmulatorError(f"{repo}: no ref {from_ref!r} to branch from")
            r.branches[branch] = sha
            return sha

    def push(
        self,
        repo: str,
        branch: str,
        changes: dict[str, bytes | str | None],
        message: str = "Update",
        author: str | None = None,
        force_onto: str | None = None,
    ) -> str:
        """Commit on ``branch`` and emit push, plus pull_request.synchronize for the open
        PRs whose head is that branch. ``force_onto`` (a ref or sha) makes it a force push:
        the new commit sits on that ref, not on the branch's old tip (a rebase)."""
        with self.lock:
            r = self.repo_record(repo)
            author = author or r.owner
            sha, before = self._commit(repo, branch, changes, message, author, force_onto)
            forced = (
                force_onto is not None
                and before is not None
                and before not in (self.store.ancestors(sha))
            )
            self._emit_push(r, branch, before, [sha], author, forced=forced)
            for base, issue in self._pulls_with_head(r, branch):
                self.emit_pull(base, issue, "synchronize", author, before=before, after=sha)
            return sha

    def _pulls_with_head(self, r: Repo, branch: str) -> list[tuple[Repo, Issue]]:
        out = []
        for base in self._repos.values():
            for issue in base.issues.values():
                p = issue.pull
                if (
                    p
                    and issue.state == "open"
                    and p.head_repo.lower() == r.full_name.lower()
                    and p.head_ref == branch
                ):
                    out.append((base, issue))
        return out

    def diff(self, old: dict[str, str], new: dict[str, str]) -> list[FileChange]:
        return diff_files(self.store, old, new)

    def write_times(self, installation_id: int | None = None) -> list[float]:
        """When each POST/PATCH/PUT/DELETE arrived, in order (one installation's, or every
        one): GitHub's secondary limits count these content-creating requests."""
        return [
            r.at
            for r in list(self.requests)
            if r.method in ("POST", "PATCH", "PUT", "DELETE")
            and (installation_id is None or r.installation_id == installation_id)
        ]

    # --- pull requests --------------------------------------------------------------------

    def new_issue(self, r: Repo, title: str, body: str | None, user: str) -> Issue:
        self.user_record(user)
        number = max(r.issues, default=0) + 1
        now = self.now()
        issue = Issue(number, self.next_id(), r.full_name, title, body, user, now, now)
        r.issues[number] = issue
        return issue

    def open_pull_request(
        self,
        repo: str,
        head: str,
        base: str | None = None,
        title: str = "A pull request",
        body: str | None = "",
        user: str = "octocat",
        draft: bool = False,
    ) -> int:
        """``head`` is "branch" (same repository) or "owner:branch" (a fork)."""
        with self.lock:
            r = self.repo_record(repo)
            base = base or r.default_branch
            if ":" in head:
                owner, _, branch = head.partition(":")
                head_repo = self._fork_of_owner(r, owner)
            else:
                branch, head_repo = head, r
            head_sha = head_repo.branches.get(branch)
            base_sha = r.branches.get(base)
            if head_sha is None or base_sha is None:
                raise EmulatorError(f"{repo}: unknown head {head!r} or base {base!r}")
            issue = self.new_issue(r, title, body, user)
            issue.pull = PullInfo(head_repo.full_name, branch, head_sha, base, base_sha, draft)
            self.emit_pull(r, issue, "opened", user)
            return issue.number

    def _fork_of_owner(self, r: Repo, owner: str) -> Repo:
        if owner.lower() == r.owner.lower():
            return r
        for cand in self._repos.values():
            if (
                cand.owner.lower() == owner.lower()
                and cand.fork_of
                and cand.fork_of.lower() == r.full_name.lower()
            ):
                return cand
        raise EmulatorError(f"{owner} has no fork of {r.full_name}")

    def pull_changes(self, repo: str, number: int) -> list[FileChange]:
        """The PR's files: merge base of base and head -> head (GitHub's three-dot diff)."""
        issue = self.issue_record(repo, number)
        assert issue.pull is not None
        p = issue.pull
        if p.merged and p.merge_commit_sha:
            # after a merge GitHub keeps showing the PR's own changes
            base_sha = self.store.commits[p.merge_commit_sha].parents[0]
        else:
            base_sha = self.store.merge_base(p.base_sha, p.head_sha) or p.base_sha
        return self.diff_commits(base_sha, p.head_sha)

    def diff_commits(self, old: str | None, new: str) -> list[FileChange]:
        """File changes between two commits (None: the empty tree); cached, as commits
        never change."""
        key = (old or "", new)
        cached = self._diff_cache.get(key)
        if cached is None:
            before = self.store.commits[old].files if old else {}
            cached = self.diff(before, self.store.commits[new].files)
            if len(self._diff_cache) > 256:
                self._diff_cache.clear()
            self._diff_cache[key] = cached
        return cached

    def pull_commit_count(self, repo: str, number: int) -> int:
        issue = self.issue_record(repo, number)
        assert issue.pull is not None
        base = set(self.store.ancestors(issue.pull.base_sha))
        return sum(1 for s in self.store.ancestors(issue.pull.head_sha) if s not in base) or 1

    def edit_pull_request(
        self,
        repo: str,
        number: int,
        *,
        base: str | None = None,
        title: str | None = None,
        body: str | None = None,
        user: str | None = None,
    ) -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            assert issue.pull is not None
            changes: dict[str, Any] = {}
            if base is not None and base != issue.pull.base_ref:
                new_sha = r.branches.get(base)
                if new_sha is None:
                    raise EmulatorError(f"{repo}: no branch {base}")
                changes["base"] = {
                    "ref": {"from": issue.pull.base_ref},
                    "sha": {"from": issue.pull.base_sha},
                }
                issue.pull.base_ref, issue.pull.base_sha = base, new_sha
            if title is not None and title != issue.title:
                changes["title"] = {"from": issue.title}
                issue.title = title
            if body is not None and body != issue.body:
                changes["body"] = {"from": issue.body or ""}
                issue.body = body
                issue.body_edits.append(body)
            issue.updated_at = self.now()
            self.emit_pull(r, issue, "edited", user or issue.user, changes=changes)

    def close_pull_request(self, repo: str, number: int, user: str | None = None) -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            self.set_state(issue, "closed", by=user or issue.user)
            self.emit_pull(r, issue, "closed", user or issue.user)

    def delete_branch(self, repo: str, branch: str, user: str | None = None) -> None:
        """Delete a branch; as on GitHub, open pull requests whose head it was are closed
        (pull_request.closed). The commits stay readable by SHA."""
        with self.lock:
            r = self.repo_record(repo)
            if r.branches.pop(branch, None) is None:
                raise EmulatorError(f"{repo}: no branch {branch}")
            for base in self._repos.values():
                for issue in list(base.issues.values()):
                    p = issue.pull
                    if (
                        p
                        and issue.state == "open"
                        and p.head_repo.lower() == r.full_name.lower()
                        and p.head_ref == branch
                    ):
                        self.set_state(issue, "closed", by=user or r.owner)
                        self.emit_pull(base, issue, "closed", user or r.owner)

    def reopen_pull_request(self, repo: str, number: int, user: str | None = None) -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            assert issue.pull is not None
            if issue.pull.merged:
                raise EmulatorError("a merged pull request cannot be reopened")
            self.set_state(issue, "open")
            issue.pull.head_sha = self.repo_record(issue.pull.head_repo).branches.get(
                issue.pull.head_ref, issue.pull.head_sha
            )
            issue.pull.base_sha = r.branches[issue.pull.base_ref]
            self.emit_pull(r, issue, "reopened", user or issue.user)

    def merge_pull_request(self, repo: str, number: int, user: str | None = None) -> str:
        """Merge commit on the base branch (two parents), PR closed + merged, push emitted."""
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            p = issue.pull
            assert p is not None
            if issue.state != "open":
                raise EmulatorError(f"{repo}#{number} is not open")
            user = user or r.owner
            base_tip = r.branches[p.base_ref]
            files = dict(self.store.commits[base_tip].files)
            for ch in self.pull_changes(repo, number):
                if ch.status == "removed":
                    files.pop(ch.filename, None)
                elif ch.status == "renamed":
                    files.pop(ch.previous_filename or "", None)
                    files[ch.filename] = ch.sha or ""
                else:
                    files[ch.filename] = ch.sha or ""
            ts = max(self.now(), self.store.commits[base_tip].timestamp + 1)
            message = (
                f"Merge pull request #{number} from {p.head_repo.split('/')[0]}/"
                f"{p.head_ref}\n\n{issue.title}"
            )
            c = self.store.put_commit(files, [base_tip, p.head_sha], message, user, ts)
            r.branches[p.base_ref] = c.sha
            r.pushed_at = ts
            p.merged, p.merged_at, p.merged_by, p.merge_commit_sha = True, ts, user, c.sha
            self.set_state(issue, "closed", by=user)
            self.emit_pull(r, issue, "closed", user)
            self._emit_push(r, p.base_ref, base_tip, [p.head_sha, c.sha], user)
            self._move_pull_heads(r, p.base_ref, c.sha)
            return c.sha

    def set_draft(self, repo: str, number: int, draft: bool) -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            assert issue.pull is not None
            issue.pull.draft = draft
            action = "converted_to_draft" if draft else "ready_for_review"
            self.emit_pull(r, issue, action, issue.user)

    def set_state(
        self, issue: Issue, state: str, reason: str | None = None, by: str | None = None
    ) -> None:
        now = self.now()
        issue.closed_by = by if state == "closed" else None
        issue.state = state
        issue.updated_at = now
        issue.closed_at = now if state == "closed" else None
        issue.state_reason = reason if state == "closed" else ("reopened" if reason else None)

    # --- issues, comments, labels, permissions -------------------------------------------

    def create_issue(
        self, repo: str, title: str, body: str | None = "", user: str = "octocat"
    ) -> int:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.new_issue(r, title, body, user)
            self.emit_issue(r, issue, "opened", user)
            return issue.number

    def edit_issue_body(self, repo: str, number: int, body: str, user: str = "octocat") -> None:
        """A person edits the issue body (races with the bot's writer)."""
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            old = issue.body
            issue.body = body
            issue.updated_at = self.now()
            issue.body_edits.append(body)
            self.emit_issue(r, issue, "edited", user, changes={"body": {"from": old or ""}})

    def close_issue(self, repo: str, number: int, user: str = "octocat") -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            self.set_state(issue, "closed", "completed", by=user)
            self.emit_issue(r, issue, "closed", user)

    def reopen_issue(self, repo: str, number: int, user: str = "octocat") -> None:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            self.set_state(issue, "open", "reopened")
            self.emit_issue(r, issue, "reopened", user)

    def lock_issue(self, repo: str, number: int) -> None:
        with self.lock:
            self.issue_record(repo, number).locked = True

    def delete_issue(self, repo: str, number: int) -> None:
        with self.lock:
            self.issue_record(repo, number).deleted = True

    def comment(self, repo: str, number: int, user: str, body: str) -> int:
        with self.lock:
            return self.add_comment(repo, number, user, body).id

    def add_comment(
        self, repo: str, number: int, user: str, body: str, app_id: int | None = None
    ) -> Comment:
        r = self.repo_record(repo)
        issue = self.issue_record(repo, number)
        self.user_record(user)
        now = self.now()
        c = Comment(self.next_id(), r.full_name, number, user, body, now, now, app_id=app_id)
        self._comments[c.id] = c
        issue.comment_ids.append(c.id)
        issue.updated_at = now
        self._emit_comment(r, issue, c, "created", user)
        return c

    def comment_record(self, repo: str, comment_id: int) -> Comment | None:
        c = self._comments.get(comment_id)
        if c is None or c.repo.lower() != repo.lower():
            return None
        return c

    def edit_comment(self, repo: str, comment_id: int, body: str, user: str | None = None) -> None:
        with self.lock:
            c = self.comment_record(repo, comment_id)
            if c is None:
                raise EmulatorError(f"no comment {comment_id} in {repo}")
            self.update_comment(c, body, user or c.user)

    def update_comment(self, c: Comment, body: str, user: str) -> None:
        old = c.body
        c.body = body
        c.updated_at = self.now()
        r = self.repo_record(c.repo)
        self._emit_comment(
            r, r.issues[c.issue_number], c, "edited", user, changes={"body": {"from": old}}
        )

    def delete_comment(self, repo: str, comment_id: int, user: str | None = None) -> None:
        with self.lock:
            c = self.comment_record(repo, comment_id)
            if c is None:
                raise EmulatorError(f"no comment {comment_id} in {repo}")
            self.remove_comment(c, user or c.user)

    def remove_comment(self, c: Comment, user: str) -> None:
        r = self.repo_record(c.repo)
        issue = r.issues[c.issue_number]
        issue.comment_ids.remove(c.id)
        del self._comments[c.id]
        self._emit_comment(r, issue, c, "deleted", user)

    # --- pull request review comments (comments on the diff, in threads) -------------------

    def review_comment(
        self,
        repo: str,
        number: int,
        user: str,
        body: str,
        *,
        path: str = "README",
        line: int = 1,
        in_reply_to: int | None = None,
    ) -> int:
        """A person comments on the diff of PR ``number`` (a new thread, or a reply in the
        thread of ``in_reply_to``): pull_request_review_comment.created. Returns its id."""
        with self.lock:
            return self.add_review_comment(
                repo, number, user, body, path=path, line=line, in_reply_to=in_reply_to
            ).id

    def add_review_comment(
        self,
        repo: str,
        number: int,
        user: str,
        body: str,
        *,
        path: str = "README",
        line: int = 1,
        in_reply_to: int | None = None,
        app_id: int | None = None,
    ) -> ReviewComment:
        r = self.repo_record(repo)
        issue = self.issue_record(repo, number)
        if issue.pull is None:
            raise EmulatorError(f"{repo}#{number} is not a pull request")
        self.user_record(user)
        if in_reply_to is not None:
            parent = self.review_comment_record(repo, in_reply_to)
            if parent is None or parent.pull_number != number:
                raise EmulatorError(f"no review comment {in_reply_to} on {repo}#{number}")
            # a reply to a reply joins the thread of its first comment
            in_reply_to = parent.in_reply_to or parent.id
            path, line = parent.path, parent.line
        now = self.now()
        c = ReviewComment(
            self.next_id(),
            r.full_name,
            number,
            user,
            body,
            path,
            line,
            issue.pull.head_sha,
            self.next_id(),  # each comment outside a review gets a review of its own
            now,
            now,
            in_reply_to=in_reply_to,
            app_id=app_id,
        )
        self._review_comments[c.id] = c
        issue.updated_at = now
        self._emit_review_comment(r, issue, c, "created", user)
        return c

    def review_comment_record(self, repo: str, comment_id: int) -> ReviewComment | None:
        c = self._review_comments.get(comment_id)
        if c is None or c.repo.lower() != repo.lower():
            return None
        return c

    def review_comments_of(self, repo: str, number: int) -> list[ReviewComment]:
        return [
            c
            for c in self._review_comments.values()
            if c.repo.lower() == repo.lower() and c.pull_number == number
        ]

    def edit_review_comment(
        self, repo: str, comment_id: int, body: str, user: str | None = None
    ) -> None:
        with self.lock:
            c = self.review_comment_record(repo, comment_id)
            if c is None:
                raise EmulatorError(f"no review comment {comment_id} in {repo}")
            self.update_review_comment(c, body, user or c.user)

    def update_review_comment(self, c: ReviewComment, body: str, user: str) -> None:
        old = c.body
        c.body = body
        c.updated_at = self.now()
        r = self.repo_record(c.repo)
        self._emit_review_comment(
            r, r.issues[c.pull_number], c, "edited", user, changes={"body": {"from": old}}
        )

    def delete_review_comment(self, repo: str, comment_id: int, user: str | None = None) -> None:
        with self.lock:
            c = self.review_comment_record(repo, comment_id)
            if c is None:
                raise EmulatorError(f"no review comment {comment_id} in {repo}")
            self.remove_review_comment(c, user or c.user)

    def remove_review_comment(self, c: ReviewComment, user: str) -> None:
        r = self.repo_record(c.repo)
        del self._review_comments[c.id]
        self._emit_review_comment(r, r.issues[c.pull_number], c, "deleted", user)

    def add_reaction(
        self, c: Comment | ReviewComment, user: str, content: str
    ) -> tuple[Reaction, bool]:
        for x in c.reactions:
            if x.user == user and x.content == content:
                return x, False
        x = Reaction(self.next_id(), user, content, self.now())
        c.reactions.append(x)
        return x, True

    def set_permission(self, repo: str, login: str, level: str) -> None:
        if level not in PERMISSION_LEVELS:
            raise EmulatorError(f"permission must be one of {PERMISSION_LEVELS}")
        with self.lock:
            self.user_record(login)
            self.repo_record(repo).permissions[login] = level

    def permission_of(self, r: Repo, login: str) -> str:
        if login.lower() == r.owner.lower():
            return "admin"
        return r.permissions.get(login, "none" if r.private else "read")

    def create_label(
        self, repo: str, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        with self.lock:
            r = self.repo_record(repo)
            label = Label(self.next_id(), name, color, description)
            r.labels[name.lower()] = label
            return label

    def add_labels(self, r: Repo, issue: Issue, names: list[str], user: str) -> None:
        for name in names:
            label = r.labels.get(name.lower())
            if label is None:  # GitHub creates unknown labels with the default colour
                label = Label(self.next_id(), name, "ededed")
                r.labels[name.lower()] = label
            if label.name not in issue.labels:
                issue.labels.append(label.name)
                self._emit_labeled(r, issue, label, "labeled", user)

    def remove_label(self, r: Repo, issue: Issue, name: str, user: str) -> bool:
        for present in issue.labels:
            if present.lower() == name.lower():
                issue.labels.remove(present)
                self._emit_labeled(r, issue, r.labels[present.lower()], "unlabeled", user)
                return True
        return False

    def check_run_record(self, run_id: int) -> CheckRun | None:
        return self._check_runs.get(run_id)

    def add_check_run(self, run: CheckRun) -> None:
        self._check_runs[run.id] = run

    def suite_id(self, repo: str, head_sha: str, app_id: int) -> int:
        """The id of the App's check suite on ``head_sha`` (one per commit and App; made on
        first use, as GitHub makes it on the first push or check run)."""
        key = (repo.lower(), head_sha, app_id)
        with self.lock:
            if key not in self._suites:
                found = next(
                    (
                        run.check_suite_id
                        for run in self._check_runs.values()
                        if run.repo.lower() == key[0]
                        and run.head_sha == head_sha
                        and run.app_id == app_id
                    ),
                    None,
                )
                self._suites[key] = found if found is not None else self.next_id()
            return self._suites[key]

    def has_suite(self, repo: str, suite_id: int) -> bool:
        return bool(self.suite_runs(repo, suite_id)) or any(
            s == suite_id and k[0] == repo.lower() for k, s in self._suites.items()
        )

    def suite_runs(self, repo: str, suite_id: int) -> list[CheckRun]:
        """Every check run of suite ``suite_id``, oldest first."""
        return [
            run
            for run in self._check_runs.values()
            if run.repo.lower() == repo.lower() and run.check_suite_id == suite_id
        ]

    def emit_check_suite(
        self, r: Repo, suite_id: int, head_sha: str, app_id: int, action: str, sender: str
    ) -> None:
        """check_suite ``action``; GitHub sends it only to the App that owns the suite."""
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        runs = self.suite_runs(r.full_name, suite_id)
        suite = self.shapes.check_suite(r, suite_id, head_sha, app_id, runs)
        body: dict[str, Any] = {"action": action, "check_suite": suite}
        body.update(payload)
        self._emit("check_suite", body, app=self._apps.get(app_id))

    def request_check_suite(self, repo: str, head_sha: str, user: str = "octocat") -> int:
        """GitHub asks the App to check ``head_sha`` (check_suite.requested, sent when code
        is pushed to the repository). Pushes do not send it by themselves here: call this."""
        with self.lock:
            r = self.repo_record(repo)
            app = next(iter(self._apps.values()))
            suite = self.suite_id(repo, head_sha, app.id)
            self.emit_check_suite(r, suite, head_sha, app.id, "requested", user)
            return suite

    def rerequest_check_suite(self, repo: str, suite_id: int, user: str = "octocat") -> None:
        """A person presses "Re-run all checks" (check_suite.rerequested)."""
        with self.lock:
            r = self.repo_record(repo)
            runs = self.suite_runs(repo, suite_id)
            if not runs:
                raise EmulatorError(f"{repo}: check suite {suite_id} has no runs to re-run")
            head, app_id = runs[0].head_sha, runs[0].app_id
            self.emit_check_suite(r, suite_id, head, app_id, "rerequested", user)

    def rerequest_check_run(self, repo: str, run_id: int, user: str = "octocat") -> None:
        """A person presses "Re-run" on a check run (check_run.rerequested)."""
        with self.lock:
            r = self.repo_record(repo)
            run = self._check_runs[run_id]
            self.emit_check_run(r, run, "rerequested", user)

    # --- inspection -----------------------------------------------------------------------

    def issue(self, repo: str, number: int) -> dict[str, Any]:
        with self.lock:
            r = self.repo_record(repo)
            return self.shapes.issue(r, self.issue_record(repo, number))

    def pull_request(self, repo: str, number: int) -> dict[str, Any]:
        with self.lock:
            r = self.repo_record(repo)
            return self.shapes.pull(r, self.issue_record(repo, number))

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        with self.lock:
            r = self.repo_record(repo)
            issue = self.issue_record(repo, number)
            return [self.shapes.comment(r, self._comments[c]) for c in issue.comment_ids]

    def labels_on(self, repo: str, number: int) -> list[str]:
        with self.lock:
            return list(self.issue_record(repo, number).labels)

    def issue_body_edits(self, repo: str, number: int) -> list[str]:
        with self.lock:
            return list(self.issue_record(repo, number).body_edits)

    def check_runs(self, repo: str, head_sha: str | None = None) -> list[dict[str, Any]]:
        """Check runs (REST shape plus an ``annotations`` list), oldest first."""
        with self.lock:
            r = self.repo_record(repo)
            out = []
            for run in self._check_runs.values():
                if run.repo == r.full_name and head_sha in (None, run.head_sha):
                    shaped = self.shapes.check_run(r, run)
                    shaped["annotations"] = [dict(a) for a in run.annotations]
                    out.append(shaped)
            return out

    def review_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The review comments of PR ``number`` (REST shape), oldest first."""
        with self.lock:
            r = self.repo_record(repo)
            return [self.shapes.review_comment(r, c) for c in self.review_comments_of(repo, number)]

    def review_reactions(self, repo: str, comment_id: int) -> list[dict[str, Any]]:
        with self.lock:
            c = self.review_comment_record(repo, comment_id)
            return [self.shapes.reaction(x) for x in c.reactions] if c else []

    def reactions(self, repo: str, comment_id: int) -> list[dict[str, Any]]:
        with self.lock:
            c = self.comment_record(repo, comment_id)
            return [self.shapes.reaction(x) for x in c.reactions] if c else []

    def head_sha(self, repo: str, branch: str) -> str:
        return self.repo_record(repo).branches[branch]

    # --- webhooks -------------------------------------------------------------------------

    def _installation_ref(self, r: Repo, app: AppRecord | None = None) -> dict[str, Any] | None:
        inst = self.installation_for(r, app.id if app else None)
        if inst is None:
            return None
        return {"id": inst.id, "node_id": node_id("Installation", inst.id)}

    def _base_payload(self, r: Repo, sender: str) -> dict[str, Any] | None:
        inst = self._installation_ref(r)
        if inst is None:
            return None  # the App is not installed there: GitHub sends it nothing
        payload: dict[str, Any] = {"repository": self.shapes.repo(r)}
        owner = self.user_record(r.owner)
        if owner.type == "Organization":
            payload["organization"] = self._organization(r.owner)
        payload["sender"] = self.shapes.user(sender)
        payload["installation"] = inst
        return payload

    def _organization(self, login: str) -> dict[str, Any]:
        u = self.user_record(login)
        api = f"{self.api_url}/orgs/{login}"
        return {
            "login": login,
            "id": u.id,
            "node_id": self.shapes.user(login)["node_id"],
            "url": api,
            "repos_url": f"{api}/repos",
            "events_url": f"{api}/events",
            "hooks_url": f"{api}/hooks",
            "issues_url": f"{api}/issues",
            "members_url": f"{api}/members{{/member}}",
            "public_members_url": f"{api}/public_members{{/member}}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "description": None,
        }

    def emit_pull(self, r: Repo, issue: Issue, action: str, sender: str, **extra: Any) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        body: dict[str, Any] = {"action": action, "number": issue.number}
        if action == "synchronize":
            body["before"], body["after"] = extra.pop("before"), extra.pop("after")
        if action == "edited":
            body["changes"] = extra.pop("changes")
        body["pull_request"] = self.shapes.pull(r, issue)
        body.update(payload)
        self._emit("pull_request", body)

    def emit_issue(self, r: Repo, issue: Issue, action: str, sender: str, **extra: Any) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        body: dict[str, Any] = {"action": action}
        if "changes" in extra:
            body["changes"] = extra["changes"]
        body["issue"] = self.shapes.issue(r, issue)
        body.update(payload)
        self._emit("issues", body)

    def _emit_labeled(self, r: Repo, issue: Issue, label: Label, action: str, sender: str) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        if issue.pull:
            body: dict[str, Any] = {
                "action": action,
                "number": issue.number,
                "pull_request": self.shapes.pull(r, issue),
            }
            event = "pull_request"
        else:
            body = {"action": action, "issue": self.shapes.issue(r, issue)}
            event = "issues"
        body["label"] = self.shapes.label(r, label)
        body.update(payload)
        self._emit(event, body)

    def _emit_comment(
        self, r: Repo, issue: Issue, c: Comment, action: str, sender: str, **extra: Any
    ) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        body: dict[str, Any] = {"action": action}
        if "changes" in extra:
            body["changes"] = extra["changes"]
        body["issue"] = self.shapes.issue(r, issue)
        body["comment"] = self.shapes.comment(r, c)
        body.update(payload)
        self._emit("issue_comment", body)

    def _emit_review_comment(
        self, r: Repo, issue: Issue, c: ReviewComment, action: str, sender: str, **extra: Any
    ) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        body: dict[str, Any] = {"action": action}
        if "changes" in extra:
            body["changes"] = extra["changes"]
        body["comment"] = self.shapes.review_comment(r, c)
        body["pull_request"] = self.shapes.pull(r, issue, full=False)
        body.update(payload)
        self._emit("pull_request_review_comment", body)

    def emit_check_run(self, r: Repo, run: CheckRun, action: str, sender: str) -> None:
        payload = self._base_payload(r, sender)
        if payload is None:
            return
        shaped = self.shapes.check_run(r, run)
        shaped["check_suite"] = self._check_suite(r, run)
        body: dict[str, Any] = {"action": action, "check_run": shaped}
        body.update(payload)
        self._emit("check_run", body)

    def _check_suite(self, r: Repo, run: CheckRun) -> dict[str, Any]:
        branch = next((b for b, s in r.branches.items() if s == run.head_sha), None)
        c = self.store.commits.get(run.head_sha)
        return {
            "id": run.check_suite_id,
            "node_id": f"MDEwOkNoZWNrU3VpdGU{run.check_suite_id}",
            "head_branch": branch,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "url": f"{self.api_url}/repos/{r.full_name}/check-suites/{run.check_suite_id}",
            "before": c.parents[0] if c and c.parents else None,
            "after": run.head_sha,
            "pull_requests": self.shapes.check_run(r, run)["pull_requests"],
            "app": self.shapes.app(run.app_id),
            "created_at": self.shapes.check_run(r, run)["started_at"],
            "updated_at": self.shapes.check_run(r, run)["completed_at"]
            or self.shapes.check_run(r, run)["started_at"],
        }

    def _emit_push(
        self,
        r: Repo,
        branch: str,
        before: str | None,
        shas: list[str],
        pusher: str,
        *,
        forced: bool = False,
    ) -> None:
        payload = self._base_payload(r, pusher)
        if payload is None:
            return
        zero = "0" * 40
        after = shas[-1]
        repo_shape = dict(payload["repository"])
        # push payloads carry the older repository form: timestamps as integers, owner with
        # name/email.
        repo_shape["created_at"] = r.created_at
        repo_shape["pushed_at"] = r.pushed_at
        owner = dict(repo_shape["owner"])
        owner.update({"name": r.owner, "email": None})
        repo_shape["owner"] = owner
        repo_shape["stargazers"] = 0
        repo_shape["master_branch"] = r.default_branch
        if "organization" in payload:
            repo_shape["organization"] = r.owner
        commits = [self._push_commit(r, s) for s in shas]
        body: dict[str, Any] = {
            "ref": f"refs/heads/{branch}",
            "before": before or zero,
            "after": after,
            "repository": repo_shape,
            "pusher": {"name": pusher, "email": f"{pusher}@users.noreply.github.com"},
            "created": before is None,
            "deleted": False,
            "forced": forced,
            "base_ref": None,
            "compare": f"https://github.com/{r.full_name}/compare/"
            f"{(before or zero)[:12]}...{after[:12]}",
            "commits": commits,
            "head_commit": commits[-1] if commits else None,
        }
        for key in ("organization", "sender", "installation"):
            if key in payload:
                body[key] = payload[key]
        self._emit("push", body)

    def _push_commit(self, r: Repo, sha: str) -> dict[str, Any]:
        c = self.store.commits[sha]
        changes = self.diff_commits(c.parents[0] if c.parents else None, sha)
        ident = {
            "name": c.author,
            "email": f"{c.author}@users.noreply.github.com",
            "username": c.author,
        }
        return {
            "id": sha,
            "tree_id": c.tree,
            "distinct": True,
            "message": c.message,
            "timestamp": self.shapes.git_user(c.author, c.timestamp)["date"],
            "url": f"https://github.com/{r.full_name}/commit/{sha}",
            "author": ident,
            "committer": ident,
            "added": [ch.filename for ch in changes if ch.status == "added"],
            "removed": [ch.filename for ch in changes if ch.status == "removed"],
            "modified": [ch.filename for ch in changes if ch.status in ("modified", "renamed")],
        }

    def _emit(self, event: str, payload: dict[str, Any], app: AppRecord | None = None) -> None:
        app = app or next(iter(self._apps.values()), None)
        secret = app.webhook_secret if app else None
        body = webhooks.encode(payload)
        delivery_id = webhooks.new_delivery_id()
        headers = webhooks.delivery_headers(
            event, delivery_id, body, secret, installation_target_id=app.id if app else None
        )
        d = webhooks.Delivery(delivery_id, event, payload.get("action"), payload, headers, body)
        with self.lock:
            self.deliveries.append(d)
            self._dispatch(d)

    def _dispatch(self, d: webhooks.Delivery) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            self._pending.append(d)
            return
        if threading.get_ident() == self._loop_thread:
            # same thread as the server: queue now, so a wait_for_deliveries() that follows
            # sees it (call_soon would only queue it on the next loop iteration)
            queue.put_nowait(d)
        else:
            loop.call_soon_threadsafe(queue.put_nowait, d)

    def signed_delivery(
        self, event: str, payload: dict[str, Any], secret: str | None = None
    ) -> tuple[CIMultiDict[str], bytes]:
        """Headers and body of a delivery as GitHub would send it (for direct posts)."""
        if secret is None:
            app = next(iter(self._apps.values()), None)
            secret = app.webhook_secret if app else None
        body = webhooks.encode(payload)
        return webhooks.delivery_headers(event, webhooks.new_delivery_id(), body, secret), body

    def ping(self) -> None:
        app = next(iter(self._apps.values()), None)
        self._emit(
            "ping",
            {
                "zen": "Keep it logically awesome.",
                "hook_id": 1,
                "hook": self._hook(app),
                **({"sender": self.shapes.user(app.owner)} if app else {}),
            },
        )

    def _hook(self, app: AppRecord | None) -> dict[str, Any]:
        api = f"{self.api_url}/app/hook"
        return {
            "type": "App",
            "id": 1,
            "name": "web",
            "active": True,
            "events": list(self.shapes.app(app.id)["events"]) if app else [],
            "config": {
                "content_type": "json",
                "insecure_ssl": "0",
                "url": self.webhook_url or "",
            },
            "updated_at": self.shapes.iso_now(),
            "created_at": self.shapes.iso_now(),
            "app_id": app.id if app else None,
            "url": api,
            "ping_url": f"{api}/pings",
            "deliveries_url": f"{api}/deliveries",
        }

    async def _post(self, session: aiohttp.ClientSession, d: webhooks.Delivery) -> None:
        url = self.webhook_url
        if url is None:
            return
        try:
            async with session.post(
                url, data=d.body, headers=d.headers, timeout=aiohttp.ClientTimeout(total=10)
            ) as resp:
                await resp.read()
                status = resp.status
        except (aiohttp.ClientError, TimeoutError, OSError):
            status = 0  # GitHub records "couldn't deliver" and does not retry by itself
        d.status = status
        d.attempts.append(status)
        d.delivered_at = self.clock()

    async def _delivery_worker(self) -> None:
        assert self._queue is not None
        async with aiohttp.ClientSession() as session:
            while True:
                d = await self._queue.get()
                try:
                    await self._post(session, d)
                finally:
                    self._queue.task_done()

    async def wait_for_deliveries(self, timeout: float = 30.0) -> None:
        """Until every queued delivery was POSTed (or found no webhook_url)."""
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        if asyncio.get_running_loop() is loop:
            await asyncio.wait_for(queue.join(), timeout)
        else:
            fut = asyncio.run_coroutine_threadsafe(queue.join(), loop)
            await asyncio.wait_for(asyncio.wrap_future(fut), timeout)

    def wait_for_deliveries_sync(self, timeout: float = 30.0) -> None:
        """wait_for_deliveries for synchronous callers of serve_in_thread."""
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        asyncio.run_coroutine_threadsafe(queue.join(), loop).result(timeout)

    def redeliver_number(self, number: int) -> webhooks.Delivery:
        """Queue a redelivery of the attempt listed as ``number`` by GET /app/hook/deliveries
        (its 1-based position in ``deliveries``): POST /app/hook/deliveries/{id}/attempts."""
        with self.lock:
            if not 1 <= number <= len(self.deliveries):
                raise KeyError(number)
            original = self.deliveries[number - 1]
            d = webhooks.Delivery(
                original.id,
                original.event,
                original.action,
                original.payload,
                CIMultiDict(original.headers),
                original.body,
                redelivery=True,
            )
            self.deliveries.append(d)
            self._dispatch(d)
            return d

    async def redeliver(self, delivery_id: str, *, wait: bool = True) -> webhooks.Delivery:
        """POST a recorded delivery again, same id and body (GitHub's "Redeliver").

        ``wait=False`` only queues it behind the deliveries already queued (load tests)."""
        original = next(d for d in self.deliveries if d.id == delivery_id)
        d = webhooks.Delivery(
            original.id,
            original.event,
            original.action,
            original.payload,
            CIMultiDict(original.headers),
            original.body,
            redelivery=True,
        )
        with self.lock:
            self.deliveries.append(d)
            self._dispatch(d)
        if wait:
            await self.wait_for_deliveries()
        return d

    # --- delivery loop (serving.py starts and stops it with the HTTP server) ---------------

    def start_delivering(self) -> asyncio.Task[None]:
        """Deliver webhooks from the running event loop, the ones queued so far first, until
        ``stop_delivering`` is given the returned task."""
        self._queue = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        worker = asyncio.create_task(self._delivery_worker())
        with self.lock:
            pending, self._pending = self._pending, []
            for d in pending:
                if d.status is None:
                    self._queue.put_nowait(d)
        return worker

    async def stop_delivering(self, worker: asyncio.Task[None]) -> None:
        with self.lock:
            self._loop, self._queue = None, None
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
