"""``POST /webhook``: verify, store durably, enqueue, answer 202 — nothing else on this path.

Status codes: 401 missing/wrong X-Hub-Signature-256 (nothing stored; the current secret or,
during a rotation, GITHUB_WEBHOOK_SECRET_PREVIOUS), 400 malformed body (bad JSON, not an object,
nested too deeply) or missing GitHub headers, 413 body over 25 MB, 415 a content type GitHub
does not send, 422 a payload whose fields the handler reads have the wrong shape (checked
against GitHub's webhook schemas, bot.service.webhook_shapes; nothing stored), 200 ``ping``,
202 ``ignored`` for events no handler wants, 202
``queued`` / ``duplicate`` otherwise, 503 when the store cannot take the delivery (GitHub shows
the failure; redelivery is safe). Every answer but ``queued``/``duplicate`` is logged with the
event, the delivery id and the reason (those two are logged by the worker that runs the job).

Content types: ``application/json`` and ``application/x-www-form-urlencoded`` (a ``payload=``
field holding the JSON, which GitHub sends when a webhook is configured that way; gidgethub
decodes both, and the signature covers the raw body). Form deliveries are stored as JSON.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure, sansio
from multidict import CIMultiDict

from bot.prcheck.router import coalescing_key
from bot.service import webhook_shapes
from bot.service.routers import handles, wanted
from bot.service.state import STATE
from bot.telemetry import logs, metrics

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


_CONTENT_TYPES = ("application/json", "application/x-www-form-urlencoded")


def verify_signature(headers: Mapping[str, str], body: bytes, secrets: Sequence[str | None]) -> int:
    """Which of ``secrets`` (the current one, then the one being rotated away from) signed
    ``body``; ValidationFailure when none did. Only X-Hub-Signature-256 counts: GitHub always
    sends it when a secret is set, and the SHA-1 X-Hub-Signature is not accepted alone."""
    signature = headers.get("X-Hub-Signature-256")
    if not signature:
        raise ValidationFailure("X-Hub-Signature-256 is missing")
    if not signature.startswith("sha256="):
        raise ValidationFailure("X-Hub-Signature-256 does not start with 'sha256='")
    for index, secret in enumerate(secrets):
        if not secret:
            continue
        digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(signature.encode(), f"sha256={digest}".encode()):
            return index
    raise ValidationFailure("payload's signature does not align with the secret")


def _reply(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"status": message, **extra}, status=status)


def _reject(
    request: web.Request, status: int, message: str, event: str, outcome: str
) -> web.Response:
    """A delivery we do not store: the metric, one log line saying why, the answer."""
    metrics.observe_delivery(event, outcome)
    delivery = request.headers.get("X-GitHub-Delivery", "")[:80] or "-"
    log.warning(
        "webhook rejected: %d %s (event %s, delivery %s, %s bytes)",
        status,
        message,
        event,
        delivery,
        request.content_length,
    )
    return _reply(status, message)


async def handle_webhook(request: web.Request) -> web.Response:
    state = request.app[STATE]
    started = time.perf_counter()
    event_name = request.headers.get("X-GitHub-Event", "unknown")[:64]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return _reject(request, 413, "payload too large", event_name, "too_large")
    try:
        body = await request.read()  # client_max_size also bounds chunked bodies
    except web.HTTPRequestEntityTooLarge:
        return _reject(request, 413, "payload too large", event_name, "too_large")
    if len(body) > MAX_BODY_BYTES:
        return _reject(request, 413, "payload too large", event_name, "too_large")
    ctype = request.headers.get("Content-Type", "").split(";")[0].strip().lower()
    secrets = (state.webhook_secret, state.settings.webhook_secret_previous)
    try:
        signed_with = verify_signature(request.headers, body, secrets)
    except ValidationFailure as exc:
        return _reject(request, 401, f"bad signature ({exc})", event_name, "bad_signature")
    unsigned = CIMultiDict(request.headers)  # verified above; gidgethub would accept SHA-1
    unsigned.popall("X-Hub-Signature-256", None)
    unsigned.popall("X-Hub-Signature", None)
    try:
        event = sansio.Event.from_http(unsigned, body)
    except BadRequest:
        if ctype in _CONTENT_TYPES:
            return _reject(request, 400, "malformed JSON body", event_name, "malformed")
        return _reject(
            request,
            415,
            "unsupported content type, expected application/json",
            event_name,
            "bad_content_type",
        )
    except KeyError as exc:
        return _reject(request, 400, f"missing header {exc.args[0]}", event_name, "malformed")
    except RecursionError:
        return _reject(request, 400, "JSON nested too deeply", event_name, "malformed")
    if ctype not in _CONTENT_TYPES:  # gidgethub reads an empty body or type as no payload
        return _reject(
            request,
            415,
            "unsupported content type, expected application/json",
            event_name,
            "bad_content_type",
        )
    if not isinstance(event.data, dict):
        return _reject(request, 400, "the payload must be a JSON object", event_name, "malformed")
    if not event.delivery_id or len(event.delivery_id) > 200:
        return _reject(
            request, 400, "missing or bad X-GitHub-Delivery header", event_name, "malformed"
        )
    if event.event == "ping":
        metrics.observe_delivery("ping", "pong")
        log.info("webhook ping answered (delivery %s)", event.delivery_id)
        return _reply(200, "pong")
    if not handles(event):
        metrics.observe_delivery(event.event, "ignored")
        action = event.data.get("action")
        log.info(
            "webhook ignored: no handler for %s%s (delivery %s)",
            event.event,
            f".{action}" if isinstance(action, str) else "",
            event.delivery_id,
        )
        return _reply(202, "ignored")
    if signed_with == 1:
        log.info(
            "delivery %s signed with GITHUB_WEBHOOK_SECRET_PREVIOUS (rotation not finished)",
            event.delivery_id,
        )
    problem = webhook_shapes.problem(event.event, event.data)
    if problem is not None:
        return _reject(request, 422, f"unprocessable payload: {problem}", event_name, "malformed")
    if not wanted(event, state.settings):
        metrics.observe_delivery(event.event, "ignored")
        log.info(
            "webhook ignored: %s not for this bot (delivery %s)", event.event, event.delivery_id
        )
        return _reply(202, "ignored")

    data = event.data
    action = data.get("action") if isinstance(data.get("action"), str) else None
    repository = data.get("repository")
    repo = repository.get("full_name") if isinstance(repository, dict) else None
    is_json = request.headers.get("Content-Type", "").startswith("application/json")
    payload = body.decode("utf-8") if is_json else json.dumps(data)

    # Lines logged from here on carry the delivery id and repository, like the job's lines.
    def context() -> Any:
        return logs.log_context(
            delivery_id=event.delivery_id,
            repo=repo if isinstance(repo, str) else None,
            event=event.event,
        )

    try:
        with context():
            stored = await state.queue.record_delivery(
                event.delivery_id,
                event.event,
                action,
                payload,
                key=coalescing_key(event.event, data),
                repo=repo if isinstance(repo, str) else None,
            )
    except Exception:  # the store is down: GitHub will show the failure; redelivery is safe
        with context():
            log.exception("could not store delivery %s", event.delivery_id)
        metrics.observe_delivery(event.event, "store_error")
        return _reply(503, "could not store the delivery, please redeliver")
    state.wake_workers()
    outcome = "queued" if stored else "duplicate"
    metrics.observe_delivery(event.event, outcome)
    metrics.observe_ack_latency(time.perf_counter() - started)
    return _reply(202, outcome, delivery=event.delivery_id)
