"""The git-data adapter (bot.github.gitdata), the shared analysis cache
(bot.store.analysis_cache) and the caches a service owns (bot.caches)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import pytest
from gidgethub import BadRequest

from bot.analysis.model import FileReport
from bot.caches import ServiceCaches
from bot.config import Settings
from bot.github import gitdata
from bot.github.gitdata import GitData, GitDataError
from bot.store import Database, open_database
from bot.store.analysis_cache import AnalysisCache, load_cached

REPO = "python/cpython"


def _blob(content: bytes) -> dict[str, str]:
    return {"content": base64.b64encode(content).decode(), "encoding": "base64"}


class FakeGitHub:
    """Answers from a URL -> answer table; records every URL asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.urls: list[str] = []

    async def getitem(self, url: str) -> Any:
        self.urls.append(url)
        answer = self.answers.get(url)
        if answer is None:
            raise BadRequest(HTTPStatus.NOT_FOUND)
        return answer


@pytest.fixture
async def memory_db() -> AsyncIterator[Database]:
    db = await open_database("sqlite:///:memory:")
    try:
        yield db
    finally:
        await db.close()


def _tree(entries: list[tuple[str, str, str]], truncated: bool = False) -> dict[str, Any]:
    return {
        "truncated": truncated,
        "tree": [{"path": p, "type": t, "sha": s} for p, t, s in entries],
    }


async def test_truncated_listing_walks_the_named_folders_only() -> None:
    gh = FakeGitHub(
        {
            f"/repos/{REPO}/git/trees/c1?recursive=1": _tree([], truncated=True),
            f"/repos/{REPO}/git/trees/c1": _tree([("Modules", "tree", "m"), ("Lib", "tree", "l")]),
            f"/repos/{REPO}/git/trees/m?recursive=1": _tree([], truncated=True),
            f"/repos/{REPO}/git/trees/m": _tree([("a.c", "blob", "b1"), ("_io", "tree", "io")]),
            f"/repos/{REPO}/git/trees/io?recursive=1": _tree([("x.c", "blob", "b2")]),
        }
    )
    found, truncated = await gitdata.blobs_under(gh, REPO, "c1", ("Modules", "Objects"))  # type: ignore[arg-type]
    assert truncated
    assert found == {"Modules/a.c": "b1", "Modules/_io/x.c": "b2"}
    assert not any("/trees/l" in u for u in gh.urls)  # Lib/ is never listed


async def test_malformed_answers_raise_gitdata_errors() -> None:
    gh: Any = FakeGitHub(
        {
            f"/repos/{REPO}/git/trees/t?recursive=1": {"message": "odd"},
            f"/repos/{REPO}/git/blobs/b": {"encoding": "base64"},
            f"/repos/{REPO}/git/blobs/c": {"content": "abcde", "encoding": "base64"},
        }
    )
    with pytest.raises(GitDataError, match="no 'tree' list"):
        await gitdata.read_tree(gh, REPO, "t", recursive=True)
    with pytest.raises(GitDataError, match="no content"):
        await gitdata.read_blob(gh, REPO, "b")
    with pytest.raises(GitDataError, match="base64"):
        await gitdata.read_blob(gh, REPO, "c")


async def test_contents_sha_is_none_for_a_missing_file_or_a_folder() -> None:
    gh: Any = FakeGitHub(
        {
            f"/repos/{REPO}/contents/Modules/a.c?ref=r": {"type": "file", "sha": "s1"},
            f"/repos/{REPO}/contents/Modules?ref=r": [{"type": "file", "sha": "s2"}],
        }
    )
    assert await gitdata.contents_sha(gh, REPO, "Modules/a.c", "r") == "s1"
    assert await gitdata.contents_sha(gh, REPO, "Modules", "r") is None
    assert await gitdata.contents_sha(gh, REPO, "Modules/gone.c", "r") is None


async def test_blobs_and_listings_are_read_once_and_big_blobs_are_not_kept() -> None:
    gh = FakeGitHub(
        {
            f"/repos/{REPO}/git/blobs/small": _blob(b"int x;\n"),
            f"/repos/{REPO}/git/blobs/big": _blob(b"x" * 100),
            f"/repos/{REPO}/git/trees/t?recursive=1": _tree(
                [("Modules/a.c", "blob", "b1"), ("Lib/a.py", "blob", "b2")]
            ),
        }
    )
    git = GitData(keep_bytes=50)
    api: Any = gh
    for _ in range(2):
        assert await git.blob(api, REPO, "small") == b"int x;\n"
        assert await git.blob(api, REPO, "big") == b"x" * 100
        assert await git.tree_blob_shas(api, REPO, "t", (".c",)) == {"Modules/a.c": "b1"}
    assert gh.urls.count(f"/repos/{REPO}/git/blobs/small") == 1
    assert gh.urls.count(f"/repos/{REPO}/git/blobs/big") == 2  # over keep_bytes: not kept
    assert gh.urls.count(f"/repos/{REPO}/git/trees/t?recursive=1") == 1


async def test_analysis_cache_memory_in_front_of_the_store(memory_db: Database) -> None:
    reads: list[str] = []

    async def read() -> bytes:
        reads.append("read")
        return b"static int counter;\n"

    first = AnalysisCache()
    report = await first.report(memory_db, "s1", "Modules/a.c", read)
    assert isinstance(report, FileReport) and reads == ["read"]
    assert first.cached("s1", "Modules/a.c") == report
    # Another owner (a restarted service, another replica) finds it in the store.
    second = AnalysisCache()
    assert second.cached("s1", "Modules/a.c") is None
    assert await second.report(memory_db, "s1", "Modules/a.c", read) == report
    assert reads == ["read"]
    assert second.cached("s1", "Modules/a.c") == report  # and keeps it in memory now
    # The entry is the store's: tracking finds what the PR check analysed.
    from bot.store.analysis_cache import core_version

    stored = await load_cached(memory_db, [("s1", "Modules/a.c")], core_version())
    assert stored == {("s1", "Modules/a.c"): report}


async def test_each_service_owns_its_caches() -> None:
    a = ServiceCaches.for_settings(Settings())
    b = ServiceCaches.for_settings(Settings())
    assert a.git is not b.git and a.analysis is not b.analysis
    assert a.permissions is not b.permissions
    assert a.permissions.ttl_seconds == Settings().commands.permission_cache_seconds


async def test_overfilled_caches_stay_within_their_bounds(memory_db: Database) -> None:
    # A replica's memory stays flat only if every cache it owns is bounded: fill each well
    # past its bound through the same calls the service makes.
    from bot.github.gitdata import BLOB_CACHE_BYTES, TREE_CACHE_ENTRIES
    from bot.store.analysis_cache import MEMORY_ENTRIES

    caches = ServiceCaches()
    block = b"/* padding */\n" * 4096  # 56 KiB, under the size kept per blob
    blobs = 3 * BLOB_CACHE_BYTES // len(block)
    answers: dict[str, Any] = {
        f"/repos/{REPO}/git/blobs/{i:040x}": _blob(block + str(i).encode()) for i in range(blobs)
    }
    for t in range(TREE_CACHE_ENTRIES + 20):
        answers[f"/repos/{REPO}/git/trees/t{t}?recursive=1"] = _tree(
            [(f"Modules/m{t}.c", "blob", f"{t:040x}")]
        )
    api: Any = FakeGitHub(answers)
    for i in range(blobs):
        await caches.git.blob(api, REPO, f"{i:040x}")
    for t in range(TREE_CACHE_ENTRIES + 20):
        await caches.git.tree_blob_shas(api, REPO, f"t{t}", (".c",))

    async def read() -> bytes:
        return b"static int counter;\n"

    for i in range(MEMORY_ENTRIES + 50):
        await caches.analysis.report(memory_db, f"{i:040x}", "Modules/a.c", read)

    sizes = caches.sizes()
    entries, size = sizes["blobs"]
    assert size is not None and BLOB_CACHE_BYTES - len(block) - 64 < size <= BLOB_CACHE_BYTES
    assert entries < blobs
    assert sizes["trees"][0] == TREE_CACHE_ENTRIES
    assert sizes["analyses"][0] == MEMORY_ENTRIES
