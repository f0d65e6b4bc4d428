"""The service's tuning knobs: read from the environment in bot.config only, validated, and
each listed in the README's environment table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import TUNING_ENV, ConfigError, Tuning, from_env, tuning_from_env
from bot.service.app import retry_policy

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_and_overrides() -> None:
    assert tuning_from_env({}) == Tuning()
    tuning = tuning_from_env(
        {
            "ISOLATION_BOT_LEASE_SECONDS": "5",
            "ISOLATION_BOT_JOB_MAX_ATTEMPTS": "2",
            "ISOLATION_BOT_JOB_RETRY_SECONDS": "0.05",
            "ISOLATION_BOT_JOB_RETRY_CAP_SECONDS": "1",
            "ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": "0.01",
            "ISOLATION_BOT_REDELIVERY_SECONDS": "0",
        }
    )
    assert tuning == Tuning(
        lease_seconds=5.0,
        job_max_attempts=2,
        job_retry_seconds=0.05,
        job_retry_cap_seconds=1.0,
        github_backoff_seconds=0.01,
        redelivery_seconds=0.0,
    )
    settings = from_env({"ISOLATION_BOT_LEASE_SECONDS": "7"})
    assert settings.tuning.lease_seconds == 7.0


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("ISOLATION_BOT_LEASE_SECONDS", "0.5", "below its minimum 1"),
        ("ISOLATION_BOT_JOB_RETRY_SECONDS", "soon", "is not a number"),
        ("ISOLATION_BOT_JOB_MAX_ATTEMPTS", "2.5", "is not a number"),
        ("ISOLATION_BOT_REDELIVERY_SECONDS", "-1", "below its minimum 0"),
    ],
)
def test_bad_values_are_configuration_errors(var: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        tuning_from_env({var: value})


def test_github_backoff_reaches_the_client_policy() -> None:
    policy = retry_policy(from_env({"ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": "0.01"}))
    assert policy.backoff_base == policy.not_found_delay == 0.01
    assert retry_policy(from_env({})).backoff_base == 0.5


def test_every_knob_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `(ISOLATION_BOT_[A-Z_]+)` \|", readme, re.M))
    assert set(TUNING_ENV) <= listed


def test_the_service_reads_no_environment_outside_the_config() -> None:
    # The packages `serve` runs; the CLI, the emulator and log setup may read their own.
    packages = ("service", "github", "store", "prcheck", "commands", "tracking", "summary")
    readers = [
        str(path.relative_to(ROOT))
        for package in (*packages, "dashboard")
        for path in sorted((ROOT / "bot" / package).rglob("*.py"))
        if "os.environ" in path.read_text(encoding="utf-8")
    ]
    assert readers == []
