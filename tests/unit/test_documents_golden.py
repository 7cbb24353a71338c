"""Golden renderings: each document, rendered small (pypdfium2, greyscale), is compared with a PNG
under tests/fixtures/documents/ so that layout regressions show, while anti-aliasing differences
between renderer versions do not.

Two measures, both on 0–255 grey levels: the mean absolute difference over the whole page (a
change anywhere), and the worst mean difference of any 24×24-pixel tile (a change somewhere: a
moved block, a lost line, an overlap).

After an intended layout change, look at the new renderings, then regenerate the goldens::

    COUNTER_CLIENT_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_documents_golden.py

On a mismatch the actual rendering and a difference image are written next to the test's
tmp_path, and the assertion message names them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageChops, ImageStat

from counter_client.documents import samples
from counter_client.documents.manifest import manifest_pdf
from counter_client.documents.notice import notice_pdf
from counter_client.documents.receipt import receipt_pdf
from counter_client.documents.waybill import waybill_pdf

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
UPDATE = os.environ.get("COUNTER_CLIENT_UPDATE_GOLDEN") == "1"
A4_DPI = 45
LABEL_DPI = 90
MAX_MEAN = 1.0
MAX_TILE = 12.0
TILE = 24


def _receipt_a4() -> bytes:
    c = samples.case(agent=True)
    return receipt_pdf(c, samples.receipt_context(case_=c))


def _receipt_a5() -> bytes:
    c = samples.case(items=2, helper=True, rare=True, unverified=True, mail_back=True)
    return receipt_pdf(c, samples.receipt_context(case_=c, training=True, copy=True), size="A5")


DOCUMENTS = {
    "receipt-a4": (_receipt_a4, A4_DPI),
    "receipt-a5-training-copy": (_receipt_a5, A4_DPI),
    "notice": (lambda: notice_pdf(samples.notice_case(), samples.notice_context()), A4_DPI),
    "manifest": (lambda: manifest_pdf(samples.manifest_cases(3), samples.manifest_context()), A4_DPI),
    "waybill-100x150": (lambda: waybill_pdf(samples.waybill(), "100x150"), LABEL_DPI),
    "waybill-76x130-long": (lambda: waybill_pdf(samples.waybill(long=True, receipts=12, copy=True), "76x130"),
                            LABEL_DPI),
    "waybill-100x180-training": (lambda: waybill_pdf(samples.waybill(training=True), "100x180"), LABEL_DPI),
}


def render(data: bytes, dpi: int) -> list[Image.Image]:
    doc = pdfium.PdfDocument(data)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def compare(actual: Image.Image, golden: Image.Image) -> tuple[float, float]:
    """(mean absolute difference, worst tile mean difference)."""
    diff = ImageChops.difference(actual, golden)
    mean = ImageStat.Stat(diff).mean[0]
    worst = 0.0
    for top in range(0, diff.height, TILE):
        for left in range(0, diff.width, TILE):
            tile = diff.crop((left, top, min(left + TILE, diff.width), min(top + TILE, diff.height)))
            worst = max(worst, ImageStat.Stat(tile).mean[0])
    return mean, worst


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_rendering_matches_the_golden(name, tmp_path):
    build, dpi = DOCUMENTS[name]
    pages = render(build(), dpi)
    for number, actual in enumerate(pages, start=1):
        path = GOLDEN_DIR / f"{name}-p{number}.png"
        if UPDATE:
            GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
            actual.save(path, optimize=True)
            continue
        assert path.exists(), f"no golden {path.name}: check the layout, then run with COUNTER_CLIENT_UPDATE_GOLDEN=1"
        golden = Image.open(path).convert("L")
        assert actual.size == golden.size, f"{path.name}: size {actual.size} != golden {golden.size}"
        mean, worst = compare(actual, golden)
        if mean > MAX_MEAN or worst > MAX_TILE:
            actual.save(tmp_path / path.name)
            ImageChops.invert(ImageChops.difference(actual, golden)).save(tmp_path / f"diff-{path.name}")
            pytest.fail(f"{path.name} differs from its golden: mean {mean:.2f} (max {MAX_MEAN}), worst tile "
                        f"{worst:.1f} (max {MAX_TILE}); see {tmp_path}")
    if not UPDATE:
        extra = sorted(p.name for p in GOLDEN_DIR.glob(f"{name}-p*.png") if int(p.stem.rsplit("-p", 1)[1]) > len(pages))
        assert not extra, f"the golden has more pages than the document now: {extra}"


def test_the_comparison_catches_a_moved_block():
    """A layout regression (a block shifted by a few millimetres) fails; the same page passes."""
    page = render(_receipt_a4(), A4_DPI)[0]
    assert compare(page, page) == (0.0, 0.0)
    moved = page.copy()
    region = page.crop((40, 150, 360, 260))
    moved.paste(255, (40, 150, 360, 260))
    moved.paste(region, (40, 156))
    _, worst = compare(moved, page)
    assert worst > MAX_TILE
