"""Every REST call the bot makes, checked against GitHub's REST description.

- the inventory (tests/fidelity/inventory.py) is complete: every URL literal in bot/ maps to
  one of its operations, and each of its operations is still called;
- a representative request of each call (the path as the bot encodes it, its query, its body)
  is valid for the description: the vendored subset always, the full description too when the
  shared copy is present (and the subset is asserted to be generated from it);
- each response field the bot reads exists in the documented schema of the success answer, and
  a field the description marks optional or nullable is one the code reads with a guard;
- bodies built by the real renderers stay within GitHub's limits (50 annotations per request).
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.testing import MockRequest

from bot.analysis.model import Finding
from bot.emulator.tools.make_openapi_subset import OPERATIONS, make_subset
from bot.emulator.validation import check_request, load_spec
from bot.prcheck import check_run as check_render
from bot.prcheck.model import CheckResult

from .inventory import CALLS, PYGITHUB_CALLS, Call

ROOT = Path(__file__).resolve().parents[2]
FULL = Path("/work/shared/github/rest-api.octokit-openapi-23.0.2.json")
# Modules that are not the bot talking to GitHub: the emulator (GitHub itself) and the demo
# (which drives the emulator). Test helpers live under tests/, outside the scanned package.
NOT_CLIENT = ("bot/emulator/", "bot/cli/demo.py")


@cache
def full_spec() -> dict[str, Any] | None:
    if not FULL.exists():
        return None
    spec: dict[str, Any] = json.loads(FULL.read_text("utf-8"))
    return spec


@cache
def full_openapi() -> OpenAPI:
    spec = full_spec()
    assert spec is not None
    return OpenAPI.from_dict(spec, config=Config(spec_validator_cls=None))


def _ids(calls: tuple[Call, ...]) -> list[str]:
    return [f"{c.method} {c.template}" for c in calls]


# -- the inventory is complete ---------------------------------------------------------------

_URL_LITERAL = re.compile(r'f?"(/(?:repos|app|installation)[^"?]*)')
_EXPR = re.compile(r"\{[^{}]*\}")


def _source_urls() -> dict[str, set[str]]:
    """URL literals in the bot's client code: normalised path -> files."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "bot").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(NOT_CLIENT):
            continue
        for m in _URL_LITERAL.finditer(path.read_text("utf-8")):
            url = _EXPR.sub("{}", m.group(1))
            # "{repo}" is "owner/name": two segments of the template.
            url = re.sub(r"^/repos/\{\}", "/repos/{}/{}", url)
            found.setdefault(url, set()).add(rel)
    return found


def _match(url: str, templates: set[str]) -> str | None:
    """The template a normalised URL fills; literal segments must agree, most literals win."""
    parts = url.strip("/").split("/")
    best: tuple[int, str] | None = None
    for t in templates:
        tparts = t.strip("/").split("/")
        if len(tparts) != len(parts):
            continue
        literals = 0
        for have, want in zip(parts, tparts, strict=True):
            if want.startswith("{") and want.endswith("}"):
                continue
            if have != want:
                break
            literals += 1
        else:
            if best is None or literals > best[0]:
                best = (literals, t)
    return best[1] if best else None


def test_every_url_in_the_source_is_in_the_inventory() -> None:
    known = {c.template for c in CALLS}
    urls = _source_urls()
    assert len(urls) >= 15, urls  # the scan found the bot's calls (not vacuous)
    unmatched = {u: sorted(f) for u, f in urls.items() if _match(u, known) is None}
    assert unmatched == {}, "calls missing from tests/fidelity/inventory.py"
    used = {_match(u, known) for u in urls}
    assert known - used == set(), "inventory entries no longer called by the bot"


def test_inventory_operations_exist_and_the_emulator_serves_them() -> None:
    for c in CALLS:
        assert c.method.lower() in OPERATIONS.get(c.template, ()), c
    spec = full_spec()
    if spec is not None:
        for method, template in [(c.method, c.template) for c in CALLS] + list(PYGITHUB_CALLS):
            assert method.lower() in spec["paths"][template], (method, template)


def test_the_vendored_subset_is_generated_from_the_full_description() -> None:
    spec = full_spec()
    if spec is None:
        pytest.skip(f"{FULL} is not here")
    assert make_subset(spec) == load_spec()


# -- requests --------------------------------------------------------------------------------


def _body(c: Call) -> bytes:
    return json.dumps(c.body).encode() if c.body is not None else b""


@pytest.mark.parametrize("call", CALLS, ids=_ids(CALLS))
def test_request_is_valid_for_the_description(call: Call) -> None:
    assert check_request(call.method, call.example, call.query, _body(call), None) is None
    if full_spec() is not None:
        request = MockRequest(
            "https://api.github.com",
            call.method.lower(),
            call.example,
            args=call.query,
            data=_body(call) or None,
            content_type="application/json",
        )
        full_openapi().validate_request(request)


def _finding(i: int) -> Finding:
    return Finding(
        "ISO001",
        "static-type",
        "error",
        "Modules/_x.c",
        i + 1,
        1,
        i + 1,
        9,
        f"Type{i}",
        "a static type: *bold* <b>",
    )


def test_check_run_batches_respect_the_50_annotation_limit() -> None:
    result = CheckResult(
        "python/cpython", 7, "a" * 40, "b" * 40, new=[_finding(i) for i in range(120)]
    )
    annotations = check_render.annotations_for(result)
    batches = check_render.batches(annotations)
    assert [len(b) for b in batches] == [50, 50, 20]
    path = "/repos/python/cpython/check-runs/5"
    for i, batch in enumerate(batches):
        body: dict[str, Any] = {"output": check_render.output(result, batch)}
        if i == 0:
            body.update(status="completed", conclusion="failure")
        assert check_request("PATCH", path, {}, json.dumps(body).encode(), None) is None
    # The validator does enforce the limit: 51 in one request is refused.
    too_many = {"output": check_render.output(result, annotations[:51])}
    assert check_request("PATCH", path, {}, json.dumps(too_many).encode(), None) is not None


def test_a_bare_label_list_body_is_not_what_the_description_takes() -> None:
    # Octokit's description drops the bare-array form; the bot sends {"labels": [...]}.
    path = "/repos/python/cpython/issues/7/labels"
    assert check_request("POST", path, {}, b'{"labels": ["a"]}', None) is None
    assert check_request("POST", path, {}, b'["a"]', None) is not None


# -- responses: what the bot reads exists; optional/nullable reads are guarded -------------


def _deref(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        _, _, kind, name = schema["$ref"].split("/", 3)
        schema = spec["components"][kind][name]
    return schema


def _variants(spec: dict[str, Any], schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _deref(spec, schema)
    out = [schema]
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            out.extend(_variants(spec, sub))
    return out


def _field(spec: dict[str, Any], schema: dict[str, Any], name: str) -> tuple[Any, bool, bool]:
    """(schema of the property, required, nullable); schema None when not documented."""
    for variant in _variants(spec, schema):
        props = variant.get("properties", {})
        if name in props:
            raw = props[name]
            target = _deref(spec, raw)
            nullable = bool(raw.get("nullable") or target.get("nullable")) or any(
                v.get("nullable") for v in _variants(spec, target)
            )
            return target, name in variant.get("required", []), nullable
    return None, False, False


def _response_schema(spec: dict[str, Any], c: Call) -> dict[str, Any]:
    response = _deref(spec, spec["paths"][c.template][c.method.lower()]["responses"][str(c.status)])
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


def _audit(spec: dict[str, Any], c: Call) -> list[str]:
    problems = []
    root = _response_schema(spec, c)
    for read in c.reads:
        schema: Any = root
        for step in read.split("."):
            guarded = step.endswith("?")
            name = step.rstrip("?")
            if name == "[]":
                schema = _deref(spec, schema).get("items") or next(
                    (v["items"] for v in _variants(spec, schema) if "items" in v), None
                )
                continue
            schema, required, nullable = _field(spec, schema, name)
            if schema is None:
                problems.append(f"{c.method} {c.template}: {read}: {name} is not documented")
                break
            if (nullable or not required) and not guarded:
                problems.append(
                    f"{c.method} {c.template}: {read}: {name} may be "
                    f"{'null' if nullable else 'missing'}; read it with a guard and mark it '?'"
                )
    return problems


@pytest.mark.parametrize(
    "call", [c for c in CALLS if c.reads], ids=_ids(tuple(c for c in CALLS if c.reads))
)
def test_fields_read_are_documented_and_guarded_where_optional(call: Call) -> None:
    assert _audit(load_spec(), call) == []
    spec = full_spec()
    if spec is not None:
        assert _audit(spec, call) == []


def test_the_audit_catches_an_unguarded_nullable_read() -> None:
    unguarded = Call(
        "GET",
        "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
        "",
        "",
        reads=("[].merge_commit_sha", "[].no_such_field"),
    )
    problems = _audit(load_spec(), unguarded)
    assert len(problems) == 2 and "may be null" in problems[0] and "not documented" in problems[1]


def test_docs_list_every_call() -> None:
    doc = (ROOT / "docs" / "github-api.md").read_text("utf-8")
    rows = {
        (m, t)
        for m, t in re.findall(r"^\| (GET|POST|PATCH|PUT|DELETE) \| `([^`]+)`", doc, re.MULTILINE)
    }
    assert rows == {(c.method, c.template) for c in CALLS}
