"""The benchmark command runs end to end at a tiny size (figures are not judged here: speed
targets live in the benchmark's own report, not in timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.integration
def test_benchmarks_run_and_report(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks", "--sizes", "400", "--sync-sizes", "300",
                          "--queries", "20", "--list-cases", "200", "--out", str(tmp_path / "bench.json")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    search = report["search"]["400"]
    for kind in ("chinese", "initials", "code_prefix"):
        assert search[kind]["search"]["p99_ms"] > 0 and search[kind]["like_scan"]["p99_ms"] > 0
    sync = report["sync"]["300"]
    assert sync["full_sync_s"] > 0 and sync["raw_download_s"] > 0 and sync["delta"]["changed"] == 100
    assert report["startup"]["first_window_s"] > 0 and report["startup"]["bare_pyside6_window_s"] > 0
    intake = report["intake"]
    assert intake["commit_case_3_scans_2mb"]["median_ms"] > 0 and intake["scan_import"]["ratio"] > 0
    assert set(intake["case_list"]["filter_median_ms"]) == {"today", "state", "item", "phone", "name"}
