"""The CLI's exit statuses and its error for usage and input problems.

Kept apart from bot.cli.main so that subcommand modules import it without importing the
dispatcher that registers them.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2


class CLIError(Exception):
    """A usage or input problem; main prints the message and exits with ``exit_code``."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code
