"""A tree-wide pull request (many changed C files) costs about two API reads per changed file
(its base and head blobs, nothing per file besides), reads are capped per installation, and
the comment stays one readable comment."""

from __future__ import annotations

from tests.support.samples import BASE_SOURCE, HEAD_SOURCE
from tests.support.world import REPO, World

FILES = 60


def _module(source: str, i: int) -> str:
    return source.replace("_counter", f"_wide{i}")


async def test_a_tree_wide_pr_reads_each_file_at_most_twice(world: World) -> None:
    paths = [f"Modules/_wide{i}module.c" for i in range(FILES)]
    world.emu.commit(REPO, "main", {p: _module(BASE_SOURCE, i) for i, p in enumerate(paths)})
    await world.idle(60)
    # Nothing cached: the check reads base and head of every file.
    world.state.caches.clear()
    await world.state.db.execute("DELETE FROM tracking_blob_reports")
    world.emu.faults.add(method="GET", path="/git/blobs/", status=None, delay=0.02, times=None)
    start = len(world.emu.requests)
    number, head = world.open_pr({p: _module(HEAD_SOURCE, i) for i, p in enumerate(paths)})
    await world.idle(60)
    assert world.completed(head)
    reads = world.requests_to(r"^GET ", start)
    blobs = world.requests_to(r"^GET .*/git/blobs/", start)
    assert len(blobs) == 2 * FILES
    assert len(reads) <= 2 * FILES + 8  # files pages, compare, tree, the PR, comments...
    # At most the installation's read cap in flight at once (overlapping blob reads).
    cap = world.state.github.pacing.policy.concurrent_reads if world.state.github else 8
    edges = sorted([(r.at, 1) for r in blobs] + [(r.answered_at, -1) for r in blobs])
    in_flight = peak = 0
    for _, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    assert 1 < peak <= cap
    (comment,) = world.bot_comments(number)
    assert len(comment["body"]) < 65536
