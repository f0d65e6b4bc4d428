"""The rule catalog: one TOML file per rule (rules/ISO001-static-type.toml ...).

The catalog is the only place that names a rule: its id, kebab-case name, default severity,
summary, why the pattern breaks isolation, a bad and a fixed C example (the tests run the
analyser on both), how to fix it, its known problems (what the heuristic misses or
over-reports) and links. The engine reads it at import (bot.analysis.RULES); its detectors
declare only the id they emit. Where a rule applies is not written here: the rule pages print
the path policy the engine applies (bot.analysis.paths).

Where the files are found: an installed wheel carries them as the package data ``bot/_rules``
(pyproject force-includes ``rules/`` there); an editable install or a source checkout reads the
top-level ``rules/`` directory next to the package.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

from bot.analysis.model import Severity
from bot.analysis.paths import (
    SOURCE_SUFFIXES,
    classify_path,
    normalize,
    policy_markdown,
    rule_exempt,
    rule_info,
    rule_paths_markdown,
)

PathStatus = Literal["applies", "exempt", "info", "not-applicable"]

SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
_ID_RE = re.compile(r"^ISO\d{3}$")
_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


class CatalogError(Exception):
    """A rule file is missing, unreadable or invalid; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True, slots=True)
class Example:
    """A further example of a rule: code and the severity the engine gives the rule's findings
    in it ("none": no finding), at ``path`` (the rule's example path by default). The catalog
    tests run each one; the docs show them under "More examples"."""

    title: str
    code: str
    severity: str  # "error", "warning", "info" or "none"
    path: str


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    severity: Severity
    example_path: str
    summary: str
    why: str
    bad_example: str
    fixed_example: str
    how_to_fix: str
    known_problems: str
    links: tuple[Link, ...]
    source: str  # the file it was read from, for messages
    examples: tuple[Example, ...] = ()

    @property
    def help_uri(self) -> str:
        """The most relevant page for the rule: its first link."""
        return self.links[0].url

    def path_status(self, path: str) -> PathStatus:
        """How the engine treats the rule in a file, by its path alone (bot.analysis.paths):
        not a C source, never reported, info only, or reported at the rule's severity."""
        if not normalize(path).endswith(SOURCE_SUFFIXES):
            return "not-applicable"
        pclass = classify_path(path)
        if pclass.excluded or rule_exempt(self.id, path):
            return "exempt"
        if pclass.is_test or rule_info(self.id, path):
            return "info"
        return "applies"

    def to_markdown(self, heading_level: int = 1, *, full_policy: bool = True) -> str:
        """The rule's documentation page (`isolation-bot explain`, docs/rules.md, SARIF).

        ``full_policy``: print the whole path policy under "Where it applies"; without it, one
        sentence and this rule's own paths (docs/rules.md prints the policy once, above).
        """
        h = "#" * heading_level
        parts = [
            f"{h} {self.id} {self.name}",
            "",
            f"Default severity: **{self.severity}**.",
            "",
            self.summary,
            "",
            f"{h}# Why this breaks isolation",
            "",
            self.why.strip(),
            "",
            f"{h}# Example",
            "",
            "```c",
            self.bad_example.rstrip("\n"),
            "```",
            "",
            "Use instead:",
            "",
            "```c",
            self.fixed_example.rstrip("\n"),
            "```",
            "",
            *self._examples_markdown(h),
            f"{h}# How to fix",
            "",
            self.how_to_fix.strip(),
            "",
            f"{h}# Known problems",
            "",
            self.known_problems.strip(),
            "",
            f"{h}# Where it applies",
            "",
        ]
        if full_policy:
            parts += policy_markdown()
        else:
            parts.append(
                "Never reported in generated code, vendored code and data tables; info only in "
                "test and demo code, Cython output and plain C library code (see "
                "[Where the rules apply](#where-the-rules-apply))."
            )
        if rule_paths_markdown(self.id):
            parts += ["", *rule_paths_markdown(self.id)]
        parts += ["", f"{h}# References", ""]
        parts += [f"- [{link.title}]({link.url})" for link in self.links]
        return "\n".join(parts) + "\n"

    def _examples_markdown(self, h: str) -> list[str]:
        if not self.examples:
            return []
        lines = [f"{h}# More examples", ""]
        for ex in self.examples:
            verdict = "no finding" if ex.severity == "none" else f"reported as {ex.severity}"
            where = "" if ex.path == self.example_path else f" (in `{ex.path}`)"
            lines += [f"{ex.title.strip()}: {verdict}{where}.", "", "```c"]
            lines += [ex.code.strip("\n"), "```", ""]
        return lines


class Catalog(Mapping[str, Rule]):
    """Rules by id, in id order; lookup by id or name, case-insensitive."""

    def __init__(self, rules: list[Rule]) -> None:
        self._by_id = {r.id: r for r in sorted(rules, key=lambda r: r.id)}
        self._by_name = {r.name: r for r in rules}

    def __getitem__(self, key: str) -> Rule:
        rule = self.get_rule(key)
        if rule is None:
            raise KeyError(key)
        return rule

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def get_rule(self, id_or_name: str) -> Rule | None:
        key = id_or_name.strip()
        return self._by_id.get(key.upper()) or self._by_name.get(key.lower())

    def rules(self) -> list[Rule]:
        return list(self._by_id.values())

    def resolve(self, id_or_name: str) -> Rule:
        """Like get_rule, but an unknown rule is a CatalogError that lists what exists."""
        rule = self.get_rule(id_or_name)
        if rule is None:
            raise CatalogError(
                f"unknown rule {id_or_name!r} (run `isolation-bot rules` for the list)"
            )
        return rule


# ---- loading and validation --------------------------------------------------------------------

_STRING_KEYS = (
    "id",
    "name",
    "severity",
    "example_path",
    "summary",
    "why",
    "bad_example",
    "fixed_example",
    "how_to_fix",
    "known_problems",
)
_KNOWN_KEYS = frozenset((*_STRING_KEYS, "links", "examples"))
_EXAMPLE_KEYS = frozenset({"title", "code", "severity", "path"})
_EXAMPLE_SEVERITIES = (*SEVERITIES, "none")
# Keys of an older format: where a rule applies is the engine's path policy, not rule data.
_POLICY_KEYS = frozenset({"applies_to", "exempt", "info_paths"})


def _fail(source: str, key: str | None, message: str) -> CatalogError:
    where = f"{source}: key {key!r}" if key else source
    return CatalogError(f"invalid rule file {where}: {message}")


def parse_rule(text: str, source: str) -> Rule:
    """Parse and validate one rule file's text; ``source`` names it in error messages."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, None, f"not valid TOML ({exc})") from exc
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        if unknown[0] in _POLICY_KEYS:
            raise _fail(
                source, unknown[0], "paths are not set per rule file (bot/analysis/paths.py)"
            )
        raise _fail(source, unknown[0], "unknown key (typo?)")
    for key in _STRING_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _fail(source, key, "missing or not a non-empty string")
    if not _ID_RE.match(data["id"]):
        raise _fail(source, "id", f"must look like ISO001 (got {data['id']!r})")
    if not _NAME_RE.match(data["name"]):
        raise _fail(source, "name", f"must be kebab-case (got {data['name']!r})")
    if data["severity"] not in SEVERITIES:
        raise _fail(
            source, "severity", f"must be one of {', '.join(SEVERITIES)} (got {data['severity']!r})"
        )
    stem = source.rsplit("/", 1)[-1].removesuffix(".toml")
    if stem != f"{data['id']}-{data['name']}":
        raise _fail(source, "id", f"file name must be {data['id']}-{data['name']}.toml")
    links_data = data.get("links")
    if not isinstance(links_data, list) or not links_data:
        raise _fail(source, "links", "missing or empty (need [[links]] tables with title and url)")
    links: list[Link] = []
    for n, item in enumerate(links_data, 1):
        if not isinstance(item, dict) or set(item) != {"title", "url"}:
            raise _fail(source, "links", f"entry {n} must have exactly `title` and `url`")
        title, url = item["title"], item["url"]
        if not (isinstance(title, str) and title and isinstance(url, str)):
            raise _fail(source, "links", f"entry {n}: title and url must be strings")
        if not url.startswith("https://"):
            raise _fail(source, "links", f"entry {n}: url must start with https:// (got {url!r})")
        links.append(Link(title, url))
    examples: list[Example] = []
    if not isinstance(data.get("examples", []), list):
        raise _fail(source, "examples", "must be [[examples]] tables")
    for n, item in enumerate(data.get("examples", []), 1):
        if not isinstance(item, dict) or not {"title", "code", "severity"} <= set(item):
            raise _fail(source, "examples", f"entry {n} needs `title`, `code` and `severity`")
        extra = sorted(set(item) - _EXAMPLE_KEYS)
        if extra:
            raise _fail(source, "examples", f"entry {n}: unknown key {extra[0]!r}")
        if not all(isinstance(item.get(k, ""), str) for k in _EXAMPLE_KEYS):
            raise _fail(source, "examples", f"entry {n}: values must be strings")
        if item["severity"] not in _EXAMPLE_SEVERITIES:
            raise _fail(
                source,
                "examples",
                f"entry {n}: severity must be one of {', '.join(_EXAMPLE_SEVERITIES)}",
            )
        examples.append(
            Example(
                title=item["title"],
                code=item["code"],
                severity=item["severity"],
                path=item.get("path") or data["example_path"],
            )
        )
    return Rule(
        id=data["id"],
        name=data["name"],
        severity=data["severity"],
        example_path=data["example_path"],
        summary=data["summary"].strip(),
        why=data["why"],
        bad_example=data["bad_example"],
        fixed_example=data["fixed_example"],
        how_to_fix=data["how_to_fix"],
        known_problems=data["known_problems"],
        links=tuple(links),
        source=source,
        examples=tuple(examples),
    )


def _rule_files(directory: Traversable) -> list[Traversable]:
    return sorted(
        (f for f in directory.iterdir() if f.name.endswith(".toml") and f.is_file()),
        key=lambda f: f.name,
    )


def _read(file: Traversable, source: str) -> str:
    try:
        return file.read_bytes().decode("utf-8")
    except OSError as exc:
        raise _fail(source, None, f"cannot read ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise _fail(source, None, f"not UTF-8 ({exc})") from exc


def load_catalog_from(directory: Traversable | Path, label: str | None = None) -> Catalog:
    """Load and validate every ``*.toml`` rule file of a directory (uncached)."""
    label = label or str(directory)
    try:
        files = _rule_files(directory)
    except OSError as exc:
        raise CatalogError(f"cannot read the rule catalog at {label}: {exc}") from exc
    if not files:
        raise CatalogError(f"no rule files (*.toml) in the rule catalog at {label}")
    rules: list[Rule] = []
    seen: dict[str, str] = {}
    for f in files:
        source = f"{label}/{f.name}"
        rule = parse_rule(_read(f, source), source)
        for key in (rule.id, rule.name):
            if key in seen:
                raise _fail(
                    source, "id" if key == rule.id else "name", f"{key} also in {seen[key]}"
                )
            seen[key] = source
        rules.append(rule)
    return Catalog(rules)


def catalog_dir() -> tuple[Traversable, str]:
    """The installed package data (bot/_rules) if present, else the source tree's rules/."""
    packaged = resources.files("bot").joinpath("_rules")
    if packaged.is_dir():
        return packaged, "bot/_rules"
    source_tree = Path(__file__).resolve().parents[2] / "rules"
    if source_tree.is_dir():
        return source_tree, str(source_tree)
    raise CatalogError(
        "the rule catalog is missing: neither the package data bot/_rules nor the source "
        f"tree's {source_tree} exists (a broken install?)"
    )


@functools.cache
def load_catalog() -> Catalog:
    """The project's rule catalog, loaded and validated once per process."""
    directory, label = catalog_dir()
    return load_catalog_from(directory, label)


def catalog_summary(catalog: Catalog) -> list[dict[str, Any]]:
    """Rows for listings (`isolation-bot rules --format json`)."""
    return [
        {
            "id": r.id,
            "name": r.name,
            "severity": r.severity,
            "summary": r.summary,
            "help_uri": r.help_uri,
        }
        for r in catalog.rules()
    ]


def rules_index_markdown(catalog: Catalog) -> str:
    """docs/rules.md: an index table, then every rule's full page."""
    lines = [
        "# Rules",
        "",
        "<!-- Generated from rules/*.toml by `isolation-bot rules --format markdown`;",
        "     tests/catalog checks this file is up to date. Edit the TOML files, not this. -->",
        "",
        "Each rule is one TOML file in `rules/`. `isolation-bot explain ID-or-name` prints a",
        "rule's page; `isolation-bot scan --select/--ignore` takes ids or names.",
        "",
        "| ID | Name | Severity | Summary |",
        "|---|---|---|---|",
    ]
    for r in catalog.rules():
        anchor = f"{r.id}-{r.name}".lower()
        summary = r.summary.replace("|", "\\|")
        lines.append(f"| [{r.id}](#{anchor}) | `{r.name}` | {r.severity} | {summary} |")
    lines += ["", "## Where the rules apply", "", *policy_markdown(), ""]
    for r in catalog.rules():
        lines.append(r.to_markdown(heading_level=2, full_policy=False))
    return "\n".join(lines).rstrip("\n") + "\n"
