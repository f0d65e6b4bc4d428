"""The pull-request check: changed files -> base/head analysis -> check run, comment, labels.

``model`` holds the result values (pure), ``changes`` picks the files to check (pure),
``modules`` derives module-level changes (pure), ``blobs`` fetches and analyses blobs with
caches, ``run`` orchestrates one check against GitHub and the store.
"""
