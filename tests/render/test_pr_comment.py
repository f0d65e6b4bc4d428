"""The sticky comment and the check-run output rendered from a CheckResult."""

from __future__ import annotations

from bot.analysis.model import FileReport, Finding, ModuleInfo, TypeInfo
from bot.prcheck import check_run
from bot.prcheck import comment as pr_comment
from bot.prcheck.changes import added_lines, select_files
from bot.prcheck.model import CheckResult, ModuleChange, SuppressedFinding
from bot.prcheck.modules import module_changes


def finding(
    rule: str = "ISO001",
    symbol: str = "FooType",
    path: str = "Modules/foo.c",
    line: int = 10,
    severity: str = "error",
) -> Finding:
    return Finding(
        rule=rule,
        name="static-type",
        severity=severity,  # type: ignore[arg-type]
        path=path,
        line=line,
        column=1,
        end_line=line,
        end_column=5,
        symbol=symbol,
        message=f"{symbol} is a static type",
    )


def result(**kw: object) -> CheckResult:
    r = CheckResult(
        repo="o/r",
        number=1,
        head_sha="a" * 40,
        base_sha="b" * 40,
        files_checked=["Modules/foo.c"],
        modules_by_path={"Modules/foo.c": "foo"},
    )
    for k, v in kw.items():
        setattr(r, k, v)
    return r


def test_comment_groups_by_module_and_links_rules() -> None:
    r = result(
        new=[finding("ISO002", "bad_global")],
        fixed=[finding()],
        module_changes=[
            ModuleChange("foo", "Modules/foo.c", "improvement", "converted to multi-phase init")
        ],
    )
    body = pr_comment.render(r, rules_url="https://docs.example/rules/{rule}")
    assert body.startswith(pr_comment.MARKER)
    assert "| `foo` | converted to multi-phase init |" in body  # the module's table row
    assert "Improves `foo`" in body
    assert ":x: [ISO002 static-type](https://docs.example/rules/ISO002)" in body
    assert "`Modules/foo.c:10`](https://github.com/o/r/pull/1/files#diff-" in body
    assert "- `foo`: 1 (ISO001 ×1)" in body  # fixed: counted per module and rule ...
    assert "<details><summary>The 1 fixed finding</summary>" in body  # ... listed folded
    assert r.conclusion == "failure"
    assert "a" * 12 not in body  # no SHA: unchanged results render identically


def test_comment_escapes_hostile_names() -> None:
    r = result(
        new=[finding(symbol="@admin <script>", path="Modules/x](http://evil).c")],
        modules_by_path={},
    )
    body = pr_comment.render(r)
    assert "@admin" not in body.replace("`@admin <script>`", "")
    assert "<script>" not in body.replace("`@admin <script>`", "")
    in_code = ("`Modules/x](http://evil).c:10`", "`Modules/x](http://evil).c`")
    assert "](http://evil)" not in body.replace(in_code[0], "").replace(in_code[1], "")


def test_skipped_and_empty_results() -> None:
    skipped = result(skipped="too many files")
    assert skipped.conclusion == "neutral"
    assert "skipped: too many files" in pr_comment.render(skipped)
    empty = result(files_checked=[])
    assert empty.conclusion == "success"
    assert "no longer changes C files" in pr_comment.render(empty)


def test_suppressed_findings_are_listed_not_failing() -> None:
    r = result(suppressed=[SuppressedFinding(finding(), "intentional", "octocat")])
    assert r.conclusion == "success"
    assert "octo" in pr_comment.render(r) and "@octocat" not in pr_comment.render(r)


def test_annotations_only_on_changed_lines_and_batched() -> None:
    new = [finding(symbol=f"s{i}", line=i) for i in range(1, 121)]
    r = result(new=new, changed_lines={"Modules/foo.c": frozenset(range(1, 111))})
    anns = check_run.annotations_for(r)
    assert len(anns) == 110
    assert [len(b) for b in check_run.batches(anns)] == [50, 50, 10]
    assert anns[0]["annotation_level"] == "failure"
    out = check_run.output(r, anns[:50])
    assert out["title"].startswith("120 new findings")
    assert "Checked `aaaaaaaaaaaa`" in out["summary"]


def test_select_files_handles_renames_removals_and_paths() -> None:
    entries = [
        {
            "filename": "Modules/a.c",
            "status": "modified",
            "sha": "1",
            "patch": "@@ -1,2 +1,3 @@\n x\n+y\n z",
        },
        {"filename": "Modules/new.h", "status": "added", "sha": "2"},
        {"filename": "Objects/gone.c", "status": "removed", "sha": "3"},
        {
            "filename": "Modules/b2.c",
            "status": "renamed",
            "sha": "4",
            "previous_filename": "Modules/b.c",
        },
        {"filename": "Lib/x.py", "status": "modified", "sha": "5"},
        {"filename": "Python/ceval.c", "status": "modified", "sha": "6"},
        {
            "filename": "Doc/moved.c",
            "status": "renamed",
            "sha": "7",
            "previous_filename": "Modules/moved.c",
        },
        "garbage",
    ]
    files = {f.path: f for f in select_files(entries, ("Modules/", "Objects/"))}  # type: ignore[arg-type]
    assert set(files) == {
        "Modules/a.c",
        "Modules/new.h",
        "Objects/gone.c",
        "Modules/b2.c",
        "Doc/moved.c",
    }
    assert files["Modules/a.c"].changed_lines == frozenset({2})
    assert files["Modules/new.h"].base_path is None
    assert files["Objects/gone.c"].head_sha is None
    assert files["Modules/b2.c"].base_path == "Modules/b.c"
    assert (
        files["Doc/moved.c"].head_sha is None
        and files["Doc/moved.c"].base_path == "Modules/moved.c"
    )


def test_added_lines_counts_context_and_removals() -> None:
    patch = "@@ -10,3 +10,4 @@\n ctx\n-old\n+new1\n+new2\n ctx\n@@ -40 +41 @@\n+z"
    assert added_lines(patch) == frozenset({11, 12, 41})


def test_module_changes_multi_phase_heap_types_and_slot() -> None:
    base = [
        FileReport(
            path="Modules/foo.c",
            modules=[ModuleInfo("foo", "Modules/foo.c", 1, "single-phase", None, False)],
            types=[TypeInfo("FooType", "Modules/foo.c", 5, "static", "foo")],
        )
    ]
    head = [
        FileReport(
            path="Modules/foo.c",
            modules=[
                ModuleInfo("foo", "Modules/foo.c", 1, "multi-phase", "per-interpreter-gil", False)
            ],
            types=[TypeInfo("Foo_spec", "Modules/foo.c", 5, "heap", "foo")],
        )
    ]
    changes = module_changes(base, head)
    texts = [(c.kind, c.description) for c in changes]
    assert ("improvement", "converted to multi-phase init") in texts
    assert ("improvement", "1 static type converted to heap types (FooType)") in texts
    assert all(k == "improvement" for k, _ in texts)
    assert [c.kind for c in module_changes(head, base)].count("regression") >= 2
