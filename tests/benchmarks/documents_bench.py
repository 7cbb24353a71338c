"""Document figures: warm generation time of a 收件凭证 (A4 and A5), a waybill label (each size),
the 一次性告知书 and a 3-case 材料交接单, against a minimal one-page reportlab document with the
same embedded font generated in the same run (the ratio is what means something on any
machine), and the size of each PDF.

Targets (issue 5): receipt ≤ 100 ms, waybill ≤ 60 ms, warm (font registered, first document
already made once).
"""

from __future__ import annotations

import io
import statistics
import time
from typing import Callable

from reportlab.pdfgen.canvas import Canvas

from counter_client.documents import fonts, samples
from counter_client.documents.manifest import manifest_pdf
from counter_client.documents.notice import notice_pdf
from counter_client.documents.receipt import receipt_pdf
from counter_client.documents.waybill import SPECS, waybill_pdf

RUNS = 30
TARGETS_MS = {"receipt_a4": 100.0, "receipt_a5": 100.0, "waybill_100x150": 60.0, "waybill_76x130": 60.0,
              "waybill_100x180": 60.0}


def minimal_document() -> bytes:
    """One page, one line of Chinese in the same embedded font: the floor of any document."""
    fonts.register()
    buffer = io.BytesIO()
    c = Canvas(buffer, invariant=1, initialFontName=fonts.REGULAR)
    c.setFont(fonts.REGULAR, 12)
    c.drawString(72, 720, "收件凭证 跨省通办 西充县晋城街道便民服务中心 张晓梅")
    c.showPage()
    c.save()
    return buffer.getvalue()


def _time(build: Callable[[], bytes], runs: int) -> tuple[list[float], int]:
    data = build()  # warm: caches, font tables, first subset
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        data = build()
        times.append((time.perf_counter() - started) * 1000)
    return times, len(data)


def _figures(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 2),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))], 2)}


def run(runs: int = RUNS) -> dict:
    case = samples.case(agent=True)
    ctx = samples.receipt_context(case_=case)
    multi = samples.case(items=2, helper=True, rare=True, unverified=True, mail_back=True)
    multi_ctx = samples.receipt_context(case_=multi)
    waybill = samples.waybill()
    builders: dict[str, Callable[[], bytes]] = {
        "minimal_reportlab": minimal_document,
        "receipt_a4": lambda: receipt_pdf(case, ctx),
        "receipt_a5": lambda: receipt_pdf(multi, multi_ctx, size="A5"),
        **{f"waybill_{size}": (lambda size=size: waybill_pdf(waybill, size)) for size in SPECS},
        "notice": lambda: notice_pdf(samples.notice_case(), samples.notice_context()),
        "manifest_3_cases": lambda: manifest_pdf(samples.manifest_cases(3), samples.manifest_context()),
    }
    report: dict = {"runs": runs}
    baseline = None
    for name, build in builders.items():
        times, size = _time(build, runs)
        figures = _figures(times) | {"pdf_bytes": size}
        if baseline is None:
            baseline = figures["median_ms"]
        else:
            figures["ratio_to_minimal"] = round(figures["median_ms"] / max(baseline, 1e-6), 1)
        if name in TARGETS_MS:
            figures["target_ms"] = TARGETS_MS[name]
            figures["within_target"] = figures["median_ms"] <= TARGETS_MS[name]
        report[name] = figures
    return report


if __name__ == "__main__":
    import json

    print(json.dumps(run(), ensure_ascii=False, indent=2))
