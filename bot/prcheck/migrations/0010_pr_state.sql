-- Pull-request check state (bot/store/pr_state.py): one row per pull request.
-- comment_id/comment_hash: the sticky status comment and a hash of its last body, so the bot
-- edits it only when the content changes (and does not list comments on every push).
-- labels_added: JSON list of the labels the bot itself added; it never removes any other.
-- result: JSON summary of the last reported result (counts, conclusion) for other features.
CREATE TABLE IF NOT EXISTS pr_state (
    repo TEXT NOT NULL,
    number BIGINT NOT NULL,
    head_sha TEXT,
    check_run_id BIGINT,
    conclusion TEXT,
    comment_id BIGINT,
    comment_hash TEXT,
    labels_added TEXT NOT NULL DEFAULT '[]',
    result TEXT,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (repo, number)
);
