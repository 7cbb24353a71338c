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
  filtering a list of 10,000 cases.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import sys
import time

from tests.benchmarks import intake_bench, search_bench, startup_bench, sync_bench


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--sizes", default="20000,200000", help="catalogue sizes for search (comma-separated)")
    parser.add_argument("--sync-sizes", default="20000", help="catalogue sizes for the sync benchmark")
    parser.add_argument("--only", default="search,sync,startup,intake")
    parser.add_argument("--queries", type=int, default=300, help="queries per kind")
    parser.add_argument("--list-cases", type=int, default=10_000, help="cases in the case-list benchmark")
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
    text = json.dumps(report, ensure_ascii=False, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
