"""Request ids: every response carries `X-Request-ID`, and every log line of the request names it.

A pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task per request). A caller's own id
is kept when it is a plain token, so a request can be followed across services; otherwise one is made.
An exception no handler took is logged here, with the id, and answered as a problem-details 500
carrying the id: Starlette's own last-resort handler sits outside user middleware and would send
plain text without it.
"""

from __future__ import annotations

import json
import logging
import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logging import request_id_var

logger = logging.getLogger(__name__)
HEADER = b"x-request-id"
_PLAIN_TOKEN = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Adopt or make the request id, expose it to logging, and echo it on the response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((value for name, value in scope["headers"] if name == HEADER), b"")
        request_id = given if given and _PLAIN_TOKEN.fullmatch(given) else os.urandom(16).hex().encode()
        token = request_id_var.set(request_id.decode())

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("request failed")
            if started:
                raise
            await _internal_error(send_with_id)
        finally:
            request_id_var.reset(token)


async def _internal_error(send: Send) -> None:
    body = json.dumps({"type": "about:blank", "title": "Internal Server Error", "status": 500,
                       "detail": "internal error"}).encode()  # fmt: skip
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
