"""Precision sample: a fixed, stratified random sample of the error and warning findings on
real trees, printed for a reviewer to adjudicate, and the precision and recall figures once
they have.

Usage:
    python bench/precision_sample.py --cpython TREE... --ext TREE... [options]

Each TREE is a source folder (a CPython checkout or an unpacked sdist). It is scanned with the
code importable from this checkout, or its scan is read from ``--json-dir DIR/<name>.json``
(``<name>`` = the folder's base name; ``isolation-bot scan TREE --format json -o FILE`` writes
one). ``--save-json DIR`` keeps the scans made.

The population of a group (``cpython``, ``ext``) is every error or warning finding that is not
suppressed, over the group's trees. Sampling is stratified by rule: each rule gets its share of
``--size`` in proportion to its findings, and at least ``--min-per-rule`` (or all it has).
Inside a rule the findings with the smallest ``sha256(seed, key)`` are taken, where the key is
``tree:path:line:rule:symbol``: the choice does not depend on the order of the scan, and a
finding that survives a change of the analysis keeps its priority, so a re-run after a change
re-uses most of the earlier sample's adjudications.

Adjudications are read from markdown table rows (``--verdicts FILE[#Heading]``, e.g.
``docs/precision.md#Before``: only the rows under that `## ` heading)
whose first cell is a key in backquotes and that have a ``TP``, ``FP`` or ``debatable`` cell:
``| `Python-3.13.5:Modules/readline.c:1057:ISO011:on_hook` | ... | TP | reason |``.
Precision = TP / (TP + FP) over the adjudicated sample (debatable findings are counted apart).
``--recall-from FILE`` reads the true positives of an earlier sample and tells which of them
the current scans still report as an error or warning (same tree, path, rule and symbol).

Output: ``--format text`` (default) prints each sampled finding with a source excerpt;
``--format markdown`` prints the tables docs/precision.md keeps (without excerpts).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

SEVERITIES = ("error", "warning")
VERDICTS = ("TP", "FP", "debatable")
_ROW_KEY = re.compile(r"^\|\s*`([^`]+)`\s*\|")


@dataclass(frozen=True, slots=True)
class Item:
    group: str
    tree: str  # the tree folder's base name
    root: str  # the tree folder
    finding: dict[str, object]

    @property
    def key(self) -> str:
        f = self.finding
        return f"{self.tree}:{f['path']}:{f['line']}:{f['rule']}:{f['symbol']}"

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """What recall matches on: the line may move when a finding is re-anchored."""
        f = self.finding
        return (self.tree, str(f["path"]), str(f["rule"]), str(f["symbol"]))


def _scan(tree: str, json_dir: str | None, save_dir: str | None) -> dict[str, object]:
    name = os.path.basename(os.path.normpath(tree))
    if json_dir:
        path = os.path.join(json_dir, name + ".json")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as fh:
                loaded: dict[str, object] = json.load(fh)
                return loaded
    from bot.scanner import scan_paths

    report = scan_paths([tree], jobs=2).to_dict("precision-sample")
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
        with open(os.path.join(save_dir, name + ".json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=1)
    return report


def population(
    groups: dict[str, list[str]], json_dir: str | None, save_dir: str | None
) -> list[Item]:
    items: list[Item] = []
    for group, trees in groups.items():
        for tree in trees:
            report = _scan(tree, json_dir, save_dir)
            name = os.path.basename(os.path.normpath(tree))
            findings = report["findings"]
            assert isinstance(findings, list)
            for f in findings:
                if f["severity"] in SEVERITIES and f.get("status") != "suppressed":
                    items.append(Item(group, name, tree, f))
    return items


def _priority(seed: int, item: Item) -> str:
    return hashlib.sha256(f"{seed}:{item.key}".encode()).hexdigest()


def sample(items: Iterable[Item], *, seed: int, size: int, min_per_rule: int) -> list[Item]:
    """The stratified sample of one group (see the module docstring)."""
    by_rule: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_rule[str(it.finding["rule"])].append(it)
    total = sum(len(v) for v in by_rule.values())
    out: list[Item] = []
    for rule in sorted(by_rule):
        members = sorted(by_rule[rule], key=lambda it: _priority(seed, it))
        share = round(size * len(members) / total) if total else 0
        out.extend(members[: max(share, min(min_per_rule, len(members)))])
    return sorted(out, key=lambda it: (str(it.finding["rule"]), it.key))


def read_verdicts(spec: str) -> dict[str, tuple[str, str]]:
    """key -> (verdict, reason) from the markdown table rows of a file; a later row wins.

    ``FILE#Heading`` reads only the section under the `## Heading` (to the next `## `)."""
    path, _, section = spec.partition("#")
    out: dict[str, tuple[str, str]] = {}
    inside = not section
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if section and line.startswith("## "):
                inside = line[3:].strip().lower().startswith(section.lower())
            m = _ROW_KEY.match(line) if inside else None
            if not m:
                continue
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            for i, c in enumerate(cells):
                if c in VERDICTS:
                    out[m.group(1)] = (c, cells[i + 1] if i + 1 < len(cells) else "")
                    break
    return out


def excerpt(item: Item, before: int = 2, after: int = 2) -> str:
    path = os.path.join(item.root, str(item.finding["path"]))
    line = int(str(item.finding["line"]))
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            lines = fh.read().split("\n")
    except OSError:
        return "    (source not found)"
    lo, hi = max(1, line - before), min(len(lines), line + after)
    return "\n".join(
        f"    {'>' if n == line else ' '}{n:6d} {lines[n - 1].rstrip()}" for n in range(lo, hi + 1)
    )


def _short(message: object, limit: int = 110) -> str:
    text = str(message).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def print_text(group: str, chosen: list[Item], verdicts: dict[str, tuple[str, str]]) -> None:
    print(f"\n===== {group}: {len(chosen)} sampled =====")
    for n, it in enumerate(chosen, 1):
        f = it.finding
        v = verdicts.get(it.key)
        print(
            f"\n[{n}] {it.key}\n    {f['severity']} {f['status']} {f['rule']} "
            f"{f['symbol']}: {f['message']}" + (f"\n    verdict: {v[0]} — {v[1]}" if v else "")
        )
        print(excerpt(it))


def print_markdown(group: str, chosen: list[Item], verdicts: dict[str, tuple[str, str]]) -> None:
    print(f"\n#### {group}: {len(chosen)} sampled\n")
    print("| key | severity | message | verdict | reason |")
    print("|---|---|---|---|---|")
    for it in chosen:
        f = it.finding
        v, why = verdicts.get(it.key, ("?", ""))
        print(f"| `{it.key}` | {f['severity']} | {_short(f['message'])} | {v} | {why} |")


def figures(
    group: str, pop: list[Item], chosen: list[Item], verdicts: dict[str, tuple[str, str]]
) -> None:
    counts = Counter(str(it.finding["rule"]) for it in pop)
    print(f"\n{group}: {len(pop)} error/warning findings")
    print("| rule | findings | sampled | TP | FP | debatable | not adjudicated |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    tot: Counter[str] = Counter()
    weighted = weight = 0.0
    for rule in sorted(counts):
        got = Counter(
            verdicts.get(it.key, ("?", ""))[0] for it in chosen if it.finding["rule"] == rule
        )
        n = sum(got.values())
        tot.update(got)
        tot["n"] += n
        if got["TP"] + got["FP"]:
            weighted += counts[rule] * got["TP"] / (got["TP"] + got["FP"])
            weight += counts[rule]
        print(
            f"| {rule} | {counts[rule]} | {n} | {got['TP']} | {got['FP']} | "
            f"{got['debatable']} | {got['?']} |"
        )
    judged = tot["TP"] + tot["FP"]
    prec = f"{100.0 * tot['TP'] / judged:.1f}%" if judged else "n/a"
    print(
        f"| all | {len(pop)} | {tot['n']} | {tot['TP']} | {tot['FP']} | {tot['debatable']} | "
        f"{tot['?']} |\n\nprecision {group}: {prec} (TP / (TP + FP), debatable apart); "
        f"estimated over all findings (each rule's precision weighted by its findings): "
        + (f"{100.0 * weighted / weight:.1f}%" if weight else "n/a")
    )


def recall(pop: list[Item], earlier: dict[str, tuple[str, str]]) -> None:
    """Which of an earlier sample's true positives are still reported (error or warning).

    A true positive is kept when the same tree reports the same symbol as an error or a
    warning in the same file, under any rule (a static object moved from ISO012 to ISO005 is
    still reported), or in another file when it was found in a header (a header's tentative
    definition is reported where a source file defines the variable again), or, for an
    ISO019 `m_size = -1`, when an ISO002 finding in the same file names the definition (the
    two are one finding on a single-phase module).
    """
    by_symbol: dict[tuple[str, str], list[Item]] = defaultdict(list)
    iso002: dict[tuple[str, str], list[str]] = defaultdict(list)
    for it in pop:
        f = it.finding
        by_symbol[(it.tree, str(f["symbol"]))].append(it)
        if f["rule"] == "ISO002":
            iso002[(it.tree, str(f["path"]))].append(str(f["message"]))
    tps = [k for k, (v, _) in earlier.items() if v == "TP"]
    lost = []
    for k in tps:
        tree, path, _line, rule, symbol = k.split(":", 4)
        same = [
            it
            for it in by_symbol.get((tree, symbol), [])
            if it.finding["path"] == path or path.endswith((".h", ".hpp"))
        ]
        folded = rule == "ISO019" and any(symbol in m for m in iso002.get((tree, path), []))
        if not same and not folded:
            lost.append(k)
    kept = len(tps) - len(lost)
    pct = f"{100.0 * kept / len(tps):.1f}%" if tps else "n/a"
    print(f"\nrecall on the earlier true positives: {kept}/{len(tps)} = {pct}")
    for k in lost:
        print(f"  no longer an error/warning: {k}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cpython", nargs="*", default=[], metavar="TREE")
    ap.add_argument("--ext", nargs="*", default=[], metavar="TREE")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--size", type=int, default=90, help="sample size per group (about)")
    ap.add_argument("--min-per-rule", type=int, default=4)
    ap.add_argument("--json-dir", help="read scans from DIR/<tree name>.json when present")
    ap.add_argument("--save-json", metavar="DIR", help="write the scans made here")
    ap.add_argument("--verdicts", help="markdown file with the adjudicated rows")
    ap.add_argument("--recall-from", help="markdown file with an earlier sample's verdicts")
    ap.add_argument("--format", choices=("text", "markdown"), default="text")
    args = ap.parse_args(argv)

    groups = {g: t for g, t in (("cpython", args.cpython), ("ext", args.ext)) if t}
    items = population(groups, args.json_dir, args.save_json)
    verdicts = read_verdicts(args.verdicts) if args.verdicts else {}
    for group in groups:
        pop = [it for it in items if it.group == group]
        chosen = sample(pop, seed=args.seed, size=args.size, min_per_rule=args.min_per_rule)
        if args.format == "text":
            print_text(group, chosen, verdicts)
        else:
            print_markdown(group, chosen, verdicts)
        figures(group, pop, chosen, verdicts)
    if args.recall_from:
        recall(items, read_verdicts(args.recall_from))
    return 0


if __name__ == "__main__":
    sys.exit(main())
