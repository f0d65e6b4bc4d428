"""The analysis core: pure and synchronous. Bytes in, findings out; no I/O, no preprocessor.

Public API (everything else in the project goes through these):

- ``analyze_file(path, data) -> FileReport``: one file, never raises.
- ``build_tree_report(root, reports, ...) -> TreeReport``: merge file reports, attribute types
  to modules spanning several files, apply TSV suppressions, compute the metrics.
- ``compare(base, head) -> FindingDiff``: new / fixed / remaining findings and module changes.
"""

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

__all__ = [
    "FileReport",
    "Finding",
    "Metric",
    "ModuleInfo",
    "Ratio",
    "Summary",
    "TreeReport",
    "TypeInfo",
]
