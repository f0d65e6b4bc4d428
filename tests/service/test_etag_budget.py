"""The ETag cache is bounded by the size of the answers it keeps, not only by their count
(large decoded answers made a replica grow steadily in bench/soak.py), over all installations
together, and each installation sees only its own answers."""

from __future__ import annotations

from bot.github.app import EtagCache, InstallationEtags


def answer(n_bytes: int) -> tuple[str, None, dict[str, str], None]:
    return ('"etag"', None, {"body": "x" * n_bytes}, None)


def test_the_oldest_answers_go_when_the_size_budget_is_used() -> None:
    cache = EtagCache(entries=100, size=10_000)
    for i in range(10):
        cache[f"/url/{i}"] = answer(2_000)
    assert 4 <= len(cache) <= 5 and cache.currsize <= 10_000
    assert "/url/9" in cache and "/url/0" not in cache


def test_the_entry_count_still_bounds_small_answers() -> None:
    cache = EtagCache(entries=3, size=10_000_000)
    for i in range(10):
        cache[f"/url/{i}"] = answer(10)
    assert list(cache) == ["/url/7", "/url/8", "/url/9"]


def test_an_answer_over_the_whole_budget_is_not_kept() -> None:
    cache = EtagCache(entries=10, size=1_000)
    cache["/small"] = answer(10)
    cache["/huge"] = answer(5_000)
    assert "/huge" not in cache and "/small" in cache
    cache["/small"] = answer(5_000)  # an answer that grew past the budget drops the old one
    assert "/small" not in cache


def test_installations_share_one_budget_and_never_see_each_others_answers() -> None:
    shared = EtagCache(entries=100, size=10_500)
    first, second = InstallationEtags(shared, 1), InstallationEtags(shared, 2)
    first["/repos/a/b/pulls/1"] = answer(10)
    assert "/repos/a/b/pulls/1" not in second  # another token may not read it
    for i in range(20):  # a busy second installation uses the budget for itself
        second[f"/repos/c/d/pulls/{i}"] = answer(2_000)
    assert shared.currsize <= 10_500
    assert "/repos/a/b/pulls/1" not in first  # the least recently used went first
    assert list(second) == [f"/repos/c/d/pulls/{i}" for i in range(15, 20)]
    assert len(first) == 0 and len(second) == 5
    del second["/repos/c/d/pulls/19"]
    assert len(shared) == 4
