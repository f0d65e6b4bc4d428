"""GitHub Actions output of `isolation-bot scan`: one workflow command per finding.

    ::error file=Modules/foo.c,line=12,endLine=12,col=5,endColumn=9,title=ISO005 global-object::...

A step that prints these gets line annotations on the pull request without uploading anything.
Errors are ``::error``, warnings ``::warning``, info ``::notice``; suppressed findings are
left out, known ones keep their level and say "known" in the title. Escaping follows the
workflow-command rules (actions/toolkit ``command.ts``): in the message ``%``, CR and LF are
percent-encoded; in a property value ``:`` and ``,`` too, so no C name or path can end a
property or the command early. Pure: a function of the report.
"""

from __future__ import annotations

from bot.analysis.model import Finding, TreeReport

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(root: str, path: str) -> str:
    # Annotations need the path from the repository root; the report's paths are relative to
    # the scan root, which is the checkout in the usual CI step (`scan .`).
    if root in ("", "."):
        return path
    return f"{root.rstrip('/')}/{path}"


def command(f: Finding, root: str = ".") -> str:
    props = [
        ("file", _path(root, f.path)),
        ("line", str(f.line)),
        ("endLine", str(max(f.end_line, f.line))),
        ("col", str(f.column)),
        ("endColumn", str(f.end_column)),
        ("title", f"{f.rule} {f.name}" + (" (known)" if f.status == "known" else "")),
    ]
    if f.end_line != f.line:
        props = [p for p in props if p[0] not in ("col", "endColumn")]  # columns: one line only
    message = f.message
    if f.status == "known" and f.status_reason:
        message += f" [known: {f.status_reason}]"
    level = LEVELS.get(f.severity, "warning")
    rendered = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{level} {rendered}::{escape_data(message)}"


def render_github(report: TreeReport) -> str:
    """Workflow commands for the report's findings (suppressed ones left out), in path order."""
    shown = sorted(
        (f for f in report.findings if f.status != "suppressed"),
        key=lambda f: (f.path, f.line, f.column, f.rule),
    )
    root = report.root if not report.root.startswith("/") else "."
    return "".join(command(f, root) + "\n" for f in shown)
