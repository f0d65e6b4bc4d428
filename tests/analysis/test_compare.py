"""compare(): findings matched by (rule, path, symbol) as multisets; module-level changes."""

from __future__ import annotations

from dataclasses import replace

from bot.analysis import FileReport, Finding, compare
from bot.analysis.model import ModuleInfo, TypeInfo


def _f(rule: str, symbol: str, line: int = 1, path: str = "Modules/a.c") -> Finding:
    return Finding(rule, "x", "error", path, line, 1, line, 2, symbol, "m")


def test_lines_do_not_matter_and_duplicates_are_multisets() -> None:
    base = [
        FileReport(
            "Modules/a.c",
            findings=[_f("ISO005", "x", 10), _f("ISO005", "x", 20), _f("ISO012", "flag", 30)],
        )
    ]
    head = [FileReport("Modules/a.c", findings=[_f("ISO005", "x", 99), _f("ISO011", "cb", 5)])]
    diff = compare(base, head)
    assert [(f.rule, f.symbol) for f in diff.new] == [("ISO011", "cb")]
    assert sorted((f.rule, f.symbol) for f in diff.fixed) == [("ISO005", "x"), ("ISO012", "flag")]
    assert [(f.rule, f.line) for f in diff.remaining] == [("ISO005", 99)]


def test_renamed_files_keep_their_findings() -> None:
    base = [FileReport("Modules/old.c", findings=[_f("ISO005", "x", path="Modules/old.c")])]
    head = [FileReport("Modules/new.c", findings=[_f("ISO005", "x", path="Modules/new.c")])]
    assert len(compare(base, head).new) == 1
    diff = compare(base, head, {"Modules/old.c": "Modules/new.c"})
    assert diff.new == [] and diff.fixed == [] and len(diff.remaining) == 1


def _mod(init: str, mi: str | None, name: str = "spam") -> ModuleInfo:
    return ModuleInfo(name, "Modules/spam.c", 5, init, mi, False)  # type: ignore[arg-type]


def test_module_changes() -> None:
    base = [
        FileReport(
            "Modules/spam.c",
            modules=[_mod("single-phase", None), _mod("multi-phase", "unspecified", "old")],
            types=[TypeInfo("Spam_Type", "Modules/spam.c", 1, "static", "spam")],
        )
    ]
    head = [
        FileReport(
            "Modules/spam.c",
            modules=[
                _mod("multi-phase", "per-interpreter-gil"),
                _mod("multi-phase", "unspecified", "new"),
            ],
            types=[TypeInfo("Spam_spec", "Modules/spam.c", 1, "heap", "spam")],
        )
    ]
    changes = {(c.module, c.kind) for c in compare(base, head).module_changes}
    assert changes == {
        ("spam", "converted-to-multi-phase"),
        ("spam", "slot-declared"),
        ("spam", "static-to-heap"),
        ("old", "module-removed"),
        ("new", "module-added"),
    }
    s2h = next(c for c in compare(base, head).module_changes if c.kind == "static-to-heap")
    assert s2h.types_removed == ("Spam_Type",) and s2h.types_added == ("Spam_spec",)
    assert s2h.to_dict()["types_added"] == ["Spam_spec"]


def test_slot_removed_and_back_to_single_phase() -> None:
    base = [FileReport("Modules/spam.c", modules=[_mod("multi-phase", "per-interpreter-gil")])]
    head = [FileReport("Modules/spam.c", modules=[_mod("multi-phase", "unspecified")])]
    assert [c.kind for c in compare(base, head).module_changes] == ["slot-removed"]
    head2 = [FileReport("Modules/spam.c", modules=[_mod("single-phase", None)])]
    kinds = [c.kind for c in compare(base, head2).module_changes]
    assert "converted-to-single-phase" in kinds


def test_identical_scans_have_no_changes_and_to_dict_round_trips() -> None:
    r = [
        FileReport(
            "Modules/spam.c",
            modules=[_mod("multi-phase", "per-interpreter-gil")],
            findings=[_f("ISO005", "x")],
        )
    ]
    diff = compare(r, [replace(r[0])])
    assert diff.new == [] and diff.fixed == [] and diff.module_changes == []
    d = diff.to_dict()
    assert set(d) == {"new", "fixed", "remaining", "module_changes"}
    assert Finding.from_dict(d["remaining"][0]) == r[0].findings[0]


def test_compare_on_real_analysis() -> None:
    from bot.analysis import analyze_file

    base = analyze_file("Modules/spam.c", b"static PyObject *a;\nstatic PyObject *b;\n")
    head = analyze_file("Modules/spam.c", b"\n\nstatic PyObject *b;\nstatic PyObject *c;\n")
    diff = compare([base], [head])
    assert [f.symbol for f in diff.new] == ["c"]
    assert [f.symbol for f in diff.fixed] == ["a"]
    assert [f.symbol for f in diff.remaining] == ["b"]


def test_slot_direction_follows_the_isolation_ladder() -> None:
    def kinds(before: str | None, after: str | None) -> list[str]:
        base = [FileReport("Modules/spam.c", modules=[_mod("multi-phase", before)])]
        head = [FileReport("Modules/spam.c", modules=[_mod("multi-phase", after)])]
        return [c.kind for c in compare(base, head).module_changes]

    assert kinds("supported", "not-supported") == ["slot-removed"]
    assert kinds("not-supported", "unspecified") == ["slot-declared"]
    assert kinds("unspecified", "supported") == ["slot-declared"]
    assert kinds("supported", "unspecified") == ["slot-removed"]
    assert kinds("per-interpreter-gil", "per-interpreter-gil") == []
    assert kinds("per-interpreter-gil", None) == ["slot-removed"]


def test_conversion_without_slot_is_not_a_slot_change() -> None:
    base = [FileReport("Modules/spam.c", modules=[_mod("single-phase", None)])]
    head = [FileReport("Modules/spam.c", modules=[_mod("multi-phase", "unspecified")])]
    assert [c.kind for c in compare(base, head).module_changes] == ["converted-to-multi-phase"]
    kinds_back = [c.kind for c in compare(head, base).module_changes]
    assert kinds_back == ["converted-to-single-phase"]


def test_static_to_heap_in_a_multi_file_module_names_the_module() -> None:
    io = ModuleInfo(
        "_io", "Modules/_io/_iomodule.c", 9, "multi-phase", "per-interpreter-gil", False
    )
    base = [
        FileReport("Modules/_io/_iomodule.c", modules=[io]),
        FileReport(
            "Modules/_io/fileio.c",
            types=[TypeInfo("PyFileIO_Type", "Modules/_io/fileio.c", 3, "static", None)],
        ),
    ]
    head = [
        FileReport("Modules/_io/_iomodule.c", modules=[io]),
        FileReport(
            "Modules/_io/fileio.c",
            types=[TypeInfo("fileio_spec", "Modules/_io/fileio.c", 3, "heap", None)],
        ),
    ]
    [change] = compare(base, head).module_changes
    assert (change.module, change.kind, change.path) == (
        "_io",
        "static-to-heap",
        "Modules/_io/fileio.c",
    )
