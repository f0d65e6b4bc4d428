"""Structured logging: one JSON object per line on stderr, with the job's context, no secrets.

    configure_logging("INFO", json=True, secrets=[settings.webhook_secret])
    with log_context(delivery_id=job.delivery_id, repo=job.repo, event=job.event):
        log.info("check run completed", extra={"pr": 123, "conclusion": "success"})

Every line carries ``delivery_id``, ``repo`` and ``event`` from context variables (set once by
the intake / worker, inherited by every task it starts). ``RedactSecrets`` rewrites each record
before it is formatted: Authorization headers and bearer/token credentials, GitHub tokens
(ghs_, ghp_, gho_, ghu_, ghr_, github_pat_), JWT-looking strings, PEM private keys and any
registered secret value (the webhook secret, the private key) become ``[REDACTED]``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json as jsonlib
import logging
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

REDACTED = "[REDACTED]"

delivery_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "delivery_id", default=None
)
repo_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("repo", default=None)
event_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("event", default=None)

_CONTEXT_VARS = {"delivery_id": delivery_id_var, "repo": repo_var, "event": event_var}


def bind(
    *, delivery_id: str | None = None, repo: str | None = None, event: str | None = None
) -> Callable[[], None]:
    """Set context fields (None leaves a field as it is) until the returned reset is called;
    for code that cannot wrap its work in ``log_context``."""
    tokens = []
    for var, value in ((delivery_id_var, delivery_id), (repo_var, repo), (event_var, event)):
        if value is not None:
            tokens.append((var, var.set(value)))

    def reset() -> None:
        for var, token in reversed(tokens):
            with contextlib.suppress(ValueError):  # reset from another context: leave it
                var.reset(token)

    return reset


@contextlib.contextmanager
def log_context(
    *, delivery_id: str | None = None, repo: str | None = None, event: str | None = None
) -> Iterator[None]:
    """Set the context fields for the lines logged inside the block (None leaves a field)."""
    reset = bind(delivery_id=delivery_id, repo=repo, event=event)
    try:
        yield
    finally:
        reset()


# (pattern, replacement): what a credential looks like in a log line.
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Header-shaped credentials: "Authorization: Bearer x", "'authorization': 'token x'".
    (
        re.compile(
            r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:(?:bearer|token|basic)\s+)?[^\s'\",}]+"
        ),
        rf"\1{REDACTED}",
    ),
    # "Bearer <credential>" / "token <credential>" anywhere (a credential has digits).
    (re.compile(r"(?i)\b(bearer|token)\s+(?=\S*\d)[A-Za-z0-9_\-.=+/]{16,}"), rf"\1 {REDACTED}"),
    # GitHub tokens: installation, personal, OAuth, user-to-server, refresh, fine-grained.
    (re.compile(r"\b(?:gh[psour]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    # JWTs (the App's own, or any): three base64url parts, the first two JSON objects.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), REDACTED),
    (
        re.compile(
            r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S
        ),
        REDACTED,
    ),
    # Passwords in URLs: postgresql://user:secret@host
    (re.compile(r"(://[^/\s:@]+):[^/\s@]+@"), rf"\1:{REDACTED}@"),
]


# Keys whose values are credentials whatever they look like (headers, config dicts).
_SENSITIVE_KEY = re.compile(r"(?i)authorization|token|secret|password|private_key|cookie")


class RedactSecrets(logging.Filter):
    """Rewrites the message (args merged in), the exception text and string extras."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, value: str | None) -> None:
        # Very short values would redact ordinary words; a real secret is never that short.
        if value and len(value) >= 6:
            self._secrets.add(value)
            stripped = value.strip()
            if stripped != value and len(stripped) >= 6:
                self._secrets.add(stripped)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the line
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        record.exc_info = None  # the redacted exc_text is what gets printed
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in _STANDARD_ATTRS:
                setattr(record, key, self._redact_value(value))
        return True

    def _redact_value(self, value: Any, depth: int = 0) -> Any:
        """Strings inside extras (dicts of headers, lists) are redacted too, recursively."""
        if isinstance(value, str):
            return self.redact(value)
        if depth > 5:
            return value
        if isinstance(value, dict):
            return {
                k: REDACTED if _SENSITIVE_KEY.search(str(k)) else self._redact_value(v, depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._redact_value(v, depth + 1) for v in value]
        return value


_STANDARD_ATTRS = set(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, context fields, extras, exc."""

    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name, var in _CONTEXT_VARS.items():
            value = var.get()
            if value is not None:
                obj[name] = value
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in obj:
                obj[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            obj["exc"] = record.exc_text
        if record.stack_info:
            obj["stack"] = record.stack_info
        return jsonlib.dumps(obj, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """For a terminal: ``time level logger [delivery repo event] message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [f"{k}={v.get()}" for k, v in _CONTEXT_VARS.items() if v.get() is not None]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)


_installed: list[logging.Handler] = []


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}: use DEBUG, INFO, WARNING or ERROR")
    return value


def configure_logging(
    level: str | int = "INFO",
    json: bool = True,
    *,
    secrets: Iterable[str | None] = (),
    stream: TextIO | None = None,
) -> RedactSecrets:
    """Send all logging to ``stream`` (stderr) as JSON lines (or text), redacted.

    Idempotent: a second call replaces the handler the first one installed. Returns the
    redaction filter, so secrets learnt later (a freshly minted token) can be added."""
    root = logging.getLogger()
    for handler in _installed:
        root.removeHandler(handler)
    _installed.clear()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    redactor = RedactSecrets(secrets)
    handler.addFilter(redactor)
    root.addHandler(handler)
    _installed.append(handler)
    root.setLevel(_level(level))
    # Access logs and library chatter at INFO would drown the bot's own lines.
    for noisy in ("aiohttp.access", "urllib3", "github.Requester"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return redactor


def configure(level: str, json: bool, secrets: Iterable[str | None] = ()) -> RedactSecrets:
    """``configure_logging`` for ``isolation-bot serve``, never failing on a bad level: an
    unknown one logs at INFO with a warning (a typo must not keep the service down)."""
    secrets = list(secrets)
    try:
        _level(level)
    except ValueError as exc:
        redactor = configure_logging("INFO", json, secrets=secrets)
        logging.getLogger(__name__).warning("%s; logging at INFO", exc)
        return redactor
    return configure_logging(level, json, secrets=secrets)
