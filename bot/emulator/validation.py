"""Check requests and responses against GitHub's REST OpenAPI description (vendored subset).

The checks need openapi-core, which is the ``emulator`` extra of the package (in ``dev`` and
``test`` too), not a dependency of the service: it is imported here only, on first use.
``require()`` says early and clearly when it is missing; ``spec_path`` needs nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from openapi_core import OpenAPI
    from openapi_core.testing import MockRequest

_PACKAGE = __name__.rpartition(".")[0]  # the emulator package, wherever it lives
INSTALL_HINT = "pip install 'isolation-bot[emulator]'"


class ValidationUnavailable(RuntimeError):
    """openapi-core (the package's ``emulator`` extra) is not installed."""


def require() -> None:
    """Raise ValidationUnavailable unless the checks can run."""
    try:
        import openapi_core  # noqa: F401  (the optional dependency itself)
    except ImportError as exc:
        raise ValidationUnavailable(
            "the GitHub emulator checks its traffic against GitHub's OpenAPI description and "
            f"needs openapi-core, which is not installed: {INSTALL_HINT} (or '.[dev]' in a "
            "checkout), or use GitHubEmulator(validate=False)"
        ) from exc


HOST = "https://api.github.com"


@cache
def load_spec() -> dict[str, Any]:
    text = resources.files(_PACKAGE).joinpath("data/rest-api-subset.json").read_text("utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


@cache
def openapi() -> OpenAPI:
    require()
    from openapi_core import Config, OpenAPI

    # The description itself is trusted (it is GitHub's); validating it takes ~17 s.
    return OpenAPI.from_dict(load_spec(), config=Config(spec_validator_cls=None))


def spec_path(template: str, params: dict[str, str]) -> str:
    """Fill an OpenAPI path template, percent-encoding slashes as the description needs."""
    out = template
    for key, value in params.items():
        out = out.replace("{" + key + "}", quote(value, safe=""))
    return out


def _describe(exc: Exception) -> str:
    parts = [type(exc).__name__]
    cause = exc.__cause__
    if cause is not None:
        errors = getattr(cause, "schema_errors", None)
        if errors:
            parts.extend(
                f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
                for e in list(errors)[:5]
            )
        else:
            parts.append(str(cause))
    elif str(exc):
        parts.append(str(exc))
    return "; ".join(parts)


def _request(
    method: str, path: str, query: dict[str, str], body: bytes, content_type: str | None
) -> MockRequest:
    from openapi_core.testing import MockRequest

    return MockRequest(
        HOST,
        method.lower(),
        path,
        args=query,
        data=body or None,
        content_type=content_type or "application/json",
    )


_MEMO_SIZE = 4096
_memo: dict[tuple[object, ...], str | None] = {}


def _memoized(key: tuple[object, ...], check: Callable[[], str | None]) -> str | None:
    """Validation is pure in its inputs and costs milliseconds; clients repeat requests (the
    same page, the same object) and the emulator repeats answers, so remember results."""
    if key in _memo:
        return _memo[key]
    result = check()
    if len(_memo) >= _MEMO_SIZE:
        _memo.clear()
    _memo[key] = result
    return result


def check_request(
    method: str, path: str, query: dict[str, str], body: bytes, content_type: str | None
) -> str | None:
    """None when the request matches the description, else why not."""
    key = ("req", method, path, tuple(sorted(query.items())), _digest(body), content_type)
    return _memoized(key, lambda: _check_request(method, path, query, body, content_type))


def check_response(
    method: str,
    path: str,
    query: dict[str, str],
    status: int,
    body: bytes,
    content_type: str = "application/json",
) -> str | None:
    """None when the response matches the description, else why not."""
    key = ("resp", method, path, tuple(sorted(query.items())), status, _digest(body), content_type)
    return _memoized(key, lambda: _check_response(method, path, query, status, body, content_type))


def _digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


def _check_request(
    method: str, path: str, query: dict[str, str], body: bytes, content_type: str | None
) -> str | None:
    try:
        openapi().validate_request(_request(method, path, query, body, content_type))
    except Exception as exc:  # openapi-core raises a family of errors; all mean "invalid"
        return f"{method} {path}: {_describe(exc)}"
    return None


def _check_response(
    method: str,
    path: str,
    query: dict[str, str],
    status: int,
    body: bytes,
    content_type: str,
) -> str | None:
    from openapi_core.testing import MockResponse

    request = _request(method, path, query, b"", None)
    response = MockResponse(body, status_code=status, content_type=content_type)
    try:
        openapi().validate_response(request, response)
    except Exception as exc:
        return f"response {status} to {method} {path}: {_describe(exc)}"
    return None
