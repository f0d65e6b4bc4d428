"""The maintainer check: the permission matrix, custom roles, caching, fail closed."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import gidgethub
import pytest

from bot.github.permissions import PermissionChecker, is_maintainer_answer
from tests.commands.cmdtest_support import FakeGitHub

# (role_name, permission) as GitHub answers for each base role.
MATRIX = [
    ("read", "read", False),
    ("triage", "read", False),
    ("write", "write", True),
    ("maintain", "write", True),
    ("admin", "admin", True),
]


@pytest.mark.parametrize(("role", "permission", "allowed"), MATRIX)
async def test_permission_matrix(role: str, permission: str, allowed: bool) -> None:
    gh = FakeGitHub()
    gh.permissions["bob"] = {"permission": permission, "role_name": role, "user": {}}
    result = await PermissionChecker(300).check(gh, "python/cpython", "bob")
    assert result.allowed is allowed
    assert result.level == role
    assert result.error is None


@pytest.mark.parametrize(
    ("answer", "allowed"),
    [
        ({"permission": "write", "role_name": "security-reviewer"}, True),  # custom role
        ({"permission": "read", "role_name": "custom-triager"}, False),
        ({"permission": "admin"}, True),  # role_name missing
        ({"permission": "none"}, False),
        ({"role_name": "Maintain"}, True),
        ({}, False),
        ([], False),
        ({"permission": 3, "role_name": None}, False),
    ],
)
def test_answer_shapes(answer: Any, allowed: bool) -> None:
    assert is_maintainer_answer(answer)[0] is allowed


@pytest.mark.parametrize(
    "error",
    [
        gidgethub.BadRequest(HTTPStatus.NOT_FOUND),
        gidgethub.BadRequest(HTTPStatus.FORBIDDEN),
        gidgethub.GitHubException("boom"),
        OSError("connection reset"),
        TimeoutError(),
    ],
)
async def test_api_error_denies_and_says_why(error: Exception) -> None:
    gh = FakeGitHub()
    gh.permissions["bob"] = error
    checker = PermissionChecker(300)
    result = await checker.check(gh, "python/cpython", "bob")
    assert result.allowed is False
    assert result.error
    # Errors are not cached: the next call asks again and can succeed.
    gh.permissions["bob"] = {"permission": "admin", "role_name": "admin"}
    assert (await checker.check(gh, "python/cpython", "bob")).allowed is True


async def test_cached_per_repo_and_user_until_ttl() -> None:
    now = [0.0]
    gh = FakeGitHub()
    gh.permissions["bob"] = {"permission": "write", "role_name": "write"}
    checker = PermissionChecker(300, timer=lambda: now[0])
    for _ in range(3):
        assert (await checker.check(gh, "python/cpython", "bob")).allowed
    await checker.check(gh, "python/other", "bob")
    asked = [c for c in gh.calls if "/collaborators/" in c[1]]
    assert len(asked) == 2
    # Permission revoked: the cache holds the old answer until it expires.
    gh.permissions["bob"] = {"permission": "read", "role_name": "read"}
    now[0] = 299.0
    assert (await checker.check(gh, "python/cpython", "bob")).allowed
    now[0] = 301.0
    assert not (await checker.check(gh, "python/cpython", "bob")).allowed


async def test_user_name_is_url_quoted() -> None:
    gh = FakeGitHub()
    await PermissionChecker(300).check(gh, "python/cpython", "we ird/../x")
    assert gh.calls[0][1] == "/repos/python/cpython/collaborators/we%20ird%2F..%2Fx/permission"
