"""The analysis core: pure and synchronous. Bytes in, findings out; no I/O, no preprocessor.

Public API (everything else in the project goes through these):

- ``analyze_file(path, data, *, time_limit=TIME_LIMIT_SECONDS) -> FileReport``: one file,
  never raises; files over MAX_FILE_BYTES or the time limit are reported ``skipped`` with the
  reason (``timed_out(report)`` tells a time-limit skip, which caches must not keep).
- ``build_tree_report(root, reports, ...) -> TreeReport``: merge file reports, attribute types
  to modules spanning several files, apply TSV suppressions, compute the metrics.
- ``compare(base, head, renames=None) -> PullDiff``: new / fixed / remaining findings and
  module changes.
- ``RULES``: the rule catalog (rules/*.toml) by id: name, default severity, summary, docs;
  ``RULES.get_rule(id_or_name)`` looks a rule up by id or name.
- ``classify_path(path) -> PathClass``: excluded / test / builtin-area classification (the path
  policy, bot.analysis.paths).
"""

from bot.analysis.analyzer import MAX_FILE_BYTES, TIME_LIMIT_SECONDS, analyze_file, timed_out
from bot.analysis.catalog import Catalog, Rule, load_catalog
from bot.analysis.diff import ModuleChange, PullDiff, compare
from bot.analysis.metrics import compute_summary
from bot.analysis.model import (
    FileReport,
    Finding,
    Metric,
    ModuleInfo,
    Ratio,
    Summary,
    TreeReport,
    TypeInfo,
)
from bot.analysis.paths import PathClass, classify_path
from bot.analysis.tree import build_tree_report
from bot.analysis.tsv import TsvRow, parse_tsv

RULES: Catalog = load_catalog()

__all__ = [
    "MAX_FILE_BYTES",
    "RULES",
    "TIME_LIMIT_SECONDS",
    "Catalog",
    "FileReport",
    "Finding",
    "Metric",
    "ModuleChange",
    "ModuleInfo",
    "PathClass",
    "PullDiff",
    "Ratio",
    "Rule",
    "Summary",
    "TreeReport",
    "TsvRow",
    "TypeInfo",
    "analyze_file",
    "build_tree_report",
    "classify_path",
    "compare",
    "compute_summary",
    "parse_tsv",
    "timed_out",
]
