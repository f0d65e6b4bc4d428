"""`isolation-bot doctor` and `setup-labels` against the GitHub emulator."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass, replace

import pytest

from bot.cli.admin import run_doctor, setup_labels
from bot.cli.main import main
from bot.config import Labels, MetaIssue, Settings
from bot.emulator import GitHubEmulator
from bot.emulator import shapes as emulator_shapes

REPO = "python/cpython"


@dataclass
class World:
    emu: GitHubEmulator
    settings: Settings
    meta_number: int


@pytest.fixture
def world() -> Iterator[World]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO)
    emu.create_repo("someone/elsewhere")  # exists, but the App is not installed there
    emu.install(app, account="python")
    number = emu.create_issue(REPO, "Meta issue: per-interpreter GIL")
    with emu.serve_in_thread() as url:
        settings = Settings(
            app_id=str(app.id),
            private_key=app.private_key_pem,
            api_url=url,
            meta_issue=MetaIssue(REPO, number),
        )
        yield World(emu, settings, number)
    assert emu.validation_errors == [], "the admin commands sent or got off-spec traffic"


def doctor(settings: Settings, repo: str = REPO) -> tuple[int, str]:
    out = io.StringIO()
    status = run_doctor(settings, repo, out, throttle=False)
    return status, out.getvalue()


def labels(
    settings: Settings, repo: str = REPO, *, dry_run: bool = False, update: bool = False
) -> tuple[int, str]:
    out = io.StringIO()
    status = setup_labels(
        settings, repo, out, dry_run=dry_run, throttle=False, update_existing=update
    )
    return status, out.getvalue()


def line(text: str, name: str) -> str:
    found = [
        ln for ln in text.splitlines() if f" {name}" in ln and ln.split()[0] in ("OK", "MISSING")
    ]
    assert found, f"no check named {name!r} in:\n{text}"
    return found[0]


def test_fresh_install_lacks_only_labels_then_setup_labels_fixes_it(world: World) -> None:
    status, text = doctor(world.settings)
    assert status == 1
    for name in (
        "credentials",
        "App reachable",
        f"installed on {REPO}",
        "permissions",
        "webhook events",
        f"meta issue {REPO}#{world.meta_number}",
    ):
        assert line(text, name).startswith("OK"), text
    assert line(text, "labels").startswith("MISSING")
    assert f"fix: run: isolation-bot setup-labels --repo {REPO}" in text

    status, text = labels(world.settings)
    assert status == 0
    assert text.count("created") == 3
    made = world.emu.repo_record(REPO).labels
    assert made["topic-subinterpreters"].color == "1d76db"

    status, text = doctor(world.settings)
    assert status == 0, text
    assert "all checks passed" in text


def test_setup_labels_keeps_existing_labels_unless_asked(world: World) -> None:
    """CPython already has topic-subinterpreters with its own colour: it is kept."""
    world.emu.create_label(REPO, "topic-subinterpreters", "c5def5", "CPython's own")
    status, text = labels(world.settings)
    assert status == 0
    assert text.count("created") == 2
    assert "kept      topic-subinterpreters (#c5def5: CPython's own;" in text
    assert "--update-existing" in text
    topic = world.emu.repo_record(REPO).labels["topic-subinterpreters"]
    assert (topic.color, topic.description) == ("c5def5", "CPython's own")
    assert not [q for q in world.emu.requests if q.method == "PATCH"]


def test_setup_labels_update_existing_sets_colour_and_description_idempotently(
    world: World,
) -> None:
    world.emu.create_label(REPO, "Isolation-Regression", "ffffff", "old text")
    world.emu.create_label(REPO, "unrelated", "000000", "not ours")
    status, text = labels(world.settings, dry_run=True, update=True)
    assert status == 0 and "would be updated" in text and "would be created" in text
    r = world.emu.repo_record(REPO)
    assert r.labels["isolation-regression"].color == "ffffff"  # dry run changed nothing
    assert "topic-subinterpreters" not in r.labels

    status, text = labels(world.settings, update=True)
    assert status == 0
    assert "updated   isolation-regression" in text
    regression = r.labels["isolation-regression"]
    assert (regression.color, regression.description) == (
        "d93f0b",
        "Makes C extension modules less isolated (isolation-bot)",
    )
    assert r.labels["unrelated"].color == "000000"
    assert {"topic-subinterpreters", "isolation-improved"} <= set(r.labels)

    writes = len([q for q in world.emu.requests if q.method in ("POST", "PATCH")])
    status, text = labels(world.settings, update=True)
    assert status == 0 and text.count("unchanged") == 3
    assert len([q for q in world.emu.requests if q.method in ("POST", "PATCH")]) == writes + 1
    # (+1: the installation token; no label was written)


def test_configured_label_names_are_used(world: World) -> None:
    settings = replace(
        world.settings, labels=Labels(topic="topic-isolation", improvement="good", regression="bad")
    )
    assert labels(settings)[0] == 0
    assert {"topic-isolation", "good", "bad"} <= set(world.emu.repo_record(REPO).labels)


def test_not_installed_on_the_repository(world: World) -> None:
    status, text = doctor(world.settings, "someone/elsewhere")
    assert status == 1
    assert line(text, "installed on someone/elsewhere").startswith("MISSING")
    assert "/apps/isolation-bot/installations/new" in text
    assert "permissions" not in text  # later checks need the installation: not run


def test_missing_credentials(world: World) -> None:
    status, text = doctor(replace(world.settings, private_key=None))
    assert status == 1
    assert "MISSING  credentials: GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH not set" in text


def test_wrong_private_key(world: World) -> None:
    # (The emulator gives every App the same key, so make an unrelated one.)
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    status, text = doctor(replace(world.settings, private_key=other))
    assert status == 1
    assert line(text, "App reachable").startswith("MISSING")
    assert "HTTP 401" in text and "current key of that App" in text


def test_missing_permission_and_event(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(emulator_shapes.APP_PERMISSIONS, "checks", "read")
    monkeypatch.delitem(emulator_shapes.APP_PERMISSIONS, "issues")
    monkeypatch.setattr(emulator_shapes, "APP_EVENTS", ("pull_request", "push"))
    status, text = doctor(world.settings)
    assert status == 1
    assert "MISSING  permissions: missing checks: write, issues: write" in text
    assert "MISSING  webhook events: not subscribed: check_run, issue_comment" in text
    assert "/settings/apps/isolation-bot/permissions" in text


@pytest.mark.parametrize(
    ("breakage", "message"),
    [("closed", "is closed"), ("locked", "is locked"), ("absent", "HTTP 404")],
)
def test_meta_issue_problems(world: World, breakage: str, message: str) -> None:
    settings = world.settings
    if breakage == "closed":
        world.emu.issue_record(REPO, world.meta_number).state = "closed"
    elif breakage == "locked":
        world.emu.lock_issue(REPO, world.meta_number)
    else:
        settings = replace(settings, meta_issue=MetaIssue(REPO, 999))
    status, text = doctor(settings)
    assert status == 1
    assert line(text, "meta issue").startswith("MISSING")
    assert message in line(text, "meta issue")


def test_meta_issue_in_a_repository_without_the_app(world: World) -> None:
    world.emu.create_issue("someone/elsewhere", "tracking")
    status, text = doctor(replace(world.settings, meta_issue=MetaIssue("someone/elsewhere", 1)))
    assert status == 1
    assert line(text, "meta issue someone/elsewhere#1").startswith("MISSING")
    assert "install the App there" in text


def test_command_line(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = world.settings
    assert s.app_id and s.private_key
    monkeypatch.setenv("GITHUB_APP_ID", s.app_id)
    monkeypatch.setenv("GITHUB_PRIVATE_KEY", s.private_key)
    monkeypatch.setenv("GITHUB_API_URL", s.api_url)
    monkeypatch.delenv("GITHUB_PRIVATE_KEY_PATH", raising=False)
    monkeypatch.delenv("ISOLATION_BOT_CONFIG", raising=False)
    # The meta issue is not the default 84692 here: the repository is given explicitly.
    assert main(["setup-labels", "--repo", REPO, "--dry-run"]) == 0
    assert "would be created" in capsys.readouterr().out
    world.emu.create_label(REPO, "topic-subinterpreters", "c5def5", "CPython's own")
    assert main(["setup-labels", "--repo", REPO, "--dry-run"]) == 0
    assert "kept      topic-subinterpreters" in capsys.readouterr().out
    assert main(["setup-labels", "--repo", REPO, "--dry-run", "--update-existing"]) == 0
    assert "would be updated topic-subinterpreters" in capsys.readouterr().out
    assert main(["doctor", "--repo", REPO]) == 1
    out = capsys.readouterr().out
    assert f"MISSING  meta issue {REPO}#84692" in out
    assert main(["doctor", "--repo", "not-a-repo"]) == 2
    assert "OWNER/NAME" in capsys.readouterr().err
