"""Fidelity against recorded GitHub traffic (octokit/fixtures): replay each recorded request on
the emulator and compare status, the fields of the answer, and the headers that matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.emulator import GitHubEmulator

RECORDED = Path(__file__).parents[1] / "data" / "github" / "recorded-subset.json"
ORG = "octokit-fixture-org"


def _keys(value: Any, prefix: str = "", depth: int = 2) -> set[str]:
    if isinstance(value, list):
        return _keys(value[0], prefix + "[].", depth) if value else set()
    if not isinstance(value, dict) or depth == 0:
        return set()
    out = set()
    for key, sub in value.items():
        out.add(prefix + key)
        out |= _keys(sub, f"{prefix}{key}.", depth - 1)
    return out


def _scenarios() -> list[tuple[str, list[dict[str, Any]]]]:
    data = json.loads(RECORDED.read_text(encoding="utf-8"))
    return sorted(data.items())


@pytest.mark.parametrize(("scenario", "exchanges"), _scenarios(), ids=lambda v: str(v)[:20])
async def test_replayed_exchange_matches_recording(
    scenario: str, exchanges: list[dict[str, Any]], emulator: GitHubEmulator
) -> None:
    emu = emulator
    app = emu.register_app()
    emu.add_user(ORG, type="Organization")
    repo = exchanges[0]["path"].split("/")[3]
    emu.create_repo(f"{ORG}/{repo}")
    emu.commit(f"{ORG}/{repo}", "main", {"README.md": b"# hello\n"})
    inst = emu.install(app, ORG)
    if scenario == "paginate-issues":
        for i in range(13):
            emu.create_issue(f"{ORG}/{repo}", f"Test issue {i + 1}")
    token = emu.issue_token(inst).token
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        for ex in exchanges:
            body = ex["body"] or None
            async with session.request(
                ex["method"].upper(),
                url + ex["path"],
                json=body,
                headers={"Authorization": f"token {token}"},
            ) as resp:
                text = await resp.read()
                got = json.loads(text) if text else None
                assert resp.status == ex["status"], (ex["path"], got)
                recorded = ex["response"]
                missing = _keys(recorded) - _keys(got)
                assert missing == set(), (ex["method"], ex["path"])
                for header in ("location", "link"):
                    assert (header in ex["headers"]) == (header in resp.headers), header
                if "link" in ex["headers"]:
                    rels = {
                        part.split('rel="')[1].rstrip('"')
                        for part in ex["headers"]["link"].split(", ")
                    }
                    assert rels == {
                        part.split('rel="')[1].rstrip('"')
                        for part in resp.headers["link"].split(", ")
                    }
                if ex["status"] >= 400:
                    assert got["message"] == recorded["message"]
                    assert got["errors"] == recorded["errors"]
                elif isinstance(recorded, dict) and "name" in recorded:
                    assert got["name"] == recorded["name"]
    assert emu.validation_errors == []
