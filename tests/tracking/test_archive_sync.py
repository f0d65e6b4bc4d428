"""A first sync reads the tree from the repository's archive: a handful of API calls whatever
the tree's size, the installation token never sent to the download host, and blob by blob
when the archive is refused. Plus the archive reader's guards (paths, sizes, broken input)."""

from __future__ import annotations

import asyncio
import gzip
import io
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from bot.emulator import GitHubEmulator
from bot.github import gitdata
from bot.github.client import BotGitHubAPI
from bot.store import Database
from bot.tracking import tree_sync
from bot.tracking.tree_sync import update_repository
from tests.support.github import installation_token
from tests.tracking.tracktest_support import ToyAnalyzer, module_c

REPO = "python/cpython"
MODULES = 60  # over tree_sync.ARCHIVE_MIN_FILES


@dataclass
class Setup:
    emu: GitHubEmulator
    gh: BotGitHubAPI
    files: dict[str, bytes]

    def api_calls(self, fragment: str = "") -> int:
        return sum(fragment in r.path for r in self.emu.requests if r.status != 401)


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    emu = GitHubEmulator()
    app = emu.register_app(slug="isolation-bot")
    emu.create_repo(REPO, default_branch="main")
    files = {f"Modules/_m{i}module.c": module_c(f"_m{i}", multi=i % 2 == 0) for i in range(MODULES)}
    files["Modules/big.c"] = b"/* big */\n" + b"x" * 2048  # over the member limit set below
    files["Lib/os.py"] = b"# not tracked\n"
    files["Tools/c-analyzer/cpython/ignored.tsv"] = b"filename\tfuncname\tname\treason\n"
    emu.commit(REPO, "main", files)
    inst = emu.install(app, "python")
    async with emu.serve() as url, aiohttp.ClientSession() as session:
        token = await installation_token(session, url, app, inst)

        async def provider(force: bool) -> str:
            return token

        gh = BotGitHubAPI(session, base_url=url, token_provider=provider)
        emu.requests.clear()
        yield Setup(emu, gh, files)
    assert emu.validation_errors == []


async def _sync(s: Setup, db: Database) -> tree_sync.UpdateResult:
    sha = s.emu.resolve(REPO, "main")
    assert sha is not None
    return await update_repository(s.gh, db, REPO, sha, analyzer=ToyAnalyzer())


async def test_first_sync_reads_the_archive_in_a_few_calls(setup: Setup, db: Database) -> None:
    result = await _sync(setup, db)
    assert len(result.snapshot.modules) == MODULES
    assert result.analysed == MODULES + 1
    assert setup.api_calls("/tarball/") == 1
    assert setup.api_calls("/git/blobs/") == 0  # the TSV files come from the archive too
    assert setup.api_calls() <= 3  # the tree listing, the tarball, the commit's time


async def test_the_token_stays_on_the_api_host(setup: Setup, db: Database) -> None:
    await _sync(setup, db)
    downloads = setup.emu.archives.downloads
    assert [d.status for d in downloads] == [200]
    assert not any(d.authorization for d in downloads)
    assert setup.emu.archives.url != setup.gh.base_url


@pytest.mark.parametrize("status", [403, 404, 502])
async def test_a_refused_archive_falls_back_to_blobs(
    setup: Setup, db: Database, status: int
) -> None:
    setup.gh.policy.backoff_base = 0.0
    setup.emu.faults.add(method="GET", path="/tarball/", status=status, times=None)
    result = await _sync(setup, db)
    assert len(result.snapshot.modules) == MODULES
    assert setup.api_calls("/git/blobs/") == MODULES + 2  # the sources, big.c and the TSV
    assert setup.emu.archives.downloads == []


async def test_a_failed_download_falls_back_to_blobs(setup: Setup, db: Database) -> None:
    setup.emu.archives.url = setup.gh.base_url + "/nowhere"  # the link leads to a 404
    result = await _sync(setup, db)
    assert len(result.snapshot.modules) == MODULES
    assert setup.api_calls("/git/blobs/") == MODULES + 2
    setup.emu.validation_errors.clear()  # the 404 the emulator logs for the unknown route


async def test_the_archive_leaves_out_big_members(setup: Setup) -> None:
    sha = setup.emu.resolve(REPO, "main")
    assert sha is not None
    files = await gitdata.read_archive(
        setup.gh, REPO, sha, lambda p: p.endswith(".c"), member_bytes=1024
    )
    assert "Modules/big.c" not in files
    assert len(files) == MODULES
    assert all(gitdata.blob_sha(files[p]) == gitdata.blob_sha(setup.files[p]) for p in files)


async def test_a_plain_gidgethub_client_reads_blobs(setup: Setup) -> None:
    from gidgethub.aiohttp import GitHubAPI

    async with aiohttp.ClientSession() as session:
        plain = GitHubAPI(session, "t", base_url=setup.gh.base_url)
        with pytest.raises(gitdata.ArchiveUnavailable):
            await gitdata.read_archive(plain, REPO, "main", lambda p: True)


# --- the reader's guards, on hand-made archives -------------------------------------------


class _Bytes:
    """What the reader reads from (the network stream), over bytes."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._io.read(size)


def _tarball(members: list[tarfile.TarInfo], data: dict[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with gzip.GzipFile(fileobj=raw, mode="wb") as gz, tarfile.open(fileobj=gz, mode="w") as tar:
        for m in members:
            payload = data.get(m.name)
            if payload is not None:
                m.size = len(payload)
            tar.addfile(m, io.BytesIO(payload) if payload is not None else None)
    return raw.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_member_paths_are_plain_relative_paths() -> None:
    assert gitdata.archive_path("o-r-abc/Modules/x.c") == "Modules/x.c"
    for bad in (
        "/etc/passwd",
        "o-r-abc/../../x.c",
        "o-r-abc/Modules/./x.c",
        "o-r-abc//x.c",
        "x.c",
        "o-r-abc/a\\b.c",
    ):
        assert gitdata.archive_path(bad) is None, bad


def test_only_wanted_regular_files_are_kept() -> None:
    members = [
        _member("top", tarfile.DIRTYPE),
        _member("top/Modules/a.c"),
        _member("top/Modules/../../evil.c"),
        _member("top/Modules/link.c", tarfile.SYMTYPE, "/etc/passwd"),
        _member("top/Modules/hard.c", tarfile.LNKTYPE, "top/Modules/a.c"),
        _member("top/Lib/os.py"),
    ]
    data = {"top/Modules/a.c": b"int a;\n", "top/Modules/../../evil.c": b"x", "top/Lib/os.py": b""}
    out = gitdata._extract(  # type: ignore[arg-type]
        _Bytes(_tarball(members, data)), lambda p: p.endswith(".c"), 1024, 1 << 20, 1 << 20
    )
    assert out == {"Modules/a.c": b"int a;\n"}


def test_limits_and_broken_input_are_errors() -> None:
    members = [_member(f"top/M/{i}.c") for i in range(4)]
    data = {m.name: b"x" * 100 for m in members}
    archive = _tarball(members, data)
    with pytest.raises(gitdata.ArchiveUnavailable):  # kept bytes
        gitdata._extract(_Bytes(archive), lambda p: True, 1024, 250, 1 << 20)  # type: ignore[arg-type]
    with pytest.raises(gitdata.ArchiveUnavailable):  # walked bytes
        gitdata._extract(_Bytes(archive), lambda p: False, 1024, 1 << 20, 250)  # type: ignore[arg-type]
    with pytest.raises((tarfile.TarError, EOFError, OSError)):
        gitdata._extract(
            _Bytes(archive[: len(archive) // 2]), lambda p: True, 1024, 1 << 20, 1 << 20
        )  # type: ignore[arg-type]


def test_the_stream_counts_compressed_bytes() -> None:
    async def main() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"x" * 100)
        reader.feed_eof()
        stream = gitdata._LoopStream(reader, asyncio.get_running_loop(), 50)  # type: ignore[arg-type]
        with pytest.raises(gitdata.ArchiveUnavailable):
            await asyncio.to_thread(stream.read, 100)

    asyncio.run(main())


async def test_installation_to_snapshot_in_a_handful_of_calls(tmp_path: Path) -> None:
    from bot.service.local import bot_on_emulator
    from bot.service.state import STATE
    from bot.tracking.snapshots import latest_snapshot

    emu = GitHubEmulator()
    app = emu.register_app("isolation-bot", owner="python")
    emu.create_repo(REPO, default_branch="main")
    emu.commit(REPO, "main", {f"Modules/_m{i}module.c": module_c(f"_m{i}") for i in range(MODULES)})
    async with bot_on_emulator(emu, app, f"sqlite:///{tmp_path}/bot.sqlite3", workers=1) as bot:
        db = bot.runner.app[STATE].db
        emu.install(app, "python")
        for _ in range(600):
            if await latest_snapshot(db, REPO) is not None:
                break
            await asyncio.sleep(0.05)
        snap = await latest_snapshot(db, REPO)
        assert snap is not None and len(snap.modules) == MODULES
        calls = [f"{r.method} {r.path}" for r in emu.requests]
    # The App, its token, the repository, the branch's head, the tree, the tarball, the meta
    # issue: seven, whatever the tree's size.
    assert len(calls) <= 10, calls
    assert not any("/git/blobs/" in c for c in calls)
    assert [d.authorization for d in emu.archives.downloads] == [False]
    assert emu.validation_errors == []
