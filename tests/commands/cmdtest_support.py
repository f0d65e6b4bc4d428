"""Helpers for the command tests: a scripted GitHub client, contexts, real-shaped payloads."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from pathlib import Path
from typing import Any

import gidgethub

from bot.config import Settings
from bot.jobs import JobContext
from bot.service.state import store_job
from bot.store import Database
from bot.store.queue import Queue

EXAMPLES = Path(__file__).parent / "data"
BOT = "isolation-bot[bot]"


class FakeGitHub:
    """Records calls; answers the permission endpoint from ``permissions`` (or an error)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []
        self.permissions: dict[str, dict[str, Any] | Exception] = {}
        self.comments: list[dict[str, Any]] = []
        self.reactions: list[dict[str, Any]] = []
        self._next = 1000

    def _id(self) -> int:
        self._next += 1
        return self._next

    async def getitem(self, url: str, **_: Any) -> Any:
        self.calls.append(("GET", url, None))
        if "/collaborators/" in url:
            user = url.split("/collaborators/")[1].split("/")[0]
            answer = self.permissions.get(user, {"permission": "read", "role_name": "read"})
            if isinstance(answer, Exception):
                raise answer
            return answer
        raise gidgethub.BadRequest(HTTPStatus.NOT_FOUND)

    async def getiter(self, url: str, **_: Any) -> AsyncIterator[Any]:
        self.calls.append(("GETITER", url, None))
        for c in list(self.comments):
            yield c

    async def post(self, url: str, *, data: Any = None, **_: Any) -> Any:
        self.calls.append(("POST", url, data))
        if url.endswith("/reactions"):
            r = {"id": self._id(), "content": data["content"], "url": url}
            self.reactions.append(r)
            return r
        if url.endswith("/comments"):
            c = {"id": self._id(), "body": data["body"], "user": {"login": BOT, "type": "Bot"}}
            self.comments.append(c)
            return c
        return {}

    async def delete(self, url: str, **_: Any) -> None:
        self.calls.append(("DELETE", url, None))
        rid = int(url.rsplit("/", 1)[1])
        self.reactions = [r for r in self.reactions if r["id"] != rid]

    def replies(self) -> list[str]:
        return [c["body"] for c in self.comments]

    def reaction_contents(self) -> list[str]:
        return [r["content"] for r in self.reactions]


def make_ctx(gh: Any, db: Database, payload: dict[str, Any], **settings: Any) -> JobContext:
    return JobContext(
        event="issue_comment",
        delivery_id="d-1",
        payload=payload,
        gh=gh,
        db=db,
        settings=Settings(**settings),
        bot_login=BOT,
        enqueue=functools.partial(store_job, Queue(db)),
    )


def comment_payload(
    body: str,
    *,
    action: str = "created",
    user: str = "alice",
    user_type: str = "User",
    comment_id: int = 4242,
    number: int = 7,
    repo: str = "python/cpython",
    pull_request: bool = True,
    old_body: str | None = None,
    installation_id: int | None = 99,
) -> dict[str, Any]:
    """An issue_comment payload built from GitHub's real example, with our values."""
    name = f"issue_comment.{'edited' if action == 'edited' else 'created'}.json"
    payload = copy.deepcopy(json.loads((EXAMPLES / name).read_text()))
    payload["action"] = action
    owner, short = repo.split("/")
    payload["repository"]["full_name"] = repo
    payload["repository"]["name"] = short
    payload["repository"]["owner"]["login"] = owner
    payload["issue"]["number"] = number
    if pull_request:
        payload["issue"]["pull_request"] = {
            "url": f"https://api.github.com/repos/{repo}/pulls/{number}",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo}/pull/{number}.patch",
        }
    else:
        payload["issue"].pop("pull_request", None)
    payload["comment"]["id"] = comment_id
    payload["comment"]["body"] = body
    payload["comment"]["user"]["login"] = user
    payload["comment"]["user"]["type"] = user_type
    payload["sender"]["login"] = user
    payload["sender"]["type"] = user_type
    if action == "edited":
        payload["changes"] = {"body": {"from": old_body or ""}}
    if installation_id is not None:
        payload["installation"] = {"id": installation_id, "node_id": "x"}
    return payload
