"""Catalogue sync from the reference platform against a raw download of the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.benchmarks.procmem import PeakRSS
from tests.integration.conftest import run_platform_cli, start_platform

BATCH = 500
RUNS = 3
RAW_RUNS = 3
DELTA = 100


def raw_full(url: str) -> tuple[float, int]:
    """The refresh's requests (manifest, reference data, batches) reading bytes only."""
    api = url + "/api/v1"
    with requests.Session() as s:
        started = time.perf_counter()
        body = s.get(api + "/catalogue/manifest").content
        total = len(body)
        codes = [g["code"] for g in json.loads(body)["guides"]]
        for path in ("/catalogue/departments", "/catalogue/agreements", "/regions"):
            total += len(s.get(api + path).content)
        for i in range(0, len(codes), BATCH):
            total += len(s.post(api + "/catalogue/guides/batch", json={"codes": codes[i:i + BATCH]}).content)
        return time.perf_counter() - started, total


def raw_delta(url: str, since: int) -> float:
    api = url + "/api/v1"
    with requests.Session() as s:
        started = time.perf_counter()
        changes = s.get(api + "/catalogue/changes", params={"since": since}).json()
        for path in ("/catalogue/departments", "/catalogue/agreements", "/regions"):
            s.get(api + path, headers={"If-None-Match": "*"}).content  # noqa: B018 - the read is the point
        codes = [c["code"] for c in changes["changed"]]
        for i in range(0, len(codes), BATCH):
            s.post(api + "/catalogue/guides/batch", json={"codes": codes[i:i + BATCH]}).content  # noqa: B018
        return time.perf_counter() - started


def client_refresh(data_dir: Path, url: str) -> dict:
    """``counter-client catalogue refresh --json`` in its own process; its figures and peak RSS."""
    proc = subprocess.Popen([sys.executable, "-m", "counter_client", "--data-dir", str(data_dir), "--platform", url,
                             "catalogue", "refresh", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRSS(proc) as peak:
        out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"refresh failed: {err.decode(errors='replace')[-2000:]}")
    result = json.loads(out)
    result["peak_rss_mib"] = peak.mib
    return result


def gui_refresh(data_dir: Path, url: str) -> dict:
    """The window's self-test against this platform: it refreshes the whole catalogue, searches and
    opens a guide; its wall time and the window process's peak RSS."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "counter_client", "--data-dir", str(data_dir), "--platform", url,
                             "--self-test"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    with PeakRSS(proc) as peak:
        _, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"self-test failed: {err.decode(errors='replace')[-2000:]}")
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": peak.mib}


def run(n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        catalogue = tmp / "catalogue.json"
        started = time.perf_counter()
        gen = run_platform_cli("generate-catalogue", "--guides", str(n), "--out", str(catalogue), timeout=3600)
        if gen.returncode != 0:
            raise RuntimeError(gen.stderr)
        server = start_platform(tmp / "platform", catalogue=catalogue, timeout=3600)
        setup_s = time.perf_counter() - started
        try:
            raw_full(server.url)  # warm the platform's caches for both sides alike
            raw = [raw_full(server.url) for _ in range(RAW_RUNS)]
            raw_s = statistics.median(r[0] for r in raw)
            full = []
            for i in range(RUNS):
                full.append(client_refresh(tmp / f"client-{i}", server.url))
            full_s = statistics.median(r["seconds"] for r in full)
            version = full[0]["version"]
            touched = run_platform_cli("catalogue", "touch", "--count", str(DELTA), "--data", str(tmp / "platform"))
            if touched.returncode != 0:
                raise RuntimeError(touched.stderr)
            delta_raw_s = statistics.median(raw_delta(server.url, version) for _ in range(RAW_RUNS))
            delta = client_refresh(tmp / "client-0", server.url)
            gui = gui_refresh(tmp / "gui", server.url)
        finally:
            server.stop()
        return {
            "guides": n,
            "setup_s": round(setup_s, 1),
            "bytes": raw[0][1],
            "full_sync_s": full_s,
            "raw_download_s": round(raw_s, 3),
            "ratio_full_over_raw": round(full_s / raw_s, 2),
            "full_sync_requests": full[0]["requests"],
            "client_peak_rss_mib": max(r["peak_rss_mib"] for r in full),
            "window_self_test_with_full_sync": gui,
            "delta": {"changed": delta["changed"], "mode": delta["mode"], "sync_s": delta["seconds"],
                      "raw_download_s": round(delta_raw_s, 3),
                      "ratio": round(delta["seconds"] / max(delta_raw_s, 1e-6), 2),
                      "peak_rss_mib": delta["peak_rss_mib"]},
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
