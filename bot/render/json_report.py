"""JSON output of `isolation-bot scan`: the documented contract (docs/json-output.md).

The shape is `TreeReport.to_dict` (schema_version 1), validated in the tests against
docs/json-output.schema.json. Pure: a function of the report.
"""

from __future__ import annotations

import json

from bot import __version__
from bot.analysis.model import TreeReport


def render_json(report: TreeReport, *, tool_version: str = __version__, indent: int = 2) -> str:
    """The report as JSON text (UTF-8 safe, newline-terminated, stable key order)."""
    return json.dumps(report.to_dict(tool_version), indent=indent, ensure_ascii=False) + "\n"
