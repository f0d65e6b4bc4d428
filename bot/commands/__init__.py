"""Slash-commands in issue, pull-request and review comments.

grammar (pure parsing), runner (the imperative shell: permissions, rate limit, reactions, one
reply), handlers (one function per command), reply (rendering), ratelimit (store-backed),
status_source (default-branch data for ``status``), router (the webhooks it answers).
"""
