"""The pull-request check: changed files -> base/head analysis -> check run, comment, labels.

``model`` holds the result values (pure), ``changes`` picks the files to check (pure),
``modules`` derives module-level changes (pure), ``run`` orchestrates one check against
GitHub and the store (blobs through bot.github.gitdata, analyses through the shared
bot.store.analysis_cache, both the service's, reached through the JobContext).
"""
