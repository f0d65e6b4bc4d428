"""`isolation-bot`: the command-line entry point (console script `bot.cli.main:main`).

Each subcommand lives in its own module of bot/cli/ with ``register(subparsers) -> None``,
which adds its parser and sets a handler with ``parser.set_defaults(handler=fn)`` (``func=``
is accepted too); :data:`SUBCOMMANDS` lists them, in help order. A module is imported only
when its commands may be needed (``isolation-bot scan`` does not load the web stack); a
module that fails to import or register is an error, never a command silently missing.
A handler takes the parsed ``argparse.Namespace`` and returns the exit
status (None means 0); it may be a coroutine function, which is run with ``asyncio.run``.

Errors never end in a traceback: a handler raises ``CLIError`` (or any of the project's
error types below) and main prints ``isolation-bot: error: message`` on stderr and returns 2.
Set ISOLATION_BOT_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bot import __version__
from bot.analysis.catalog import CatalogError
from bot.cli.errors import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, CLIError
from bot.config import ConfigError
from bot.scanner import ScanError
from bot.store.db import StoreError

PROG = "isolation-bot"
Register = Callable[[Any], None]  # register(subparsers): adds a module's commands


def _scan(subparsers: Any) -> None:
    from bot.cli import scan

    scan.register(subparsers)


def _diff(subparsers: Any) -> None:
    from bot.cli import diff

    diff.register(subparsers)


def _rules(subparsers: Any) -> None:
    from bot.cli import rules

    rules.register(subparsers)


def _serve(subparsers: Any) -> None:
    from bot.cli import serve

    serve.register(subparsers)


def _demo(subparsers: Any) -> None:
    from bot.cli import demo

    demo.register(subparsers)


def _history(subparsers: Any) -> None:
    from bot.cli import history

    history.register(subparsers)


def _sync(subparsers: Any) -> None:
    from bot.cli import sync

    sync.register(subparsers)


def _summary(subparsers: Any) -> None:
    from bot.cli import summary

    summary.register(subparsers)


def _admin(subparsers: Any) -> None:
    from bot.cli import admin

    admin.register(subparsers)


# Module name -> its registration, in help order. `isolation-bot NAME` with NAME a key loads
# only that module; other command names (explain, doctor, setup-labels) load them all.
SUBCOMMANDS: dict[str, Register] = {
    "scan": _scan,
    "diff": _diff,
    "rules": _rules,
    "serve": _serve,
    "demo": _demo,
    "history": _history,
    "sync": _sync,
    "summary": _summary,
    "admin": _admin,
}


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() can return the status in-process."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise CLIError(message)


# Error types whose message is meant for the user: printed without a traceback.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (
    CLIError,
    OSError,
    CatalogError,
    ConfigError,
    ScanError,
    StoreError,
)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or only module ``only``'s (a faster start: some
    modules import the web stack)."""
    parser = _ArgumentParser(
        prog=PROG,
        description="Find what stands between CPython extension modules and isolated "
        "subinterpreters (PEP 489/573/630/684/687).",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names = [only] if only is not None and only in SUBCOMMANDS else list(SUBCOMMANDS)
    for name in names:
        SUBCOMMANDS[name](subparsers)
    return parser


def _run_handler(handler: Callable[..., Any], args: argparse.Namespace) -> int:
    outcome = handler(args)
    if inspect.iscoroutine(outcome):
        outcome = asyncio.run(outcome)
    if outcome is None:
        return EXIT_OK
    return int(outcome)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (the console script exits with it)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        # `isolation-bot scan ...` needs only bot.cli.scan; other command names (explain,
        # doctor ...) may live in any module, so they load them all.
        first = next((a for a in argv if not a.startswith("-")), None)
        parser = build_parser(first)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # --help and --version exit 0 through argparse
            return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
        handler = getattr(args, "handler", None) or getattr(args, "func", None)
        if handler is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        try:
            return _run_handler(handler, args)
        except SystemExit as exc:  # a handler calling sys.exit(): keep main() in-process
            if exc.code is None or isinstance(exc.code, int):
                return int(exc.code or 0)
            print(f"{PROG}: error: {exc.code}", file=sys.stderr)
            return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `isolation-bot scan | head`: the reader went away; not an error worth a message.
        _silence_stdout()
        return EXIT_OK
    except EXPECTED_ERRORS as exc:
        code = getattr(exc, "exit_code", EXIT_USAGE)
        print(f"{PROG}: error: {_describe(exc)}", file=sys.stderr)
        return int(code)
    except Exception as exc:
        if os.environ.get("ISOLATION_BOT_DEBUG"):
            traceback.print_exc()
        print(
            f"{PROG}: internal error: {type(exc).__name__}: {exc} "
            "(set ISOLATION_BOT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}"
    return str(exc) or type(exc).__name__


def _silence_stdout() -> None:
    # Python would print "Exception ignored ... BrokenPipeError" when flushing at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def console_main() -> None:
    sys.exit(main())


__all__ = [
    "EXIT_FINDINGS",
    "EXIT_OK",
    "EXIT_USAGE",
    "SUBCOMMANDS",
    "CLIError",
    "build_parser",
    "console_main",
    "main",
]


if __name__ == "__main__":
    console_main()
