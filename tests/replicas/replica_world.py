"""The scene the replica tests share: the emulator, a repository with C modules, a fork
that PRs come from, and checks on what the bot left behind."""

from __future__ import annotations

from typing import Any

from bot.emulator import GitHubEmulator
from bot.emulator.state import AppRecord
from bot.prcheck.check_run import CHECK_NAME
from bot.prcheck.comment import MARKER
from tests.support.cluster import Replica
from tests.support.samples import BASE_SOURCE, HEAD_SOURCE

REPO = "python/cpython"
CONTRIBUTOR = "contributor"
FORK = f"{CONTRIBUTOR}/cpython"
MODULES = 6


def module_path(k: int) -> str:
    return f"Modules/_m{k}module.c"


def module_source(k: int, pr: int, revision: int) -> str:
    """A variant of the demo module: every PR head has its own blobs (a cold analysis), and
    half the revisions bring the demo's regression (findings, labels)."""
    source = HEAD_SOURCE if (pr + revision) % 2 else BASE_SOURCE
    return source.replace("_counter", f"_m{k}") + f"\n/* pr {pr} revision {revision} */\n"


def make_world() -> tuple[GitHubEmulator, AppRecord]:
    emu = GitHubEmulator()
    emu.rate_limit = 10**7  # thousands of calls in a minute; rate limits are not tested here
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO)
    emu.commit(
        REPO,
        "main",
        {module_path(k): BASE_SOURCE.replace("_counter", f"_m{k}") for k in range(MODULES)},
        message="base",
    )
    emu.install(app, "python")
    emu.fork(REPO, CONTRIBUTOR)  # not installed: its pushes send no webhooks, its PRs do
    return emu, app


def open_pr(emu: GitHubEmulator, pr: int) -> int:
    branch = f"feature-{pr}"
    k = pr % MODULES
    emu.commit(FORK, branch, {module_path(k): module_source(k, pr, 0)}, author=CONTRIBUTOR)
    return emu.open_pull_request(REPO, f"{CONTRIBUTOR}:{branch}", user=CONTRIBUTOR)


def push_pr(emu: GitHubEmulator, pr: int, revision: int) -> str:
    k = pr % MODULES
    return emu.push(
        FORK,
        f"feature-{pr}",
        {module_path(k): module_source(k, pr, revision)},
        author=CONTRIBUTOR,
    )


def problems_of_pr(emu: GitHubEmulator, app: AppRecord, number: int) -> list[str]:
    """What is wrong with one PR's end state: not exactly one status comment, or not exactly
    one completed `isolation` run for its last head, or a run of that head still spinning."""
    problems = []
    comments = [
        c
        for c in emu.issue_comments(REPO, number)
        if c["user"]["login"] == app.bot_login and MARKER in str(c["body"])
    ]
    if len(comments) != 1:
        problems.append(f"#{number}: {len(comments)} status comments")
    head = emu.pull_request(REPO, number)["head"]["sha"]
    runs = [r for r in emu.check_runs(REPO, head) if r["name"] == CHECK_NAME]
    completed = [r for r in runs if r["status"] == "completed"]
    if len(completed) != 1 or len(runs) != 1:
        states = [(r["status"], r["conclusion"]) for r in runs]
        problems.append(f"#{number}: runs on the last head {head[:8]}: {states}")
    elif completed[0]["conclusion"] not in ("success", "failure", "neutral"):
        problems.append(f"#{number}: last head run ended {completed[0]['conclusion']}")
    return problems


def secrets_in_logs(replicas: list[Replica], app: AppRecord) -> list[str]:
    """Secrets found in any replica's stderr: the webhook secret, the private key (any line
    of its body), installation tokens."""
    key_lines = [
        line for line in app.private_key_pem.splitlines() if line and "PRIVATE KEY" not in line
    ]
    found = []
    for r in replicas:
        text = r.log_text()
        if app.webhook_secret in text:
            found.append(f"replica {r.index}: the webhook secret")
        if any(line in text for line in key_lines):
            found.append(f"replica {r.index}: the private key")
        if "ghs_" in text:
            found.append(f"replica {r.index}: an installation token (ghs_)")
    return found


def job_lines_without_context(replicas: list[Replica]) -> list[dict[str, Any]]:
    """JSON log lines written while a webhook job ran (the worker's job line, the routers'
    and the check's lines) that lack the delivery id or the repository."""
    bad = []
    for r in replicas:
        for rec in r.log_records():
            if "unparsed" in rec:
                bad.append(rec)
                continue
            logger = str(rec.get("logger", ""))
            in_job = logger.startswith(("bot.prcheck", "bot.tracking.router", "bot.commands"))
            in_job = in_job or str(rec.get("msg", "")).startswith("job ")
            if (
                in_job
                and rec.get("event") not in ("pr_check",)
                and not (rec.get("delivery_id") and rec.get("repo"))
            ):
                bad.append(rec)
    return bad
