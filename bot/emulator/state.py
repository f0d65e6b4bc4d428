"""The emulator's records: what GitHub keeps about apps, users, repositories and issues."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PERMISSION_LEVELS = ("none", "read", "triage", "write", "maintain", "admin")


@dataclass
class AppRecord:
    id: int
    slug: str
    private_key_pem: str
    webhook_secret: str
    name: str = ""
    owner: str = "python"

    @property
    def bot_login(self) -> str:
        return f"{self.slug}[bot]"

    @property
    def client_id(self) -> str:
        """GitHub accepts the client id as the JWT issuer too."""
        return f"Iv1.{self.id:016x}"


@dataclass
class User:
    login: str
    id: int
    type: str = "User"  # "User", "Bot" or "Organization"


@dataclass
class Installation:
    id: int
    app_id: int
    account: str
    created_at: int
    repository_selection: str = "all"


@dataclass
class Token:
    token: str
    installation_id: int
    expires_at: float


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: int


@dataclass
class Comment:
    id: int
    repo: str
    issue_number: int
    user: str
    body: str
    created_at: int
    updated_at: int
    reactions: list[Reaction] = field(default_factory=list)
    app_id: int | None = None  # set when an app's installation token wrote it


@dataclass
class ReviewComment:
    """A comment on a pull request's diff. A thread is its first comment plus the replies,
    whose ``in_reply_to`` names that first comment (GitHub has no replies to replies)."""

    id: int
    repo: str
    pull_number: int
    user: str
    body: str
    path: str
    line: int
    commit_id: str
    review_id: int
    created_at: int
    updated_at: int
    in_reply_to: int | None = None
    reactions: list[Reaction] = field(default_factory=list)
    app_id: int | None = None  # set when an app's installation token wrote it


@dataclass
class PullInfo:
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    draft: bool = False
    merged: bool = False
    merged_at: int | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None


@dataclass
class Issue:
    number: int
    id: int
    repo: str
    title: str
    body: str | None
    user: str
    created_at: int
    updated_at: int
    state: str = "open"
    state_reason: str | None = None
    closed_at: int | None = None
    closed_by: str | None = None
    locked: bool = False
    deleted: bool = False  # deleted issues answer 410 Gone
    labels: list[str] = field(default_factory=list)
    comment_ids: list[int] = field(default_factory=list)
    body_edits: list[str] = field(default_factory=list)
    pull: PullInfo | None = None


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    app_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: int | None = None
    completed_at: int | None = None
    external_id: str | None = None
    details_url: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    check_suite_id: int = 0


@dataclass
class Repo:
    owner: str
    name: str
    id: int
    default_branch: str
    created_at: int
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit sha
    fork_of: str | None = None
    private: bool = False
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    issues: dict[int, Issue] = field(default_factory=dict)
    permissions: dict[str, str] = field(default_factory=dict)  # login -> level
    pushed_at: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"
