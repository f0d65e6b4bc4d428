"""Cut the emulator's OpenAPI subset out of GitHub's full REST description.

Usage::

    python -m bot.emulator.tools.make_openapi_subset \
        /work/shared/github/rest-api.octokit-openapi-23.0.2.json \
        bot/emulator/data/rest-api-subset.json

The full description is 13 MB; the emulator only needs the operations it implements, plus
every component they reference (transitively). Examples and long descriptions are dropped to
keep the vendored file small: they are documentation, not schema.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# (path template, methods) for every route the emulator serves.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "/app": ("get",),
    "/app/installations": ("get",),
    "/app/installations/{installation_id}": ("get",),
    "/app/installations/{installation_id}/access_tokens": ("post",),
    "/app/hook/config": ("get",),
    "/app/hook/deliveries": ("get",),
    "/app/hook/deliveries/{delivery_id}/attempts": ("post",),
    "/repos/{owner}/{repo}/installation": ("get",),
    "/installation/repositories": ("get",),
    "/rate_limit": ("get",),
    "/users/{username}": ("get",),
    "/repos/{owner}/{repo}": ("get",),
    "/repos/{owner}/{repo}/pulls": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/files": ("get",),
    "/repos/{owner}/{repo}/git/blobs/{file_sha}": ("get",),
    "/repos/{owner}/{repo}/git/trees/{tree_sha}": ("get",),
    "/repos/{owner}/{repo}/git/commits/{commit_sha}": ("get",),
    "/repos/{owner}/{repo}/git/ref/{ref}": ("get",),
    "/repos/{owner}/{repo}/branches/{branch}": ("get",),
    "/repos/{owner}/{repo}/commits": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}": ("get",),
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls": ("get",),
    "/repos/{owner}/{repo}/compare/{basehead}": ("get",),
    "/repos/{owner}/{repo}/contents/{path}": ("get",),
    "/repos/{owner}/{repo}/tarball/{ref}": ("get",),
    "/repos/{owner}/{repo}/check-runs": ("post",),
    "/repos/{owner}/{repo}/check-runs/{check_run_id}": ("get", "patch"),
    "/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations": ("get",),
    "/repos/{owner}/{repo}/commits/{ref}/check-runs": ("get",),
    "/repos/{owner}/{repo}/check-suites/{check_suite_id}/check-runs": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/comments": ("get",),
    "/repos/{owner}/{repo}/pulls/{pull_number}/comments/{comment_id}/replies": ("post",),
    "/repos/{owner}/{repo}/pulls/comments/{comment_id}": ("get", "patch", "delete"),
    "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions": ("get", "post"),
    "/repos/{owner}/{repo}/pulls/comments/{comment_id}/reactions/{reaction_id}": ("delete",),
    "/repos/{owner}/{repo}/issues": ("get", "post"),
    "/repos/{owner}/{repo}/issues/{issue_number}": ("get", "patch"),
    "/repos/{owner}/{repo}/issues/{issue_number}/comments": ("get", "post"),
    "/repos/{owner}/{repo}/issues/comments/{comment_id}": ("get", "patch", "delete"),
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": ("get", "post"),
    "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions/{reaction_id}": ("delete",),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels": ("get", "post", "put", "delete"),
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}": ("delete",),
    "/repos/{owner}/{repo}/labels": ("get", "post"),
    "/repos/{owner}/{repo}/labels/{name}": ("get", "patch", "delete"),
    "/repos/{owner}/{repo}/collaborators/{username}/permission": ("get",),
}

_DROP_KEYS = {"examples", "example", "externalDocs", "x-github", "x-octokit"}


def _strip(node: Any) -> Any:
    """Drop documentation-only keys (examples, long descriptions) recursively.

    Also: a ``nullable`` schema with an ``enum`` gets ``null`` added to the enum. OpenAPI 3.0
    validators (openapi-core included) check the enum before ``nullable``, so GitHub's real
    ``"conclusion": null`` or ``"state_reason": null`` would otherwise be reported invalid.
    And a ``discriminator`` mapping an ``array`` (GET contents: directory listing or file) is
    dropped: a list has no property to discriminate on, so every listing would fail; the
    ``oneOf`` alone still checks the shape.
    """
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP_KEYS:
                continue
            if key == "description" and isinstance(value, str):
                continue
            out[key] = _strip(value)
        disc = out.get("discriminator")
        if isinstance(disc, dict) and "array" in disc.get("mapping", {}):
            del out["discriminator"]
        if (
            out.get("nullable") is True
            and isinstance(out.get("enum"), list)
            and None not in out["enum"]
        ):
            out["enum"] = [*out["enum"], None]
        return out
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref)
        for value in node.values():
            _refs(value, found)
    elif isinstance(node, list):
        for value in node:
            _refs(value, found)


def _label_description_nullable(schemas: dict[str, Any]) -> None:
    """``pull-request-simple`` (list pulls, commit -> pulls) inlines its labels with a
    non-nullable ``description``, while the ``label`` schema and ``pull-request`` say nullable:
    GitHub sends ``null`` for a label without a description everywhere, so follow them."""
    simple = schemas.get("pull-request-simple", {})
    labels = simple.get("properties", {}).get("labels", {}).get("items", {})
    description = labels.get("properties", {}).get("description")
    if isinstance(description, dict):
        description["nullable"] = True


def make_subset(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for template, methods in OPERATIONS.items():
        item = spec["paths"][template]
        kept = {m: item[m] for m in methods}
        if "parameters" in item:
            kept["parameters"] = item["parameters"]
        paths[template] = _strip(kept)
    components: dict[str, dict[str, Any]] = {}
    pending: set[str] = set()
    _refs(paths, pending)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)  # "#/components/<kind>/<name>"
        target = _strip(spec["components"][kind][name])
        components.setdefault(kind, {})[name] = target
        _refs(target, pending)
    _label_description_nullable(components.get("schemas", {}))
    for kind in components:
        components[kind] = dict(sorted(components[kind].items()))
    return {
        "openapi": spec["openapi"],
        "info": {
            "title": spec["info"]["title"] + " (isolation-bot emulator subset)",
            "version": spec["info"]["version"],
            "license": spec["info"].get("license", {"name": "MIT"}),
        },
        "servers": [{"url": "https://api.github.com"}],
        "paths": paths,
        "components": components,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args(argv)
    spec = json.loads(args.source.read_text(encoding="utf-8"))
    subset = make_subset(spec)
    args.target.write_text(
        json.dumps(subset, separators=(",", ":"), sort_keys=True) + "\n", encoding="utf-8"
    )
    print(
        f"{len(subset['paths'])} paths, "
        f"{sum(len(v) for v in subset['components'].values())} components, "
        f"{args.target.stat().st_size} bytes -> {args.target}"
    )


if __name__ == "__main__":
    main()
