"""`isolation-bot rules` (list the catalog) and `isolation-bot explain RULE` (one rule's page).

isolation-bot rules                       # a table: id, name, severity, summary
isolation-bot rules --format json         # the same as JSON rows
isolation-bot rules --format markdown     # docs/rules.md (index + every rule's page)
isolation-bot explain ISO001              # or: explain static-type
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from bot.analysis.catalog import Catalog, catalog_summary, load_catalog, rules_index_markdown
from bot.cli.errors import EXIT_OK, CLIError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser("rules", help="list the rule catalog")
    p.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    p.set_defaults(handler=run_rules)
    e = subparsers.add_parser("explain", help="print a rule's documentation")
    e.add_argument("rule", metavar="RULE", help="rule id (ISO001) or name (static-type)")
    e.set_defaults(handler=run_explain)


def rules_table(catalog: Catalog) -> str:
    rows = [(r.id, r.name, r.severity, r.summary.replace("`", "")) for r in catalog.rules()]
    w_name = max(len(r[1]) for r in rows)
    lines = [f"{'ID':<6}  {'NAME':<{w_name}}  {'SEVERITY':<8}  SUMMARY"]
    lines += [f"{i:<6}  {n:<{w_name}}  {s:<8}  {summary}" for i, n, s, summary in rows]
    return "\n".join(lines) + "\n"


def run_rules(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    if args.format == "json":
        text = json.dumps(catalog_summary(catalog), indent=2) + "\n"
    elif args.format == "markdown":
        text = rules_index_markdown(catalog)
    else:
        text = rules_table(catalog)
    sys.stdout.write(text)
    return EXIT_OK


def run_explain(args: argparse.Namespace) -> int:
    catalog = load_catalog()
    rule = catalog.get_rule(args.rule)
    if rule is None:
        raise CLIError(f"unknown rule {args.rule!r} (run `isolation-bot rules` for the list)")
    sys.stdout.write(rule.to_markdown())
    return EXIT_OK
