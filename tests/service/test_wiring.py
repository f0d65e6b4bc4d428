"""The service's static wiring: exactly which webhooks it handles, which internal job kinds
it runs, and that the features reach the service only through the job contract."""

from __future__ import annotations

import ast
from pathlib import Path

from gidgethub import sansio

from bot.prcheck.jobs import PR_CHECK
from bot.prcheck.sweep import PR_RUN_SETTLE
from bot.service.routers import JOB_HANDLERS, handles

# Every event GitHub sends an App like this one, with the actions it may carry (None: the
# event has no action). The probe asks the router about each pair.
CANDIDATES: dict[str, tuple[str | None, ...]] = {
    "pull_request": (
        "opened",
        "synchronize",
        "reopened",
        "ready_for_review",
        "edited",
        "closed",
        "labeled",
        "unlabeled",
        "assigned",
        "converted_to_draft",
        "review_requested",
    ),
    "check_run": ("created", "completed", "rerequested", "requested_action"),
    "check_suite": ("requested", "rerequested", "completed"),
    "issue_comment": ("created", "edited", "deleted"),
    "issues": ("opened", "edited", "closed"),
    "push": (None,),
    "create": (None,),
    "delete": (None,),
    "installation": ("created", "deleted", "new_permissions_accepted", "suspend"),
    "installation_repositories": ("added", "removed"),
    "pull_request_review": ("submitted",),
    "pull_request_review_comment": ("created", "edited", "deleted"),
    "ping": (None,),
    PR_CHECK: (None,),  # an internal job kind is not a webhook
}

HANDLED = {
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request", "reopened"),
    ("pull_request", "ready_for_review"),
    ("pull_request", "edited"),
    ("check_run", "rerequested"),
    ("check_suite", "rerequested"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("issues", "edited"),
    ("pull_request_review_comment", "created"),
    ("pull_request_review_comment", "edited"),
    ("push", None),
    ("installation", "created"),
    ("installation", "new_permissions_accepted"),
    ("installation_repositories", "added"),
}


def _handled(event: str, action: str | None) -> bool:
    payload = {} if action is None else {"action": action}
    return handles(sansio.Event(payload, event=event, delivery_id="probe"))


def test_the_router_handles_exactly_these_event_action_pairs() -> None:
    found = {
        (event, action)
        for event, actions in CANDIDATES.items()
        for action in actions
        if _handled(event, action)
    }
    assert found == HANDLED


def test_internal_job_kinds_are_dispatched_by_kind() -> None:
    assert set(JOB_HANDLERS) == {PR_CHECK, PR_RUN_SETTLE}


def test_features_do_not_import_the_service_or_the_cli() -> None:
    root = Path(__file__).resolve().parents[2] / "bot"
    upward: list[str] = []
    for package in ("prcheck", "commands", "tracking", "summary", "dashboard"):
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                elif isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                else:
                    continue
                upward += [
                    f"{path.relative_to(root)}: {n}"
                    for n in names
                    if n.startswith(("bot.service", "bot.cli"))
                ]
    assert upward == []
