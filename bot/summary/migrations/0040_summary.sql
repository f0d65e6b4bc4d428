-- Weekly summary posts (bot/summary/weekly.py): one row per tracked repository and ISO week.
-- The row is the claim: inserted (under the "weekly-summary" lock) before posting, completed
-- with the comment id after. A row without comment_id means a post was attempted and may have
-- reached GitHub: the next attempt looks for the week's marker comment before posting again.
-- attempts / last_attempt_at: failed attempts back off instead of retrying every tick.
CREATE TABLE IF NOT EXISTS summary_posts (
    repo TEXT NOT NULL,
    iso_week TEXT NOT NULL,
    target TEXT NOT NULL,
    claimed_at TEXT NOT NULL,
    claimed_by TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_attempt_at TEXT,
    comment_id BIGINT,
    comment_url TEXT,
    posted_at TEXT,
    late BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (repo, iso_week)
);
