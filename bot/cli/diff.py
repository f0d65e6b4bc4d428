"""`isolation-bot diff [--base REF] [--head REF] [PATH ...]`: the pull-request check, locally.

    isolation-bot diff                         # working tree (uncommitted edits too) vs origin/main
    isolation-bot diff --base upstream/main --head my-branch --format markdown
    isolation-bot diff Modules/_abc.c Modules/_io/

It compares the merge base of BASE and HEAD with HEAD exactly as the bot's check does on a pull
request (bot.prcheck.modules.assess: the same new / fixed / remaining findings, module changes
and suppressions), and prints it; ``--format markdown`` is the comment the bot would post.

BASE defaults to the remote's default branch (origin/HEAD, else origin/main, origin/master,
main, master); HEAD defaults to the working tree: tracked files as they are on disk, and
untracked files git does not ignore. Only the git binary is used, never the network; files are
read as text (``git cat-file`` for commits, the files themselves for the working tree) and
nothing in the repository is run: no hooks, external diff drivers, text conversions or
fsmonitor. Suppressions: inline ``isolation-bot: ignore[...]`` comments and the head's
Tools/c-analyzer/cpython/ignored.tsv (the ``/isolation ignore`` ones live in the bot's store).

Which files count: the PATHs given; else, in a CPython checkout, the bot's default watched
paths (Modules/, Objects/); else every C source and header in the repository.

Exit status: 0 no new error finding, 1 a new error finding, 2 usage error (not a git
checkout, unknown ref, no merge base).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.analysis.tsv import IGNORED_TSV
from bot.cli.errors import EXIT_FINDINGS, EXIT_OK, CLIError
from bot.cli.scan import add_cache_options, open_cache

FORMATS = ("text", "markdown", "json")
DEFAULT_BASES = ("origin/main", "origin/master", "main", "master")
WORKTREE = "the working tree"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "diff",
        help="what the pull-request check will say about your branch",
        description="Compare the merge base of BASE with HEAD as the bot's pull-request check "
        "does (new, fixed and remaining findings, module changes, suppressions) and print "
        "it. Needs a git checkout and the git binary; no network.",
        epilog="BASE defaults to origin/HEAD, else origin/main, origin/master, main, master. "
        "HEAD defaults to the working tree (uncommitted edits and untracked files count). "
        "Files: the PATHs given, else Modules/ and Objects/ in a CPython checkout, else "
        "every C file. Exit status: 0 no new error finding, 1 a new error finding, "
        "2 usage error (not a git checkout, unknown ref).",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="only files under these paths")
    p.add_argument("--base", metavar="REF", help="the branch the change would merge into")
    p.add_argument("--head", metavar="REF", help="the change (default: the working tree)")
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text, markdown (the bot's pull-request comment) or json",
    )
    p.add_argument("-j", "--jobs", type=int, metavar="N", help="worker processes")
    add_cache_options(p)
    p.set_defaults(handler=run)


class Git:
    """The git binary on one checkout; every call is read-only and runs nothing of the repo's."""

    def __init__(self, cwd: str) -> None:
        self.cwd = cwd

    def run(self, *args: str, check: bool = True) -> bytes:
        cmd = [
            "git",
            "-c",
            "core.fsmonitor=false",  # a configured fsmonitor hook is a program of the repo's
            "-c",
            "core.quotePath=false",
            "-C",
            self.cwd,
            *args,
        ]
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}
        try:
            done = subprocess.run(cmd, capture_output=True, env=env, check=False)
        except FileNotFoundError as exc:
            raise CLIError("git is not installed (the diff command needs the git binary)") from exc
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise CLIError(f"git {args[0]}: {message[-1] if message else 'failed'}")
        return done.stdout if done.returncode == 0 else b""

    def text(self, *args: str) -> str:
        return self.run(*args).decode("utf-8", "surrogateescape").strip()

    def commit(self, ref: str) -> str | None:
        out = self.run(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", check=False
        )
        return out.decode().strip() or None

    def blob(self, commit: str, path: str) -> bytes | None:
        out = subprocess.run(
            ["git", "-C", self.cwd, "cat-file", "blob", f"{commit}:{path}"],
            capture_output=True,
            check=False,
        )
        return out.stdout if out.returncode == 0 else None


def toplevel(cwd: str) -> str:
    git = Git(cwd)
    out = git.run("rev-parse", "--show-toplevel", check=False).decode().strip()
    if not out:
        raise CLIError(f"{os.path.abspath(cwd)}: not a git checkout (diff compares git revisions)")
    return out


def default_base(git: Git) -> str:
    out = git.run("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
    ref = out.decode().strip()
    if ref and git.commit(ref):
        return ref.removeprefix("refs/remotes/")
    for name in DEFAULT_BASES:
        if git.commit(name):
            return name
    raise CLIError(
        "no default branch to compare with (tried origin/HEAD, "
        + ", ".join(DEFAULT_BASES)
        + "); name one with --base REF"
    )


@dataclass(frozen=True)
class Revisions:
    base: str  # as given or found ("origin/main")
    merge_base: str  # commit
    head: str | None  # commit, or None for the working tree
    head_label: str


def revisions(git: Git, base: str | None, head: str | None) -> Revisions:
    base_name = base or default_base(git)
    base_commit = git.commit(base_name)
    if base_commit is None:
        raise CLIError(f"--base {base_name}: unknown revision")
    head_commit = None
    if head is not None:
        head_commit = git.commit(head)
        if head_commit is None:
            raise CLIError(f"--head {head}: unknown revision")
    against = head_commit or git.commit("HEAD")
    if against is None:
        raise CLIError("the checkout has no commit yet (HEAD is unborn)")
    out = git.run("merge-base", base_commit, against, check=False).decode().strip()
    if not out:
        raise CLIError(f"{base_name} and {head or 'HEAD'} have no common ancestor")
    return Revisions(base_name, out, head_commit, head or WORKTREE)


_STATUS = {"A": "added", "M": "modified", "D": "removed", "T": "changed", "R": "renamed"}
_STATUS["C"] = "copied"


def changed_entries(git: Git, rev: Revisions, pathspec: Sequence[str]) -> list[dict[str, Any]]:
    """The changed files as the pull-request files API lists them (filename, status,
    previous_filename, sha, patch)."""
    diff = ["diff", "--no-ext-diff", "--no-textconv", "--no-color", "-M"]
    sides = [rev.merge_base] + ([rev.head] if rev.head else [])
    fields = git.run(*diff, "--name-status", "-z", *sides, "--", *pathspec).split(b"\0")
    entries: list[dict[str, Any]] = []
    i = 0
    while i < len(fields) and fields[i]:
        code = fields[i].decode()[:1]
        if code in ("R", "C"):
            old, new = fields[i + 1], fields[i + 2]
            i += 3
        else:
            old = new = fields[i + 1]
            i += 2
        entry: dict[str, Any] = {
            "filename": new.decode("utf-8", "surrogateescape"),
            "status": _STATUS.get(code, "modified"),
            "sha": "head",
        }
        if code in ("R", "C"):
            entry["previous_filename"] = old.decode("utf-8", "surrogateescape")
        entries.append(entry)
    if rev.head is None:
        untracked = git.run("ls-files", "--others", "--exclude-standard", "-z", "--", *pathspec)
        for name in untracked.split(b"\0"):
            if name:
                path = name.decode("utf-8", "surrogateescape")
                entries.append({"filename": path, "status": "added", "sha": "head"})
    return entries


def patch_for(git: Git, rev: Revisions, entry: dict[str, Any], data: bytes | None) -> str:
    """The file's unified diff with no context (for the changed lines)."""
    if entry["status"] == "added" and rev.head is None and data is not None:
        # Untracked files have no diff in git; every line is new.
        n = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        return f"@@ -0,0 +1,{n} @@\n" + "+\n" * n
    paths = [
        entry["filename"],
        *([entry["previous_filename"]] if "previous_filename" in entry else []),
    ]
    sides = [rev.merge_base] + ([rev.head] if rev.head else [])
    args = [
        "diff",
        "--no-ext-diff",
        "--no-textconv",
        "--no-color",
        "-M",
        "-U0",
        *sides,
        "--",
        *paths,
    ]
    return git.run(*args).decode("utf-8", "replace")


def watched_paths(top: str, paths: Sequence[str], entries: list[dict[str, Any]]) -> list[str]:
    if paths:
        out = []
        for p in paths:
            rel = os.path.relpath(os.path.abspath(p), top).replace(os.sep, "/")
            if rel.startswith("../"):
                raise CLIError(f"{p}: outside the checkout {top}")
            out.append("" if rel == "." else rel)
        if "" in out:
            paths = []
        else:
            return out
    if os.path.isfile(os.path.join(top, "Include", "Python.h")) and os.path.isdir(
        os.path.join(top, "Modules")
    ):
        from bot.config import Settings

        return list(Settings.watched_paths)
    # Every file: each changed path's first component (or the file itself at the top).
    names = {e["filename"] for e in entries} | {
        e["previous_filename"] for e in entries if "previous_filename" in e
    }
    return sorted({n.split("/", 1)[0] for n in names})


def read_head(git: Git, top: str, rev: Revisions, path: str) -> bytes | None:
    if rev.head is not None:
        return git.blob(rev.head, path)
    try:
        with open(os.path.join(top, *path.split("/")), "rb") as fh:
            return fh.read()
    except OSError:
        return None


def compute(args: argparse.Namespace, cwd: str = ".") -> tuple[Any, Revisions]:
    """The CheckResult for the checkout at ``cwd`` and the revisions compared."""
    from bot.prcheck.changes import select_files
    from bot.prcheck.model import CheckResult
    from bot.prcheck.modules import assess
    from bot.scanner import analyze_sources

    top = toplevel(cwd)
    git = Git(top)
    rev = revisions(git, args.base, args.head)
    pathspec = [os.path.relpath(os.path.abspath(p), top) for p in args.paths]
    entries = changed_entries(git, rev, pathspec)
    watched = watched_paths(top, args.paths, entries)
    files = select_files(entries, watched)
    heads: dict[str, bytes] = {}
    notes: list[str] = []
    for f in files:
        if f.head_sha is None:
            continue
        data = read_head(git, top, rev, f.path)
        if data is None:
            notes.append(f"{f.path}: could not read it in {rev.head_label}")
        else:
            heads[f.path] = data
    by_path = {e["filename"]: e for e in entries}
    from bot.prcheck.changes import ChangedFile, added_lines

    files = [
        ChangedFile(
            path=f.path,
            status=f.status,
            head_sha=f.head_sha if f.path in heads else None,
            base_path=f.base_path,
            changed_lines=added_lines(patch_for(git, rev, by_path[f.path], heads.get(f.path)))
            if f.path in heads
            else frozenset(),
        )
        for f in files
    ]
    bases: list[tuple[str, bytes]] = []
    for f in files:
        if f.base_path:
            data = git.blob(rev.merge_base, f.base_path)
            if data is None:
                notes.append(f"{f.base_path}: could not read it at the merge base")
            else:
                bases.append((f.base_path, data))
    cache = open_cache(args)
    base_reports = analyze_sources(bases, jobs=args.jobs, cache=cache)
    head_reports = analyze_sources(sorted(heads.items()), jobs=args.jobs, cache=cache)
    result = CheckResult(
        repo=os.path.basename(top),
        number=0,
        head_sha=rev.head or "",
        base_sha=rev.merge_base,
    )
    result.files_checked = [f.path for f in files]
    result.changed_lines = {f.path: f.changed_lines for f in files if f.changed_lines}
    tsv = read_head(git, top, rev, IGNORED_TSV)
    assess(result, files, base_reports, head_reports, (), ignored_tsv=tsv, notes=notes)
    return result, rev


def render_text(result: Any, rev: Revisions) -> str:
    from bot.render.text import finding_line

    n = len(result.files_checked)
    out = [
        f"Comparing {rev.head_label} with {rev.base} (merge base {rev.merge_base[:12]}): "
        f"{n} changed C file{'s' * (n != 1)} checked",
        "",
    ]
    for change in result.improvements:
        out.append(f"improved   {change.module}: {change.description}")
    for change in result.regressions:
        out.append(f"regressed  {change.module}: {change.description}")
    if result.module_changes:
        out.append("")
    for label, findings in (("new", result.new), ("fixed", result.fixed)):
        for f in findings:
            out.append(f"{label + ':':<7}{finding_line(f)}")
    for s in result.suppressed:
        reason = f": {s.reason}" if s.reason else ""
        out.append(f"suppressed by {s.user}{reason}: {finding_line(s.finding)}")
    if result.new or result.fixed or result.suppressed:
        out.append("")
    if result.remaining:
        r = len(result.remaining)
        out.append(f"{r} finding{'s' * (r != 1)} in the changed files predate the change.")
    for note in result.notes:
        out.append(f"note: {note}")
    out.append(f"{result.title} ({'fails' if result.new_errors else 'passes'} the check)")
    return "\n".join(out) + "\n"


def render_json(result: Any, rev: Revisions) -> str:
    from bot import __version__

    doc = {
        "tool": {"name": "isolation-bot", "version": __version__},
        "base": rev.base,
        "merge_base": rev.merge_base,
        "head": rev.head,  # null: the working tree
        "conclusion": result.conclusion,
        "title": result.title,
        "files_checked": result.files_checked,
        "new": [f.to_dict() for f in result.new],
        "fixed": [f.to_dict() for f in result.fixed],
        "remaining": [f.to_dict() for f in result.remaining],
        "suppressed": [
            {"finding": s.finding.to_dict(), "reason": s.reason, "by": s.user}
            for s in result.suppressed
        ],
        "module_changes": [
            {"module": c.module, "path": c.path, "kind": c.kind, "description": c.description}
            for c in result.module_changes
        ],
        "notes": result.notes,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def run(args: argparse.Namespace) -> int:
    result, rev = compute(args)
    if args.format == "markdown":
        from bot.prcheck import comment

        text = comment.render(result, rules_url=comment.DEFAULT_RULES_URL)
    elif args.format == "json":
        text = render_json(result, rev)
    else:
        text = render_text(result, rev)
    sys.stdout.write(text)
    sys.stdout.flush()
    return EXIT_FINDINGS if result.new_errors else EXIT_OK
