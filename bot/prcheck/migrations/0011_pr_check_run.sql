-- The `isolation` check run's lifecycle (bot/prcheck/lifecycle.py): every run the check
-- creates ends completed, and a completed run is never reopened.
-- run_state: 'creating' (a run for head_sha is being created; its id is not known yet),
-- 'in_progress' (check_run_id is open), 'reported' (completed with the check's result, before
-- the comment and labels), 'ended' (completed without a result: could not complete,
-- superseded, pull request closed, ended by the sweep).
-- run_job: the job (delivery id or internal job id) that reported the result, so its retry
-- finishes the comment and labels without sending the run's annotations again.
ALTER TABLE pr_state ADD COLUMN run_state TEXT;
ALTER TABLE pr_state ADD COLUMN run_job TEXT;
UPDATE pr_state SET run_state = CASE
    WHEN conclusion IS NOT NULL THEN 'reported'
    WHEN check_run_id IS NOT NULL THEN 'in_progress'
    WHEN head_sha IS NOT NULL THEN 'creating'
END;
-- The sweep looks for open runs not touched for a while.
CREATE INDEX IF NOT EXISTS pr_state_open_runs ON pr_state (run_state, updated_at);
