"""The product ships the product: the wheel and the image hold no test code, and the
runtime dependencies hold no test-only library."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"openapi-core", "jsonschema", "pytest", "hypothesis", "selenium"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_runtime_dependencies_hold_no_test_only_library() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert {_name(d) for d in project["dependencies"]} & TEST_ONLY == set()
    extras = project["optional-dependencies"]
    assert {_name(d) for d in extras["emulator"]} == {"openapi-core"}
    assert "isolation-bot[emulator]" in extras["test"]
    assert "isolation-bot[test]" in extras["dev"]
    pins = (ROOT / "deploy" / "requirements.lock").read_text(encoding="utf-8").splitlines()
    pinned = {_name(p) for p in pins if p and not p.startswith("#")}
    assert pinned & (TEST_ONLY | {"openapi-schema-validator", "openapi-spec-validator"}) == set()


def test_the_image_copies_no_tests() -> None:
    copied = []
    for line in (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not words[1].startswith("--from"):
            copied += [w.removeprefix("./") for w in words[1:-1]]
    assert copied, "no COPY found"
    assert not any(c == "." or c.startswith("tests") for c in copied), copied


@pytest.mark.slow
def test_the_wheel_holds_no_tests(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    (wheel_path,) = tmp_path.glob("isolation_bot-*.whl")
    with zipfile.ZipFile(wheel_path) as wheel:
        names = wheel.namelist()
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    tops = {n.split("/", 1)[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"bot"}, tops
    assert not [n for n in names if "/testing/" in n or n.endswith("/testing.py")]
    assert "bot/emulator/serving.py" in names  # the demo's emulator ships
    requires = Parser().parsestr(metadata.decode()).get_all("Requires-Dist") or []
    runtime = {_name(r) for r in requires if "extra ==" not in r}
    assert runtime & TEST_ONLY == set(), runtime
