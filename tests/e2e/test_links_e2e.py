"""Every link the bot writes resolves: the real service, the emulator, a four-module PR.

The service runs with ``ISOLATION_BOT_PUBLIC_URL`` set to its own address, so rule links must
point to its ``/rules`` pages; each such link is fetched from the running service and must
answer 200. Links to GitHub (code at the head commit, the pull request's checks) cannot be
fetched here: their shape is checked. Links from the rule catalog's references (an
``explain`` reply) must be the catalog's own. Nothing else may be linked.
"""

from __future__ import annotations

import hashlib
import re
import socket
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.analysis.catalog import load_catalog
from bot.emulator import GitHubEmulator
from bot.prcheck.comment import MARKER
from tests.support.bot_process import REPO, BotProcess, completed_runs, setup_repo, wait_until
from tests.support.conversions import FOUR_MODULES, pr_files

pytestmark = pytest.mark.slow

_md = MarkdownIt("commonmark").enable(["table", "strikethrough"])
_GITHUB_SHAPES = (
    re.compile(
        rf"https://github\.com/{REPO}/blob/(?P<sha>[0-9a-f]{{40}})/(?P<path>Modules/[\w.]+\.c)#L\d+"
    ),
    re.compile(rf"https://github\.com/{REPO}/pull/(?P<number>\d+)/checks"),
    re.compile(
        rf"https://github\.com/{REPO}/pull/(?P<number>\d+)/files#diff-(?P<digest>[0-9a-f]{{64}})R\d+"
    ),
)
_PLAIN_URL = re.compile(r"https?://\S+")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for t in tokens:
        out.append(t)
        if t.children:
            out.extend(_walk(t.children))
    return out


def markdown_links(text: str) -> list[str]:
    return [str(t.attrGet("href")) for t in _walk(_md.parse(text)) if t.type == "link_open"]


async def test_every_link_the_bot_wrote_resolves(tmp_path: Path) -> None:
    port = _free_port()
    public = f"http://127.0.0.1:{port}"
    base, head = pr_files(FOUR_MODULES)
    emu = GitHubEmulator()
    app = setup_repo(emu, base)
    async with emu.serve() as api_url:
        bot = BotProcess(
            emu, app, api_url, tmp_path / "bot.sqlite3", port=port, ISOLATION_BOT_PUBLIC_URL=public
        )
        assert await bot.start() == public
        try:
            emu.create_branch(REPO, "feature")
            head_sha = emu.commit(REPO, "feature", head, author="contributor")
            number = emu.open_pull_request(REPO, "feature", user="contributor")
            await wait_until(lambda: completed_runs(emu, head_sha), 60, "the check run")
            await wait_until(lambda: emu.issue_comments(REPO, number), 20, "the status comment")
            emu.comment(REPO, number, "contributor", "/isolation explain static-type")
            await wait_until(
                lambda: len(emu.issue_comments(REPO, number)) >= 3, 20, "the command's reply"
            )
            comments = [c["body"] for c in emu.issue_comments(REPO, number)]
            (run,) = completed_runs(emu, head_sha)
            output = run["output"]
            status = next(c for c in comments if c.startswith(MARKER))
            texts = [*comments, output["summary"], output.get("text") or ""]
            links = [href for text in texts for href in markdown_links(text)]
            # Annotations are plain text: their rule link is a bare URL.
            links += [
                u for a in run.get("annotations") or [] for u in _PLAIN_URL.findall(a["message"])
            ]
            assert any(h.startswith(f"{public}/rules/ISO") for h in markdown_links(status))
            assert any(h.startswith("https://github.com/") for h in markdown_links(status))

            references = {link.url for rule in load_catalog().rules() for link in rule.links}
            digests = {hashlib.sha256(p.encode()).hexdigest() for p in head}
            service: set[str] = set()
            for href in links:
                if href.startswith(public + "/"):
                    service.add(href)
                elif href in references:
                    continue
                else:
                    shape = next((m for p in _GITHUB_SHAPES if (m := p.fullmatch(href))), None)
                    assert shape is not None, f"unexpected link {href}"
                    groups = shape.groupdict()
                    if "sha" in groups:  # the check run: the file at the head commit
                        assert shape["sha"] == head_sha and shape["path"] in head
                    else:  # the comment: the pull request (its checks, a line in its diff)
                        assert int(shape["number"]) == number
                    if "digest" in groups:
                        assert shape["digest"] in digests
            assert service, "no link to the service"
            assert any("/rules/ISO001" in h for h in links)  # the explain reply's rule too
            async with aiohttp.ClientSession() as http:
                for href in sorted(service):
                    async with http.get(href) as resp:
                        assert resp.status == 200, href
                        page: Any = await resp.text()
                        assert "<h1" in page
        finally:
            code = await bot.stop()
        assert code == 0, bot.log()
