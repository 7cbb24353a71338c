"""Delivery of collected cases and their encrypted scans to the reference platform (a real server
on 127.0.0.1), by the sync engine as ``counter-client sync`` builds it (``Context.sync_engine()``).

- ``bulk``: N cases x 3 scans x 1 MiB of random bytes, stored encrypted in the blob store,
  delivered in full (passes until nothing remains), against a baseline measured in the same run:
  the same plaintext decrypted from the same blob store (``BlobStore.iter_chunks``) and streamed
  as one raw ``PATCH /blobs/{sha}`` per blob (``Upload-Length`` given) with ``requests``, to
  another platform started the same way (a fresh one: the first holds the blobs), once just
  before and once just after the engine's delivery (the mean is the baseline). The target is
  ratio <= 2. Requests per case against 2 + blobs the platform does not yet hold.
- ``platform_answer_ms``: the reference platform's time to answer an authenticated look-up with
  a JSON body and without one, on a keep-alive connection (a diagnosis: a gap of ~40 ms means the
  server socket lacks ``TCP_NODELAY`` and each JSON answer waits for the client's delayed ACK;
  the engine makes two such requests per case, see ``answer_times``).
- ``held``: the same scans again in N new cases (the platform holds every blob): requests per
  case (target 2: blob check and the case's PUT).
- ``big_scan``: one 300 MiB scan uploaded by a pass run as ``counter-client sync`` runs it, in a
  child process; the growth of its resident memory from just before the pass to the peak during
  it (target <= 50 MiB).
- ``latency``: 50 cases with one small scan each through ``tests.faults.fault_proxy.FaultProxy``
  adding 100 ms before every request: seconds and round trips per case.
- ``gui``: in a child process, an offscreen ``QApplication`` ticks a 5 ms ``QTimer`` on the GUI
  thread while a ``QThread`` runs a full pass: the longest gap between ticks (target <= 100 ms).

Every client is its own terminal of the training hall (receipt numbers never meet) and shares one
keyring file with its children (``tests.keyring_memory.ProcessSharedKeyring``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.benchmarks.procmem import PeakRSS
from tests.faults.sync_support import copy_database, log_in
from tests.integration.conftest import start_platform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "training" / "example-case.json"
KEYRING = "tests.keyring_memory.ProcessSharedKeyring"
HALL = "511324102"
ACCOUNT, PASSWORD = "training-clerk", "peixun2026"  # the training platform's practice account
KIB, MIB = 1024, 1024 * 1024
PLATFORM_ARGS = ["--simulate-every", "0"]
CHILD_TIMEOUT_S = 600

CASES = 200
SCANS_PER_CASE = 3
SCAN_BYTES = MIB
BIG_SCAN_BYTES = 300 * MIB
LATENCY_CASES = 50
LATENCY_S = 0.1
LATENCY_SCAN_BYTES = 30 * KIB
GUI_CASES = 50
TICK_MS = 5


# -- clients ----------------------------------------------------------------------------------------
class Clients:
    """Client data directories on one platform (or a proxy in front of it), logged in, each a
    terminal of its own; the catalogue is refreshed from the platform once and copied after."""

    def __init__(self, root: Path):
        self.root = root
        self.keyring_file = root / "keyring.json"
        self._template: Path | None = None
        self._terminal = 0

    @property
    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHON_KEYRING_BACKEND=KEYRING, COUNTER_CLIENT_TEST_KEYRING=str(self.keyring_file),
                    QT_QPA_PLATFORM="offscreen")

    def new(self, name: str, url: str) -> Path:
        from counter_client.context import build_context
        from counter_client.paths import user_dirs

        self._terminal += 1
        data = self.root / name
        catalogue = user_dirs(data).ensure().catalogue_db
        if self._template is not None:
            copy_database(self._template, catalogue)
        ctx = build_context(data, platform_url=url)
        try:
            for key, value in (("hall.township_code", HALL), ("hall.region_code", HALL[:6]),
                               ("hall.terminal", self._terminal), ("scans.min_free_mb", 50)):
                ctx.settings.set(key, value)
            ctx.settings.save()
            if self._template is None:
                platform = ctx.connection.client()
                try:
                    ctx.catalogue.refresh(platform)
                finally:
                    platform.close()
                self._template = self.root / "catalogue-template.sqlite3"
                copy_database(catalogue, self._template)
        finally:
            ctx.close()
        ctx = build_context(data, platform_url=url)
        try:
            log_in(ctx)
        finally:
            ctx.close()
        return data


def _context(data: Path, url: str):
    from counter_client.context import build_context

    return build_context(data, platform_url=url)


def add_cases(intake, n: int, pages: list[bytes] | None = None, *, rng: random.Random | None = None,
              sizes: tuple[int, ...] = ()) -> list[list[str]]:
    """Collect ``n`` cases through the intake service (the example case of the README), the
    scans on its first material: ``pages`` (the same in every case), or new random bytes of
    ``sizes``. Returns each case's blob hashes."""
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    out = []
    for _ in range(n):
        content = pages if pages is not None else [rng.randbytes(size) for size in sizes]
        spec["materials"][0]["scans"] = [f"page-{i}.jpg" for i in range(len(content))]
        spec["materials"][0]["pages"] = len(content)
        case = intake.import_case(spec, lambda path, pages=content: [pages[int(path.stem.split("-")[1])]])
        out.append([sha for m in case.materials for sha in m.scans])
    return out


def sync_all(ctx, max_passes: int = 100) -> dict:
    """Passes of the engine (each one like ``counter-client sync``) until nothing remains."""
    engine = ctx.sync_engine()
    totals = {"passes": 0, "requests": 0, "delivered": 0, "blobs_sent": 0, "blobs_present": 0, "bytes_sent": 0}
    started = time.perf_counter()
    for _ in range(max_passes):
        report = engine.run_once()
        totals["passes"] += 1
        for key in ("requests", "delivered", "blobs_sent", "blobs_present", "bytes_sent"):
            totals[key] += getattr(report, key)
        if report.rejected or report.stopped or report.in_doubt:
            raise RuntimeError(f"sync pass failed: {report.as_dict()}")
        if report.remaining == 0:
            break
    else:
        raise RuntimeError(f"not delivered after {max_passes} passes")
    totals["seconds"] = round(time.perf_counter() - started, 3)
    return totals


# -- the baseline -----------------------------------------------------------------------------------
class _Plain:
    """A blob's plaintext as decrypted from the store, as a streamed request body of known length."""

    def __init__(self, blobs, sha: str, size: int):
        self._blobs, self._sha, self._size = blobs, sha, size

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return self._blobs.iter_chunks(self._sha)


def raw_upload(url: str, blobs, hashes: list[str], terminal: int) -> float:
    """One streamed ``PATCH /blobs/{sha}`` per blob (the whole blob, ``Upload-Length`` given),
    the body decrypted from the blob store as it goes."""
    api = url + "/api/v1"
    sizes = {sha: blobs.size(sha) for sha in hashes}
    with requests.Session() as s:
        login = s.post(api + "/auth/login", json={"account": ACCOUNT, "password": PASSWORD,
                                                   "terminal": {"hall_code": HALL, "terminal": terminal}})
        login.raise_for_status()
        s.headers["Authorization"] = f"Bearer {login.json()['token']}"
        started = time.perf_counter()
        for sha in hashes:
            resp = s.patch(f"{api}/blobs/{sha}", data=_Plain(blobs, sha, sizes[sha]),
                           headers={"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream",
                                    "Upload-Offset": "0", "Upload-Length": str(sizes[sha])})
            if resp.status_code != 204 or resp.headers.get("Upload-Offset") != str(sizes[sha]):
                raise RuntimeError(f"raw PATCH {sha[:12]}: {resp.status_code} {resp.text[:300]}")
        return time.perf_counter() - started


def answer_times(url: str, terminal: int, n: int = 20) -> dict:
    """Median milliseconds of two equally cheap authenticated look-ups on one keep-alive
    connection: ``POST /blobs/check`` (a JSON answer: headers and body) and ``HEAD /blobs/{sha}``
    (no body). A gap of ~40 ms between them is the server writing the body as a second small
    segment without ``TCP_NODELAY`` (Nagle's algorithm waits for the client's delayed ACK)."""
    api = url + "/api/v1"
    sha = "0" * 64
    with requests.Session() as s:
        login = s.post(api + "/auth/login", json={"account": ACCOUNT, "password": PASSWORD,
                                                   "terminal": {"hall_code": HALL, "terminal": terminal}})
        login.raise_for_status()
        s.headers["Authorization"] = f"Bearer {login.json()['token']}"
        timings: dict[str, list[float]] = {"json_answer_ms": [], "no_body_answer_ms": []}
        for _ in range(n):
            started = time.perf_counter()
            s.post(api + "/blobs/check", json={"sha256": [sha]}).raise_for_status()
            timings["json_answer_ms"].append(time.perf_counter() - started)
            started = time.perf_counter()
            s.head(f"{api}/blobs/{sha}", headers={"Tus-Resumable": "1.0.0"})
            timings["no_body_answer_ms"].append(time.perf_counter() - started)
    return {k: round(statistics.median(v) * 1000, 2) for k, v in timings.items()}


def decrypt_only(blobs, hashes: list[str]) -> float:
    started = time.perf_counter()
    for sha in hashes:
        for _ in blobs.iter_chunks(sha):
            pass
    return time.perf_counter() - started


# -- children ---------------------------------------------------------------------------------------
def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _child_upload(data: str, url: str) -> None:
    """A sync pass as ``counter-client sync`` runs it; prints its figures and its memory."""
    import gc

    ctx = _context(Path(data), url)
    ctx.connection.probe()
    engine = ctx.sync_engine()
    gc.collect()
    before = _status_kib("VmRSS")
    try:  # reset the high-water mark to the current RSS (Linux >= 4.0): the peak is then the pass's own
        with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    started = time.perf_counter()
    report = engine.run_once(pull=False)
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM")
    ctx.close()
    print(json.dumps({"seconds": seconds, "rss_before_kib": before, "hwm_kib": peak, "hwm_reset": reset,
                      "report": report.as_dict()}))


def _child_gui(data: str, url: str, tick_ms: int) -> None:
    """An offscreen window's event loop ticking every ``tick_ms`` while a QThread runs a pass."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QThread, QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([])
    label = QLabel("sync")  # a shown window, as in the real application
    label.show()
    ctx = _context(Path(data), url)
    ctx.connection.probe()
    engine_holder: dict = {}

    class Pass(QThread):
        def run(self) -> None:
            try:
                engine = ctx.sync_engine()  # made on the thread that syncs, as the window does
                engine_holder["report"] = engine.run_once()
            except BaseException as exc:  # noqa: BLE001 - reported by the parent
                engine_holder["error"] = repr(exc)

    clock = QElapsedTimer()
    gaps: list[float] = []
    last = [0.0]

    def tick() -> None:
        now = clock.nsecsElapsed() / 1e6
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(tick_ms)
    timer.timeout.connect(tick)
    worker = Pass()
    worker.finished.connect(app.quit)
    clock.start()
    timer.start()
    # idle ticks first: what the loop does with nothing running beside it
    idle_until = time.monotonic() + 0.5
    while time.monotonic() < idle_until:
        app.processEvents()
        time.sleep(0.001)
    idle = list(gaps)
    gaps.clear()
    started = time.perf_counter()
    worker.start()
    app.exec()
    seconds = time.perf_counter() - started
    worker.wait()
    timer.stop()
    ctx.close()
    busy = sorted(gaps)
    print(json.dumps({
        "seconds": seconds, "ticks": len(gaps), "error": engine_holder.get("error"),
        "report": engine_holder["report"].as_dict() if "report" in engine_holder else None,
        "longest_gap_ms": round(max(busy), 1) if busy else None,
        "p99_gap_ms": round(busy[int(len(busy) * 0.99)], 1) if busy else None,
        "median_gap_ms": round(statistics.median(busy), 1) if busy else None,
        "idle_longest_gap_ms": round(max(idle), 1) if idle else None,
    }))


def _run_child(kind: str, data: Path, url: str, env: dict[str, str], *extra: str) -> tuple[dict, float]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.delivery_bench", kind, str(data), url, *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRSS(proc) as peak:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {err.decode(errors='replace')[-3000:]}")
    return json.loads(out.decode().strip().splitlines()[-1]), peak.mib


# -- the benchmark ----------------------------------------------------------------------------------
def run(cases: int = CASES, scan_bytes: int = SCAN_BYTES, big_scan_bytes: int = BIG_SCAN_BYTES,
        latency_cases: int = LATENCY_CASES, latency_s: float = LATENCY_S, gui_cases: int = GUI_CASES) -> dict:
    import keyring

    from offline_cache import keys
    from tests.keyring_memory import ProcessSharedKeyring

    root = Path(tempfile.mkdtemp(prefix="bench-delivery-"))
    saved_env = {k: os.environ.get(k) for k in ("PYTHON_KEYRING_BACKEND", "COUNTER_CLIENT_TEST_KEYRING")}
    saved_keyring = keyring.get_keyring()
    clients = Clients(root)
    os.environ.update(PYTHON_KEYRING_BACKEND=KEYRING, COUNTER_CLIENT_TEST_KEYRING=str(clients.keyring_file))
    keyring.set_keyring(ProcessSharedKeyring())
    keys.forget_cached_keys()
    servers = []
    rng = random.Random(20260)
    try:
        started = time.perf_counter()
        server = start_platform(root / "platform", extra_args=PLATFORM_ARGS)
        servers.append(server)
        baseline_servers = [start_platform(root / f"platform-baseline-{i}", extra_args=PLATFORM_ARGS) for i in (1, 2)]
        servers.extend(baseline_servers)
        result: dict = {}

        result["platform_answer_ms"] = answer_times(server.url, terminal=98)

        # 1, 2: bulk delivery of new blobs, then the same blobs again in new cases
        data = clients.new("bulk", server.url)
        ctx = _context(data, server.url)
        try:
            ctx.connection.probe()
            intake = ctx.intake()
            hashes = add_cases(intake, cases, rng=rng, sizes=(scan_bytes,) * SCANS_PER_CASE)
            setup_s = time.perf_counter() - started
            flat = [sha for case in hashes for sha in case]
            decrypt_s = decrypt_only(intake.blobs, flat)
            # the baseline just before and just after the engine's delivery (each to a fresh
            # platform), so that a change in the machine's load during the run shows in both
            raw_before = raw_upload(baseline_servers[0].url, intake.blobs, flat, terminal=99)
            bulk = sync_all(ctx)
            raw_after = raw_upload(baseline_servers[1].url, intake.blobs, flat, terminal=99)
            raw_s = (raw_before + raw_after) / 2
            # the same scans in new cases: every blob is held by the platform already
            pages = [intake.blobs.get(sha) for sha in hashes[0]]
            add_cases(intake, cases, pages)
            held = sync_all(ctx)
        finally:
            ctx.close()
        n_blobs = len(flat)
        total_bytes = n_blobs * scan_bytes
        result["bulk"] = {
            "cases": cases, "scans_per_case": SCANS_PER_CASE, "scan_mib": round(scan_bytes / MIB, 3),
            "mib": round(total_bytes / MIB, 1), "setup_s": round(setup_s, 1),
            "sync_s": bulk["seconds"], "baseline_raw_patch_plus_decrypt_s": round(raw_s, 3),
            "baseline_before_after_s": [round(raw_before, 3), round(raw_after, 3)],
            "ratio_sync_over_baseline": round(bulk["seconds"] / raw_s, 2), "target_ratio": 2.0,
            "decrypt_only_s": round(decrypt_s, 3),
            "sync_mib_per_s": round(total_bytes / MIB / bulk["seconds"], 1),
            "baseline_mib_per_s": round(total_bytes / MIB / raw_s, 1),
            "passes": bulk["passes"], "requests": bulk["requests"],
            "requests_per_case": round(bulk["requests"] / cases, 2),
            "target_requests_per_case": 2 + SCANS_PER_CASE,
            "blobs_sent": bulk["blobs_sent"], "delivered": bulk["delivered"],
        }
        result["held"] = {
            "cases": cases, "sync_s": held["seconds"], "passes": held["passes"], "requests": held["requests"],
            "ms_per_case": round(held["seconds"] * 1000 / cases, 1),
            "requests_per_case": round(held["requests"] / cases, 2), "target_requests_per_case": 2,
            "blobs_sent": held["blobs_sent"], "blobs_present": held["blobs_present"],
            "delivered": held["delivered"],
        }

        # 3: memory while uploading one big scan (a child process, as `counter-client sync`)
        data = clients.new("big", server.url)
        ctx = _context(data, server.url)
        try:
            intake = ctx.intake()
            source = root / "big-scan.bin"
            with open(source, "wb") as fh:
                left = big_scan_bytes
                while left:
                    piece = rng.randbytes(min(8 * MIB, left))
                    fh.write(piece)
                    left -= len(piece)
            ref = intake.blobs.put_file(source)
            source.unlink()
            # attach the stored blob instead of a page held in memory
            intake.add_scan = lambda case, key, page: intake.set_material(case, key, scans=[ref.sha256], pages=1)
            add_cases(intake, 1, [b"stored already"])
        finally:
            ctx.close()
        child, peak_mib = _run_child("upload-child", data, server.url, clients.env)
        before_mib = child["rss_before_kib"] / 1024
        growth = (child["hwm_kib"] / 1024 - before_mib) if child["hwm_reset"] else peak_mib - before_mib
        if child["report"]["blobs_sent"] != 1 or child["report"]["remaining"] != 0:
            raise RuntimeError(f"big scan not delivered: {child['report']}")
        result["big_scan"] = {
            "mib": round(big_scan_bytes / MIB, 1), "upload_s": round(child["seconds"], 2),
            "mib_per_s": round(big_scan_bytes / MIB / child["seconds"], 1),
            "requests": child["report"]["requests"],
            "rss_before_mib": round(before_mib, 1), "rss_growth_mib": round(growth, 1), "target_growth_mib": 50,
            "process_peak_rss_mib": peak_mib,
        }

        # 4: 100 ms added to every request by the fault proxy
        from tests.faults.fault_proxy import FaultProxy

        with FaultProxy(server.url) as proxy:
            data = clients.new("latency", proxy.base_url)
            ctx = _context(data, proxy.base_url)
            try:
                ctx.connection.probe()
                add_cases(ctx.intake(), latency_cases, rng=rng, sizes=(LATENCY_SCAN_BYTES,))
                proxy.latency = latency_s
                proxy.reset_counts()
                slow = sync_all(ctx)
                round_trips = len(proxy.requests)
            finally:
                ctx.close()
        result["latency"] = {
            "cases": latency_cases, "scans_per_case": 1, "latency_ms": round(latency_s * 1000),
            "sync_s": slow["seconds"], "s_per_case": round(slow["seconds"] / latency_cases, 3),
            "round_trips": round_trips, "round_trips_per_case": round(round_trips / latency_cases, 2),
            "client_requests": slow["requests"], "passes": slow["passes"],
            "floor_s": round(round_trips * latency_s, 2),
        }

        # 5: the GUI thread's longest stall while a QThread runs a full pass
        if gui_cases:
            data = clients.new("gui", server.url)
            ctx = _context(data, server.url)
            try:
                add_cases(ctx.intake(), gui_cases, rng=rng, sizes=(scan_bytes,) * SCANS_PER_CASE)
            finally:
                ctx.close()
            gui, _ = _run_child("gui-child", data, server.url, clients.env, str(TICK_MS))
            if gui["error"] or gui["report"]["remaining"]:
                raise RuntimeError(f"gui pass failed: {gui}")
            result["gui"] = {
                "cases": gui_cases, "scans_per_case": SCANS_PER_CASE, "tick_ms": TICK_MS,
                "pass_s": round(gui["seconds"], 2), "ticks": gui["ticks"],
                "longest_gap_ms": gui["longest_gap_ms"], "p99_gap_ms": gui["p99_gap_ms"],
                "median_gap_ms": gui["median_gap_ms"], "idle_longest_gap_ms": gui["idle_longest_gap_ms"],
                "target_longest_gap_ms": 100,
            }
        result["total_s"] = round(time.perf_counter() - started, 1)
        return result
    finally:
        for server in servers:
            server.stop()
        keyring.set_keyring(saved_keyring)
        keys.forget_cached_keys()
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["upload-child"]:
        _child_upload(sys.argv[2], sys.argv[3])
    elif sys.argv[1:2] == ["gui-child"]:
        _child_gui(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        print(json.dumps(run(), indent=2))
