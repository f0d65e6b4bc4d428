"""The emulator is a package of its own: it imports nothing from the bot, its modules import
one way, and its OpenAPI checks (the ``emulator`` extra) stay out of the service."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import bot.emulator
from bot.emulator import GitHubEmulator, ValidationUnavailable

PACKAGE = Path(bot.emulator.__file__).parent
ROOT = Path(__file__).resolve().parents[2]
# The order modules may import each other in: each imports only modules after it.
LAYERS = ["__main__", "seed", "__init__", "serving", "server", "core", "shapes"]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every import in ``path``, TYPE_CHECKING blocks included."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.append((node.level, node.module))
        elif isinstance(node, ast.ImportFrom):  # from . import a, b
            found.extend((node.level, alias.name) for alias in node.names)
    return found


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_emulator_imports_nothing_from_the_bot() -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in _sources()
        for level, module in _imports(path)
        if level == 0 and (module == "bot" or module.startswith("bot."))
    ]
    assert offenders == []


def _graph() -> dict[str, set[str]]:
    """module -> the package's modules it imports (``from .x import``, ``from . import x``)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        graph[path.stem] = {
            module.split(".")[0] for level, module in _imports(path) if level == 1 and module
        }
    return graph


def test_the_emulator_modules_import_one_way() -> None:
    """serving -> server -> core -> shapes -> the leaves: no module imports one above it,
    and no chain of imports comes back to where it started."""
    graph = _graph()
    rank = {name: i for i, name in enumerate(LAYERS)}
    upward = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if module in rank and target in rank and rank[target] <= rank[module]
    ]
    leaves_up = [
        f"{module} -> {target}"
        for module, targets in graph.items()
        for target in targets
        if module not in rank and target in rank
    ]
    assert upward == [] and leaves_up == []

    def cycle_from(start: str, node: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return (*seen, nxt)
            if nxt not in seen:
                found = cycle_from(start, nxt, (*seen, nxt))
                if found:
                    return found
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m, m, (m,)))]
    assert cycles == []


@pytest.mark.parametrize("module", ["bot.service.app", "bot.cli.serve", "bot.cli.main"])
def test_serving_the_bot_needs_neither_openapi_core_nor_jsonschema(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        "heavy = ('openapi_core', 'jsonschema', 'bot.emulator', 'tests')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_nothing_in_the_package_imports_the_tests() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for level, module in _imports(path)
        if level == 0 and (module == "tests" or module.startswith("tests."))
    ]
    assert offenders == []


def test_without_openapi_core_the_emulator_says_which_extra_it_needs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openapi_core", None)  # `import openapi_core` fails
    with pytest.raises(ValidationUnavailable, match=r"isolation-bot\[emulator\]"):
        GitHubEmulator()
    # Without validation it needs nothing more, and serves.
    with GitHubEmulator(validate=False).serve_in_thread() as url:
        assert url.startswith("http://127.0.0.1:")
