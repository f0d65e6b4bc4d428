"""Operator commands, synchronous on PyGithub: ``isolation-bot doctor`` and ``setup-labels``.

They run once from a terminal, with the same environment as the service (GITHUB_APP_ID,
GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH, GITHUB_API_URL, ISOLATION_BOT_CONFIG):

- ``doctor [--repo OWNER/NAME]`` checks, in order, that the credentials are set, the App is
  reachable with them, it is installed on the repository, the installation grants the
  permissions the bot needs, the App subscribes to the events it handles, the meta issue exists
  and is open and unlocked, and the configured labels exist. Each check prints ``OK`` or
  ``MISSING`` and, when missing, how to fix it. Exit status 0 when all pass, 1 otherwise.
- ``setup-labels [--repo OWNER/NAME] [--dry-run] [--update-existing]`` creates the configured
  labels that are missing, so the PR check can apply them. A label that already exists is left
  as the repository has it (CPython has ``topic-subinterpreters`` with its own colour) and
  reported when it differs; ``--update-existing`` sets its colour and description too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from bot.config import ConfigError, Settings, from_env

# What the bot needs; deploy/app.yml asks for exactly these (tests/deploy checks both agree).
REQUIRED_PERMISSIONS: dict[str, str] = {
    "checks": "write",
    "pull_requests": "write",
    "issues": "write",
    "contents": "read",
    "metadata": "read",
}
# Subscribed events the routers handle. installation / installation_repositories are sent to
# every App without subscribing, so GET /app never lists them.
REQUIRED_EVENTS: tuple[str, ...] = (
    "pull_request",
    "check_run",
    "issue_comment",
    "push",
    "check_suite",  # "Re-run all checks"
    "pull_request_review_comment",  # commands in review comments
    "issues",  # the meta issue: a person's edit overwritten by the bot is restored
)
_LEVEL = {"none": 0, "read": 1, "write": 2, "admin": 3}

# Colour and description of each configured label, by its role in Settings.labels.
LABEL_STYLE: dict[str, tuple[str, str]] = {
    "topic": ("1d76db", "Changes the subinterpreter isolation state of C extension modules"),
    "improvement": ("0e8a16", "Makes C extension modules more isolated (isolation-bot)"),
    "regression": ("d93f0b", "Makes C extension modules less isolated (isolation-bot)"),
}


@dataclass(frozen=True)
class LabelSpec:
    name: str
    color: str
    description: str


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def label_specs(settings: Settings) -> list[LabelSpec]:
    labels = settings.labels
    names = {
        "topic": labels.topic,
        "improvement": labels.improvement,
        "regression": labels.regression,
    }
    return [LabelSpec(names[role], *LABEL_STYLE[role]) for role in LABEL_STYLE]


# -- PyGithub plumbing (imported lazily: the other commands should not pay for it) -----------


def _documented_app_auth(app_id: str, private_key: str) -> Any:
    """PyGithub's App auth, plus GitHub's documented ``Accept`` on every request (as the App
    and as its installations): PyGithub sends none, which a strict server may refuse."""
    import github

    from bot.github.client import ACCEPT

    class InstallationAuth(github.Auth.AppInstallationAuth):
        def authentication(self, headers: dict[str, Any]) -> None:
            super().authentication(headers)
            headers.setdefault("Accept", ACCEPT)

    class AppAuth(github.Auth.AppAuth):
        def authentication(self, headers: dict[str, Any]) -> None:
            super().authentication(headers)
            headers.setdefault("Accept", ACCEPT)

        def get_installation_auth(
            self,
            installation_id: int,
            token_permissions: dict[str, str] | None = None,
            requester: Any = None,
        ) -> github.Auth.AppInstallationAuth:
            return InstallationAuth(self, installation_id, token_permissions, requester)

    return AppAuth(app_id, private_key)


def _integration(settings: Settings, *, throttle: bool) -> Any:
    import github

    from bot.github.client import API_VERSION

    assert settings.app_id and settings.private_key
    auth = _documented_app_auth(settings.app_id, settings.private_key)
    # Writes 1 s apart (PyGithub's default, GitHub's advice against secondary rate limits;
    # tests against the emulator turn it off); reads need no spacing for a handful of calls.
    return github.GithubIntegration(
        auth=auth,
        base_url=settings.api_url,
        timeout=20,
        retry=3,
        api_version=API_VERSION,
        seconds_between_requests=None,
        seconds_between_writes=1.0 if throttle else None,
    )


def _describe(exc: Exception) -> str:
    import github

    if isinstance(exc, github.GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"HTTP {exc.status}" + (f": {message}" if message else "")
    return f"{type(exc).__name__}: {exc}"


def _split_repo(repo: str) -> tuple[str, str]:
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name:
        raise ConfigError(f"repository must be OWNER/NAME, not {repo!r}")
    return owner, name


# -- doctor ----------------------------------------------------------------------------------


def doctor_checks(settings: Settings, repo: str, *, throttle: bool = True) -> Iterator[Check]:
    """The checks in order; stops early when later ones cannot run (no App, no install)."""
    import github

    missing = [
        n
        for n, v in (
            ("GITHUB_APP_ID", settings.app_id),
            ("GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH", settings.private_key),
        )
        if not v
    ]
    if missing:
        yield Check(
            "credentials",
            False,
            f"{' and '.join(missing)} not set",
            "set them to the App's id and private key (App settings > General)",
        )
        return
    yield Check("credentials", True, f"App id {settings.app_id}, API {settings.api_url}")

    gi = _integration(settings, throttle=throttle)
    try:
        app = gi.get_app()
        slug = app.slug
    except (github.GithubException, OSError, ValueError) as exc:
        fix = (
            "check GITHUB_APP_ID and that GITHUB_PRIVATE_KEY is a current key of that App"
            if isinstance(exc, github.GithubException) and exc.status == 401
            else "check GITHUB_API_URL and the network"
        )
        yield Check("App reachable", False, _describe(exc), fix)
        return
    yield Check("App reachable", True, f"{slug} (id {app.id})")
    install_url = f"{settings.html_url}/apps/{slug}/installations/new"
    settings_url = f"{settings.html_url}/settings/apps/{slug}/permissions"

    owner, name = _split_repo(repo)
    try:
        installation = gi.get_repo_installation(owner, name)
    except github.GithubException as exc:
        yield Check(
            f"installed on {repo}",
            False,
            _describe(exc),
            f"install the App on {repo}: {install_url}",
        )
        return
    yield Check(f"installed on {repo}", True, f"installation {installation.id}")

    granted = dict(installation.permissions or {})
    app_perms = dict(app.permissions or {})
    lacking = {
        p: lvl
        for p, lvl in REQUIRED_PERMISSIONS.items()
        if _LEVEL.get(str(granted.get(p, "none")), 0) < _LEVEL[lvl]
    }
    if lacking:
        in_app = [
            p for p in lacking if _LEVEL.get(str(app_perms.get(p, "none")), 0) >= _LEVEL[lacking[p]]
        ]
        fix = (
            f"give the App {_fmt(lacking)} in {settings_url}"
            if len(in_app) < len(lacking)
            else f"the App asks for them: accept the new permissions on the installation "
            f"({settings.html_url}/settings/installations/{installation.id})"
        )
        yield Check("permissions", False, f"missing {_fmt(lacking)}", fix)
    else:
        yield Check("permissions", True, _fmt(REQUIRED_PERMISSIONS))

    events = set(app.events or [])
    absent = [e for e in REQUIRED_EVENTS if e not in events]
    if absent:
        yield Check(
            "webhook events",
            False,
            f"not subscribed: {', '.join(absent)}",
            f"tick them under 'Subscribe to events' in {settings_url}",
        )
    else:
        yield Check("webhook events", True, ", ".join(REQUIRED_EVENTS))

    gh = installation.get_github_for_installation()
    yield from _meta_issue_check(gi, gh, settings, repo, install_url)
    yield from _label_check(gh, settings, repo)


def _meta_issue_check(
    gi: Any, gh: Any, settings: Settings, repo: str, install_url: str
) -> Iterator[Check]:
    import github

    meta = settings.meta_issue
    name = f"meta issue {meta.repo}#{meta.number}"
    try:
        if meta.repo != repo:  # the meta issue may live elsewhere: that needs the App too
            owner, repo_name = _split_repo(meta.repo)
            gh = gi.get_repo_installation(owner, repo_name).get_github_for_installation()
        issue = gh.get_repo(meta.repo).get_issue(meta.number)
        state, locked, is_pr = issue.state, issue.locked, issue.pull_request is not None
    except github.GithubException as exc:
        fix = (
            f"create it, or set [meta_issue] repo/number in ISOLATION_BOT_CONFIG; "
            f"if {meta.repo} is another repository, install the App there: {install_url}"
        )
        yield Check(name, False, _describe(exc), fix)
        return
    if is_pr:
        yield Check(
            name,
            False,
            "is a pull request, not an issue",
            "set [meta_issue] number to the tracking issue",
        )
    elif state != "open":
        yield Check(name, False, "is closed", "reopen it (the bot only edits an open issue)")
    elif locked:
        yield Check(name, False, "is locked", "unlock it, or the checklist cannot be updated")
    else:
        yield Check(name, True, "open and unlocked")


def _label_check(gh: Any, settings: Settings, repo: str) -> Iterator[Check]:
    import github

    try:
        existing = {lbl.name.lower() for lbl in gh.get_repo(repo).get_labels()}
    except github.GithubException as exc:
        yield Check("labels", False, _describe(exc), "check the installation's repository access")
        return
    absent = [s.name for s in label_specs(settings) if s.name.lower() not in existing]
    if absent:
        yield Check(
            "labels",
            False,
            f"missing in {repo}: {', '.join(absent)}",
            f"run: isolation-bot setup-labels --repo {repo}",
        )
    else:
        yield Check("labels", True, ", ".join(s.name for s in label_specs(settings)))


def _fmt(perms: dict[str, str]) -> str:
    return ", ".join(f"{p}: {lvl}" for p, lvl in perms.items())


def run_doctor(settings: Settings, repo: str, out: TextIO, *, throttle: bool = True) -> int:
    ok = True
    for check in doctor_checks(settings, repo, throttle=throttle):
        ok = ok and check.ok
        print(f"{'OK' if check.ok else 'MISSING':8} {check.name}: {check.detail}", file=out)
        if not check.ok and check.fix:
            print(f"{'':8} fix: {check.fix}", file=out)
    print("all checks passed" if ok else "some checks failed: see the fixes above", file=out)
    return 0 if ok else 1


# -- setup-labels ----------------------------------------------------------------------------


def setup_labels(
    settings: Settings,
    repo: str,
    out: TextIO,
    *,
    dry_run: bool = False,
    throttle: bool = True,
    update_existing: bool = False,
) -> int:
    """Create the missing configured labels (and, with ``update_existing``, set the colour
    and description of existing ones); prints one line per label."""
    import github

    if not settings.app_id or not settings.private_key:
        raise ConfigError("GITHUB_APP_ID and GITHUB_PRIVATE_KEY (or _PATH) must be set")
    owner, name = _split_repo(repo)
    gi = _integration(settings, throttle=throttle)
    try:
        gh = gi.get_repo_installation(owner, name).get_github_for_installation()
        repository = gh.get_repo(repo)
        current = {lbl.name.lower(): lbl for lbl in repository.get_labels()}
    except github.GithubException as exc:
        print(
            f"cannot read the labels of {repo}: {_describe(exc)} "
            "(is the App installed there? run isolation-bot doctor)",
            file=out,
        )
        return 1
    status = 0
    for spec in label_specs(settings):
        label = current.get(spec.name.lower())
        try:
            if label is None:
                action = "created"
                if not dry_run:
                    repository.create_label(spec.name, spec.color, spec.description)
            elif (label.color.lower(), label.description or "") == (spec.color, spec.description):
                action = "unchanged"
            elif not update_existing:
                # The repository's own colour and text are kept (maintainers chose them).
                print(
                    f"kept      {label.name} (#{label.color.lower()}: {label.description or ''}; "
                    "differs from the configuration, --update-existing changes it)",
                    file=out,
                )
                continue
            else:
                action = "updated"
                if not dry_run:
                    label.edit(label.name, spec.color, spec.description)
        except github.GithubException as exc:
            print(f"failed    {spec.name}: {_describe(exc)}", file=out)
            status = 1
            continue
        verb = f"would be {action}" if dry_run and action != "unchanged" else action
        print(f"{verb:9} {spec.name} (#{spec.color}: {spec.description})", file=out)
    return status


# -- command line ----------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    doctor = subparsers.add_parser(
        "doctor", help="check the App's installation, permissions, events, meta issue, labels"
    )
    doctor.add_argument(
        "--repo", metavar="OWNER/NAME", help="repository to check (default: the meta issue's)"
    )
    doctor.set_defaults(handler=_cli(_doctor_main))
    labels = subparsers.add_parser(
        "setup-labels", help="create the configured labels missing from the repository"
    )
    labels.add_argument(
        "--repo", metavar="OWNER/NAME", help="repository (default: the meta issue's)"
    )
    labels.add_argument("--dry-run", action="store_true", help="print, change nothing")
    labels.add_argument(
        "--update-existing",
        action="store_true",
        help="also set the colour and description of labels that exist already",
    )
    labels.set_defaults(handler=_cli(_labels_main))


def _cli(fn: Callable[[Settings, argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return fn(from_env(), args)

    return handler


def _doctor_main(settings: Settings, args: argparse.Namespace) -> int:
    return run_doctor(settings, args.repo or settings.meta_issue.repo, sys.stdout)


def _labels_main(settings: Settings, args: argparse.Namespace) -> int:
    return setup_labels(
        settings,
        args.repo or settings.meta_issue.repo,
        sys.stdout,
        dry_run=args.dry_run,
        update_existing=args.update_existing,
    )
