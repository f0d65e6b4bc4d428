-- A GitHub rate limit pauses the whole installation, on every replica: the pause's end (epoch
-- seconds) and how many limits came in a row (a secondary limit without Retry-After waits
-- 60 s doubled per repeat). Read by bot.store.github_pause for bot.github.pacing.
CREATE TABLE IF NOT EXISTS github_pauses (
    installation_id BIGINT PRIMARY KEY,
    until_epoch DOUBLE PRECISION NOT NULL,
    strikes BIGINT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);
