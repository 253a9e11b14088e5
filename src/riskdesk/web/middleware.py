"""ASGI middleware: request ids and body size limits, applied before any endpoint reads the body."""

from __future__ import annotations

import re
import secrets
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


class RequestIdMiddleware:
    """Take a sane incoming X-Request-ID or make one; echo it and bind it to every log line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID_RE.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await self.app(scope, receive, send_with_id)


class BodyTooLarge(HTTPException):
    """Raised while the body streams in. An HTTPException, so FastAPI's body parsing passes it on as a 413
    instead of turning it into "400 error parsing the body"."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes; send less or split the file")
        self.limit = limit


class BodySizeLimitMiddleware:
    """Refuse bodies over the limit, by Content-Length up front or by counting a streamed body."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes

    def _limit(self, scope: Scope) -> int:
        """File uploads (multipart bodies) get the upload limit; everything else the body limit."""
        content_type = dict(scope["headers"]).get(b"content-type", b"")
        return self.max_upload_bytes if content_type.startswith(b"multipart/form-data") else self.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(scope, send, limit)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except BodyTooLarge:  # raised outside FastAPI's body parsing (e.g. a page reading its form)
            await _too_large(scope, send, limit)


async def _too_large(scope: Scope, send: Send, limit: int) -> None:
    import json

    body: dict[str, Any] = {
        "error": "body_too_large",
        "message": f"the request body is larger than {limit} bytes; send less or split the file",
        "details": [],
    }
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
