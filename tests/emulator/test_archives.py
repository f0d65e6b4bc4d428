"""Repository archives as GitHub serves them: the API answers 302 to another host, whose
link works without the API token (and only with the link's own token)."""

from __future__ import annotations

import gzip
import io
import tarfile
from urllib.parse import urlsplit

from tests.emulator.conftest import REPO, World


async def _redirect(world: World, ref: str) -> tuple[int, str]:
    async with world.session.get(
        f"{world.url}/repos/{REPO}/tarball/{ref}",
        headers={"Authorization": f"token {world.token}"},
        allow_redirects=False,
    ) as resp:
        return resp.status, resp.headers.get("Location", "")


async def test_the_tarball_route_redirects_to_the_download_host(world: World) -> None:
    status, location = await _redirect(world, "main")
    assert status == 302
    assert urlsplit(location).netloc != urlsplit(world.url).netloc  # another origin
    async with world.session.get(location) as resp:  # no Authorization header
        assert resp.status == 200
        data = await resp.read()
    sha = world.emu.resolve(REPO, "main")
    assert sha is not None
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))) as tar:
        assert tar.pax_headers.get("comment") == sha
        files = {m.name: tar.extractfile(m).read() for m in tar if m.isreg()}  # type: ignore[union-attr]
    top = f"python-cpython-{sha[:7]}/"
    assert files == {top + "Modules/a.c": b"int a;\n", top + "README": b"hi\n"}
    assert [d.authorization for d in world.emu.archives.downloads] == [False]


async def test_the_link_needs_its_own_token(world: World) -> None:
    _, location = await _redirect(world, "main")
    forged = location.split("?")[0] + "?token=guess"
    async with world.session.get(forged) as resp:
        assert resp.status == 404


async def test_an_unknown_ref_or_no_token_is_refused(world: World) -> None:
    status, _ = await _redirect(world, "no-such-branch")
    assert status == 404
    async with world.session.get(
        f"{world.url}/repos/{REPO}/tarball/main", allow_redirects=False
    ) as resp:
        assert resp.status == 401
