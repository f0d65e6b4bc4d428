"""The four rules about process-global variables report each variable once, by precedence."""

from __future__ import annotations

from bot.analysis.paths import policy_globs, rule_exempt, rule_info
from bot.analysis.rules import ALL_DETECTORS
from bot.analysis.rules.static_state import PRECEDENCE

from .helpers import analyze

SNIPPET = """
static PyObject *capi_cache;          /* a capsule pointer named like a cache: ISO018 */
static PyObject *type_cache;          /* an object pointer named like a cache: ISO013 */
static PyObject *module_obj;          /* an object pointer: ISO005 */
static int counter;                   /* plain C state: ISO012 */
static PyObject *const frozen = NULL; /* a const object pointer: nothing */
static char *kwlist[] = {"a", NULL};  /* a kwlist: nothing */

static int
exec(PyObject *m)
{
    capi_cache = PyCapsule_Import("datetime.datetime_CAPI", 0);
    return 0;
}
"""


def test_precedence_is_explicit_and_every_rule_in_it_has_a_detector() -> None:
    assert [rule for rule, _ in PRECEDENCE] == ["ISO018", "ISO013", "ISO005", "ISO012"]
    assert {rule for rule, _ in PRECEDENCE} <= {d.rule for d in ALL_DETECTORS}


def test_each_variable_is_reported_once_by_the_first_rule_that_matches() -> None:
    report = analyze(SNIPPET)
    by_symbol: dict[str, list[str]] = {}
    for f in report.findings:
        by_symbol.setdefault(f.symbol, []).append(f.rule)
    assert by_symbol == {
        "capi_cache": ["ISO018"],
        "type_cache": ["ISO013"],
        "module_obj": ["ISO005"],
        "counter": ["ISO012"],
    }


def test_lower_rules_still_match_what_a_higher_one_claims() -> None:
    # The tests overlap on purpose: capi_cache also passes ISO013's and ISO005's tests, and
    # type_cache ISO005's; PRECEDENCE alone decides (the order is what the findings show).
    report = analyze(SNIPPET.replace("PyCapsule_Import", "PyImport_ImportModule"))
    assert {(f.symbol, f.rule) for f in report.findings if f.symbol == "capi_cache"} == {
        ("capi_cache", "ISO013")
    }
    report = analyze(SNIPPET.replace("*type_cache", "*type_cachex"))
    assert {(f.symbol, f.rule) for f in report.findings if f.symbol == "type_cachex"} == {
        ("type_cachex", "ISO005")
    }


def test_rule_specific_paths() -> None:
    assert rule_exempt("ISO011", "Python/pystate.c")
    assert rule_exempt("ISO011", "cpython/Python/pystate.c")  # at any depth
    assert not rule_exempt("ISO011", "Modules/pystate.c")
    assert not rule_exempt("ISO005", "Python/pystate.c")
    assert rule_info("ISO001", "Objects/typeobject.c") and rule_info("ISO017", "Python/x.c")
    assert not rule_info("ISO005", "Objects/typeobject.c")
    assert "Modules/expat/**" in policy_globs()
