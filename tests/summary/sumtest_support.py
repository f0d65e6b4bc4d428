"""Builders shared by the summary tests: module states, snapshots, a fake GitHub issue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

from bot.summary.model import OpenPullRequest
from bot.summary.weekly import PostedComment
from bot.tracking.state import ModuleState

REPO = "python/cpython"


def mod(
    name: str,
    stage: str = "done",
    *,
    static: tuple[str, ...] = (),
    is_test: bool = False,
    findings: int = 0,
) -> ModuleState:
    """stage: "single" (single-phase), "multi" (multi-phase, no slot), "done"."""
    return ModuleState(
        name=name,
        path=f"Modules/{name}.c",
        init="single-phase" if stage == "single" else "multi-phase",
        multiple_interpreters="per-interpreter-gil" if stage == "done" else None,
        is_test=is_test,
        static_types=static,
        heap_types=(f"{name}_spec",) if stage != "single" else (),
        open_findings=findings,
    )


@dataclass
class FakeIssue:
    """The comments of one GitHub issue, shared by every poster (as GitHub is by replicas)."""

    comments: list[dict[str, object]] = field(default_factory=list)
    next_id: int = 1000


@dataclass
class FakePoster:
    issue: FakeIssue
    target: str = "python/cpython#84692"
    # Simulate a crash right after GitHub accepted the comment (before the bot records it).
    crash_after_post: bool = False
    # Yield to the event loop inside post(), so concurrent attempts really overlap.
    slow: bool = False
    posts: int = 0

    async def find_marked(self, marker: str, since: datetime) -> PostedComment | None:
        for c in self.issue.comments:
            if marker in str(c["body"]):
                return PostedComment(int(str(c["id"])))
        return None

    async def post(self, body: str) -> PostedComment:
        if self.slow:
            for _ in range(5):
                await asyncio.sleep(0)
        self.issue.next_id += 1
        self.issue.comments.append({"id": self.issue.next_id, "body": body})
        self.posts += 1
        if self.crash_after_post:
            raise ConnectionResetError("the process died after posting")
        return PostedComment(self.issue.next_id)

    async def confirm_open(self, repo: str, prs: list[OpenPullRequest]) -> list[OpenPullRequest]:
        return prs

    async def pr_titles(self, repo: str, numbers: list[int]) -> dict[int, str]:
        return {n: f"Title of #{n}" for n in numbers if n % 2}
