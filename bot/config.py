"""Configuration: credentials from the environment, repository settings from a TOML file.

Environment (see README): GITHUB_APP_ID, GITHUB_PRIVATE_KEY or GITHUB_PRIVATE_KEY_PATH,
GITHUB_WEBHOOK_SECRET, GITHUB_WEBHOOK_SECRET_PREVIOUS, GITHUB_API_URL, DATABASE_URL, PORT,
ISOLATION_BOT_CONFIG, ISOLATION_BOT_WORKERS, ISOLATION_BOT_PUBLIC_URL, GITHUB_HTML_URL,
ISOLATION_BOT_RULES_URL, and
the service's tuning knobs (:class:`Tuning`, :data:`TUNING_ENV`). This module is the one
place the service reads its environment: everything else gets a :class:`Settings`.
The repository file (ISOLATION_BOT_CONFIG) holds the `[repository]`, `[labels]`,
`[meta_issue]`, `[summary]` and `[commands]` tables; every key has a default.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A configuration problem, with a message meant for the operator."""


@dataclass(frozen=True)
class Labels:
    topic: str = "topic-subinterpreters"  # PRs that change isolation state
    improvement: str = "isolation-improved"
    regression: str = "isolation-regression"


@dataclass(frozen=True)
class MetaIssue:
    repo: str = "python/cpython"
    number: int = 84692  # gh-84692, bpo-40512 "Meta issue: per-interpreter GIL"


@dataclass(frozen=True)
class SummarySettings:
    weekday: int = 0  # 0 = Monday (ISO weekday - 1), UTC
    hour: int = 9  # UTC
    repo: str | None = None  # default: the meta issue's repository
    issue: int | None = None  # default: the meta issue


@dataclass(frozen=True)
class CommandSettings:
    rate_limit: int = 10  # commands per user ...
    rate_window_seconds: int = 600  # ... in this window
    permission_cache_seconds: int = 300


@dataclass(frozen=True)
class Tuning:
    """How the service paces itself; defaults suit production, tests shorten them."""

    # How long a claimed job stays leased to its worker: a dead replica's job is taken over
    # after this. Workers renew every third of it, so it must be well above a loop stall.
    lease_seconds: float = 60.0
    job_max_attempts: int = 5  # tries of a job failing on its own before it is dead
    job_retry_seconds: float = 5.0  # backoff after a job's first failure, doubled per try ...
    job_retry_cap_seconds: float = 600.0  # ... up to this
    # The GitHub client's retry backoff and its wait before re-reading a fresh 404
    # (None: the client's own defaults).
    github_backoff_seconds: float | None = None
    # GitHub writes (POST/PATCH/PUT/DELETE) per second per installation and replica (0: not
    # paced), the burst allowed, and concurrent reads per installation and replica.
    github_writes_per_second: float = 1.0
    github_write_burst: int = 5
    github_concurrent_reads: int = 8
    # A secondary rate limit without Retry-After pauses the installation this long, doubled
    # per repeat (GitHub's guide: at least one minute).
    github_secondary_wait_seconds: float = 60.0
    # How often one replica asks GitHub to redeliver webhooks that failed (0: never).
    redelivery_seconds: float = 120.0
    # How often free memory is given back to the system (bot.service.memory; 0: never).
    memory_trim_seconds: float = 60.0


# Environment variable -> (Tuning field, smallest accepted value).
TUNING_ENV: dict[str, tuple[str, float]] = {
    "ISOLATION_BOT_LEASE_SECONDS": ("lease_seconds", 1.0),
    "ISOLATION_BOT_JOB_MAX_ATTEMPTS": ("job_max_attempts", 1),
    "ISOLATION_BOT_JOB_RETRY_SECONDS": ("job_retry_seconds", 0.0),
    "ISOLATION_BOT_JOB_RETRY_CAP_SECONDS": ("job_retry_cap_seconds", 0.0),
    "ISOLATION_BOT_GITHUB_BACKOFF_SECONDS": ("github_backoff_seconds", 0.0),
    "ISOLATION_BOT_GITHUB_WRITES_PER_SECOND": ("github_writes_per_second", 0.0),
    "ISOLATION_BOT_GITHUB_WRITE_BURST": ("github_write_burst", 1),
    "ISOLATION_BOT_GITHUB_CONCURRENT_READS": ("github_concurrent_reads", 1),
    "ISOLATION_BOT_GITHUB_SECONDARY_WAIT_SECONDS": ("github_secondary_wait_seconds", 60.0),
    "ISOLATION_BOT_REDELIVERY_SECONDS": ("redelivery_seconds", 0.0),
    "ISOLATION_BOT_MEMORY_TRIM_SECONDS": ("memory_trim_seconds", 0.0),
}


def tuning_from_env(env: Mapping[str, str] | None = None) -> Tuning:
    """The tuning knobs set in the environment, defaults for the rest; ConfigError for a
    value that is not a number or is below its minimum."""
    env = os.environ if env is None else env
    changes: dict[str, Any] = {}
    for var, (name, minimum) in TUNING_ENV.items():
        text = env.get(var, "").strip()
        if not text:
            continue
        kind = int if isinstance(getattr(Tuning, name), int) else float
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{var}={text!r} is not a number") from None
        if value < minimum:
            raise ConfigError(f"{var}={text!r} is below its minimum {minimum:g}")
        changes[name] = value
    return Tuning(**changes)


@dataclass(frozen=True)
class Settings:
    # GitHub App credentials
    app_id: str | None = None
    private_key: str | None = None  # PEM text
    webhook_secret: str | None = None
    # The secret being rotated away from: deliveries signed with it are still accepted, so
    # the App's secret and the replicas' can change at different moments (SECURITY.md).
    webhook_secret_previous: str | None = None
    api_url: str = "https://api.github.com"
    # Service
    database_url: str = "sqlite:///isolation-bot.sqlite3"
    port: int = 8080
    host: str = "0.0.0.0"
    workers: int = 4
    public_url: str | None = None  # where the dashboard is served, for links
    html_url: str = "https://github.com"  # links to code and PRs in rendered text
    # Where a rule's documentation lives; {rule} and {name} are filled in. None: the rules/
    # folder of this project's repository.
    rules_url: str | None = None
    log_level: str = "INFO"  # ISOLATION_BOT_LOG_LEVEL
    log_format: str = "json"  # ISOLATION_BOT_LOG_FORMAT: json | text
    # Repository settings
    watched_paths: tuple[str, ...] = ("Modules/", "Objects/")
    default_branch: str | None = None  # None: the repository's own default branch
    labels: Labels = field(default_factory=Labels)
    meta_issue: MetaIssue = field(default_factory=MetaIssue)
    summary: SummarySettings = field(default_factory=SummarySettings)
    commands: CommandSettings = field(default_factory=CommandSettings)
    tuning: Tuning = field(default_factory=Tuning)

    def require_webhook_secret(self) -> str:
        if not self.webhook_secret:
            raise ConfigError(
                "GITHUB_WEBHOOK_SECRET is not set: refusing to serve webhooks without a secret "
                "(anyone could forge deliveries). Set it to the App's webhook secret."
            )
        return self.webhook_secret


def _section(cls: type, data: Mapping[str, Any], name: str) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ConfigError(f"unknown key(s) in [{name}]: {', '.join(sorted(unknown))}")
    return cls(**data)


def load_repository_config(path: str | Path, base: Settings | None = None) -> Settings:
    """Read the repository config file (TOML) on top of ``base``."""
    base = base or Settings()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from exc
    changes: dict[str, Any] = {}
    repo = dict(data.get("repository", {}))
    if "watched_paths" in repo:
        changes["watched_paths"] = tuple(repo.pop("watched_paths"))
    if "default_branch" in repo:
        changes["default_branch"] = repo.pop("default_branch")
    if repo:
        raise ConfigError(f"unknown key(s) in [repository]: {', '.join(sorted(repo))}")
    for key, cls in (
        ("labels", Labels),
        ("meta_issue", MetaIssue),
        ("summary", SummarySettings),
        ("commands", CommandSettings),
    ):
        if key in data:
            changes[key] = _section(cls, data[key], key)
    return replace(base, **changes)


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (and the config file it names)."""
    env = os.environ if env is None else env
    key = env.get("GITHUB_PRIVATE_KEY")
    key_path = env.get("GITHUB_PRIVATE_KEY_PATH")
    if not key and key_path:
        try:
            key = Path(key_path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read GITHUB_PRIVATE_KEY_PATH {key_path}: {exc}") from exc
    try:
        port = int(env.get("PORT", "8080"))
        workers = int(env.get("ISOLATION_BOT_WORKERS", "4"))
    except ValueError as exc:
        raise ConfigError(f"PORT and ISOLATION_BOT_WORKERS must be integers: {exc}") from exc
    log_format = (env.get("ISOLATION_BOT_LOG_FORMAT") or "json").strip().lower()
    if log_format not in ("json", "text"):
        raise ConfigError(f"ISOLATION_BOT_LOG_FORMAT must be json or text, not {log_format!r}")
    settings = Settings(
        app_id=env.get("GITHUB_APP_ID") or None,
        private_key=key or None,
        webhook_secret=env.get("GITHUB_WEBHOOK_SECRET") or None,
        webhook_secret_previous=env.get("GITHUB_WEBHOOK_SECRET_PREVIOUS") or None,
        api_url=(env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/"),
        database_url=env.get("DATABASE_URL") or Settings.database_url,
        port=port,
        workers=workers,
        public_url=env.get("ISOLATION_BOT_PUBLIC_URL") or None,
        html_url=(env.get("GITHUB_HTML_URL") or "https://github.com").rstrip("/"),
        rules_url=env.get("ISOLATION_BOT_RULES_URL") or None,
        log_level=(env.get("ISOLATION_BOT_LOG_LEVEL") or "INFO").strip(),
        log_format=log_format,
        tuning=tuning_from_env(env),
    )
    config_path = env.get("ISOLATION_BOT_CONFIG")
    if config_path:
        settings = load_repository_config(config_path, settings)
    return settings
