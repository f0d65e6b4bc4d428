"""Check-run annotations: the same rule on the same symbol in one file is one annotation
naming its other lines, so a PR with many repeats costs fewer PATCH requests (50 a request)."""

from __future__ import annotations

from bot.prcheck import check_run
from tests.render.test_pr_comment import finding, result


def test_repeats_of_one_finding_fold_into_its_first_annotation() -> None:
    new = [finding(symbol="FooType", line=n) for n in (30, 10, 20)] + [
        finding(symbol="BarType", line=15),
        finding(symbol="FooType", line=5, path="Modules/bar.c"),
        finding(symbol="FooType", line=40, severity="warning"),
    ]
    anns = check_run.annotations_for(result(new=new, changed_lines={}))
    # Errors first, by file and line (bot.prcheck.check_run.by_severity).
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in anns] == [
        ("Modules/bar.c", 5, "failure"),
        ("Modules/foo.c", 10, "failure"),
        ("Modules/foo.c", 15, "failure"),
        ("Modules/foo.c", 40, "warning"),
    ]
    assert anns[1]["message"].endswith("\nAlso on lines 20, 30.")
    assert ["Also on" in a["message"] for a in anns] == [False, True, False, False]


def test_a_hundred_repeats_cost_one_request_not_three() -> None:
    new = [finding(symbol="FooType", line=n) for n in range(1, 121)]
    anns = check_run.annotations_for(result(new=new, changed_lines={}))
    assert len(check_run.batches(anns)) == 1
    (ann,) = anns
    assert ann["message"].endswith(" and 19 more.")
    assert len(ann["message"]) <= 64_000
