-- Tracking the default branch (bot/tracking): analysis cache, tree state, snapshots,
-- per-module history, attribution events, meta-issue writer state.
-- Timestamps are ISO-8601 UTC text ("2026-01-31T12:00:00Z"): portable and sortable.

-- Analysis cache: the FileReport JSON of one blob at one path, for one analyser version.
-- Keyed by path too because the analysis depends on it (exemptions, module attribution).
CREATE TABLE IF NOT EXISTS tracking_blob_reports (
    blob_sha TEXT NOT NULL,
    path TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (blob_sha, path, analyzer)
);

-- The analysed files of the last analysed commit of each repository's default branch.
CREATE TABLE IF NOT EXISTS tracking_tree_files (
    repo TEXT NOT NULL,
    path TEXT NOT NULL,
    blob_sha TEXT NOT NULL,
    PRIMARY KEY (repo, path)
);

CREATE TABLE IF NOT EXISTS tracking_heads (
    repo TEXT NOT NULL PRIMARY KEY,
    sha TEXT NOT NULL,
    analyzer TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per analysed commit.
CREATE TABLE IF NOT EXISTS tracking_snapshots (
    repo TEXT NOT NULL,
    sha TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    source TEXT NOT NULL,
    summary TEXT NOT NULL,
    modules TEXT NOT NULL,
    types TEXT NOT NULL,
    findings TEXT NOT NULL,
    files BIGINT NOT NULL,
    PRIMARY KEY (repo, sha)
);
CREATE INDEX IF NOT EXISTS tracking_snapshots_time ON tracking_snapshots (repo, committed_at);

-- Per-module state at each snapshot (module_history without decoding whole snapshots).
CREATE TABLE IF NOT EXISTS tracking_module_states (
    repo TEXT NOT NULL,
    module TEXT NOT NULL,
    sha TEXT NOT NULL,
    committed_at TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (repo, module, sha)
);
CREATE INDEX IF NOT EXISTS tracking_module_states_time
    ON tracking_module_states (repo, module, committed_at);

-- Attribution: a change of a module's isolation state and the PR that made it.
CREATE TABLE IF NOT EXISTS tracking_events (
    id TEXT NOT NULL PRIMARY KEY,
    repo TEXT NOT NULL,
    module TEXT NOT NULL,
    kind TEXT NOT NULL,
    pr_number BIGINT,
    sha TEXT NOT NULL,
    author TEXT,
    at TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tracking_events_time ON tracking_events (repo, at);

-- The meta-issue writer's memory: whether it ever wrote its section, and whether it already
-- re-appended one after a person removed the markers (it does that once, never fights).
CREATE TABLE IF NOT EXISTS tracking_meta_issue (
    repo TEXT NOT NULL,
    number BIGINT NOT NULL,
    written_at TEXT,
    reappended_at TEXT,
    last_section_hash TEXT,
    PRIMARY KEY (repo, number)
);
