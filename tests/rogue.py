"""A real HTTP server on 127.0.0.1 that answers what a test tells it to: broken payloads, captive
portal pages, stalls. It stands in for a misbehaving platform or network, not for our code."""

from __future__ import annotations

import gzip
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate_to: int | None = None  # send a Content-Length larger than the bytes sent

    def payload(self) -> bytes:
        if isinstance(self.body, (dict, list)):
            return json.dumps(self.body, ensure_ascii=False).encode()
        return self.body.encode() if isinstance(self.body, str) else self.body


class RogueServer:
    """``routes[(method, path)] = Reply | callable(request_body) -> Reply``; anything else 404."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Reply | Callable[[bytes], Reply]] = {}
        self.fallback: Reply | None = None
        self.requests: list[tuple[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?")[0]
                server.requests.append((method, self.path))
                reply = server.routes.get((method, path), server.fallback)
                if callable(reply):
                    reply = reply(body)
                if reply is None:
                    reply = Reply(404, {"title": "not found", "status": 404, "detail": "没有这个地址", "code": "not_found"},
                                  "application/problem+json")
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                data = reply.payload()
                headers = dict(reply.headers)
                if "gzip" in (self.headers.get("Accept-Encoding") or "") and len(data) > 1024 \
                        and reply.truncate_to is None:
                    data = gzip.compress(data, 1)
                    headers["Content-Encoding"] = "gzip"
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if method != "HEAD":
                    try:
                        self.wfile.write(data[: reply.truncate_to] if reply.truncate_to is not None else data)
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                if reply.truncate_to is not None:
                    self.close_connection = True

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_HEAD(self) -> None:
                self._serve("HEAD")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
