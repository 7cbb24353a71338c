"""Printed documents as PDF bytes (reportlab; no Qt here — printing through Qt comes above).

One builder per document, each deterministic for the same input (reportlab's invariant mode,
the creation date taken from the input) so golden comparisons work:

- ``receipt.receipt_pdf(case, ReceiptContext, size="A4"|"A5")`` — 收件凭证
- ``notice.notice_pdf(case, NoticeContext)`` — 一次性告知书
- ``waybill.waybill_pdf(WaybillData, size="100x150"|"76x130"|"100x180")`` — waybill labels
- ``manifest.manifest_pdf(cases, ManifestContext)`` — 材料交接单

Shared pieces: ``fonts`` (the embedded WenQuanYi font and glyph coverage), ``text`` (measure,
wrap, fit, draw; missing glyphs drawn visibly), ``barcodes`` (Code 128 and QR as vectors),
``pdf`` (canvas, footer, 培训 watermark, 副本 stamp), ``flow`` (platypus pieces), ``fields``
(how case fields read on paper), ``masking`` (ID and phone masking), ``samples`` (made-up
inputs: printer test pages, training printouts, tests and benchmarks).

Imports only ``domain``, ``errors`` and ``paths`` of our code (tests/unit/test_architecture.py).
Submodules are not imported here: reportlab loads only when a document is made.
"""
