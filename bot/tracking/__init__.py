"""Tracking the default branch: snapshots, attribution, history, the meta-issue checklist.

- ``tree_sync``: bring the stored tree state up to a commit through the API (git data through
  bot.github.gitdata, analyses through the shared bot.store.analysis_cache); ``tracked``: which
  files are followed.
- ``snapshots`` (queries other parts use: latest_snapshot, snapshot_at, snapshots_between,
  module_history) and ``state`` (the Snapshot / ModuleState values).
- ``events``: module state changes and the PR credited for them (module_events).
- ``pipeline``: one commit end to end (push router, installation, ``isolation-bot sync``).
- ``history``: the metrics over a local clone's history (``isolation-bot history``).
- ``meta_issue``: the writer of the checklist section (rendered by bot.tracking.checklist).
"""
