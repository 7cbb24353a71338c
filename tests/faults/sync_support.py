"""Shared pieces of the sync fault tests: a client data directory wired to a reference platform,
cases with scans of chosen sizes, what each side holds, and the exactly-once check.

The client is the real ``counter-client``: set up in-process (settings, catalogue, login, cases)
and then run either in-process (``Context.sync_engine()``, as ``counter-client sync`` does after
its probe), as a CLI subprocess, or forked from the ``Zygote`` (a pre-imported, single-threaded
Python that forks one process per command and runs ``counter_client.__main__.main`` — or the
platform's operator CLI — in it, so fifty kills or a ``queue``/``reconcile``/``cases`` check do not
each pay the interpreter's start-up). Every process shares the test's keyring file
(``tests.keyring_memory.ProcessSharedKeyring``).

"Time passes" (``ClientDir.time_passes``) makes every waiting item due by writing the times in
the outbox, instead of sleeping through back-off delays of up to minutes; nothing else of the client's state is touched from outside.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "training" / "example-case.json"
HALL, TERMINAL = "511324102", 3
ACCOUNT, PASSWORD = "training-clerk", "peixun2026"  # the training platform's published practice account
SHARED_KEYRING = "tests.keyring_memory.ProcessSharedKeyring"
KIB, MIB = 1024, 1024 * 1024
CLI_TIMEOUT_S = 120


# -- the keyring shared by the test process and its children -----------------------------------------
@pytest.fixture
def shared_keyring(tmp_path, monkeypatch) -> Iterator[Path]:
    import keyring

    from offline_cache import keys
    from tests.keyring_memory import ProcessSharedKeyring

    before = keyring.get_keyring()  # before the variables change: the first call picks the backend from them
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("COUNTER_CLIENT_TEST_KEYRING", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", SHARED_KEYRING)
    keyring.set_keyring(ProcessSharedKeyring())
    keys.forget_cached_keys()
    yield path
    keyring.set_keyring(before)
    keys.forget_cached_keys()


# -- the client ------------------------------------------------------------------------------------
@dataclass
class ClientDir:
    """A client data directory pointed at ``url`` (the platform, or a proxy in front of it)."""

    data: Path
    url: str
    keyring_file: Path
    terminal: int = TERMINAL
    expected: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # receipt -> [(sha, size)] in order

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHON_KEYRING_BACKEND=SHARED_KEYRING, QT_QPA_PLATFORM="offscreen",
                    COUNTER_CLIENT_TEST_KEYRING=str(self.keyring_file))

    def argv(self, *args: str) -> list[str]:
        return ["--data-dir", str(self.data), "--platform", self.url, *args]

    @property
    def child_env(self) -> dict[str, str]:
        return {"COUNTER_CLIENT_TEST_KEYRING": str(self.keyring_file)}

    def cli(self, *args: str, fork: bool = True) -> subprocess.CompletedProcess:
        """``counter-client --data-dir D --platform URL ARGS``: forked from the zygote, or (``fork=False``)
        a new interpreter."""
        if fork:
            return zygote().run(self.argv(*args), self.child_env)
        return subprocess.run([sys.executable, "-m", "counter_client", *self.argv(*args)], cwd=ROOT, env=self.env,
                              capture_output=True, text=True, encoding="utf-8", timeout=CLI_TIMEOUT_S, check=False)

    def cli_json(self, *args: str, ok: tuple[int, ...] = (0,), fork: bool = True) -> dict:
        done = self.cli(*args, fork=fork)
        assert done.returncode in ok, f"{args}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stderr, done.stderr
        return json.loads(done.stdout)

    def context(self):
        from counter_client.context import build_context

        return build_context(self.data, platform_url=self.url)

    def sync(self, ctx=None, pull: bool = True):
        """One pass in this process, as ``counter-client sync`` runs it (probe, then the engine)."""
        own = ctx is None
        ctx = ctx or self.context()
        try:
            ctx.connection.probe()
            return ctx.sync_engine().run_once(pull=pull)
        finally:
            if own:
                ctx.close()

    # -- reading the outbox directly (any process may hold the file) -------------------------------------
    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.data / "cases.sqlite3", timeout=30, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn

    def outbox(self) -> dict[str, dict]:
        conn = self.connect()
        try:
            rows = conn.execute("SELECT key, kind, state, attempts, next_attempt_at, last_error, payload_hash, ack"
                                " FROM outbox ORDER BY id").fetchall()
        finally:
            conn.close()
        return {r[0]: {"kind": r[1], "state": r[2], "attempts": r[3], "next_attempt_at": r[4], "last_error": r[5],
                       "payload_hash": r[6], "ack": json.loads(r[7] or "{}")} for r in rows}

    def states(self) -> dict[str, str]:
        return {key: item["state"] for key, item in self.outbox().items()}

    def pending(self) -> int:
        return sum(1 for s in self.states().values() if s != "acked")

    def time_passes(self) -> None:
        """As if every back-off delay had run out."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE outbox SET next_attempt_at = 0 WHERE state IN ('queued', 'retry_wait', 'in_doubt')")
            conn.execute("COMMIT")
        finally:
            conn.close()

    def status_cursor(self) -> int:
        conn = self.connect()
        try:
            row = conn.execute("SELECT value FROM installation WHERE key = 'status_cursor'").fetchone()
            return int(row[0]) if row else 0
        finally:
            conn.close()

    def status_events(self) -> list[tuple[int, str, str, str]]:
        conn = self.connect()
        try:
            return conn.execute("SELECT seq, receipt_no, item_code, status FROM status_event ORDER BY seq").fetchall()
        finally:
            conn.close()


_catalogue_template: Path | None = None  # a client catalogue refreshed once, copied into later clients


def prepare_client(data: Path, url: str, keyring_file: Path, *, chunk_mb: float = 0.25,
                   read_timeout: float | None = None, terminal: int = TERMINAL, login: bool = True) -> ClientDir:
    """Settings (hall, terminal, chunk size, timeouts), the catalogue, and a login to the platform.

    The first client refreshes its catalogue from the platform; later ones start from a copy of
    it (every platform here serves the same training catalogue), which saves a refresh per test."""
    global _catalogue_template
    from counter_client.context import build_context
    from counter_client.paths import user_dirs

    catalogue = user_dirs(data).ensure().catalogue_db
    if _catalogue_template is not None and not catalogue.exists():
        copy_database(_catalogue_template, catalogue)
    ctx = build_context(data, platform_url=url)
    try:
        for key, value in (("hall.township_code", HALL), ("hall.region_code", HALL[:6]), ("hall.terminal", terminal),
                           ("sync.chunk_mb", chunk_mb), ("scans.min_free_mb", 50)):
            ctx.settings.set(key, value)
        if read_timeout is not None:
            ctx.settings.set("network.read_timeout", read_timeout)
        ctx.settings.save()
        if ctx.catalogue_store.info().guide_count == 0:
            platform = ctx.connection.client()
            try:
                ctx.catalogue.refresh(platform)
            finally:
                platform.close()
    finally:
        ctx.close()
    if _catalogue_template is None:
        _catalogue_template = Path(tempfile.mkdtemp(prefix="catalogue-template-")) / "catalogue.sqlite3"
        copy_database(catalogue, _catalogue_template)
        atexit.register(shutil.rmtree, _catalogue_template.parent, True)
    client = ClientDir(data, url, keyring_file, terminal)
    if login:
        ctx = client.context()  # again: the connection's timeouts are read when the context is built
        try:
            log_in(ctx)
        finally:
            ctx.close()
    return client


def copy_database(source: Path, target: Path) -> None:
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def log_in(ctx) -> None:
    client = ctx.connection.delivery_client()
    try:
        ctx.login_service().login(client, ACCOUNT, PASSWORD)
    finally:
        client.close()


def add_cases(client: ClientDir, n: int, rng: random.Random, sizes=None, ctx=None) -> list[str]:
    """Collect ``n`` cases through the intake service, each with 2-3 scans (one large when
    ``sizes`` is None: 1-3 MiB, the others 20-300 KiB); random content, so every blob is new."""
    own = ctx is None
    ctx = ctx or client.context()
    try:
        intake = ctx.intake()
        receipts = []
        for _ in range(n):
            pages = sizes or _default_sizes(rng)
            spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
            content = {f"page-{i}.jpg": rng.randbytes(size) for i, size in enumerate(pages)}
            spec["materials"][0]["scans"] = list(content)
            spec["materials"][0]["pages"] = len(content)
            case = intake.import_case(spec, lambda path, content=content: [content[path.name]])
            shas = [sha for m in case.materials for sha in m.scans]
            client.expected[case.receipt_no] = [(sha, intake.blobs.size(sha)) for sha in shas]
            assert [size for _, size in client.expected[case.receipt_no]] == list(pages)
            receipts.append(case.receipt_no)
        return receipts
    finally:
        if own:
            ctx.close()


def _default_sizes(rng: random.Random) -> list[int]:
    pages = [rng.randint(1 * MIB, 3 * MIB)] + [rng.randint(20 * KIB, 300 * KIB) for _ in range(rng.randint(1, 2))]
    rng.shuffle(pages)
    return pages


# -- the platform ----------------------------------------------------------------------------------
def platform_cases(platform_data: Path, terminal: int | None = None) -> dict[str, dict]:
    """What the platform's operator CLI lists (``cases --json --verify``: every blob hashed again),
    of one terminal or all."""
    done = zygote().run(["cases", "--data", str(platform_data), "--json", "--verify"], entry="platform")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    cases = json.loads(done.stdout)["cases"]
    receipts = [c["receipt_no"] for c in cases]
    assert len(receipts) == len(set(receipts)), f"a receipt number listed twice: {receipts}"
    return {c["receipt_no"]: c for c in cases if terminal is None or c["terminal"] == terminal}


def platform_db(platform_data: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{platform_data / 'platform.sqlite3'}?mode=ro", uri=True, timeout=30,
                           isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def platform_hashes(platform_data: Path, terminal: int = TERMINAL) -> dict[str, str]:
    """receipt -> payload hash of one terminal's cases, read straight from the platform's database."""
    conn = platform_db(platform_data)
    try:
        rows = conn.execute("SELECT receipt_no, payload_hash FROM cases WHERE terminal = ?", [terminal]).fetchall()
        return dict(rows)
    finally:
        conn.close()


def partial_uploads(platform_data: Path) -> dict[str, int]:
    """Blobs the platform holds in part: sha -> bytes held."""
    folder = platform_data / "blobs" / "partial"
    return {p.name: p.stat().st_size for p in folder.iterdir()} if folder.exists() else {}


# -- the check every test ends with ------------------------------------------------------------------
def assert_exactly_once(client: ClientDir, platform_data: Path) -> dict[str, dict]:
    """Every case of the client once on the platform, nothing else; every blob verified, equal to
    the local scan and intact on disk; the client's outbox acknowledged with the platform's hash;
    reconciliation clean."""
    held = platform_cases(platform_data, client.terminal)
    assert sorted(held) == sorted(client.expected), (
        f"platform holds {sorted(set(held) - set(client.expected))} extra, "
        f"misses {sorted(set(client.expected) - set(held))}")
    for receipt, scans in client.expected.items():
        attachments = held[receipt]["attachments"]
        assert [(a["verified_sha256"], a["verified_size"]) for a in attachments] == scans, receipt
        assert [(a["sha256"], a["size"]) for a in attachments] == scans, receipt
        assert all(a["on_disk"] and a["on_disk"]["ok"] for a in attachments), attachments
    queue = client.cli_json("queue", "--all", "--json")
    items = {i["key"]: i for i in queue["items"] if i["kind"] == "case"}
    assert sorted(items) == sorted(client.expected)
    assert {k: i["state"] for k, i in items.items()} == {k: "acked" for k in items}, queue["counts"]
    assert {k: i["payload_hash"] for k, i in items.items()} == {r: held[r]["payload_hash"] for r in items}
    assert queue["oldest_unsent_age_s"] is None
    ctx = client.context()
    try:  # and the local scans are what they were: their content still hashes to their names
        blobs = ctx.intake().blobs
        for scans in client.expected.values():
            for sha, size in scans:
                blobs.verify(sha)
                assert blobs.size(sha) == size
    finally:
        ctx.close()
    reconciled = client.cli_json("reconcile", "--json")
    assert reconciled["clean"] is True and reconciled["gaps"] == [], reconciled
    assert reconciled["matched"] == reconciled["acked_here"] == reconciled["held_there"] == len(client.expected)
    return held


def sync_until_done(client: ClientDir, passes: int = 8, ctx=None, cli: bool = True, fork: bool = True) -> list[dict]:
    """``counter-client sync --json`` (or, with ``cli=False``, a pass in this process) until
    nothing remains, time passing between passes."""
    reports = []
    for _ in range(passes):
        client.time_passes()
        if cli:
            report = client.cli_json("sync", "--json", ok=(0, 1), fork=fork)
        else:
            report = client.sync(ctx).as_dict()
        assert report["rejected"] == 0, report
        reports.append(report)
        if report["remaining"] == 0 and not report["stopped"]:
            return reports
    raise AssertionError(f"not delivered after {passes} passes: {reports[-1]}; outbox {client.states()}")


def is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# -- a platform behind a fault proxy, and a client with a few cases --------------------------------------
@dataclass
class Rig:
    server: object  # tests.integration.conftest.PlatformServer
    proxy: object  # tests.faults.fault_proxy.FaultProxy
    client: ClientDir
    ctx: object  # the client's Context in this process

    @property
    def platform_data(self) -> Path:
        return self.server.data_dir

    def sync(self, pull: bool = True):
        return self.client.sync(self.ctx, pull=pull)

    def held(self) -> dict[str, str]:
        return platform_hashes(self.platform_data, self.client.terminal)

    def blob_offsets(self) -> dict[str, int]:
        """sha -> bytes the platform holds of each of our blobs (length when complete)."""
        conn = platform_db(self.platform_data)
        try:
            complete = dict(conn.execute("SELECT sha256, length FROM blobs WHERE complete = 1").fetchall())
        finally:
            conn.close()
        partial = partial_uploads(self.platform_data)
        return {sha: complete.get(sha, partial.get(sha, 0)) for scans in self.client.expected.values()
                for sha, _ in scans}

    def bytes_missing(self) -> int:
        """What the client still has to upload, if it resumes every blob from the platform's offset."""
        held = self.blob_offsets()
        return sum(size - held[sha] for scans in self.client.expected.values() for sha, size in dict(scans).items())

    def feed(self, upto: int | None = None) -> list[tuple[int, str, str, str]]:
        """The platform's status feed for our hall (as the client stores it), up to seq ``upto``."""
        conn = platform_db(self.platform_data)
        try:
            rows = conn.execute("SELECT seq, receipt_no, item_code, status FROM status_events WHERE hall_code = ?"
                                " AND seq <= ? ORDER BY seq", [HALL, upto if upto is not None else 2**62]).fetchall()
        finally:
            conn.close()
        return [tuple(r) for r in rows]

    def finish(self, passes: int = 8) -> dict[str, dict]:
        """Clear every fault, sync to the end, and check exactly once."""
        self.proxy.clear()
        sync_until_done(self.client, passes, ctx=self.ctx, cli=False)
        return assert_exactly_once(self.client, self.platform_data)


@pytest.fixture(scope="module")
def shared_platform(platform_server_module):
    """One platform for the tests of a module that need no special options; each test's client
    is another terminal of the hall, so receipt numbers never meet."""
    return platform_server_module(extra_args=["--simulate-every", "0"])


@pytest.fixture
def make_rig(request, tmp_path, platform_server, shared_keyring):
    """``make_rig(cases=2, sizes=[...], read_timeout=1, platform_args=(...), own_platform=False)``:
    a platform (the module's shared one, unless options or ``own_platform`` ask for a new one, or
    ``server`` is given), a ``FaultProxy`` in front of it, and a client (in ``data``, or a new
    directory) on a terminal of its own with ``cases`` collected; with ``direct`` the client talks
    to the platform itself (the proxy is there but unused)."""
    from tests.faults.fault_proxy import FaultProxy

    made: list[Rig] = []

    def make(cases: int = 2, sizes: list[int] | None = None, read_timeout: float | None = None,
             platform_args: tuple[str, ...] = (), chunk_mb: float = 0.25, own_platform: bool = False,
             server=None, data: Path | None = None, direct: bool = False) -> Rig:
        if server is not None:
            pass
        elif platform_args or own_platform:
            server = platform_server(extra_args=["--simulate-every", "0", *platform_args])
        else:
            server = request.getfixturevalue("shared_platform")
        terminal = server.__dict__.setdefault("next_terminal", 10)  # a terminal of its own on this platform
        server.next_terminal += 1
        assert terminal < 100
        proxy = FaultProxy(server.url).start()
        try:
            client = prepare_client(data or tmp_path / f"client-{len(made)}", server.url if direct else proxy.base_url,
                                    shared_keyring,
                                    chunk_mb=chunk_mb, read_timeout=read_timeout, terminal=terminal)
            ctx = client.context()
        except BaseException:
            proxy.stop()
            raise
        rig = Rig(server, proxy, client, ctx)
        made.append(rig)
        add_cases(client, cases, random.Random(), sizes=sizes, ctx=ctx)  # new blobs, never on the platform yet
        proxy.reset_counts()
        return rig

    yield make
    for rig in made:
        rig.ctx.close()
        rig.proxy.stop()


def problem(status: int, code: str, detail: str, **extra) -> bytes:
    """An RFC 9457 problem body as the platform writes one."""
    return json.dumps({"type": f"urn:kstb-platform:problem:{code}", "title": detail, "status": status,
                       "detail": detail, "code": code, **extra}, ensure_ascii=False).encode("utf-8")


PROBLEM_JSON = "application/problem+json"


# -- forking counter-client commands from a warm interpreter ----------------------------------------------
class Zygote:
    """``python -m tests.faults.sync_support zygote``: imports the client and the platform's CLI
    once, then forks one process per command (``start``), which sets the given environment and runs
    ``counter_client.__main__.main(argv)`` (or the platform CLI's ``main``) exactly as the command
    line does, then exits; stdout goes to ``out``, stderr to ``out.err``. A test may kill that
    process by its pid: the zygote reaps it only when asked (``wait``), so a pid is never reused
    while the test may still signal it. One zygote serves the whole test session (``zygote()``)."""

    def __init__(self):
        env = dict(os.environ, PYTHON_KEYRING_BACKEND=SHARED_KEYRING, QT_QPA_PLATFORM="offscreen")
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.faults.sync_support", "zygote"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert self._line() == "ready"
        self._scratch = Path(tempfile.mkdtemp(prefix="zygote-"))
        self._runs = 0

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"zygote ended (exit {self.proc.wait()})")
        return line.strip()

    def _ask(self, line: str) -> str:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._line()

    def start(self, argv: list[str], out: Path, env: dict[str, str] | None = None, entry: str = "client") -> int:
        """Fork a process running ``argv``; its pid."""
        payload = json.dumps({"entry": entry, "argv": argv, "env": env or {}}, ensure_ascii=False)
        answer = self._ask(f"run {out} {payload}")
        assert answer.startswith("pid "), answer
        return int(answer.split()[1])

    def wait(self, pid: int) -> int:
        """The raw wait status of a process started here (reaped now)."""
        answer = self._ask(f"wait {pid}").split()
        assert answer[:2] == ["status", str(pid)], answer
        return int(answer[2])

    def run(self, argv: list[str], env: dict[str, str] | None = None, entry: str = "client",
            ) -> subprocess.CompletedProcess:
        """Run a command to its end, as ``subprocess.run`` would."""
        self._runs += 1
        out = self._scratch / f"{self._runs}.out"
        status = self.wait(self.start(argv, out, env, entry))
        err = out.with_name(out.name + ".err")
        done = subprocess.CompletedProcess(argv, os.waitstatus_to_exitcode(status),
                                           out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8"))
        out.unlink()
        err.unlink()
        return done

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        shutil.rmtree(self._scratch, ignore_errors=True)


_zygote_instance: Zygote | None = None


def zygote() -> Zygote:
    """The session's zygote (started on first use, stopped at exit)."""
    global _zygote_instance
    if _zygote_instance is None or _zygote_instance.proc.poll() is not None:
        _zygote_instance = Zygote()
        atexit.register(_zygote_instance.close)
    return _zygote_instance


PRELOAD = ("requests", "counter_client.__main__", "counter_client.cli_sync", "counter_client.context",
           "counter_client.platform_api.delivery", "counter_client.refplatform.cli", "counter_client.services.login",
           "counter_client.services.reconcile", "counter_client.services.sync")


def _zygote() -> None:
    import importlib

    for name in PRELOAD:  # everything a command uses, imported once before any fork
        importlib.import_module(name)
    client_cli = importlib.import_module("counter_client.__main__")
    platform_cli = importlib.import_module("counter_client.refplatform.cli")
    print("ready", flush=True)
    for line in sys.stdin:
        command, _, rest = line.rstrip("\n").partition(" ")
        if command == "run":
            out, _, payload = rest.partition(" ")
            pid = os.fork()
            if pid == 0:  # the child: one command
                code = 70
                try:
                    for target, name in ((1, out), (2, out + ".err")):
                        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                        os.dup2(fd, target)
                        os.close(fd)
                    job = json.loads(payload)
                    os.environ.update(job["env"])
                    code = (client_cli if job["entry"] == "client" else platform_cli).main(job["argv"])
                except SystemExit as exc:  # argparse's usage errors
                    code = exc.code if isinstance(exc.code, int) else 1
                except BaseException:  # noqa: BLE001 - reported in the output file
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            print(f"pid {pid}", flush=True)
        elif command == "wait":
            pid = int(rest)
            _, status = os.waitpid(pid, 0)
            print(f"status {pid} {status}", flush=True)


def wait_for(predicate, timeout: float, interval: float = 0.001) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


if __name__ == "__main__" and sys.argv[1:] == ["zygote"]:
    _zygote()
