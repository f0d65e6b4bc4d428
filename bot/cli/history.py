"""``isolation-bot history PATH``: the effort's metrics over a local clone's history.

    isolation-bot history ~/cpython --since 2020-01-01 --every week --format csv
    isolation-bot history ~/cpython --every week --import --database-url sqlite:///bot.db

Walks the first-parent history with ``git`` (no network), reusing the analysis of every blob
already seen. ``--import`` stores the points as snapshots (and their module changes as
attribution events), so the dashboard and weekly summary have a past from the first day.
Exit status: 0 done, 2 usage error or unusable repository / database (with a message).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from bot.analysis.model import METRIC_NAMES
from bot.store.analysis_cache import Analyzer, CoreAnalyzer
from bot.tracking.history import Every, HistoryError, HistoryPoint, pr_of, walk_history

CSV_FIELDS = (
    ["committed_at", "sha"]
    + [
        f"{metric}_{variant}_{part}"
        for metric in METRIC_NAMES
        for variant in ("stdlib", "all")
        for part in ("done", "total", "percent")
    ]
    + ["modules", "analysed_blobs"]
)


def _date(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a date: {text!r} (use YYYY-MM-DD or an ISO timestamp)"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _until(text: str) -> datetime:
    """A bare date as --until includes that whole day."""
    value = _date(text)
    if len(text.strip()) == 10:
        value += timedelta(days=1, microseconds=-1)
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "history",
        help="metrics over the history of a local git clone",
        description="The isolation metrics at each point of a local clone's first-parent "
        "history (git only, no network); --import stores them as snapshots.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help="a local git clone of CPython")
    p.add_argument("--since", type=_date, help="first date (commit time, UTC)")
    p.add_argument("--until", type=_until, help="last date (commit time, UTC)")
    p.add_argument("--every", choices=("week", "day", "commit"), default="week")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--rev", default="HEAD", help="branch or commit to walk (default HEAD)")
    p.add_argument("--output", "-o", type=Path, help="write here instead of standard output")
    p.add_argument(
        "--import",
        dest="do_import",
        action="store_true",
        help="store the points as snapshots in the database",
    )
    p.add_argument("--database-url", help="store for --import (default: DATABASE_URL)")
    p.add_argument(
        "--repo",
        help="owner/name the snapshots belong to (default: the meta "
        "issue's repository from the config)",
    )
    p.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=os.cpu_count() or 1,
        help="analysis processes (default: all cores)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress on standard error")


def point_row(point: HistoryPoint) -> dict[str, Any]:
    s = point.snapshot
    row: dict[str, Any] = {
        "committed_at": s.committed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sha": s.sha,
    }
    for name in METRIC_NAMES:
        metric = getattr(s.summary, name)
        for variant in ("stdlib", "all"):
            r = getattr(metric, variant)
            row[f"{name}_{variant}_done"] = r.done
            row[f"{name}_{variant}_total"] = r.total
            row[f"{name}_{variant}_percent"] = r.percent
    row["modules"] = len(s.modules)
    row["analysed_blobs"] = point.analysed
    return row


def point_json(point: HistoryPoint) -> dict[str, Any]:
    s = point.snapshot
    return {
        "sha": s.sha,
        "committed_at": s.committed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "subject": point.commit.subject,
        "summary": s.summary.to_dict(),
        "modules": len(s.modules),
        "analysed_blobs": point.analysed,
        "changes": [
            {
                "module": c.module,
                "kind": c.kind,
                "detail": c.detail,
                "pr": pr_of(by),
                "sha": by.sha if by else None,
            }
            for c, by in point.changes
        ],
    }


async def _walk_and_store(
    points: Iterator[HistoryPoint], url: str | None, on_point: Callable[[HistoryPoint], None]
) -> int:
    """Consume the walk; with ``url``, store each point as it comes (memory stays flat)."""
    from bot.store import open_database
    from bot.tracking.events import Attribution, record_events
    from bot.tracking.snapshots import save_snapshot

    db = await open_database(url) if url else None
    n = 0
    try:
        for point in points:
            on_point(point)
            n += 1
            if db is None:
                continue
            await save_snapshot(db, point.snapshot)
            for change, by in point.changes:
                sha = by.sha if by else point.snapshot.sha
                when = by.committed_at if by else point.snapshot.committed_at
                who = Attribution(pr_of(by), by.author if by else None)
                await record_events(db, point.snapshot.repo, sha, when, [change], who)
    finally:
        if db is not None:
            await db.close()
    return n


def _progress(quiet: bool) -> Any:
    if quiet or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar: Any = None

    def update(done: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="point", file=sys.stderr)
        bar.update(1)
        if done == total:
            bar.close()

    return update


def run(args: argparse.Namespace, analyzer: Analyzer | None = None) -> int:
    from bot.config import ConfigError, from_env

    try:
        settings = from_env()
    except ConfigError as exc:
        print(f"isolation-bot history: {exc}", file=sys.stderr)
        return 2
    repo_name = args.repo or settings.meta_issue.repo
    url = args.database_url or settings.database_url
    rows: list[dict[str, Any]] = []

    def on_point(point: HistoryPoint) -> None:
        rows.append(point_json(point) if args.format == "json" else point_row(point))

    walk = walk_history(
        args.path,
        analyzer or CoreAnalyzer(),
        repo_name=repo_name,
        rev=args.rev,
        since=args.since,
        until=args.until,
        every=cast(Every, args.every),
        progress=_progress(args.quiet),
        jobs=max(args.jobs, 1),
    )
    from bot.store import StoreError

    try:
        n = asyncio.run(_walk_and_store(walk, url if args.do_import else None, on_point))
    except HistoryError as exc:
        print(f"isolation-bot history: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"isolation-bot history: cannot import: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        text = json.dumps(rows, indent=2) + "\n"
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.do_import:
        print(f"imported {n} snapshots of {repo_name} into the store", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None, analyzer: Analyzer | None = None) -> int:
    parser = argparse.ArgumentParser(prog="isolation-bot history")
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors: argparse printed the message
        return int(exc.code or 0)
    return run(args, analyzer)
