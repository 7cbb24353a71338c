"""A fault-injecting HTTP/1.1 reverse proxy: the unreliable network between the client and the platform.

The proxy listens on ``127.0.0.1`` (a free port) and forwards every request to one upstream (the
reference platform), one thread per client connection. Bodies are streamed both ways in pieces,
never held whole: a request body with ``Content-Length`` is passed on as it is, a chunked one is
de-chunked and re-chunked; a response without ``Content-Length`` is re-chunked for the client.
Hop-by-hop headers are dropped; method, target (path and query), the other headers (``Host``
included), status and response headers are kept. Each forwarded request uses a fresh upstream
connection, so a fault never leaves a half-used upstream connection behind.

A *plan* of rules decides which requests meet a fault. A rule matches on method and a regex
searched in the request target; the first rule (in plan order) that matches and *fires* applies
its fault, and later rules do not see that request. Which matching requests fire::

    nth=N          only the Nth matching request (1-based)
    times=K        the next K matching requests, then the rule is spent
    probability=P  each matching request with probability P, from random.Random(seed)
    (none)         every matching request

Given together they must all hold. The faults (see ``FAULTS``)::

    reset_before          RST the client connection, nothing forwarded
    reset_after_upstream  forward, let the upstream answer in full, then RST the client: "sent, no answer"
    reset_mid_request     forward the head and the first ``after_bytes`` body bytes, then drop both sides
    stall                 hold the request ``seconds``; then forward (``forward=True``) or RST the client
    status                answer ``status`` with ``headers``, ``body``, ``content_type``; nothing forwarded
    truncate              forward; relay the status, headers and at most ``after_bytes`` body bytes, then close
    captive_portal        answer 200 text/html: a hotel Wi-Fi login page; nothing forwarded
    latency               wait ``seconds``, then forward normally
    replace_body          forward; answer the upstream's status and headers with ``body`` / ``content_type``

Example::

    with FaultProxy(server.url) as proxy:
        proxy.add_rule("PUT", r"^/api/v1/cases/", "reset_after_upstream", nth=1)
        proxy.add_rule("GET", r"/ping$", "status", status=503, headers={"Retry-After": "2"}, times=2)
        client = PlatformClient(proxy.base_url)
        ...
        assert proxy.count("PUT", r"/cases/") == 2

Set ``proxy.latency`` (seconds) to slow down every request. ``proxy.requests`` lists every
request seen as ``Seen(method, path, fault)``.
"""

from __future__ import annotations

import http
import http.client
import random
import re
import socket
import struct
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Self
from urllib.parse import urlsplit

FAULTS = frozenset({
    "reset_before", "reset_after_upstream", "reset_mid_request", "stall", "status", "truncate",
    "captive_portal", "latency", "replace_body",
})
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
    "trailer", "transfer-encoding", "upgrade",
})
PIECE_BYTES = 256 * 1024  # the most read or written at once, each way
MAX_LINE_BYTES = 64 * 1024
CLIENT_TIMEOUT_S = 300.0  # an idle or silent client connection is dropped after this
UPSTREAM_TIMEOUT_S = 120.0
STOP_JOIN_S = 5.0
FINISH_WAIT_S = 2.0  # reset_mid_request: how long to wait for the upstream to see the end of the body
ACCEPT_POLL_S = 0.05

CAPTIVE_PORTAL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>酒店无线网络 - 登录</title></head>
<body>
<h1>欢迎使用酒店免费 Wi-Fi</h1>
<p>请输入房间号和姓氏以连接互联网。</p>
<form method="post" action="/portal/login">
  <label>房间号 <input name="room"></label>
  <label>姓氏 <input name="surname"></label>
  <button type="submit">登录上网</button>
</form>
</body>
</html>
""".encode()


class Seen(NamedTuple):
    """One request as the proxy saw it: ``path`` is the target (path and query); ``fault`` is None
    when it was forwarded untouched."""

    method: str
    path: str
    fault: str | None


@dataclass
class Rule:
    """Which requests meet which fault; see the module docstring. ``matched`` and ``fired`` count
    the requests this rule saw and the faults it applied."""

    fault: str
    method: str | None = None  # None: any method
    path: str = ""  # regex, searched in the target; "" matches every request
    nth: int | None = None
    times: int | None = None
    probability: float | None = None
    seed: int = 0
    seconds: float = 0.0  # stall, latency
    forward: bool = False  # stall: forward once the stall is over (else RST the client)
    status: int = 503  # status
    headers: dict[str, str] = field(default_factory=dict)  # status
    body: bytes | None = None  # status, captive_portal, replace_body
    content_type: str | None = None  # status, replace_body
    # reset_mid_request: request body bytes forwarded (a body no longer than this goes whole);
    # truncate: response body bytes sent (always at least one byte short of a Content-Length)
    after_bytes: int = 0
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}; one of {sorted(FAULTS)}")
        self.method = self.method.upper() if self.method else None
        self._pattern = re.compile(self.path)
        self._rng = random.Random(self.seed)

    def fires(self, method: str, target: str) -> bool:
        """Count a request this rule matches and say whether the fault applies (caller holds the lock)."""
        if (self.method is not None and method != self.method) or not self._pattern.search(target):
            return False
        self.matched += 1
        if self.nth is not None and self.matched != self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True


class FaultProxy:
    """The proxy: ``with FaultProxy(upstream_url) as proxy: ... proxy.base_url ...``."""

    def __init__(self, upstream_base_url: str, *, client_timeout: float = CLIENT_TIMEOUT_S,
                 upstream_timeout: float = UPSTREAM_TIMEOUT_S):
        parts = urlsplit(upstream_base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http:// URL, not {upstream_base_url!r}")
        self.upstream = (parts.hostname, parts.port or 80)
        self.upstream_prefix = parts.path.rstrip("/")
        self.client_timeout = client_timeout
        self.upstream_timeout = upstream_timeout
        self.latency = 0.0  # seconds added before every request
        self.base_url = ""
        self.bytes_to_upstream = 0  # request body bytes sent upstream
        self.bytes_to_client = 0  # response body bytes handed to client sockets (relayed or made up)
        self.connections = 0  # client TCP connections accepted
        self._rules: list[Rule] = []
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._open: set[_Connection] = set()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        if self._listener is not None:
            raise RuntimeError("the proxy is already started")
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(ACCEPT_POLL_S)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy-accept", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection (stalls included) and wait for the threads."""
        self._stopping.set()
        if self._acceptor is not None:
            self._acceptor.join(STOP_JOIN_S)
        with self._lock:
            open_now, threads = list(self._open), list(self._threads)
        for connection in open_now:
            connection.abort()
        for thread in threads:
            thread.join(STOP_JOIN_S)
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- the plan ----------------------------------------------------------------------------

    def plan(self, rules: Iterable[Rule]) -> None:
        """Replace the rules with ``rules`` (tried in this order)."""
        rules = list(rules)
        with self._lock:
            self._rules = rules

    def add_rule(self, method: str | None, path: str, fault: str, **params: object) -> Rule:
        """Append a rule, e.g. ``add_rule("PATCH", r"/blobs/", "reset_mid_request", after_bytes=4096, nth=2)``."""
        rule = Rule(fault, method, path, **params)
        with self._lock:
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule: from now on everything is forwarded untouched."""
        with self._lock:
            self._rules = []

    # -- what happened -------------------------------------------------------------------------

    @property
    def requests(self) -> list[Seen]:
        """Every request seen so far, in the order they arrived (a copy)."""
        with self._lock:
            return list(self._seen)

    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        """How many requests were seen with this method and a target in which ``path_regex`` is found."""
        pattern = re.compile(path_regex) if path_regex is not None else None
        return sum(1 for seen in self.requests
                   if (method is None or seen.method == method.upper())
                   and (pattern is None or pattern.search(seen.path)))

    def reset_counts(self) -> None:
        """Forget the requests seen and zero the counters (the rules stay)."""
        with self._lock:
            self._seen.clear()
            self.bytes_to_upstream = self.bytes_to_client = self.connections = 0

    # -- used by the connections -------------------------------------------------------------

    def _decide(self, method: str, target: str) -> Rule | None:
        with self._lock:
            rule = next((r for r in self._rules if r.fires(method, target)), None)
            self._seen.append(Seen(method, target, rule.fault if rule else None))
            return rule

    def _counted(self, *, upstream: int = 0, client: int = 0) -> None:
        with self._lock:
            self.bytes_to_upstream += upstream
            self.bytes_to_client += client

    def _wait(self, seconds: float) -> None:
        """Sleep, but hang up at once when the proxy stops."""
        if seconds > 0 and self._stopping.wait(seconds):
            raise _HangUp("proxy stopping")

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                connection = _Connection(self, sock)
            except OSError:  # gone already
                sock.close()
                continue
            thread = threading.Thread(target=connection.serve, name=f"fault-proxy-conn-{self.connections + 1}",
                                      daemon=True)
            with self._lock:
                self.connections += 1
                self._open.add(connection)
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()

    def _closed(self, connection: _Connection) -> None:
        with self._lock:
            self._open.discard(connection)


class _HangUp(Exception):
    """The client connection ends here (gone, malformed, reset on purpose, or the proxy stops)."""


class _UpstreamError(Exception):
    """The upstream could not be reached or broke off."""


@dataclass
class _Request:
    method: str
    target: str
    headers: http.client.HTTPMessage
    chunked: bool
    keep_alive: bool
    body: Iterator[bytes]  # the body's bytes, de-chunked, read from the client as they are consumed

    def forwarded_headers(self) -> list[tuple[str, str]]:
        named = {token.strip().lower() for token in self.headers.get("Connection", "").split(",")}
        return [(name, value) for name, value in self.headers.items()
                if name.lower() not in HOP_BY_HOP and name.lower() not in named
                and not (self.chunked and name.lower() == "content-length")]

    def drain(self) -> None:
        for _ in self.body:
            pass


class _Upstream:
    """One request to the upstream on a fresh connection; every failure becomes ``_UpstreamError``."""

    def __init__(self, proxy: FaultProxy, request: _Request):
        self.proxy = proxy
        self.chunked = request.chunked
        host, port = proxy.upstream
        self.connection = http.client.HTTPConnection(host, port, timeout=proxy.upstream_timeout)
        try:
            self.connection.putrequest(request.method, proxy.upstream_prefix + request.target,
                                       skip_host=True, skip_accept_encoding=True)
            for name, value in request.forwarded_headers():
                self.connection.putheader(name, value)
            if request.chunked:
                self.connection.putheader("Transfer-Encoding", "chunked")
            self.connection.putheader("Connection", "close")
            self.connection.endheaders()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise _UpstreamError(exc) from exc

    @property
    def sock(self) -> socket.socket | None:
        return self.connection.sock

    def send(self, piece: bytes) -> None:
        try:
            self.connection.send(_chunk(piece) if self.chunked else piece)
        except OSError as exc:
            raise _UpstreamError(exc) from exc
        self.proxy._counted(upstream=len(piece))

    def end_body(self) -> None:
        if self.chunked:
            try:
                self.connection.send(b"0\r\n\r\n")
            except OSError as exc:
                raise _UpstreamError(exc) from exc

    def response(self) -> http.client.HTTPResponse:
        try:
            return self.connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            raise _UpstreamError(exc) from exc

    @staticmethod
    def read(response: http.client.HTTPResponse) -> bytes:
        try:
            return response.read1(PIECE_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            raise _UpstreamError(exc) from exc

    def finish_early(self) -> None:
        """Stop sending: a FIN after the bytes already sent, so the upstream gets every one of them,
        then wait (briefly) for the upstream to hang up too."""
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_WR)
                sock.settimeout(FINISH_WAIT_S)
                while sock.recv(PIECE_BYTES):
                    pass
            except OSError:
                pass
        self.close()

    def abort(self) -> None:
        sock = self.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        self.connection.close()


class _Connection:
    """One client connection: read a request, apply its fault or forward it, repeat while kept alive."""

    def __init__(self, proxy: FaultProxy, sock: socket.socket):
        self.proxy = proxy
        self.sock = sock
        self.sock.settimeout(proxy.client_timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # a head and body in two writes, no 40 ms wait
        self.rfile = sock.makefile("rb")
        self.upstream: _Upstream | None = None
        self.head_sent = False  # the response head of the current request went out

    def serve(self) -> None:
        try:
            while not self.proxy._stopping.is_set():
                request = self._read_request()
                if request is None or not self._handle(request):
                    break
        except (_HangUp, OSError, ValueError, http.client.HTTPException):
            pass  # the client went away, sent garbage, or the proxy stops: just end this connection
        finally:
            self._close_upstream()
            self._close()
            self.proxy._closed(self)

    def abort(self) -> None:
        """From another thread (``stop``): wake whatever this connection is blocked on."""
        if self.upstream is not None:
            self.upstream.abort()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # -- one request -------------------------------------------------------------------------

    def _handle(self, request: _Request) -> bool:
        """Serve one request; whether the client connection may carry another."""
        rule = self.proxy._decide(request.method, request.target)
        fault = rule.fault if rule else None
        self.head_sent = False
        self.proxy._wait(self.proxy.latency)
        if fault == "reset_before":
            return self._reset()
        if fault == "stall":
            self.proxy._wait(rule.seconds)
            if not rule.forward:
                return self._reset()
        if fault == "latency":
            self.proxy._wait(rule.seconds)
        if fault == "status":
            request.drain()
            body = rule.body or b""
            content_type = rule.content_type or ("text/plain; charset=utf-8" if body else None)
            return self._answer(request, rule.status, rule.headers.items(), body, content_type)
        if fault == "captive_portal":
            request.drain()
            page = rule.body or CAPTIVE_PORTAL_PAGE
            return self._answer(request, 200, [("Cache-Control", "no-store")], page, "text/html; charset=utf-8")
        try:
            if fault == "reset_mid_request":
                return self._forward_part(request, rule.after_bytes)
            response, body_complete = self._forward(request)
            if fault == "reset_after_upstream":
                while _Upstream.read(response):
                    pass
                return self._reset()
            if fault == "replace_body":
                return self._replace_body(request, response, rule)
            limit = rule.after_bytes if fault == "truncate" else None
            self._relay(request, response, keep_alive=request.keep_alive and body_complete, limit=limit)
            return request.keep_alive and body_complete and fault != "truncate"
        except _UpstreamError:
            if self.head_sent:  # the answer broke off halfway: all we can do is hang up
                return False
            return self._answer(request, 502, [], b"upstream unreachable", "text/plain; charset=utf-8",
                                keep_alive=False)
        finally:
            self._close_upstream()

    def _forward(self, request: _Request) -> tuple[http.client.HTTPResponse, bool]:
        """Send the request upstream, body streamed; the response and whether the whole body went.

        An upstream that answers and hangs up before reading the whole body (a 413, say) still
        has its answer relayed; the client connection then closes, its body left unread."""
        self.upstream = _Upstream(self.proxy, request)
        try:
            for piece in request.body:
                self.upstream.send(piece)
            self.upstream.end_body()
        except _UpstreamError:
            return self.upstream.response(), False
        return self.upstream.response(), True

    def _forward_part(self, request: _Request, after_bytes: int) -> bool:
        """``reset_mid_request``: the head and the first ``after_bytes`` body bytes, then drop both sides."""
        self.upstream = _Upstream(self.proxy, request)
        left = after_bytes
        if left > 0:
            for piece in request.body:
                self.upstream.send(piece[:left])
                left -= len(piece)
                if left <= 0:
                    break
        self.upstream.finish_early()
        return self._reset()

    def _relay(self, request: _Request, response: http.client.HTTPResponse, *, keep_alive: bool,
               limit: int | None = None) -> None:
        """The upstream's answer to the client; with ``limit``, the body is cut short (``truncate``)."""
        no_body = _bodiless(request.method, response.status)
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        length = response.getheader("Content-Length")
        chunked = not no_body and length is None
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        if not keep_alive:
            headers.append(("Connection", "close"))
        self._send_head(response.status, response.reason, headers)
        if no_body:
            return
        budget = limit
        if limit is not None and length is not None and length.isdigit():
            budget = max(0, min(limit, int(length) - 1))  # always at least one byte short
        sent = 0
        while budget is None or sent < budget:
            piece = _Upstream.read(response)
            if not piece:
                break
            if budget is not None:
                piece = piece[:budget - sent]
            self._send_body(_chunk(piece) if chunked else piece, len(piece))
            sent += len(piece)
        if chunked and limit is None:
            self.sock.sendall(b"0\r\n\r\n")

    def _replace_body(self, request: _Request, response: http.client.HTTPResponse, rule: Rule) -> bool:
        while _Upstream.read(response):
            pass
        dropped = HOP_BY_HOP | {"content-length", "content-type", "content-encoding"}
        headers = [(k, v) for k, v in response.getheaders() if k.lower() not in dropped]
        return self._answer(request, response.status, headers, rule.body or b"",
                            rule.content_type or "application/json", reason=response.reason)

    # -- talking to the client -----------------------------------------------------------------

    def _answer(self, request: _Request, status: int, headers: Iterable[tuple[str, str]], body: bytes,
                content_type: str | None, *, keep_alive: bool | None = None, reason: str | None = None) -> bool:
        """A complete answer made up by the proxy; whether the connection stays open."""
        keep_alive = request.keep_alive if keep_alive is None else keep_alive
        lines = [(k, v) for k, v in headers if k.lower() not in ("content-length", "content-type")]
        if content_type:
            lines.append(("Content-Type", content_type))
        no_body = _bodiless(request.method, status)
        if not no_body:
            lines.append(("Content-Length", str(len(body))))
        if not keep_alive:
            lines.append(("Connection", "close"))
        self._send_head(status, reason, lines)
        if body and not no_body:
            self._send_body(body, len(body))
        return keep_alive

    def _send_head(self, status: int, reason: str | None, headers: Sequence[tuple[str, str]]) -> None:
        if reason is None:
            try:
                reason = http.HTTPStatus(status).phrase
            except ValueError:
                reason = "Unknown"
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
        self.head_sent = True
        self.sock.sendall(head.encode("latin-1"))

    def _send_body(self, data: bytes, payload_bytes: int) -> None:
        self.proxy._counted(client=payload_bytes)  # first: a client that has the bytes sees them counted
        self.sock.sendall(data)

    def _reset(self) -> bool:
        """Close the client connection with a TCP RST (SO_LINGER 0), not a FIN."""
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self._close()
        return False

    def _close(self) -> None:
        self.rfile.close()
        self.sock.close()  # the last reference: the descriptor really closes here

    def _close_upstream(self) -> None:
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None

    # -- reading the request -------------------------------------------------------------------

    def _read_request(self) -> _Request | None:
        """The next request's head, or None when the client closed the connection between requests."""
        line = self.rfile.readline(MAX_LINE_BYTES + 1)
        while line in (b"\r\n", b"\n"):  # stray line breaks between requests are allowed
            line = self.rfile.readline(MAX_LINE_BYTES + 1)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not line.endswith(b"\n") or not parts[2].startswith("HTTP/1."):
            raise _HangUp(f"bad request line {line[:80]!r}")
        method, target, version = parts
        headers = http.client.parse_headers(self.rfile)
        chunked = "chunked" in headers.get("Transfer-Encoding", "").lower()
        length = 0 if chunked else int(headers.get("Content-Length") or 0)
        tokens = {token.strip().lower() for token in headers.get("Connection", "").split(",")}
        keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        body = self._dechunked() if chunked else self._counted_body(length)
        return _Request(method, target, headers, chunked, keep_alive, body)

    def _read_some(self, most: int) -> bytes:
        piece = self.rfile.read1(min(most, PIECE_BYTES))
        if not piece:
            raise _HangUp("client closed mid-body")
        return piece

    def _counted_body(self, length: int) -> Iterator[bytes]:
        left = length
        while left:
            piece = self._read_some(left)
            left -= len(piece)
            yield piece

    def _dechunked(self) -> Iterator[bytes]:
        while True:
            size_line = self._read_line()
            size = int(size_line.split(b";", 1)[0].strip(), 16)  # ValueError ends the connection
            if size == 0:
                while self._read_line().strip():  # trailer fields, dropped
                    pass
                return
            yield from self._counted_body(size)
            if self._read_line().strip():
                raise _HangUp("chunk not followed by CRLF")

    def _read_line(self) -> bytes:
        line = self.rfile.readline(MAX_LINE_BYTES + 1)
        if not line.endswith(b"\n"):
            raise _HangUp("client closed mid-body or line too long")
        return line


def _chunk(piece: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(piece), piece) if piece else b""


def _bodiless(method: str, status: int) -> bool:
    return method == "HEAD" or status in (204, 304) or 100 <= status < 200
