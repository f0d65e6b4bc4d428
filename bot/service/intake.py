"""``POST /webhook``: verify, store durably, enqueue, answer 202 — nothing else on this path.

Status codes: 401 missing/wrong signature (nothing stored), 400 malformed body or missing
GitHub headers, 413 body over 25 MB, 415 a content type GitHub does not send, 200 ``ping``,
202 ``ignored`` for events no handler wants, 202 ``queued`` / ``duplicate`` otherwise, 503 when
the store cannot take the delivery (GitHub shows the failure; redelivery is safe).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web
from gidgethub import BadRequest, ValidationFailure, sansio

from bot import logs
from bot.service import metrics
from bot.service.routers import handles
from bot.service.routers.pull_request import coalescing_key

if TYPE_CHECKING:
    from bot.service.app import ServiceState

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB


def _reply(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"status": message, **extra}, status=status)


async def handle_webhook(request: web.Request) -> web.Response:
    from bot.service.app import STATE

    state: ServiceState = request.app[STATE]
    started = time.perf_counter()
    event_name = request.headers.get("X-GitHub-Event", "unknown")[:64]
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        metrics.observe_delivery(event_name, "too_large")
        return _reply(413, "payload too large")
    try:
        body = await request.read()  # client_max_size also bounds chunked bodies
    except web.HTTPRequestEntityTooLarge:
        metrics.observe_delivery(event_name, "too_large")
        return _reply(413, "payload too large")
    if len(body) > MAX_BODY_BYTES:
        metrics.observe_delivery(event_name, "too_large")
        return _reply(413, "payload too large")
    try:
        event = sansio.Event.from_http(request.headers, body, secret=state.webhook_secret)
    except ValidationFailure as exc:
        metrics.observe_delivery(event_name, "bad_signature")
        log.warning("webhook rejected: %s", exc)
        return _reply(401, "bad signature")
    except BadRequest:
        ctype = request.headers.get("Content-Type", "")
        if ctype.split(";")[0].strip().lower() in (
            "application/json",
            "application/x-www-form-urlencoded",
        ):
            metrics.observe_delivery(event_name, "malformed")
            return _reply(400, "malformed JSON body")
        metrics.observe_delivery(event_name, "bad_content_type")
        return _reply(415, "expected application/json")
    except KeyError as exc:
        metrics.observe_delivery(event_name, "malformed")
        return _reply(400, f"missing header {exc.args[0]}")
    except RecursionError:
        metrics.observe_delivery(event_name, "malformed")
        return _reply(400, "JSON nested too deeply")
    if not isinstance(event.data, dict):
        metrics.observe_delivery(event_name, "malformed")
        return _reply(400, "the payload must be a JSON object")
    if not event.delivery_id or len(event.delivery_id) > 200:
        metrics.observe_delivery(event_name, "malformed")
        return _reply(400, "missing or bad X-GitHub-Delivery header")
    if event.event == "ping":
        metrics.observe_delivery("ping", "pong")
        return _reply(200, "pong")
    if not handles(event):
        metrics.observe_delivery(event.event, "ignored")
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
