"""ASGI middleware: the platform identity headers on every answer, and a request size limit.

The identity headers let a client tell the platform from a captive portal or proxy on any
response, not only the probe. The size limit refuses a body announced larger than the contract
allows before any of it is read (413 problem ``request_too_large``).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from counter_client.refplatform import CONTRACT_VERSION, PLATFORM_ID
from counter_client.refplatform.problems import problem_response

MAX_REQUEST_BYTES = 1024 * 1024  # a batch of 500 codes is ~35 KB
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

        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_request_bytes:
            response = problem_response(
                "request_too_large", f"请求内容超过平台允许的 {self.max_request_bytes // 1024} KB，请分批提交。"
            )
            await response(scope, receive, send_with_identity)
            return
        await self.app(scope, receive, send_with_identity)
