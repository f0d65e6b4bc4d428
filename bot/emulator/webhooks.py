"""Webhook deliveries: signed like GitHub's (X-Hub-Signature-256 over the exact body)."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from multidict import CIMultiDict

USER_AGENT = "GitHub-Hookshot/7f1d5ad"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery_headers(
    event: str,
    delivery_id: str,
    body: bytes,
    secret: str | None,
    *,
    hook_id: int = 1,
    installation_target_id: int | None = None,
) -> CIMultiDict[str]:
    """GitHub's delivery headers; case-insensitive like any HTTP headers (gidgethub's
    ``Event.from_http`` looks them up in lower case)."""
    headers: CIMultiDict[str] = CIMultiDict(
        {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": delivery_id,
            "X-GitHub-Hook-ID": str(hook_id),
            "X-GitHub-Hook-Installation-Target-Type": "integration",
        }
    )
    if installation_target_id is not None:
        headers["X-GitHub-Hook-Installation-Target-ID"] = str(installation_target_id)
    if secret:
        # GitHub also sends the legacy SHA-1 header; receivers must use the SHA-256 one.
        headers["X-Hub-Signature"] = (
            "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        )
        headers["X-Hub-Signature-256"] = sign(secret, body)
    return headers


def encode(payload: dict[str, Any]) -> bytes:
    # GitHub sends compact JSON; the signature covers these exact bytes.
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class Delivery:
    id: str
    event: str
    action: str | None
    payload: dict[str, Any]
    headers: CIMultiDict[str]
    body: bytes
    status: int | None = None  # HTTP status of the last POST; None until attempted
    attempts: list[int] = field(default_factory=list)  # statuses (0 = connection error)
    redelivery: bool = False
    delivered_at: float | None = None  # epoch seconds of the last POST


def new_delivery_id() -> str:
    return str(uuid.uuid4())
