-- Content-addressed pieces of snapshots (bot/tracking/snapshots.py): a push to main that does
-- not touch a file stores none of that file's findings again. Snapshot columns then hold
-- references ("@<sha256>" or {"parts": [...]}) instead of the JSON itself; rows written
-- before this migration (plain JSON) stay readable.
CREATE TABLE IF NOT EXISTS tracking_snapshot_parts (
    hash TEXT NOT NULL PRIMARY KEY,
    body TEXT NOT NULL
);

-- module_history now reads the (deduplicated) modules part of each snapshot instead.
DROP TABLE IF EXISTS tracking_module_states;
