"""Where the links the bot writes point (pure): rule documentation, code at a commit, checks.

Rule documentation: the service serves it at ``/rules/<id>`` (bot.dashboard.rules); when the
service's public address is known (``ISOLATION_BOT_PUBLIC_URL``) every rule link goes there.
Without it, links go to ``ISOLATION_BOT_RULES_URL``, whose default is the generated rule
reference (docs/rules.md) in this project's repository.
"""

from __future__ import annotations

import hashlib

from bot.render import escape

# Where this project is published: the python organisation, which owns the App (docs/deploy.md),
# hosts its source beside its other bots; the repository holds rules/ and docs/rules.md.
PROJECT_REPOSITORY = "https://github.com/python/isolation-bot"
# A rule's section in the generated reference; placeholders: {rule} ("ISO001"), {name}
# ("static-type"), {anchor} ("iso001-static-type", the heading's anchor on GitHub).
DEFAULT_RULES_URL = PROJECT_REPOSITORY + "/blob/main/docs/rules.md#{anchor}"
SERVICE_RULES_PATH = "/rules/{rule}"


def rules_url_template(public_url: str | None, rules_url: str | None) -> str:
    """The rule-link template: the service's own pages when its public address is known, else
    the configured documentation URL, else the project's rule reference."""
    if public_url:
        return public_url.rstrip("/") + SERVICE_RULES_PATH
    return rules_url or DEFAULT_RULES_URL


def rule_url(template: str, rule: str, name: str = "") -> str:
    """The docs link of a rule: ``template`` may use {rule} ("ISO001"), {name}, {anchor}."""
    anchor = f"{rule}-{name}".lower().strip("-") if name else rule.lower()
    return template.format(
        rule=escape.url_path(rule), name=escape.url_path(name), anchor=escape.url_path(anchor)
    )


def blob_url(html_url: str, repo: str, sha: str, path: str, line: int | None = None) -> str:
    """A file (and line) at a commit on GitHub."""
    anchor = f"#L{int(line)}" if line else ""
    base = f"{html_url.rstrip('/')}/{escape.url_path(repo)}/blob/{escape.url_path(sha)}"
    return f"{base}/{escape.url_path(path)}{anchor}"


def pr_file_url(html_url: str, repo: str, number: int, path: str, line: int | None = None) -> str:
    """A file (and head line) in the pull request's diff: the Files tab always shows the PR's
    current head, and the link holds no commit SHA (GitHub's anchor is the SHA-256 of the
    path, "R" for the head side)."""
    anchor = "diff-" + hashlib.sha256(path.encode("utf-8")).hexdigest()
    if line:
        anchor += f"R{int(line)}"
    return f"{html_url.rstrip('/')}/{escape.url_path(repo)}/pull/{int(number)}/files#{anchor}"


def checks_url(html_url: str, repo: str, number: int) -> str:
    """The pull request's Checks tab (the check run's full output)."""
    return f"{html_url.rstrip('/')}/{escape.url_path(repo)}/pull/{int(number)}/checks"
