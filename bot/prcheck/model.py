"""Values describing one pull-request check result; rendered by bot.prcheck.comment/check_run."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.analysis.model import Finding

ChangeKind = Literal["improvement", "regression"]
Conclusion = Literal["success", "failure", "neutral"]


@dataclass(frozen=True)
class ModuleChange:
    module: str  # module name ("_abc"), or the file path when no module is known
    path: str
    kind: ChangeKind
    description: str  # plain text, built by us from facts (escaped again when rendered)


@dataclass(frozen=True)
class SuppressedFinding:
    finding: Finding
    reason: str
    user: str


@dataclass(frozen=True)
class ModuleSide:
    """One module on one side of the PR: what the comment's module table shows."""

    init: str  # "single-phase" / "multi-phase"
    slot: str | None  # its Py_mod_multiple_interpreters value (None: single-phase, no slots)
    static_types: int
    heap_types: int


@dataclass(frozen=True)
class ModuleRow:
    module: str
    path: str
    before: ModuleSide | None  # None: the module is new in the PR
    after: ModuleSide | None  # None: the PR removes it


@dataclass
class CheckResult:
    repo: str
    number: int
    head_sha: str
    base_sha: str
    files_checked: list[str] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)
    remaining: list[Finding] = field(default_factory=list)
    suppressed: list[SuppressedFinding] = field(default_factory=list)
    module_changes: list[ModuleChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "path: could not analyse fully ..."
    skipped: str | None = None  # why the check did not run (too many files ...)
    # path -> module name, from base and head reports (groups the comment module by module)
    modules_by_path: dict[str, str] = field(default_factory=dict)
    # path -> head line numbers the PR added or changed (annotations go only there)
    changed_lines: dict[str, frozenset[int]] = field(default_factory=dict)
    # one row per module of the changed files, base and head side by side
    module_rows: list[ModuleRow] = field(default_factory=list)

    def module_of(self, path: str) -> str:
        return self.modules_by_path.get(path, path)

    def summary_dict(self) -> dict[str, object]:
        """The JSON the store keeps (pr_state.result) for other features to read."""
        return {
            "head_sha": self.head_sha,
            "conclusion": self.conclusion,
            "skipped": self.skipped,
            "files_checked": len(self.files_checked),
            "new": [f.to_dict() for f in self.new],
            "fixed": [f.to_dict() for f in self.fixed],
            "remaining": len(self.remaining),
            "suppressed": len(self.suppressed),
            "improvements": [c.description for c in self.improvements],
            "regressions": [c.description for c in self.regressions],
        }

    @property
    def new_errors(self) -> list[Finding]:
        return [f for f in self.new if f.severity == "error"]

    @property
    def improvements(self) -> list[ModuleChange]:
        return [c for c in self.module_changes if c.kind == "improvement"]

    @property
    def regressions(self) -> list[ModuleChange]:
        return [c for c in self.module_changes if c.kind == "regression"]

    @property
    def improves(self) -> bool:
        return bool(self.improvements or self.fixed)

    @property
    def regresses(self) -> bool:
        # An info-level note (e.g. "heap type is instantiable") is listed, not labelled.
        return bool(self.regressions or [f for f in self.new if f.severity != "info"])

    @property
    def changes_isolation_state(self) -> bool:
        return self.improves or self.regresses

    @property
    def conclusion(self) -> Conclusion:
        if self.skipped is not None:
            return "neutral"
        return "failure" if self.new_errors else "success"

    @property
    def title(self) -> str:
        if self.skipped is not None:
            return "Isolation check skipped"
        if not self.files_checked:
            return "No C files under the watched paths changed"
        parts = []
        if self.new:
            parts.append(f"{len(self.new)} new finding{'s' * (len(self.new) != 1)}")
        if self.fixed:
            parts.append(f"{len(self.fixed)} fixed")
        if self.improvements:
            parts.append(
                f"{len(self.improvements)} improvement{'s' * (len(self.improvements) != 1)}"
            )
        if self.regressions:
            parts.append(f"{len(self.regressions)} regression{'s' * (len(self.regressions) != 1)}")
        return ", ".join(parts) if parts else "No change in isolation state"
