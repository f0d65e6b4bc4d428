"""Cut the webhook JSON schemas the emulator's payloads are checked against.

    python tests/emulator/make_webhook_schema_subset.py \
        /work/shared/github/webhook-schemas.octokit-webhooks-schemas-7.6.1.json \
        tests/data/github/webhook-schemas-subset.json

Keeps the ``<event>$<action>`` definitions of the events the emulator emits and everything they
reference (npm @octokit/webhooks-schemas 7.6.1, MIT).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

EMITTED = [
    "check_run$completed",
    "check_run$created",
    "check_run$rerequested",
    "check_suite$requested",
    "check_suite$rerequested",
    "installation$created",
    "issue_comment$created",
    "issue_comment$deleted",
    "issue_comment$edited",
    "issues$closed",
    "issues$edited",
    "issues$labeled",
    "issues$opened",
    "issues$reopened",
    "issues$unlabeled",
    "ping$event",
    "pull_request$closed",
    "pull_request$converted_to_draft",
    "pull_request$edited",
    "pull_request$labeled",
    "pull_request$opened",
    "pull_request$ready_for_review",
    "pull_request$reopened",
    "pull_request$synchronize",
    "pull_request$unlabeled",
    "pull_request_review_comment$created",
    "pull_request_review_comment$deleted",
    "pull_request_review_comment$edited",
    "push$event",
]


def _refs(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/"):
            out.add(ref[len("#/definitions/") :])
        for value in node.values():
            _refs(value, out)
    elif isinstance(node, list):
        for value in node:
            _refs(value, out)


def subset(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema["definitions"]
    keep: dict[str, Any] = {}
    pending = set(EMITTED)
    while pending:
        name = pending.pop()
        if name in keep:
            continue
        keep[name] = defs[name]
        _refs(defs[name], pending)
    return {
        "$schema": schema["$schema"],
        "$comment": "subset of @octokit/webhooks-schemas 7.6.1 schema.json (MIT)",
        "definitions": dict(sorted(keep.items())),
    }


if __name__ == "__main__":
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    data = subset(json.loads(source.read_text(encoding="utf-8")))
    target.write_text(json.dumps(data, separators=(",", ":"), sort_keys=True) + "\n", "utf-8")
    print(f"{len(data['definitions'])} definitions, {target.stat().st_size} bytes -> {target}")
