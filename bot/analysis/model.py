"""Data model of the analysis core: what a scan finds, as plain immutable values.

Everything else in the project (CLI output, PR check, store, rendering) consumes these
types or their JSON form (`to_dict`), which is the documented contract in docs/json-output.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]
Status = Literal["new", "known", "suppressed"]
InitStyle = Literal["multi-phase", "single-phase"]
MultipleInterpreters = Literal["per-interpreter-gil", "supported", "not-supported", "unspecified"]
TypeKind = Literal["static", "heap"]

SCHEMA_VERSION = 1
METRIC_NAMES = ("multi_phase", "heap_types", "per_interpreter_gil")


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # "ISO001"
    name: str  # "static-type"
    severity: Severity
    path: str  # relative to the scanned root, "/" separators
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int
    symbol: str  # the C name the finding is about
    message: str
    status: Status = "new"
    # Why a finding is known/suppressed (TSV row, inline comment reason, PR suppression).
    status_reason: str | None = None

    def match_key(self) -> tuple[str, str, str]:
        """Identity used to compare base and head: rule, file and symbol, never the line."""
        return (self.rule, self.path, self.symbol)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True, slots=True)
class ModuleInfo:
    name: str  # "_abc" for PyInit__abc
    path: str
    line: int
    init: InitStyle
    # None for single-phase modules (they have no slots at all).
    multiple_interpreters: MultipleInterpreters | None
    is_test: bool
    init_function: str = ""  # "PyInit__abc"
    def_name: str | None = None  # the PyModuleDef variable
    has_state: bool = False  # m_size > 0
    has_gc_hooks: bool = False  # m_traverse / m_clear / m_free present

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModuleInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True, slots=True)
class TypeInfo:
    name: str  # static: the PyTypeObject variable; heap: the PyType_Spec variable
    path: str
    line: int
    kind: TypeKind
    module: str | None  # the module this type belongs to, when known
    is_test: bool = False
    exempt: bool = False  # static builtin types in Objects/ and Python/

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TypeInfo:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass(frozen=True, slots=True)
class Ratio:
    done: int
    total: int

    @property
    def percent(self) -> float:
        return round(100.0 * self.done / self.total, 1) if self.total else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {"done": self.done, "total": self.total, "percent": self.percent}


@dataclass(frozen=True, slots=True)
class Metric:
    all: Ratio
    stdlib: Ratio

    def to_dict(self) -> dict[str, Any]:
        return {"all": self.all.to_dict(), "stdlib": self.stdlib.to_dict()}


@dataclass(frozen=True, slots=True)
class Summary:
    multi_phase: Metric
    heap_types: Metric
    per_interpreter_gil: Metric

    def to_dict(self) -> dict[str, Any]:
        return {n: getattr(self, n).to_dict() for n in METRIC_NAMES}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Summary:
        def metric(m: dict[str, Any]) -> Metric:
            return Metric(
                all=Ratio(m["all"]["done"], m["all"]["total"]),
                stdlib=Ratio(m["stdlib"]["done"], m["stdlib"]["total"]),
            )

        return cls(**{n: metric(d[n]) for n in METRIC_NAMES})


@dataclass(slots=True)
class FileReport:
    """What the analysis of one file found. Produced by bot.analysis.analyze_file."""

    path: str
    modules: list[ModuleInfo] = field(default_factory=list)
    types: list[TypeInfo] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Human-readable "could not analyse fully: why" notes (parse errors, size limits ...).
    notes: list[str] = field(default_factory=list)
    # Set when the file was not analysed at all (excluded, too large, binary): the reason.
    skipped: str | None = None
    # Module-level facts a tree-wide pass needs (e.g. PyModuleDef and slot tables found in a
    # header, names of types created from specs); free-form, JSON-serialisable.
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "modules": [m.to_dict() for m in self.modules],
            "types": [t.to_dict() for t in self.types],
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "skipped": self.skipped,
            "facts": self.facts,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileReport:
        return cls(
            path=d["path"],
            modules=[ModuleInfo.from_dict(m) for m in d.get("modules", [])],
            types=[TypeInfo.from_dict(t) for t in d.get("types", [])],
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            notes=list(d.get("notes", [])),
            skipped=d.get("skipped"),
            facts=dict(d.get("facts", {})),
        )


@dataclass(slots=True)
class TreeReport:
    """A whole scan: every file's report merged, modules attributed, metrics computed."""

    root: str
    modules: list[ModuleInfo]
    types: list[TypeInfo]
    findings: list[Finding]
    summary: Summary
    notes: list[str] = field(default_factory=list)  # "path: could not analyse fully: ..."
    files: int = 0

    def to_dict(self, tool_version: str) -> dict[str, Any]:
        """The JSON output contract (schema_version 1), see docs/json-output.md."""
        return {
            "schema_version": SCHEMA_VERSION,
            "tool": {"name": "isolation-bot", "version": tool_version},
            "root": self.root,
            "files": self.files,
            "modules": [m.to_dict() for m in self.modules],
            "types": [t.to_dict() for t in self.types],
            "findings": [f.to_dict() for f in self.findings],
            "notes": list(self.notes),
            "summary": self.summary.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TreeReport:
        return cls(
            root=d.get("root", "."),
            modules=[ModuleInfo.from_dict(m) for m in d.get("modules", [])],
            types=[TypeInfo.from_dict(t) for t in d.get("types", [])],
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            summary=Summary.from_dict(d["summary"]),
            notes=list(d.get("notes", [])),
            files=int(d.get("files", 0)),
        )
