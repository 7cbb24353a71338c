"""Running the platform: bind first, announce the real address, then serve until told to stop.

The socket is bound before anything is printed, so the first stdout line
``listening on http://HOST:PORT`` carries the real port even for ``--port 0``, and a client that
connects right after reading it is queued by the kernel until uvicorn accepts. Nothing else is
written to stdout (logs go to stderr), so a parent that reads only the first line never blocks
the server on a full pipe.

Stopping: SIGTERM / SIGINT (uvicorn's graceful shutdown; the process then exits 0), or with
``parent_watch`` the end of stdin: the process that spawned the server holds the pipe, and when it
dies the pipe closes, on every OS, so the server never outlives it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import uvicorn

from counter_client.refplatform.app import create_app
from counter_client.refplatform.config import PlatformConfig

log = logging.getLogger(__name__)

GRACEFUL_SHUTDOWN_S = 5
STDIN_READ_BYTES = 4096


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    # asyncio sets TCP_NODELAY only on sockets whose protocol field says TCP, which create_server's
    # does not; without it a JSON answer's body waits ~40 ms for the client's delayed ACK
    # (uvicorn writes headers and body separately). Accepted connections inherit it on Linux.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def announce(sock: socket.socket, host: str) -> str:
    port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}"
    sys.stdout.write(f"listening on {url}\n")
    sys.stdout.flush()
    return url


def _watch_parent(server: uvicorn.Server) -> None:
    # os.read on the descriptor, not sys.stdin: a daemon thread blocked inside the buffered
    # reader would hold its lock at interpreter exit and abort the process.
    try:
        fd = sys.stdin.fileno()
        while os.read(fd, STDIN_READ_BYTES):
            pass
    except (OSError, ValueError, AttributeError):
        pass
    log.info("stdin closed (parent gone): shutting down")
    server.should_exit = True


def serve(data_dir: Path, host: str, port: int, *, parent_watch: bool = False, training: Path | None = None,
          access_log: bool = False, config: PlatformConfig | None = None) -> int:
    """Serve until stopped; the data directory must already be loaded (``bootstrap.ensure_loaded``)."""
    app = create_app(data_dir, training=training, config=config)
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=access_log,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        server_header=False,
    )
    server = uvicorn.Server(config)
    stop_signals: list[int] = []

    def remember(signum: int, frame: object) -> None:
        # uvicorn handles the signal while serving and re-raises it after a graceful shutdown;
        # this handler then receives it, so the process ends normally with status 0.
        stop_signals.append(signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, remember)
    url = announce(sock, host)
    log.info("serving %s on %s", data_dir, url)
    if parent_watch:
        threading.Thread(target=_watch_parent, args=(server,), name="parent-watch", daemon=True).start()
    try:
        if not stop_signals:
            server.run(sockets=[sock])
    finally:
        sock.close()
    log.info("stopped%s", f" by signal {stop_signals[0]}" if stop_signals else "")
    return 0 if server.started or stop_signals else 1
