"""Every webhook field the routers read, checked against GitHub's webhook schemas.

``@octokit/webhooks-schemas`` 7.6.1 (the full shared copy when present, else the vendored
subset in tests/data/github/): each field must be documented; one the schema marks optional or
nullable is marked ``?`` here, meaning the code reads it with a guard. The behaviour behind the
guards is exercised in test_webhook_examples.py (variants with those fields null or missing).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

FULL = Path("/work/shared/github/webhook-schemas.octokit-webhooks-schemas-7.6.1.json")
SUBSET = Path(__file__).resolve().parents[1] / "data" / "github" / "webhook-schemas-subset.json"

# definition -> dotted fields read by bot/service/routers, bot/commands/runner.py,
# bot/tracking/pipeline.py ("[]" steps into arrays, "?" marks a guarded read).
READS: dict[str, tuple[str, ...]] = {
    "pull_request$opened": (
        "action",
        "pull_request.number",
        "pull_request.state",
        "pull_request.head.sha",
        "pull_request.base.sha",
        "pull_request.labels.[].name",
        "repository.full_name",
        "installation?.id",
    ),
    "pull_request$edited": ("changes.base?",),
    "check_run$rerequested": (
        "check_run.name",
        "check_run.app.id",
        "check_run.head_sha",
        "check_run.pull_requests.[].number",
        "check_run.external_id?",
        "check_run.id",
        "repository.full_name",
        "installation?.id",
    ),
    "check_suite$rerequested": (
        "check_suite.id",
        "check_suite.head_sha",
        "check_suite.app.id",
        "check_suite.pull_requests.[].number",
        "repository.full_name",
        "installation?.id",
    ),
    "issue_comment$created": (
        "comment.id",
        "comment.body",
        "comment.user.login",
        "comment.user.type",
        "comment.created_at",
        "comment.updated_at",
        "issue.number",
        "issue.pull_request?",
        "sender.login",
        "repository.full_name",
        "installation?.id",
    ),
    "issue_comment$edited": ("changes.body?.from",),
    "pull_request_review_comment$created": (
        "comment.id",
        "comment.body",
        "comment.user.login",
        "comment.user.type",
        "comment.created_at",
        "comment.updated_at",
        "comment.in_reply_to_id?",
        "pull_request.number",
        "sender.login",
        "repository.full_name",
        "installation?.id",
    ),
    "pull_request_review_comment$edited": ("changes.body?.from",),
    "issues$edited": (
        "issue.number",
        "issue.body?",
        "changes.body?.from",
        "sender.login",
        "repository.full_name",
    ),
    "push$event": (
        "ref",
        "before",
        "after",
        "deleted",
        "forced",
        "head_commit?.id",
        "head_commit?.timestamp",
        "head_commit?.message",
        "head_commit?.author.name",
        "head_commit?.author.username?",
        "commits.[].id",
        "commits.[].message",
        "commits.[].timestamp",
        "commits.[].author.username?",
        "repository.default_branch",
        "repository.master_branch?",
        "repository.full_name",
    ),
    "installation$created": ("repositories?.[].full_name",),
    "installation$new_permissions_accepted": ("repositories?.[].full_name",),
    "installation_repositories$added": ("repositories_added.[].full_name",),
}


@cache
def schemas() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FULL if FULL.exists() else SUBSET).read_text("utf-8"))
    definitions: dict[str, Any] = data["definitions"]
    return definitions


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schemas()[node["$ref"].rsplit("/", 1)[1]]
    return node


def _variants(node: dict[str, Any]) -> list[dict[str, Any]]:
    node = _deref(node)
    out = [node]
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in node.get(key, []):
            out.extend(_variants(sub))
    return out


def _nullable(node: dict[str, Any]) -> bool:
    for v in _variants(node):
        kind = v.get("type")
        if kind == "null" or (isinstance(kind, list) and "null" in kind):
            return True
    return False


def audit(definition: str, read: str) -> str | None:
    node: Any = schemas()[definition]
    for step in read.split("."):
        name, guarded = step.rstrip("?"), step.endswith("?")
        if name == "[]":
            node = next((v["items"] for v in _variants(node) if "items" in v), None)
            if node is None:
                return f"{definition}: {read}: not an array"
            continue
        found = next(
            (
                (v["properties"][name], name in v.get("required", []))
                for v in _variants(node)
                if name in v.get("properties", {})
            ),
            None,
        )
        if found is None:
            return f"{definition}: {read}: {name} is not documented"
        node, required = found
        if (not required or _nullable(node)) and not guarded:
            return f"{definition}: {read}: {name} may be missing or null; guard it, mark it '?'"
    return None


@pytest.mark.parametrize("definition", sorted(READS))
def test_webhook_fields_read_are_documented_and_guarded(definition: str) -> None:
    if definition not in schemas():
        pytest.skip(f"{definition} is not in the vendored subset")
    assert [p for p in (audit(definition, r) for r in READS[definition]) if p] == []


def test_the_audit_catches_an_unguarded_read() -> None:
    assert "may be missing or null" in str(audit("push$event", "head_commit.id"))
    assert "not documented" in str(audit("push$event", "no_such_field"))
