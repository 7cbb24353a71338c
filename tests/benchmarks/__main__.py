"""Benchmarks: ``python3 dev.py bench [--sizes 20000,200000] [--only search,sync,startup]``.

Prints one JSON document. Every figure comes with a baseline measured in the same run on the
same data, and the ratio between them, so the numbers mean something on any machine:

- search: median and p99 latency through the service layer for Chinese substrings, pinyin
  initials and code prefixes, against a plain ``LIKE`` scan of the same catalogue;
- sync: a full catalogue refresh from the reference platform (a real server on 127.0.0.1) and a
  delta of 100 changed guides, against a raw HTTP download of the same requests' bytes; peak
  memory of the client process;
- startup: cold start to the first shown main window, against a bare PySide6 window; peak
  memory of the window process;
- intake: committing a case with three 2 MB scans, scan import against a plain file copy, and
  filtering a list of 10,000 cases;
- documents: warm generation of a receipt (A4, A5), waybill labels, a notice and a manifest,
  against a minimal one-page reportlab document with the same embedded font; PDF sizes;
- delivery: cases with encrypted scans delivered by the sync engine against a raw streamed PATCH
  of the same plaintext decrypted from the blob store; requests per case (new and already held
  blobs); memory while uploading a 300 MiB scan; time and round trips per case with 100 ms of
  added latency; the GUI thread's longest stall during a pass.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time

from tests.benchmarks import (
    delivery_bench,
    documents_bench,
    intake_bench,
    search_bench,
    startup_bench,
    sync_bench,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--sizes", default="20000,200000", help="catalogue sizes for search (comma-separated)")
    parser.add_argument("--sync-sizes", default="20000", help="catalogue sizes for the sync benchmark")
    parser.add_argument("--only", default="search,sync,startup,intake,documents,delivery")
    parser.add_argument("--queries", type=int, default=300, help="queries per kind")
    parser.add_argument("--list-cases", type=int, default=10_000, help="cases in the case-list benchmark")
    parser.add_argument("--doc-runs", type=int, default=documents_bench.RUNS, help="timed runs per document")
    parser.add_argument("--delivery-cases", type=int, default=delivery_bench.CASES,
                        help="cases (3 scans each) in the delivery benchmark")
    parser.add_argument("--delivery-scan-kib", type=int, default=delivery_bench.SCAN_BYTES // 1024,
                        help="size of each scan in the delivery benchmark")
    parser.add_argument("--delivery-big-mib", type=int, default=delivery_bench.BIG_SCAN_BYTES // 2**20,
                        help="the single large scan whose upload's memory is measured")
    parser.add_argument("--delivery-latency-cases", type=int, default=delivery_bench.LATENCY_CASES,
                        help="cases delivered through the 100 ms latency proxy")
    parser.add_argument("--delivery-gui-cases", type=int, default=delivery_bench.GUI_CASES,
                        help="cases in the pass during which the GUI thread's stalls are measured (0: skip)")
    parser.add_argument("--out", help="also write the JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    only = set(args.only.split(","))
    report: dict = {
        "machine": {"python": sys.version.split()[0], "sqlite": sqlite3.sqlite_version,
                    "cpus": os.cpu_count(), "platform": platform.platform()},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    if "search" in only:
        report["search"] = {str(n): search_bench.run(int(n), args.queries) for n in args.sizes.split(",")}
    if "sync" in only:
        report["sync"] = {str(n): sync_bench.run(int(n)) for n in args.sync_sizes.split(",")}
    if "startup" in only:
        report["startup"] = startup_bench.run()
    if "intake" in only:
        report["intake"] = intake_bench.run(args.list_cases)
    if "documents" in only:
        report["documents"] = documents_bench.run(args.doc_runs)
    if "delivery" in only:
        report["delivery"] = delivery_bench.run(
            cases=args.delivery_cases, scan_bytes=args.delivery_scan_kib * 1024,
            big_scan_bytes=args.delivery_big_mib * 2**20, latency_cases=args.delivery_latency_cases,
            gui_cases=args.delivery_gui_cases)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
