"""`isolation-bot`: the command-line entry point (console script `bot.cli.main:main`).

Each subcommand lives in its own module of bot/cli/ with ``register(subparsers) -> None``,
which adds its parser and sets a handler with ``parser.set_defaults(handler=fn)`` (``func=``
is accepted too). A handler takes the parsed ``argparse.Namespace`` and returns the exit
status (None means 0); it may be a coroutine function, which is run with ``asyncio.run``.

Errors never end in a traceback: a handler raises ``CLIError`` (or any of the project's
error types below) and main prints ``isolation-bot: error: message`` on stderr and returns 2.
Set ISOLATION_BOT_DEBUG=1 to see the traceback of an unexpected error.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bot import __version__

PROG = "isolation-bot"
# Fixed list, in help order; modules that do not exist (yet) are skipped silently.
SUBCOMMAND_MODULES = (
    "scan",
    "diff",
    "rules",
    "serve",
    "demo",
    "history",
    "sync",
    "summary",
    "admin",
)

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A usage or input problem; main prints the message and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so main() can return the status in-process."""

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        raise CLIError(message)


def _expected_errors() -> tuple[type[BaseException], ...]:
    """Error types whose message is meant for the user (imported lazily: keep startup light)."""
    errors: list[type[BaseException]] = [CLIError, OSError]
    for module, name in (
        ("bot.analysis.catalog", "CatalogError"),
        ("bot.config", "ConfigError"),
        ("bot.scanner", "ScanError"),
        ("bot.store.db", "StoreError"),
    ):
        try:
            errors.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(errors)


def _broken_command(name: str, problem: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        raise CLIError(f"the {name} command is unavailable: {problem}")

    return handler


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
    for name in (only,) if only in SUBCOMMAND_MODULES else SUBCOMMAND_MODULES:
        module_name = f"bot.cli.{name}"
        try:
            if importlib.util.find_spec(module_name) is None:
                continue
            module = importlib.import_module(module_name)
            module.register(subparsers)
        except Exception as exc:  # a broken module must not take the whole CLI down
            stub = subparsers.add_parser(name, help=f"(unavailable: {exc})")
            stub.add_argument("rest", nargs=argparse.REMAINDER)
            stub.set_defaults(handler=_broken_command(name, f"{type(exc).__name__}: {exc}"))
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
    expected = _expected_errors()
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
    except expected as exc:
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


if __name__ == "__main__":
    # `python -m bot.cli.main`: run the imported module, not this __main__ copy, so that
    # subcommands raising bot.cli.main.CLIError are caught as the same class.
    from bot.cli.main import console_main as _console_main

    _console_main()
