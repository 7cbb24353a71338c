"""The fault proxy itself: it forwards faithfully (keep-alive, chunked and large streamed bodies,
both directions), and each fault looks to a ``requests`` client the way the network fault it
stands for would.

Most tests put a tiny echo server behind the proxy (it hashes request bodies and counts what
reached it); the platform-facing ones run the real reference platform.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
import requests

from counter_client.refplatform import CONTRACT_VERSION
from tests.faults.fault_proxy import CAPTIVE_PORTAL_PAGE, FaultProxy, Rule, Seen
from tests.integration.test_refplatform_support import TUS, add_account, token_for

pytestmark = [pytest.mark.faults, pytest.mark.integration]

MIB = 1024 * 1024
TIMEOUT = (5, 30)
ACCOUNT = "clerk-proxy"
GATE_WAIT_S = 5.0
RESET = "ConnectionResetError"  # an RST, not an orderly close (that would be RemoteDisconnected)


# -- an echo server behind the proxy ------------------------------------------------------------


class EchoUpstream:
    """An HTTP/1.1 server on 127.0.0.1 that stands for the platform where the platform cannot show it.

    Any method on any path: the body is read (Content-Length or chunked) and hashed, and the answer
    is JSON ``{method, path, host, size, sha256, chunked}``. ``GET /bytes/N`` answers N bytes with a
    Content-Length, ``GET /chunked/N`` answers them chunked, ``GET /gated`` sends half its body and
    waits for ``gate`` before the rest. ``arrivals`` lists ``(method, target, size, complete)``.
    """

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, str, int, bool]] = []
        self.body_started = threading.Event()  # the first request body bytes arrived
        self.gate = threading.Event()
        self.gate_opened_in_time: bool | None = None
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def serve(self) -> None:
                digest, size, complete = hashlib.sha256(), 0, True
                chunked = "chunked" in self.headers.get("Transfer-Encoding", "").lower()
                try:
                    for piece in self.body(chunked):
                        upstream.body_started.set()
                        digest.update(piece)
                        size += len(piece)
                except EOFError:
                    complete = False
                upstream.arrivals.append((self.command, self.path, size, complete))
                if not complete:
                    self.close_connection = True
                    return
                path = urlsplit(self.path).path
                if path.startswith("/bytes/"):
                    self.reply(200, pattern(int(path.rsplit("/", 1)[1])), "application/octet-stream")
                elif path.startswith("/chunked/"):
                    self.reply_chunked(pattern(int(path.rsplit("/", 1)[1])))
                elif path == "/gated":
                    self.reply_gated(pattern(2 * MIB))
                else:
                    answer = {"method": self.command, "path": self.path, "host": self.headers["Host"], "size": size,
                              "sha256": digest.hexdigest(), "chunked": chunked}
                    self.reply(200, json.dumps(answer).encode(), "application/json")

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = serve

            def body(self, chunked: bool) -> Iterator[bytes]:
                if not chunked:
                    yield from self.exactly(int(self.headers.get("Content-Length") or 0))
                    return
                while True:
                    line = self.rfile.readline()
                    if not line:
                        raise EOFError
                    size = int(line.split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return
                    yield from self.exactly(size)
                    if self.rfile.readline() != b"\r\n":
                        raise EOFError

            def exactly(self, length: int) -> Iterator[bytes]:
                while length:
                    piece = self.rfile.read1(min(length, 64 * 1024))
                    if not piece:
                        raise EOFError
                    length -= len(piece)
                    yield piece

            def reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("X-Upstream", "echo")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def reply_chunked(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(body), 40_000):
                    piece = body[start:start + 40_000]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")

            def reply_gated(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                half = len(body) // 2
                self.wfile.write(body[:half])
                self.wfile.flush()
                upstream.gate_opened_in_time = upstream.gate.wait(GATE_WAIT_S)
                self.wfile.write(body[half:])

        self.httpd = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def wait_for_arrivals(self, count: int, timeout: float = 5.0) -> list[tuple[str, str, int, bool]]:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.arrivals


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the proxy hangs up on purpose: expected
            super().handle_error(request, client_address)


def pattern(size: int) -> bytes:
    return (b"0123456789abcdef" * (size // 16 + 1))[:size]


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[EchoUpstream]:
    server = EchoUpstream()
    yield server
    server.close()


@pytest.fixture
def proxy(upstream) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
        yield running


@pytest.fixture(scope="module")
def platform(platform_server_module):
    server = platform_server_module()
    assert add_account(server, ACCOUNT).returncode == 0
    return server


@pytest.fixture
def platform_proxy(platform) -> Iterator[FaultProxy]:
    with FaultProxy(platform.url) as running:
        yield running


def api(proxy: FaultProxy) -> str:
    return proxy.base_url + "/api/v1"


# -- forwarding ------------------------------------------------------------------------------------


def test_ping_is_forwarded_with_the_platform_headers(platform_proxy):
    response = requests.get(api(platform_proxy) + "/ping", timeout=TIMEOUT)
    assert response.status_code == 204
    assert response.headers["X-Platform-Version"] == CONTRACT_VERSION
    assert "X-Server-Time" in response.headers
    assert platform_proxy.requests == [Seen("GET", "/api/v1/ping", None)]
    assert platform_proxy.requests == [("GET", "/api/v1/ping", None)]


def test_json_endpoints_answer_as_without_the_proxy(platform, platform_proxy):
    direct = requests.get(platform.api + "/catalogue/manifest", timeout=TIMEOUT)
    through = requests.get(api(platform_proxy) + "/catalogue/manifest", timeout=TIMEOUT)
    assert through.status_code == 200
    assert through.headers["Content-Type"] == direct.headers["Content-Type"]
    assert through.headers["ETag"] == direct.headers["ETag"]
    assert through.json() == direct.json()
    assert through.headers.get("Content-Encoding") == direct.headers.get("Content-Encoding")  # gzip passes as is
    assert platform_proxy.bytes_to_client == int(through.headers["Content-Length"])

    not_modified = requests.get(api(platform_proxy) + "/catalogue/manifest", timeout=TIMEOUT,
                                headers={"If-None-Match": through.headers["ETag"]})
    assert (not_modified.status_code, not_modified.content) == (304, b"")

    version = through.json()["catalogue_version"]
    changes = requests.get(api(platform_proxy) + f"/catalogue/changes?since={version}", timeout=TIMEOUT)
    assert changes.json() == requests.get(platform.api + f"/catalogue/changes?since={version}", timeout=TIMEOUT).json()

    codes = [guide["code"] for guide in through.json()["guides"][:3]] + ["NO-SUCH-CODE"]
    batch = requests.post(api(platform_proxy) + "/catalogue/guides/batch", json={"codes": codes}, timeout=TIMEOUT)
    assert batch.status_code == 200
    assert batch.json() == requests.post(platform.api + "/catalogue/guides/batch", json={"codes": codes},
                                         timeout=TIMEOUT).json()
    assert platform_proxy.count("GET") == 3
    assert platform_proxy.count("POST", r"/guides/batch$") == 1
    assert platform_proxy.count(path_regex=r"since=") == 1


def test_a_session_keeps_one_connection_alive(proxy, upstream):
    with requests.Session() as session:
        for i in range(5):
            answer = session.post(proxy.base_url + f"/echo/{i}?q={i}", data=b"x" * i, timeout=TIMEOUT).json()
            assert (answer["path"], answer["size"]) == (f"/echo/{i}?q={i}", i)
            assert answer["host"] == urlsplit(proxy.base_url).netloc  # Host is passed on
        head = session.head(proxy.base_url + "/bytes/1000", timeout=TIMEOUT)
        assert (head.status_code, head.headers["Content-Length"], head.content) == (200, "1000", b"")
        assert session.get(proxy.base_url + "/chunked/100000", timeout=TIMEOUT).content == pattern(100_000)
    assert proxy.connections == 1
    assert len(upstream.arrivals) == 7


def test_a_chunked_request_body_arrives_intact(proxy, upstream):
    pieces = [os.urandom(size) for size in (1, 1000, 70_000, 300_001)]
    answer = requests.post(proxy.base_url + "/upload", data=iter(pieces), timeout=TIMEOUT).json()
    whole = b"".join(pieces)
    assert answer["chunked"] is True
    assert (answer["size"], answer["sha256"]) == (len(whole), hashlib.sha256(whole).hexdigest())
    assert proxy.bytes_to_upstream == len(whole)


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_50_mib_patch_is_streamed_through_intact(proxy, upstream, framing):
    block = hashlib.sha256(b"scan").digest() * (MIB // 32)
    blocks = 50
    digest = hashlib.sha256()
    for _ in range(blocks):
        digest.update(block)
    streamed_before_the_end = []

    def generate() -> Iterator[bytes]:
        yield block
        # a proxy that held the body whole would not pass the first MiB on before the last one
        streamed_before_the_end.append(upstream.body_started.wait(GATE_WAIT_S))
        for _ in range(blocks - 1):
            yield block

    body = io.BytesIO(block * blocks) if framing == "content-length" else generate()
    response = requests.patch(proxy.base_url + "/blobs/big", data=body, timeout=TIMEOUT)
    answer = response.json()
    assert (answer["size"], answer["sha256"]) == (blocks * MIB, digest.hexdigest())
    assert answer["chunked"] is (framing == "chunked")
    assert proxy.bytes_to_upstream == blocks * MIB
    if framing == "chunked":
        assert streamed_before_the_end == [True]


def test_the_answer_is_streamed_back_not_held(proxy, upstream):
    with requests.get(proxy.base_url + "/gated", stream=True, timeout=TIMEOUT) as response:
        first = response.raw.read(1000)  # the upstream sent only the first half so far
        upstream.gate.set()
        rest = response.raw.read()
    assert first + rest == pattern(2 * MIB)
    assert upstream.gate_opened_in_time is True


# -- faults ----------------------------------------------------------------------------------------


def test_reset_before_never_reaches_the_upstream(proxy, upstream):
    proxy.add_rule(None, r"^/echo", "reset_before")
    with pytest.raises(requests.ConnectionError, match=RESET):
        requests.get(proxy.base_url + "/echo", timeout=TIMEOUT)
    with pytest.raises(requests.ConnectionError):
        requests.post(proxy.base_url + "/echo", data=b"x" * MIB, timeout=TIMEOUT)
    assert upstream.arrivals == []
    assert proxy.requests == [("GET", "/echo", "reset_before"), ("POST", "/echo", "reset_before")]
    assert proxy.bytes_to_upstream == 0


def test_reset_after_upstream_delivers_then_leaves_the_client_in_doubt(proxy, upstream):
    proxy.add_rule("PUT", r"^/cases/", "reset_after_upstream", times=1)
    with pytest.raises(requests.ConnectionError, match=RESET):
        requests.put(proxy.base_url + "/cases/1", json={"case": 1}, timeout=TIMEOUT)
    assert upstream.arrivals == [("PUT", "/cases/1", len(b'{"case": 1}'), True)]
    again = requests.put(proxy.base_url + "/cases/1", json={"case": 1}, timeout=TIMEOUT)
    assert again.status_code == 200
    assert [seen.fault for seen in proxy.requests] == ["reset_after_upstream", None]


def test_reset_after_upstream_the_platform_holds_the_blob(platform, platform_proxy):
    token = token_for(platform, ACCOUNT)
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    auth = {"Authorization": f"Bearer {token}"}
    platform_proxy.add_rule("PATCH", r"^/api/v1/blobs/", "reset_after_upstream")
    with pytest.raises(requests.ConnectionError):
        requests.patch(api(platform_proxy) + f"/blobs/{sha}", data=data, timeout=TIMEOUT,
                       headers={**auth, **TUS, "Upload-Offset": "0", "Upload-Length": str(len(data))})
    held = requests.head(platform.api + f"/blobs/{sha}", headers=auth, timeout=TIMEOUT)
    assert held.status_code == 200
    assert held.headers["Upload-Offset"] == str(len(data))


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_reset_mid_request_passes_on_only_the_first_bytes(proxy, upstream, framing):
    proxy.add_rule("PATCH", r"/blobs/", "reset_mid_request", after_bytes=1_000_000)
    data = pattern(4 * MIB)
    body = data if framing == "content-length" else iter([data[i:i + MIB] for i in range(0, len(data), MIB)])
    with pytest.raises(requests.ConnectionError):
        requests.patch(proxy.base_url + "/blobs/x", data=body, timeout=TIMEOUT)
    assert upstream.wait_for_arrivals(1) == [("PATCH", "/blobs/x", 1_000_000, False)]
    assert proxy.bytes_to_upstream == 1_000_000


def test_stall_without_forwarding_times_the_client_out(proxy, upstream):
    proxy.add_rule("GET", "", "stall", seconds=1.5)
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        requests.get(proxy.base_url + "/echo", timeout=(2, 0.3))
    assert time.monotonic() - started < 1.2
    assert upstream.arrivals == []


def test_stall_then_forward_answers_late(proxy, upstream):
    proxy.add_rule("GET", "", "stall", seconds=0.3, forward=True)
    started = time.monotonic()
    assert requests.get(proxy.base_url + "/echo", timeout=TIMEOUT).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_stall_then_forward_reaches_the_upstream_after_the_client_gave_up(proxy, upstream):
    proxy.add_rule("POST", "", "stall", seconds=0.5, forward=True)
    with pytest.raises(requests.ReadTimeout):
        requests.post(proxy.base_url + "/cases", data=b"case", timeout=(2, 0.2))
    assert upstream.wait_for_arrivals(1) == [("POST", "/cases", 4, True)]


@pytest.mark.parametrize(("status", "headers", "body", "content_type"), [
    (503, {"Retry-After": "2"}, b"", None),
    (429, {"Retry-After": "1"}, b'{"code": "too_many"}', "application/json"),
    (500, {}, b"internal error", None),
    (502, {}, b"<html>bad gateway</html>", "text/html"),
])
def test_status_answers_without_forwarding_and_keeps_the_connection(proxy, upstream, status, headers, body,
                                                                   content_type):
    proxy.add_rule("POST", r"^/cases", "status", status=status, headers=headers, body=body,
                   content_type=content_type, times=1)
    with requests.Session() as session:
        answer = session.post(proxy.base_url + "/cases", data=b"y" * 100_000, timeout=TIMEOUT)
        assert answer.status_code == status
        assert answer.content == body
        for name, value in headers.items():
            assert answer.headers[name] == value
        if content_type:
            assert answer.headers["Content-Type"] == content_type
        assert upstream.arrivals == []
        # the refused request's body was read: the same connection carries the next request
        assert session.post(proxy.base_url + "/cases", data=b"z", timeout=TIMEOUT).json()["size"] == 1
    assert proxy.connections == 1


@pytest.mark.parametrize("path", ["/bytes/100000", "/chunked/100000"])
def test_truncate_cuts_the_body_short(proxy, upstream, path):
    proxy.add_rule("GET", "", "truncate", after_bytes=1000)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(proxy.base_url + path, timeout=TIMEOUT)
    with requests.get(proxy.base_url + path, stream=True, timeout=TIMEOUT) as response:
        assert response.status_code == 200
        if path.startswith("/bytes/"):
            assert response.headers["Content-Length"] == "100000"  # the original length, announced
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            for _ in response.iter_content(4096):
                pass
    assert proxy.bytes_to_client == 2 * 1000  # each time, exactly the first 1000 body bytes


def test_truncate_a_platform_json_answer(platform_proxy):
    platform_proxy.add_rule("GET", r"/catalogue/manifest$", "truncate", after_bytes=10)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(api(platform_proxy) + "/catalogue/manifest", timeout=TIMEOUT)


def test_captive_portal_answers_a_login_page(platform_proxy):
    platform_proxy.add_rule(None, "", "captive_portal")
    response = requests.get(api(platform_proxy) + "/ping", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "X-Platform-Version" not in response.headers
    assert response.content == CAPTIVE_PORTAL_PAGE
    assert "<form" in response.text
    assert platform_proxy.requests == [("GET", "/api/v1/ping", "captive_portal")]


def test_latency_rule_delays_matching_requests_only(proxy, upstream):
    proxy.add_rule("GET", r"^/slow", "latency", seconds=0.3)
    started = time.monotonic()
    assert requests.get(proxy.base_url + "/slow", timeout=TIMEOUT).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    requests.get(proxy.base_url + "/fast", timeout=TIMEOUT)
    assert time.monotonic() - started < 0.3
    assert len(upstream.arrivals) == 2


def test_global_latency_delays_every_request(proxy, upstream):
    proxy.latency = 0.1
    with requests.Session() as session:
        for _ in range(3):
            started = time.monotonic()
            assert session.get(proxy.base_url + "/echo", timeout=TIMEOUT).status_code == 200
            assert time.monotonic() - started >= 0.1
    assert [seen.fault for seen in proxy.requests] == [None, None, None]


def test_replace_body_keeps_status_and_platform_headers(platform_proxy):
    platform_proxy.add_rule("GET", r"/manifest$", "replace_body", body=b'{"unexpected": [1, 2]}', times=1)
    platform_proxy.add_rule("GET", r"/manifest$", "replace_body", body=b"[" * (5 * MIB),
                            content_type="application/json; charset=utf-8")
    wrong = requests.get(api(platform_proxy) + "/catalogue/manifest", timeout=TIMEOUT)
    assert wrong.status_code == 200
    assert wrong.headers["X-Platform-Version"] == CONTRACT_VERSION
    assert wrong.headers["Content-Type"] == "application/json"
    assert wrong.json() == {"unexpected": [1, 2]}
    huge = requests.get(api(platform_proxy) + "/catalogue/manifest", timeout=TIMEOUT)
    assert huge.content == b"[" * (5 * MIB)
    assert huge.headers["Content-Type"] == "application/json; charset=utf-8"


# -- which requests a rule picks ---------------------------------------------------------------


def faults_for(proxy: FaultProxy, paths: list[str]) -> list[str | None]:
    with requests.Session() as session:
        for path in paths:
            session.get(proxy.base_url + path, timeout=TIMEOUT)
    return [seen.fault for seen in proxy.requests]


def test_nth_picks_only_that_matching_request(proxy):
    proxy.add_rule("GET", r"^/a", "status", status=503, nth=2)
    assert faults_for(proxy, ["/a", "/b", "/a", "/a"]) == [None, None, "status", None]


def test_times_picks_the_next_k_matching_requests(proxy):
    rule = proxy.add_rule("GET", r"^/a", "status", status=503, times=2)
    assert faults_for(proxy, ["/b", "/a", "/a", "/a"]) == [None, "status", "status", None]
    assert (rule.matched, rule.fired) == (3, 2)


def test_probability_is_reproducible_from_the_seed(upstream):
    patterns = []
    for _ in range(2):
        with FaultProxy(upstream.url) as proxy:
            proxy.plan([Rule("status", "GET", "", status=503, probability=0.5, seed=11)])
            patterns.append(faults_for(proxy, ["/p"] * 20))
    assert patterns[0] == patterns[1]
    assert 0 < patterns[0].count("status") < 20


def test_method_and_path_must_both_match_and_the_first_rule_wins(proxy):
    proxy.plan([
        Rule("status", "POST", r"^/cases/", status=409),
        Rule("status", None, r"^/cases/", status=503),
    ])
    with requests.Session() as session:
        assert session.post(proxy.base_url + "/cases/1", timeout=TIMEOUT).status_code == 409
        assert session.get(proxy.base_url + "/cases/1", timeout=TIMEOUT).status_code == 503
        assert session.post(proxy.base_url + "/other/cases/1", timeout=TIMEOUT).status_code == 200
        proxy.clear()
        assert session.post(proxy.base_url + "/cases/1", timeout=TIMEOUT).status_code == 200
    assert proxy.count("POST") == 3
    assert proxy.count("POST", r"^/cases/") == 2


def test_an_unknown_fault_is_refused(proxy):
    with pytest.raises(ValueError, match="unknown fault"):
        proxy.add_rule("GET", "", "drop_everything")


# -- robustness ---------------------------------------------------------------------------------


def test_clients_that_misbehave_do_not_hurt_the_proxy(proxy, upstream):
    host, port = urlsplit(proxy.base_url).hostname, urlsplit(proxy.base_url).port
    with socket.create_connection((host, port)) as gone_mid_body:
        gone_mid_body.sendall(b"PATCH /blobs/x HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 10)
    with socket.create_connection((host, port)) as garbage:
        garbage.sendall(b"\x16\x03\x01 not http at all\r\n\r\n")
        garbage.settimeout(5)
        assert garbage.recv(100) == b""  # hung up on
    with requests.get(proxy.base_url + "/bytes/20000000", stream=True, timeout=TIMEOUT) as response:
        response.raw.read(1000)  # and gone with the rest unread
    assert requests.get(proxy.base_url + "/echo", timeout=TIMEOUT).status_code == 200


def test_an_unreachable_upstream_is_a_502():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{port}") as proxy:
        response = requests.post(proxy.base_url + "/x", data=b"body", timeout=TIMEOUT)
    assert response.status_code == 502


def test_stop_is_prompt_with_stalled_and_idle_connections(upstream):
    proxy = FaultProxy(upstream.url).start()
    proxy.add_rule("GET", r"^/stalled", "stall", seconds=60)
    idle = requests.Session()
    assert idle.get(proxy.base_url + "/echo", timeout=TIMEOUT).status_code == 200  # kept alive, idle
    outcome = []

    def stalled() -> None:
        try:
            requests.get(proxy.base_url + "/stalled", timeout=TIMEOUT)
            outcome.append("answered")
        except requests.RequestException as exc:
            outcome.append(type(exc))

    client = threading.Thread(target=stalled)
    client.start()
    deadline = time.monotonic() + 5
    while proxy.count(path_regex="stalled") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    proxy.stop()
    assert time.monotonic() - started < 2
    client.join(5)
    assert len(outcome) == 1 and outcome[0] != "answered", outcome
    assert issubclass(outcome[0], requests.ConnectionError), outcome
    assert [t.name for t in threading.enumerate() if t.name.startswith("fault-proxy")] == []
    idle.close()
