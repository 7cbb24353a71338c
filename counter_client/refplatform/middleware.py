"""ASGI middleware: the platform identity headers on every answer, and a request size limit.

The identity headers let a client tell the platform from a captive portal or proxy on any
response, not only the probe. The size limit refuses a body announced larger than the limit
before any of it is read (413 problem ``request_too_large`` with ``max_bytes``); a body without a
``Content-Length`` (chunked) is counted as it is read and refused when it passes the limit.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counter_client.refplatform import CONTRACT_VERSION, PLATFORM_ID
from counter_client.refplatform.config import DEFAULT_MAX_REQUEST_BYTES
from counter_client.refplatform.problems import BodyTooLarge, too_large_response

MAX_REQUEST_BYTES = DEFAULT_MAX_REQUEST_BYTES
_IDENTITY = [(b"x-platform-version", CONTRACT_VERSION.encode()), (b"x-platform-id", PLATFORM_ID.encode())]


class PlatformMiddleware:
    def __init__(self, app: ASGIApp, max_request_bytes: int = MAX_REQUEST_BYTES):
        self.app = app
        self.max_request_bytes = max_request_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_identity(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *_IDENTITY]
            await send(message)

        limit = self.max_request_bytes
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await too_large_response(limit)(scope, receive, send_with_identity)
            return

        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, counted_receive, send_with_identity)
