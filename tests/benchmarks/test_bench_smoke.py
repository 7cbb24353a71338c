"""The benchmark command runs end to end at a tiny size (figures are not judged here: speed
targets live in the benchmark's own report, not in timed tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# the delivery benchmark at a tiny size: 3 cases of 3 x 64 KiB, a 4 MiB "large" scan, 3 cases behind
# the latency proxy, 3 cases in the GUI pass
DELIVERY_TINY = ["--delivery-cases", "3", "--delivery-scan-kib", "64", "--delivery-big-mib", "4",
                 "--delivery-latency-cases", "3", "--delivery-gui-cases", "3"]


@pytest.mark.integration
def test_benchmarks_run_and_report(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks", "--sizes", "400", "--sync-sizes", "300",
                          "--queries", "20", "--list-cases", "200", *DELIVERY_TINY,
                          "--out", str(tmp_path / "bench.json")],
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
    assert report["documents"]["receipt_a4"]["ratio_to_minimal"] > 0
    delivery = report["delivery"]
    assert delivery["bulk"]["delivered"] == 3 and delivery["bulk"]["blobs_sent"] == 9
    assert delivery["bulk"]["sync_s"] > 0 and delivery["bulk"]["ratio_sync_over_baseline"] > 0
    assert delivery["held"]["blobs_sent"] == 0 and delivery["held"]["blobs_present"] == 9
    assert delivery["big_scan"]["rss_growth_mib"] >= 0 and delivery["big_scan"]["requests"] > 0
    assert delivery["latency"]["round_trips"] >= 3 * 2 and delivery["gui"]["longest_gap_ms"] > 0


def test_documents_benchmark_runs_and_reports():
    """The document benchmark in-process, two runs each: every figure present and positive."""
    from tests.benchmarks import documents_bench

    report = documents_bench.run(runs=2)
    assert report["minimal_reportlab"]["median_ms"] > 0
    for name in ("receipt_a4", "receipt_a5", "waybill_100x150", "waybill_76x130", "waybill_100x180", "notice",
                 "manifest_3_cases"):
        assert report[name]["median_ms"] > 0 and report[name]["ratio_to_minimal"] > 0, name
        assert report[name]["pdf_bytes"] > report["minimal_reportlab"]["pdf_bytes"], name
    assert report["receipt_a4"]["target_ms"] == 100 and report["waybill_100x150"]["target_ms"] == 60
