"""The rule catalog: contents, validation errors, path globs, agreement with the engine, docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.analysis import RULES, analyze_file
from bot.analysis.catalog import (
    Catalog,
    CatalogError,
    catalog_dir,
    load_catalog,
    load_catalog_from,
    parse_rule,
    rules_index_markdown,
)
from bot.analysis.paths import glob_match, policy_markdown
from bot.analysis.rules import ALL_DETECTORS
from bot.analysis.suppressions import SUPPRESSION_RULE

REPO = Path(__file__).resolve().parents[2]

# The catalog's agreed rule ids and names, plus the suppression-without-reason rule.
EXPECTED = {
    "ISO001": "static-type",
    "ISO002": "single-phase-init",
    "ISO003": "missing-per-interpreter-gil-slot",
    "ISO004": "pystate-module-lookup",
    "ISO005": "global-object",
    "ISO006": "py-identifier",
    "ISO007": "type-from-spec-without-module",
    "ISO008": "heap-type-dealloc-missing-decref",
    "ISO009": "heap-type-gc",
    "ISO010": "module-state-without-gc-hooks",
    "ISO011": "gilstate-api",
    "ISO012": "global-c-state",
    "ISO013": "static-cache-or-freelist",
    "ISO014": "module-state-via-py-type",
    "ISO015": "pyobject-new-on-gc-type",
    "ISO016": "heap-type-mutable-or-instantiable",
    "ISO017": "static-structseq",
    "ISO018": "cached-capsule-pointer",
    "ISO019": "module-def-negative-size",
    "ISO900": "suppression-without-reason",
}


def test_catalog_has_every_rule_of_the_issue() -> None:
    catalog = load_catalog()
    assert {r.id: r.name for r in catalog.rules()} == EXPECTED
    assert list(catalog) == sorted(EXPECTED)


def test_catalog_agrees_with_the_engine_registry() -> None:
    catalog = load_catalog()
    assert set(catalog) == set(RULES)
    for rule_id, meta in RULES.items():
        rule = catalog[rule_id]
        assert (rule.name, rule.severity) == (meta.name, meta.severity), rule_id


def test_every_rule_has_one_detector_named_after_it() -> None:
    catalog = load_catalog()
    ids = [d.rule for d in ALL_DETECTORS]
    assert len(ids) == len(set(ids))
    # ISO900 comes from the suppression comments, not from a detector.
    assert {*ids, SUPPRESSION_RULE} == set(catalog)
    for d in ALL_DETECTORS:
        assert d.name == catalog[d.rule].name.replace("-", "_"), d.rule


def test_lookup_by_id_or_name_case_insensitive() -> None:
    catalog = load_catalog()
    assert catalog["ISO001"] is catalog["iso001"] is catalog["static-type"]
    assert catalog.get_rule(" Global-Object ") is catalog["ISO005"]
    assert catalog.get_rule("ISO999") is None
    with pytest.raises(KeyError):
        catalog["no-such-rule"]
    with pytest.raises(CatalogError, match="unknown rule 'nope'"):
        catalog.resolve("nope")


def test_load_catalog_is_cached() -> None:
    assert load_catalog() is load_catalog()


def test_every_rule_is_documented_and_linked() -> None:
    all_urls: set[str] = set()
    for rule in load_catalog().rules():
        assert rule.summary and rule.why and rule.how_to_fix, rule.id
        assert "#include" in rule.bad_example and rule.bad_example != rule.fixed_example
        assert rule.help_uri.startswith("https://")
        all_urls |= {link.url for link in rule.links}
    for needed in (
        "https://peps.python.org/pep-0489/",
        "https://peps.python.org/pep-0573/",
        "https://peps.python.org/pep-0630/",
        "https://peps.python.org/pep-0684/",
        "https://peps.python.org/pep-0687/",
        "https://github.com/python/cpython/issues/103092",
        "https://github.com/python/cpython/issues/84258",
    ):
        assert needed in all_urls
    assert any(
        u.startswith("https://docs.python.org/3/howto/isolating-extensions.html") for u in all_urls
    )


def test_catalog_is_read_from_the_source_tree_without_an_installed_copy() -> None:
    directory, label = catalog_dir()
    # In a checkout (editable install) bot/_rules does not exist; a wheel install has it.
    if label == "bot/_rules":
        assert directory.joinpath("ISO001-static-type.toml").is_file()
    else:
        assert Path(label) == REPO / "rules"


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("**/*.c", "a.c", True),
        ("**/*.c", "Modules/_io/fileio.c", True),
        ("**/*.c", "Modules/x.c.h", False),
        ("**/*.c.h", "Modules/clinic/x.c.h", True),
        ("**/clinic/**", "Modules/clinic/x.c.h", True),
        ("**/clinic/**", "Modules/clinicx.c", False),
        ("Modules/_test*", "Modules/_testcapimodule.c", True),
        ("Modules/_test*", "Modules/_testcapi/vectorcall.c", False),
        ("Modules/_test*/**", "Modules/_testcapi/vectorcall.c", True),
        ("Objects/**", "Objects/typeobject.c", True),
        ("Objects/**", "Modules/Objects.c", False),
        ("Modules/_ctypes/libffi*/**", "Modules/_ctypes/libffi_osx/x.c", True),
        ("Modules/x?.c", "Modules/xy.c", True),
        ("Modules/x?.c", "Modules/x/.c", False),
    ],
)
def test_glob_match(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected


def test_path_status() -> None:
    rule = load_catalog()["ISO001"]
    assert rule.path_status("Modules/_cursesmodule.c") == "applies"
    assert rule.path_status("Objects/typeobject.c") == "info"  # static builtin types
    assert rule.path_status("Modules/_testcapimodule.c") == "info"
    assert rule.path_status("Modules/clinic/_abc.c.h") == "exempt"
    assert rule.path_status("Modules/expat/xmlparse.c") == "exempt"
    assert rule.path_status("README.rst") == "not-applicable"
    # A test module: reported, as info (the engine never exempted it; the old file said so).
    assert load_catalog()["ISO002"].path_status("Modules/_testsinglephase.c") == "info"
    assert load_catalog()["ISO011"].path_status("Python/pystate.c") == "exempt"
    assert load_catalog()["ISO017"].path_status("Python/sysmodule.c") == "info"
    assert load_catalog()["ISO005"].path_status("Python/sysmodule.c") == "applies"
    assert rule.path_status("src/greenlet/greenlet.hpp") == "applies"
    assert rule.path_status("src/thirdparty/zlib/deflate.c") == "exempt"
    assert rule.path_status("demo/x.c") == "info"


def test_rule_specific_paths_are_what_the_engine_does() -> None:
    gil = b"#include <Python.h>\nvoid f(void) { PyGILState_STATE s = PyGILState_Ensure(); }\n"
    assert [f.rule for f in analyze_file("Modules/x.c", gil).findings] == ["ISO011"]
    assert analyze_file("Python/pystate.c", gil).findings == []
    structseq = b"void f(void) { PyStructSequence_InitType2(&FooType, &desc); }\n"
    (f,) = analyze_file("Python/x.c", structseq).findings
    assert (f.rule, f.severity) == ("ISO017", "info")
    (f,) = analyze_file("Modules/x.c", structseq).findings
    assert (f.rule, f.severity) == ("ISO017", "error")


def test_rule_pages_show_known_problems_and_the_path_policy() -> None:
    catalog = load_catalog()
    for rule in catalog.rules():
        page = rule.to_markdown()
        assert "## Known problems" in page and rule.known_problems.strip() in page
        assert "\n".join(policy_markdown()) in page
    assert "`Python/pystate.c`" in catalog["ISO011"].to_markdown()
    assert "_testsinglephase" not in catalog["ISO002"].to_markdown()
    docs = rules_index_markdown(catalog)
    assert docs.count("\n".join(policy_markdown())) == 1  # once, above the rule pages


# ---- validation ----------------------------------------------------------------------------

GOOD = (REPO / "rules" / "ISO005-global-object.toml").read_text(encoding="utf-8")
SOURCE = "rules/ISO005-global-object.toml"


def test_a_real_rule_file_parses() -> None:
    rule = parse_rule(GOOD, SOURCE)
    assert rule.id == "ISO005" and rule.severity == "error" and rule.source == SOURCE


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('severity = "error"', 'severity = "fatal"'),
            r"'severity': must be one of",
        ),
        (
            lambda t: t.replace('name = "global-object"', 'name = "Global_Object"'),
            r"'name': must be kebab-case",
        ),
        (lambda t: t.replace('id = "ISO005"', 'id = "X5"'), r"'id': must look like ISO001"),
        (
            lambda t: t.replace('id = "ISO005"', 'id = "ISO006"'),
            r"'id': file name must be ISO006-global-object.toml",
        ),
        (lambda t: t.replace("summary = ", "sumary = "), r"'sumary': unknown key"),
        (lambda t: t.replace("summary = ", "# summary = "), r"'summary': missing"),
        (
            lambda t: re.sub(r"known_problems = '''.*?'''\n", "", t, flags=re.S),
            r"'known_problems': missing",
        ),
        (
            lambda t: t.replace("example_path =", 'applies_to = ["**/*.c"]\nexample_path ='),
            r"'applies_to': paths are not set per rule file",
        ),
        (
            lambda t: t.replace("https://peps.python.org/pep-0630/", "http://x"),
            r"'links': entry \d+: url must start",
        ),
        (
            lambda t: t.replace("[[links]]", "[[links]]\nextra = 1", 1),
            r"'links': entry 1 must have exactly",
        ),
        (lambda t: t + "\nnot toml [", r"not valid TOML"),
    ],
)
def test_invalid_rule_files_name_the_file_and_key(edit: object, message: str) -> None:
    text = edit(GOOD)  # type: ignore[operator]
    assert text != GOOD
    with pytest.raises(CatalogError, match=message) as info:
        parse_rule(text, SOURCE)
    assert SOURCE in str(info.value)


def test_directory_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="no rule files"):
        load_catalog_from(tmp_path)
    (tmp_path / "ISO005-global-object.toml").write_text(GOOD, encoding="utf-8")
    assert isinstance(load_catalog_from(tmp_path), Catalog)
    (tmp_path / "ISO006-global-object.toml").write_text(
        GOOD.replace('id = "ISO005"', 'id = "ISO006"'), encoding="utf-8"
    )
    with pytest.raises(CatalogError, match="'name': global-object also in"):
        load_catalog_from(tmp_path)
    (tmp_path / "ISO006-global-object.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(CatalogError, match=r"ISO006-global-object\.toml: not UTF-8"):
        load_catalog_from(tmp_path)


# ---- docs ----------------------------------------------------------------------------------


def test_docs_rules_md_is_generated_from_the_catalog() -> None:
    docs = (REPO / "docs" / "rules.md").read_text(encoding="utf-8")
    catalog = load_catalog()
    for rule in catalog.rules():
        assert f"| [{rule.id}](#" in docs and f"`{rule.name}`" in docs
        assert f"## {rule.id} {rule.name}" in docs
    assert docs == rules_index_markdown(catalog), (
        "docs/rules.md is stale: run `isolation-bot rules --format markdown > docs/rules.md`"
    )


@pytest.mark.parametrize(
    "path",
    [
        "Modules/_cursesmodule.c",
        "Modules/_io/fileio.c",
        "Modules/clinic/_abc.c.h",
        "Modules/_io/clinic/fileio.c.h",
        "Python/bytecodes.c",
        "Python/deepfreeze/deepfreeze.c",
        "Modules/_decimal/libmpdec/mpdecimal.c",
        "Modules/_decimal/_decimal.c",
        "Modules/expat/xmlparse.c",
        "Modules/_hacl/Hacl_Hash_SHA2.c",
        "Modules/_blake2/impl/blake2b.c",
        "Modules/_blake2/blake2b_impl.c",
        "Modules/_ctypes/libffi_osx/x86/x86-darwin.c",
        "Modules/zlib/inflate.c",
        "Objects/mimalloc/alloc.c",
        "Include/internal/mimalloc/mimalloc/types.h",
        "Modules/unicodedata_db.h",
        "Modules/cjkcodecs/mappings_jp.h",
        "Modules/_ssl_data_31.h",
        "Modules/_testcapimodule.c",
        "Modules/_testcapi/vectorcall.c",
        "Modules/_testinternalcapi/test_lock.c",
        "Modules/xxlimited.c",
        "Modules/_xxtestfuzz/fuzzer.c",
        "Modules/_ctypes/_ctypes_test.c",
        "Modules/_ctypes/_ctypes.c",
        "PC/_wmimodule.cpp",
    ],
)
def test_catalog_paths_agree_with_the_engine_classification(path: str) -> None:
    """The documented globs say what the engine does (bot.analysis.paths)."""
    from bot.analysis.paths import classify_path

    engine = classify_path(path)
    status = load_catalog()["ISO005"].path_status(path)  # a rule without special paths
    expected = "exempt" if engine.excluded else "info" if engine.is_test else "applies"
    assert status == expected


def test_explain_prints_the_known_problems_and_the_path_policy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import argparse

    from bot.cli.rules import run_explain

    assert run_explain(argparse.Namespace(rule="gilstate-api")) == 0
    out = capsys.readouterr().out
    rule = load_catalog()["ISO011"]
    assert out == rule.to_markdown()
    assert "## Known problems" in out and "Never reported (the file is not analysed):" in out
    assert "never reported in `Python/pystate.c`" in out
