"""Webhook signatures, Stripe-style: ``X-Riskdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``.

The HMAC key is the subscription's secret (UTF-8) and the message is ``"<t>.<body>"``: the timestamp is signed
with the body, so a receiver that refuses old timestamps also refuses a captured request sent again later.
Pure: no clock, no I/O — the caller gives the time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 -- a label, not a secret
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    """The header is malformed, its timestamp is too old or new, or no v1 signature matches the body."""


def new_secret() -> str:
    """A fresh signing secret (256 random bits), shown to the admin once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int) -> str:
    return f"t={timestamp},v1={signature(secret, body, timestamp)}"


def verify(
    secret: str, body: bytes, header: str, *, now: int, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
) -> int:
    """What a receiver does: the header's timestamp if it lies within ``tolerance_seconds`` of ``now`` and one of
    its ``v1`` signatures is the HMAC of ``"<t>.<body>"``; ``InvalidSignature`` otherwise."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise InvalidSignature("the header needs t=<unix seconds> and v1=<hex signature>")
    if abs(now - timestamp) > tolerance_seconds:
        raise InvalidSignature(f"the timestamp is {now - timestamp} s away from now (tolerance {tolerance_seconds} s)")
    expected = signature(secret, body, timestamp)
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("no v1 signature matches the body: wrong secret or altered body")
    return timestamp
