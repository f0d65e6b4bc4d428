-- Claiming looks only at pending and running jobs; done/superseded rows pile up until pruned.
-- A partial index keeps the claim query independent of that history (the claim query repeats
-- the predicate so both engines' planners can use it).
CREATE INDEX IF NOT EXISTS jobs_active ON jobs (created_at, id) WHERE state IN ('pending', 'running');
