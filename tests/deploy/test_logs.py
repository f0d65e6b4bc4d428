"""bot.telemetry.logs: JSON lines with the job's context, secrets never written."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.telemetry.logs import REDACTED, RedactSecrets, bind, configure_logging, log_context

WEBHOOK_SECRET = "whsec-correct-horse-battery"
TOKEN = "ghs_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxMjMiLCJleHAiOjE3MDB9.c2lnbmF0dXJlLWJ5dGVz"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("DEBUG", json=True, secrets=[WEBHOOK_SECRET], stream=out)
    yield out
    configure_logging("WARNING", json=True, stream=io.StringIO())


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    """The test's own lines (asyncio logs its selector at DEBUG, for instance)."""
    parsed = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [p for p in parsed if p["logger"] == "bot.test"]


def test_one_json_object_per_line_with_context(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info("outside")
    with log_context(delivery_id="d-42", repo="python/cpython", event="pull_request"):
        log.info("checked %d files", 3, extra={"pr": 7})
        with log_context(repo="other/repo"):
            log.warning("nested")
    first, second, third = lines(stream)
    assert first["msg"] == "outside" and "delivery_id" not in first
    assert second["msg"] == "checked 3 files"
    assert (second["delivery_id"], second["repo"], second["event"], second["pr"]) == (
        "d-42",
        "python/cpython",
        "pull_request",
        7,
    )
    assert (second["level"], second["logger"]) == ("info", "bot.test")
    assert third["repo"] == "other/repo" and third["delivery_id"] == "d-42"


async def test_context_follows_each_task(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")

    async def job(n: int) -> None:
        reset = bind(delivery_id=f"d-{n}", repo=f"o/r{n}")
        try:
            await asyncio.sleep(0)
            log.info("job %d", n)
        finally:
            reset()

    await asyncio.gather(*(job(n) for n in range(5)))
    for line in lines(stream):
        n = str(line["msg"]).split()[-1]
        assert (line["delivery_id"], line["repo"]) == (f"d-{n}", f"o/r{n}")


@pytest.mark.parametrize(
    "message",
    [
        f"headers: {{'Authorization': 'token {TOKEN}'}}",
        "Authorization: Bearer abc.def.ghi-xyz",
        f"minted {TOKEN} for installation 5",
        "personal github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
        f"app jwt {JWT}",
        f"signature computed with {WEBHOOK_SECRET}",
        "dsn postgresql://bot:hunter2hunter2@db:5432/bot",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
    ],
)
def test_secrets_are_redacted(stream: io.StringIO, message: str) -> None:
    logging.getLogger("bot.test").info(message)
    text = stream.getvalue()
    assert REDACTED in text
    for secret in (
        TOKEN,
        JWT,
        WEBHOOK_SECRET,
        "hunter2",
        "abc.def.ghi",
        "MIIEowIBAAKCAQEA",
        "github_pat_11",
    ):
        assert secret not in text


def test_secrets_in_args_extras_and_tracebacks_are_redacted(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    log.info(
        "token is %s",
        TOKEN,
        extra={"headers": {"Authorization": "Bearer xyz", "Accept": "application/json"}},
    )
    try:
        raise RuntimeError(f"bad credentials {TOKEN}")
    except RuntimeError:
        log.exception("request failed")
    text = stream.getvalue()
    assert TOKEN not in text and "xyz" not in text
    first, second = lines(stream)
    assert first["headers"] == {"Authorization": REDACTED, "Accept": "application/json"}
    assert "RuntimeError: bad credentials [REDACTED]" in str(second["exc"])


def test_ordinary_text_is_left_alone() -> None:
    redactor = RedactSecrets(["short"])  # too short to be a secret: not registered
    text = "token refreshed for installation 12; tokens cached: 3; short words stay"
    assert redactor.redact(text) == text


def test_bad_format_string_does_not_lose_the_line(stream: io.StringIO) -> None:
    logging.getLogger("bot.test").info("%d files", "not a number")
    assert "files" in str(lines(stream)[0]["msg"])


def test_text_format_and_bad_level() -> None:
    out = io.StringIO()
    configure_logging("INFO", json=False, stream=out)
    try:
        with log_context(delivery_id="d-1"):
            logging.getLogger("bot.test").info("hello")
        assert "[delivery_id=d-1] hello" in out.getvalue()
        with pytest.raises(ValueError, match="unknown log level"):
            configure_logging("LOUD")
    finally:
        configure_logging("WARNING", json=True, stream=io.StringIO())


def test_configure_from_environment_redacts_the_webhook_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.serve import configure_logging as configure_service_logging
    from bot.config import from_env

    def configure() -> None:
        configure_service_logging(from_env())

    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "env-secret-value-123")
    monkeypatch.setenv("ISOLATION_BOT_LOG_LEVEL", "warning")
    monkeypatch.setenv("ISOLATION_BOT_LOG_FORMAT", "json")
    try:
        configure()
        log = logging.getLogger("bot.test")
        log.info("not shown at WARNING")
        log.warning("secret is env-secret-value-123")
        err = capsys.readouterr().err
        (obj,) = [json.loads(x) for x in err.splitlines() if '"bot.test"' in x]
        assert obj["msg"] == f"secret is {REDACTED}"
        monkeypatch.setenv("ISOLATION_BOT_LOG_LEVEL", "chatty")
        configure()  # a bad level falls back to INFO with a warning, never a crash
        assert "unknown log level 'chatty'" in capsys.readouterr().err
    finally:
        configure_logging("WARNING", json=True, stream=io.StringIO())
