"""Slash-commands in issue and pull-request comments (issue 4).

grammar (pure parsing), permissions (maintainer check, cached), ratelimit (store-backed),
suppressions (per-PR ignore table read by the PR check), status_source (default-branch data),
handlers (one function per command), runner (the imperative shell: reactions, one reply).
"""
