"""The payload fields each handled webhook's handler reads, with their JSON types as GitHub's
webhook schemas give them, checked at intake: a signed delivery of the wrong shape (a
``pull_request`` event without ``pull_request``, a ``number`` that is a string) is refused with
422 and a log line, and nothing is stored or run.

Each entry: dotted path -> (JSON types allowed, whether the field is required in its parent
object). A field is checked only when its parent object is present (``installation`` is optional
in the schemas, so is everything under it). Only fields the handlers read are listed: GitHub adds
fields and older payloads lack some newer required ones, so the rest of a payload is not judged.

Source: the union over the actions the bot handles of @octokit/webhooks-schemas 7.6.1,
schema.json (JSON Schema draft-07 of GitHub's webhook payloads; MIT licence, Copyright (c)
Octokit contributors). tests/hardening/test_webhook_bodies.py derives this table from that file
again when it is at hand and compares.
"""

from __future__ import annotations

from typing import Any

Shape = dict[str, tuple[tuple[str, ...], bool]]

FIELDS: dict[str, Shape] = {
    "pull_request": {
        "number": (("integer",), True),
        "pull_request": (("object",), True),
        "pull_request.number": (("integer",), True),
        "pull_request.head": (("object",), True),
        "pull_request.head.sha": (("string",), True),
        "pull_request.base": (("object",), True),
        "pull_request.base.sha": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "check_run": {
        "check_run": (("object",), True),
        "check_run.id": (("integer",), True),
        "check_run.head_sha": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "check_suite": {
        "check_suite": (("object",), True),
        "check_suite.id": (("integer",), True),
        "check_suite.head_sha": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "issue_comment": {
        "issue": (("object",), True),
        "issue.number": (("integer",), True),
        "comment": (("object",), True),
        "comment.id": (("integer",), True),
        "comment.user": (("object",), True),
        "comment.user.login": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "pull_request_review_comment": {
        "pull_request": (("object",), True),
        "pull_request.number": (("integer",), True),
        "comment": (("object",), True),
        "comment.id": (("integer",), True),
        "comment.user": (("object",), True),
        "comment.user.login": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "push": {
        "ref": (("string",), True),
        "after": (("string",), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
    "installation": {
        "installation": (("object",), True),
        "installation.id": (("integer",), True),
        "repositories": (("array",), False),
    },
    "installation_repositories": {
        "installation": (("object",), True),
        "installation.id": (("integer",), True),
        "repositories_added": (("array",), True),
    },
    "issues": {
        "issue": (("object",), True),
        "issue.number": (("integer",), True),
        "issue.body": (("null", "string"), True),
        "repository": (("object",), True),
        "repository.full_name": (("string",), True),
        "installation": (("object",), False),
        "installation.id": (("integer",), True),
    },
}


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def problem(event: str, data: dict[str, Any]) -> str | None:
    """Why ``data`` does not fit what the handler of ``event`` reads, or None."""
    for path, (types, required) in FIELDS.get(event, {}).items():
        *parents, name = path.split(".")
        node: Any = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            continue  # the parent is absent (optional) or already reported
        if name not in node:
            if required:
                return f"payload field {path} is missing"
            continue
        kind = _json_type(node[name])
        if kind not in types and not (kind == "integer" and "number" in types):
            return f"payload field {path} is {kind}, expected {' or '.join(types)}"
    return None
