"""C sources built to hurt, through analyze_file and through the pull-request check.

Every file must come back as a FileReport (never an exception, never a hang): analysed, or
skipped with the reason (size limit, time limit), and the rest of a PR is still checked.
Memory and time figures for the same inputs at full size: bench/hostile_sources.py.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import bot.analysis
from bot.analysis import MAX_FILE_BYTES, FileReport, analyze_file, timed_out
from bot.analysis.cparse import parse
from bot.analysis.deadline import AnalysisTimeout, Deadline
from bot.github.gitdata import GitData
from bot.prcheck.comment import MARKER
from bot.store import open_database
from bot.store.analysis_cache import BIG_FILE_BYTES, AnalysisCache
from tests.hardening.test_regex_backtracking import work_bound
from tests.support.samples import HEAD_SOURCE, MODULE_PATH
from tests.support.world import REPO, make_world, open_pr, until

DEEP = 100_000
GOOD = b"static PyObject *cache;\n"  # one ISO005-style global: proves analysis went on


def _symbols(r: FileReport) -> set[str]:
    return {f.symbol for f in r.findings}


def _mixed_encoding() -> bytes:
    # UTF-8 first half, then the same text in UTF-16 (a BOM and NUL every other byte).
    text = "static PyObject *first; /* café */\n"
    return text.encode("utf-8") + "static PyObject *second; /* café */\n".encode("utf-16")


def _macro_fan_out(repeats: int) -> bytes:
    # Every name of a #define chain defined many times (#if branches do that): resolving
    # MODINIT used to walk repeats ** levels paths (20 repeats took 8 s).
    names = [b"MODINIT", b"A", b"B", b"C", b"D", b"E", b"F"]
    defines = b"".join(b"#define %s %s\n" % (a, b) * repeats for a, b in itertools.pairwise(names))
    return (
        defines
        + b"PyMODINIT_FUNC MODINIT(void) { return PyModule_Create(&m); }\n"
        + b"static struct PyModuleDef m = { .m_size = A };\n"
        + GOOD
    )


# name -> (content, a check of the report). Each runs in well under a second.
HOSTILE: dict[str, tuple[bytes, Callable[[FileReport], bool]]] = {
    "nested braces": (
        b"static int f(void) " + b"{" * DEEP + b"}" * DEEP + b"\n" + GOOD,
        lambda r: "cache" in _symbols(r),
    ),
    "nested parentheses": (
        b"static int x = " + b"(" * DEEP + b"1" + b")" * DEEP + b";\n" + GOOD,
        lambda r: "cache" in _symbols(r),
    ),
    "unclosed braces": (
        GOOD + b"static int f(void) " + b"{" * DEEP,
        lambda r: "cache" in _symbols(r) and any("unbalanced" in n for n in r.notes),
    ),
    "nested brackets and braces in an initialiser": (
        GOOD + b"static int t[] = " + b"{[" * (DEEP // 2) + b"]}" * (DEEP // 2) + b";\n",
        lambda r: "cache" in _symbols(r),
    ),
    "deep macro nesting": (
        b"".join(b"#define M%d(x) M%d(M%d(x))\n" % (i, i + 1, i + 1) for i in range(20_000))
        + b"M0(1)\n"
        + GOOD,
        lambda r: "cache" in _symbols(r),
    ),
    "deep #if nesting": (
        b"#if A\n" * 20_000 + GOOD + b"#endif\n" * 20_000,
        lambda r: "cache" in _symbols(r),
    ),
    "macro continued over 100k lines": (
        b"#define X \\\n" * DEEP + b"\n" + GOOD,
        lambda r: "cache" in _symbols(r),
    ),
    "a megabyte-long line": (
        GOOD + b"static int x = " + b"1+" * 500_000 + b"1;",
        lambda r: "cache" in _symbols(r),
    ),
    "a megabyte-long comment line": (
        GOOD + b"// " + b"*/\\" * 350_000 + b"\n",
        lambda r: "cache" in _symbols(r),
    ),
    "an unterminated comment": (GOOD + b"/*" + b"*" * 1_000_000, lambda r: "cache" in _symbols(r)),
    "an unterminated string": (GOOD + b'"' + b"\\" * 1_000_001, lambda r: "cache" in _symbols(r)),
    "binary blob": (
        bytes(range(256)) * 1000,
        lambda r: any("NUL" in n for n in r.notes) and any("UTF-8" in n for n in r.notes),
    ),
    "NUL bytes": (
        b"\0" * 1000 + GOOD + b"\0static int \0\0 x;\0",
        lambda r: "cache" in _symbols(r) and any("NUL" in n for n in r.notes),
    ),
    "invalid UTF-8": (
        b"static PyObject *caf\xe9 = NULL;\n\xff\xfe\xfd\n" + GOOD,
        lambda r: "cache" in _symbols(r) and any("UTF-8" in n for n in r.notes),
    ),
    "encoding changes half-way": (
        _mixed_encoding(),
        lambda r: "first" in _symbols(r) and any("UTF-8" in n for n in r.notes),
    ),
    "a macro chain defined many times at every level": (
        _macro_fan_out(200),
        lambda r: "cache" in _symbols(r),
    ),
    "thousands of PyType_Specs": (
        b"".join(
            b"static PyType_Slot s%d[] = {{0, 0}};\n"
            b'static PyType_Spec spec%d = {.name = "m.T%d", .slots = s%d};\n' % (i, i, i, i)
            for i in range(3000)
        ),
        lambda r: len([f for f in r.findings if f.symbol.startswith("spec")]) >= 3000,
    ),
    "thousands of suppression comments": (
        b"".join(
            b"static int x%d; // isolation-bot: ignore[ISO012] cached by design\n" % i
            for i in range(3000)
        ),
        lambda r: len(r.findings) == 3000 and all(f.status == "suppressed" for f in r.findings),
    ),
    "only newlines": (b"\n" * 1_000_000, lambda r: r.findings == [] and r.skipped is None),
    "CR-only line ends": (b"static int a;\r" * 10_000 + GOOD, lambda r: "cache" in _symbols(r)),
    "a lone byte-order mark": (b"\xef\xbb\xbf" + GOOD, lambda r: "cache" in _symbols(r)),
    "unicode identifiers and bidi overrides": (
        "static PyObject *x\u202e\u200b;\n".encode() + GOOD,
        lambda r: "cache" in _symbols(r),
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_source_is_analysed_or_explained(name: str) -> None:
    data, check = HOSTILE[name]
    # Each case takes well under a second; a regression fails here instead of hanging.
    with work_bound(30.0, f"analyze_file on {name}"):
        r = analyze_file("Modules/hostile.c", data)
    assert isinstance(r, FileReport)
    assert not any("internal error" in n for n in r.notes), r.notes
    assert r.skipped is None, r.skipped
    assert check(r), (r.notes, sorted(_symbols(r))[:10])
    # The report survives its JSON form (what the caches and the store keep).
    assert FileReport.from_dict(r.to_dict()) == r


def test_a_hundred_thousand_statics_are_all_reported() -> None:
    data = b"".join(b"static int v%d;\n" % i for i in range(100_000))
    r = analyze_file("Modules/many.c", data)
    assert r.skipped is None
    assert len(r.findings) == 100_000


def test_a_50_mb_file_is_skipped_with_the_reason_without_being_read() -> None:
    data = b"static int x;\n" * (50 * 1024 * 1024 // 14)
    r = analyze_file("Modules/huge.c", data)
    assert r.skipped is not None
    assert "too large" in r.skipped and str(MAX_FILE_BYTES) in r.skipped
    assert r.findings == [] and not timed_out(r)


def test_just_under_the_size_limit_is_analysed() -> None:
    data = GOOD + b"\n" * (MAX_FILE_BYTES - len(GOOD))
    assert len(data) == MAX_FILE_BYTES
    r = analyze_file("Modules/edge.c", data)
    assert r.skipped is None and "cache" in _symbols(r)


def test_the_time_limit_skips_the_file_with_the_reason() -> None:
    data = b"".join(b"static int v%d;\n" % i for i in range(2_000))
    r = analyze_file("Modules/slow.c", data, time_limit=1e-9)
    assert r.skipped is not None and r.skipped.startswith("analysis took longer than")
    assert timed_out(r)
    assert r.findings == []  # no half report: half the findings would read as "fixed"
    assert analyze_file("Modules/slow.c", data, time_limit=None).findings


class _StepClock:
    """Time 0 until ``after`` readings have been taken, then far in the future."""

    def __init__(self, after: int) -> None:
        self.after, self.readings = after, 0

    def __call__(self) -> float:
        self.readings += 1
        return 0.0 if self.readings <= self.after else 1e9


def test_the_deadline_halts_tree_sitter_mid_parse() -> None:
    # A parse of a few MB calls the progress callback thousands of times; the clock jumps
    # after the first few readings, so the halt can only come from inside tree-sitter.
    data = b"static int x = " + b"1+" * 500_000 + b"1;\n"
    clock = _StepClock(after=3)
    with pytest.raises(AnalysisTimeout) as err:
        parse(data, None, Deadline(5.0, clock=clock))
    assert err.value.stage == "parse"
    assert clock.readings < 100  # stopped at once, not after parsing everything
    # The next parse (a fresh parser) is unaffected by the halted one.
    assert parse(GOOD).top_level[0].declarators[0].name == "cache"


def test_concurrent_analyses_in_threads_agree() -> None:
    # The PR check analyses up to 8 files at once in executor threads.
    data = HEAD_SOURCE.encode() + b"static int x = " + b"1+" * 10_000 + b"1;\n"
    expected = analyze_file(MODULE_PATH, data)
    results: list[FileReport] = []

    def work() -> None:
        results.append(analyze_file(MODULE_PATH, data))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == expected for r in results)


async def test_pr_with_hostile_files_reports_them_skipped_and_checks_the_rest(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = bot.analysis.analyze_file

    def analyze(path: str, data: bytes, **kw: Any) -> FileReport:
        if path.endswith("slow.c"):  # this file's analysis runs out of time
            kw["time_limit"] = 1e-9
        return real(path, data, **kw)

    monkeypatch.setattr(bot.analysis, "analyze_file", analyze)
    files: dict[str, str | bytes | None] = {
        MODULE_PATH: HEAD_SOURCE,  # a real regression: must still be reported
        "Modules/huge.c": b"static int x;\n" * (MAX_FILE_BYTES // 14 + 1000),
        "Modules/slow.c": b"static PyObject *slow_cache;\n",
        "Modules/blob.c": bytes(range(256)) * 64,
        "Modules/deep.c": b"static int f(void) " + b"{" * DEEP + b"}" * DEEP + b"\n",
    }
    async with make_world(f"sqlite:///{tmp_path}/bot.sqlite3") as world:
        emu = world.emu
        number, head = open_pr(emu, files)  # type: ignore[arg-type]
        (run,) = await until(lambda: world.completed(head))
        await world.idle()
        (comment,) = emu.issue_comments(REPO, number)
        cache = world.state.caches.analysis  # the service's analysis cache
    body = comment["body"]
    assert body.startswith(MARKER)
    assert run["conclusion"] in ("failure", "neutral", "success")
    summary = run["output"]["summary"]
    for text in (body, summary):
        # The skipped files, each with its reason ...
        assert "Modules/huge.c: not analysed: file too large" in text
        assert "Modules/slow.c: not analysed: analysis took longer than" in text
        # ... and the rest of the PR was checked: the demo's regressions are there.
        assert "_countermodule" in text and ":x:" in text
    assert "slow_cache" not in body  # a skipped file reports nothing
    # A time-limit skip is not cached: the next push analyses the file again.
    slow = files["Modules/slow.c"]
    assert isinstance(slow, bytes)
    assert cache.cached(git_blob_sha(slow), "Modules/slow.c") is None
    assert cache.cached(git_blob_sha(HEAD_SOURCE.encode()), MODULE_PATH) is not None


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


async def test_big_files_are_analysed_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # A hostile file near the size limit can take ~650 MB in tree-sitter; the PR check
    # analyses up to 8 files at once, so files over BIG_FILE_BYTES take turns.
    lock = threading.Lock()
    state = {"active": 0, "peak_big": 0, "peak_small": 0}

    def analyze(path: str, data: bytes, **_: Any) -> FileReport:
        kind = "peak_big" if len(data) > BIG_FILE_BYTES else "peak_small"
        with lock:
            state["active"] += 1
            state[kind] = max(state[kind], state["active"])
        time.sleep(0.05)  # overlap the calls (nothing here asserts on time)
        with lock:
            state["active"] -= 1
        return FileReport(path=path)

    class FakeGitHub:
        async def getitem(self, url: str) -> dict[str, str]:
            sha = url.rsplit("/", 1)[1]
            size = BIG_FILE_BYTES + 1 if sha.startswith("big") else 10
            content = sha.encode().ljust(size, b" ")
            return {"content": base64.b64encode(content).decode(), "encoding": "base64"}

    monkeypatch.setattr(bot.analysis, "analyze_file", analyze)
    gh: Any = FakeGitHub()
    git, cache = GitData(), AnalysisCache()
    db = await open_database("sqlite:///:memory:")

    async def report(sha: str, path: str) -> FileReport:
        return await cache.report(db, sha, path, lambda: git.blob(gh, REPO, sha))

    try:
        await asyncio.gather(*(report(f"big{i}", f"Modules/b{i}.c") for i in range(4)))
        await asyncio.gather(*(report(f"s{i}", f"Modules/s{i}.c") for i in range(4)))
    finally:
        await db.close()
    assert state["peak_big"] == 1
    assert state["peak_small"] > 1  # small files still run side by side
