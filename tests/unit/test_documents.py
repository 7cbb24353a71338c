"""The printed documents, read back as a person or a scanner would: the text extracted from each
PDF (pypdfium2), the fonts in the PDF's own dictionaries, the barcodes rendered at 300 dpi and
decoded (zxing-cpp), the page sizes, where every character landed on the page, and the text
layer's record of every draw on the labels (nothing leaves its box)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime

import msgspec
import pypdfium2 as pdfium
import pytest
import zxingcpp
from reportlab.lib.units import mm

from counter_client.documents import barcodes, fonts, masking, samples
from counter_client.documents import text as t
from counter_client.documents.manifest import manifest_pdf
from counter_client.documents.notice import notice_pdf
from counter_client.documents.receipt import receipt_pdf, status_url
from counter_client.documents.waybill import SPECS, waybill_pdf
from counter_client.domain.receipt import format_grouped
from counter_client.domain.waybill import WaybillError
from counter_client.errors import UserError

PT_PER_MM = 72 / 25.4
A4_MM, A5_MM = (210, 297), (148, 210)
PHONE = "13812348000"
ID = "11010519491231002X"


# -- reading PDFs back ---------------------------------------------------------------------------------
def pages_text(data: bytes) -> list[str]:
    doc = pdfium.PdfDocument(data)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def text_of(data: bytes) -> str:
    return "\n".join(pages_text(data))


def flat(s: str) -> str:
    """Extracted text without whitespace (lines break where the layout wrapped them)."""
    return re.sub(r"\s+", "", s)


def drawable(s: str) -> str:
    """``s`` without the characters the font lacks: those are drawn as boxed code points whose
    extracted text depends on the reader (ActualText), so content checks leave them out."""
    return "".join(ch for ch in s if not fonts.missing_chars(ch))


def page_sizes_mm(data: bytes) -> list[tuple[float, float]]:
    doc = pdfium.PdfDocument(data)
    try:
        return [tuple(v / PT_PER_MM for v in doc[i].get_size()) for i in range(len(doc))]
    finally:
        doc.close()


def char_boxes(data: bytes):
    """(page index, page width, page height, char, (left, bottom, right, top)) of every glyph."""
    doc = pdfium.PdfDocument(data)
    try:
        for i in range(len(doc)):
            page = doc[i]
            w, h = page.get_size()
            tp = page.get_textpage()
            for k in range(tp.count_chars()):
                ch = tp.get_text_range(k, 1)
                if ch.strip():
                    yield i, w, h, ch, tp.get_charbox(k)
    finally:
        doc.close()


def decode(data: bytes, page: int = 0, dpi: int = 300) -> list[tuple[str, str]]:
    doc = pdfium.PdfDocument(data)
    try:
        image = doc[page].render(scale=dpi / 72, grayscale=True).to_pil()
    finally:
        doc.close()
    return [(r.format.name, r.text) for r in zxingcpp.read_barcodes(image)]


def fonts_of(data: bytes) -> tuple[list[str], int, int]:
    """Base font names, number of FontDescriptors and of embedded FontFile2 streams."""
    names = [m.decode() for m in re.findall(rb"/BaseFont /([^\s/]+)", data)]
    return names, len(re.findall(rb"/Type /FontDescriptor", data)), len(re.findall(rb"/FontFile2 \d+ 0 R", data))


# -- inputs ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receipt_case():
    return samples.case(agent=True)


@pytest.fixture(scope="module")
def receipt_a4(receipt_case):
    return receipt_pdf(receipt_case, samples.receipt_context(case_=receipt_case))


@pytest.fixture(scope="module")
def notice_doc():
    return notice_pdf(samples.notice_case(), samples.notice_context())


@pytest.fixture(scope="module")
def waybill_doc():
    return waybill_pdf(samples.waybill())


@pytest.fixture(scope="module")
def manifest_doc():
    return manifest_pdf(samples.manifest_cases(3), samples.manifest_context())


def all_documents():
    c2 = samples.case(items=2, helper=True, rare=True, unverified=True, mail_back=True)
    docs = {
        "receipt-a4": receipt_pdf(samples.case(agent=True), samples.receipt_context()),
        "receipt-a5": receipt_pdf(c2, samples.receipt_context(case_=c2, training=True, copy=True), size="A5"),
        "notice": notice_pdf(samples.notice_case(), samples.notice_context()),
        "manifest": manifest_pdf(samples.manifest_cases(3), samples.manifest_context()),
    }
    for size in SPECS:
        docs[f"waybill-{size}"] = waybill_pdf(samples.waybill(), size)
    return docs


# -- the receipt -----------------------------------------------------------------------------------
def test_receipt_carries_every_field(receipt_case, receipt_a4):
    text = flat(text_of(receipt_a4))
    c = receipt_case
    item = c.items[0]
    for expected in ("收件凭证", samples.HALL, "3号窗口", "陈晓燕", "2025-11-2509:30", "收件编号",
                     format_grouped(c.receipt_no), "申请人", "张晓梅", "代办人", "李建国", "代办员", "赵帮办",
                     item.name, item.department, "15个工作日", item.due_date, "居民身份证",
                     "养老保险关系转移接续申请表",
                     "原件核验", "复印件", "电子证照", "容缺后补", "2页", "结果送达", "收件地代领", "12345",
                     "投诉电话0755-26690000", "申请人（代办人）签字", "收件人员签字", "扫码查询办理进度", "第1页共1页"):
        assert flat(expected) in text, expected


def test_receipt_says_collected_never_accepted():
    for c in (samples.case(), samples.case(items=3, agent=True, helper=True, unverified=True, mail_back=True,
                                           many_materials=20)):
        for size in ("A4", "A5"):
            text = text_of(receipt_pdf(c, samples.receipt_context(case_=c, training=True, copy=True), size=size))
            assert "收件" in text
            assert "受理" not in text


def test_receipt_masks_the_id_and_phone_numbers(receipt_a4):
    text = flat(text_of(receipt_a4))
    assert "110105********002X" in text and ID not in text
    assert "511324********1233" in text and "511324198001011233" not in text
    assert "138****8000" in text and PHONE not in text


def test_receipt_barcode_and_qr_decode_exactly(receipt_case, receipt_a4):
    found = decode(receipt_a4)
    assert ("Code128", receipt_case.receipt_no) in found
    assert ("QRCode", status_url(samples.PLATFORM, receipt_case.receipt_no)) in found
    assert len(found) == 2


def test_receipt_a5_decodes_and_fits_one_page():
    c = samples.case(items=2, helper=True, rare=True, unverified=True, mail_back=True)
    data = receipt_pdf(c, samples.receipt_context(case_=c), size="A5")
    assert len(page_sizes_mm(data)) == 1
    assert ("Code128", c.receipt_no) in decode(data)


def test_receipt_with_a_check_character_x_decodes():
    number = next(samples.receipt_number(n) for n in range(1, 200) if samples.receipt_number(n).endswith("X"))
    c = msgspec.structs.replace(samples.case(), receipt_no=number)
    assert ("Code128", number) in decode(receipt_pdf(c, samples.receipt_context(case_=c)))


def test_receipt_marks_an_unverified_due_date_and_the_mailed_result():
    c = samples.case(items=2, unverified=True, mail_back=True)
    text = flat(text_of(receipt_pdf(c, samples.receipt_context(case_=c))))
    assert "未核实" in text
    assert "邮寄送达" in text and "138****8000" in text and "2单元301室" in text
    assert "事项1：深圳市南山区人力资源局投诉电话" in text and "事项2：重庆市公安局渝中区分局投诉电话" in text


def test_receipt_of_an_enterprise_shows_the_credit_code_whole():
    c = samples.case()
    applicant = msgspec.structs.replace(c.applicant, kind="enterprise", name="西充县晋城某某农民专业合作社",
                                        id_type="credit_code", id_number="N2511324MA6XXXXX1Y", contact="王经办")
    c = msgspec.structs.replace(c, applicant=applicant)
    text = flat(text_of(receipt_pdf(c, samples.receipt_context(case_=c))))
    assert "申请单位" in text and "N2511324MA6XXXXX1Y" in text and "王经办" in text


def test_receipt_without_a_status_url_has_no_qr():
    from dataclasses import replace

    c = samples.case()
    ctx = replace(samples.receipt_context(case_=c), status_url="")
    data = receipt_pdf(c, ctx)
    assert [f for f, _ in decode(data)] == ["Code128"]
    assert "扫码" not in text_of(data)


def test_long_receipt_flows_onto_numbered_pages_with_a_running_head():
    c = samples.case(items=3, long=True, agent=True, many_materials=30, mail_back=True)
    data = receipt_pdf(c, samples.receipt_context(case_=c, long=True))
    pages = pages_text(data)
    assert len(pages) >= 2
    for n, page in enumerate(pages, start=1):
        assert f"第 {n} 页 共 {len(pages)} 页" in page
        if n > 1:
            assert "收件凭证（续）" in page and format_grouped(c.receipt_no) in page
    assert "补充证明材料第30号" in flat("".join(pages))


def test_receipt_refuses_drafts_and_void_cases():
    c = samples.case()
    for state in ("draft", "void"):
        with pytest.raises(UserError):
            receipt_pdf(msgspec.structs.replace(c, state=state), samples.receipt_context(case_=c))
    with pytest.raises(UserError):
        receipt_pdf(msgspec.structs.replace(c, receipt_no=""), samples.receipt_context(case_=c))


def test_status_url():
    assert status_url("https://p.example/", "123") == "https://p.example/status/123"
    assert status_url("https://p.example/q?r={receipt}", "123") == "https://p.example/q?r=123"


# -- the notice ------------------------------------------------------------------------------------
def test_notice_lists_everything_missing_or_wrong_with_the_requirement(notice_doc):
    text = flat(text_of(notice_doc))
    for expected in ("一次性告知书", "张晓梅", "110105********002X", "第三十二条", "养老保险关系转移接续申请表",
                     "不合格：申请人未签名；缴费年限一栏未填写", "申请人本人签名；各栏填写完整，不得涂改",
                     "结婚证（夫妻投靠）", "未提交", "婚姻登记机关核发", "合法稳定住所证明", "复印件1份·必要",
                     "参保缴费凭证", "容缺后补：请于2025-12-02前补交", "共4项", "缺少2项", "需补正1项", "容缺后补1项",
                     "事项1", "事项2", "窗口不再另行要求其他材料", "0817-4321234", "12345", "申请人（代办人）签收",
                     "窗口人员签字"):
        assert flat(expected) in text, expected
    assert "近期免冠照片" not in text  # not required: not on the notice
    assert ID not in text and PHONE not in text
    assert len(page_sizes_mm(notice_doc)) == 1


def test_notice_shrinks_to_stay_on_one_page_then_flows():
    eight = notice_pdf(samples.notice_case(long=True, many=8), samples.notice_context())
    assert len(page_sizes_mm(eight)) == 1
    many = notice_pdf(samples.notice_case(many=60), samples.notice_context())
    pages = pages_text(many)
    assert len(pages) > 1
    assert all(f"共 {len(pages)} 页" in p for p in pages)
    assert "补充证明材料第60号" in flat("".join(pages))


def test_notice_with_other_problems_and_nothing_missing():
    from dataclasses import replace

    c = samples.notice_case()
    clean = msgspec.structs.replace(c, materials=[m for m in c.materials if m.form != "未收" and m.review != "不合格"
                                                  and m.form != "容缺后补"])
    with pytest.raises(UserError):
        notice_pdf(clean, samples.notice_context())
    data = notice_pdf(clean, replace(samples.notice_context(), other_problems=["代办须提供授权委托书原件"]))
    assert "代办须提供授权委托书原件" in flat(text_of(data))


# -- the waybill -------------------------------------------------------------------------------------
def test_waybill_carries_every_field(waybill_doc):
    text = flat(text_of(waybill_doc))
    w = samples.waybill()
    for expected in ("EMS", "EA123456785CN", samples.HALL, "协议客户号51132410200088", "深圳市南山区人力资源局",
                     "王收件", "广东省深圳市南山区南海大道2001号5楼", "518000", "政务服务申请材料", "0.86kg", "月结",
                     "2025-11-25", "收件编号", *[format_grouped(r) for r in w.receipt_nos], "内含原件，请勿折叠",
                     "收件人签收", "收", "寄"):
        assert flat(expected) in text, expected


def test_waybill_masks_phone_numbers(waybill_doc):
    text = flat(text_of(waybill_doc))
    assert "075*****1234" in text and "081****1234" in text
    assert "26691234" not in text and "4321234" not in text
    result = flat(text_of(waybill_pdf(samples.waybill(result_leg=True))))
    assert "138****8000" in result and PHONE not in result


@pytest.mark.parametrize("size", list(SPECS))
@pytest.mark.parametrize("number", ["EA123456785CN", "1100123456789"])
def test_waybill_barcodes_decode_to_exactly_the_tracking_number(size, number):
    data = waybill_pdf(samples.waybill(tracking_no=number), size)
    found = decode(data)
    expected = 2 if SPECS[size].stub else 1  # the two-part label repeats the number on the stub
    assert found == [("Code128", number)] * expected


@pytest.mark.parametrize("size", list(SPECS))
def test_waybill_barcode_is_scanner_grade(size, monkeypatch):
    seen = []
    real = barcodes.draw_code128

    def spy(c, x, y, value, *, module, height):
        seen.append((module, height))
        return real(c, x, y, value, module=module, height=height)

    monkeypatch.setattr(barcodes, "draw_code128", spy)
    waybill_pdf(samples.waybill(), size)
    assert seen
    for module, height in seen:
        assert module >= 0.33 * mm - 1e-9 and height >= 12 * mm - 1e-9


def test_waybill_refuses_a_number_the_carrier_never_issued():
    with pytest.raises(WaybillError):
        waybill_pdf(samples.waybill(tracking_no="EA123456784CN"))
    with pytest.raises(ValueError):
        waybill_pdf(samples.waybill(), "90x90")
    from dataclasses import replace

    with pytest.raises(ValueError):
        waybill_pdf(replace(samples.waybill(), payment="刷卡"))


@pytest.mark.parametrize("size", list(SPECS))
def test_long_names_and_addresses_never_leave_their_boxes(size):
    data_in = samples.waybill(long=True, receipts=40, training=True, copy=True)
    with t.tracing() as draws:
        data = waybill_pdf(data_in, size)
    spec = SPECS[size]
    label = t.Box(0, 0, spec.width * mm, spec.height * mm).inset(spec.margin * mm)
    assert len(draws) > 20
    for d in draws:
        assert d.box.contains(d.ink), f"{d.text!r} overflows its box: {d.ink} not in {d.box}"
        assert label.contains(d.box), f"box of {d.text!r} outside the label: {d.box}"
    # what pdfium sees agrees: every glyph on the label, inside the margins
    margin = spec.margin * mm * 0.9
    for _, w, h, ch, (left, bottom, right, top) in char_boxes(data):
        if ch in "培训" or not ch.strip():
            continue  # the diagonal watermark (checked against the page below)
        assert left >= margin and bottom >= margin and right <= w - margin and top <= h - margin, ch
    text = flat(text_of(data))
    # whole or cut visibly, never silently: the receiver's address is there in full or ends in …
    assert "创新大厦B座二十八层2808室" in text or "…" in text
    assert "等40件" in text  # 40 receipt numbers: as many as fit, then the count


def test_remarks_list_every_receipt_when_they_fit():
    data = waybill_pdf(samples.waybill(receipts=3))
    text = flat(text_of(data))
    assert "等" not in text.split("收件编号")[1].split("内含")[0]


# -- the manifest -----------------------------------------------------------------------------------
def test_manifest_lists_every_case_and_material_with_counts(manifest_doc):
    cases = samples.manifest_cases(3)
    text = flat(text_of(manifest_doc))
    for c in cases:
        assert flat(format_grouped(c.receipt_no)) in text
        for m in c.materials:
            assert flat(drawable(m.name)) in drawable(text), m.name
    for expected in ("跨省通办材料交接单", "P-20251125-0003", "邮件号EA123456785CN", samples.HALL,
                     "深圳市南山区人力资源局", "本包共3件办件", "材料16项", "随件纸质材料10项17页", "电子证照3项",
                     "容缺后补3项", "移交人（寄出窗口）签字",
                     "接收人（办理地部门）签字", "承运人（揽收）签字", "接收核对"):
        assert flat(expected) in text, expected
    assert ID not in text
    assert ("Code128", "EA123456785CN") in decode(manifest_doc)


def test_long_manifest_repeats_its_header_on_every_numbered_page():
    data = manifest_pdf(samples.manifest_cases(14, long=True), samples.manifest_context())
    pages = pages_text(data)
    assert len(pages) >= 3
    for n, page in enumerate(pages, start=1):
        for head in ("跨省通办材料交接单", "P-20251125-0003", "寄出单位", "接收单位", f"第 {n} 页 共 {len(pages)} 页"):
            assert head in page, (n, head)
        if "原件核验" in page:  # a page with table rows has the column heads
            assert "材料名称" in page and "接收核对" in page, n
        assert ("Code128", "EA123456785CN") in decode(data, page=n - 1, dpi=200)
    assert "本包共 14 件办件" in pages[-1] and "移交人" in pages[-1]


def test_manifest_lists_only_the_items_and_materials_of_its_department():
    from dataclasses import replace

    c = samples.case(items=2)  # item 0 to D0, item 1 to D1
    ctx = replace(samples.manifest_context(), department_code="D1", department="重庆市公安局渝中区分局")
    data = manifest_pdf([c], ctx)
    text = flat(text_of(data))
    assert c.items[1].name in text and c.items[0].name not in text
    assert "居民户口簿" in text  # needed by both items
    assert "养老保险关系转移接续申请表" not in text  # only item 0 needs it


def test_manifest_refuses_an_empty_parcel():
    with pytest.raises(UserError):
        manifest_pdf([], samples.manifest_context())


# -- every document -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def documents():
    return all_documents()


def test_page_sizes_are_exact(documents):
    expected = {"receipt-a4": A4_MM, "receipt-a5": A5_MM, "notice": A4_MM, "manifest": A4_MM,
                "waybill-100x150": (100, 150), "waybill-76x130": (76, 130), "waybill-100x180": (100, 180)}
    for name, data in documents.items():
        for w, h in page_sizes_mm(data):
            assert abs(w - expected[name][0]) < 0.01 and abs(h - expected[name][1]) < 0.01, (name, w, h)


def test_the_font_is_embedded_as_a_subset_and_nothing_else_is_used(documents):
    for name, data in documents.items():
        names, descriptors, embedded = fonts_of(data)
        assert names, name
        assert all(re.fullmatch(r"[A-Z]{6}\+WenQuanYiMicroHei(Mono)?-[01]", n) for n in names), (name, names)
        assert descriptors == embedded == len(names), (name, descriptors, embedded, names)
        assert b"/Subtype /Type1" not in data, name


def test_every_glyph_lies_on_the_page_clear_of_the_edge(documents):
    for name, data in documents.items():
        edge = 3 * mm if not name.startswith("waybill") else 2 * mm
        for page, w, h, ch, (left, bottom, right, top) in char_boxes(data):
            assert left >= edge and bottom >= edge and right <= w - edge and top <= h - edge, (name, page, ch)


def test_output_is_deterministic_and_dated_from_the_input(documents):
    again = all_documents()
    for name, data in documents.items():
        assert again[name] == data, name
    assert b"/CreationDate (D:20251125093112+08'00')" in documents["receipt-a4"]
    assert b"/CreationDate (D:20251125093012+08'00')" in documents["notice"]


def test_training_watermark_and_copy_stamp_only_when_asked():
    c = samples.case()
    builders = {
        "receipt": lambda tr, cp: receipt_pdf(c, samples.receipt_context(case_=c, training=tr, copy=cp)),
        "notice": lambda tr, cp: notice_pdf(samples.notice_case(), samples.notice_context(training=tr, copy=cp)),
        "waybill": lambda tr, cp: waybill_pdf(samples.waybill(training=tr, copy=cp)),
        "manifest": lambda tr, cp: manifest_pdf(samples.manifest_cases(1),
                                                samples.manifest_context(training=tr, copy=cp)),
    }
    for name, build in builders.items():
        plain = text_of(build(False, False))
        assert "TRAINING" not in plain and "培训练习专用" not in plain and "副本" not in plain, name
        training = build(True, False)
        pages = pages_text(training)
        assert all("TRAINING" in p and "培训练习专用" in p for p in pages), name
        copy = text_of(build(False, True))
        assert "副本" in copy and "TRAINING" not in copy, name


# -- rare characters ------------------------------------------------------------------------------
def test_fonts_find_the_characters_they_lack():
    assert fonts.missing_chars("王𠈌䶮张") == ["𠈌", "䶮"]
    assert fonts.runs("王𠈌䶮张") == [("王", False), ("𠈌", True), ("䶮", True), ("张", False)]
    assert fonts.runs("a\u200db\ufe00") == [("ab", False)]  # format characters draw nothing
    assert fonts.code_label("𠈌") == "U+2020C"
    assert t.width("𠈌", 10) > t.width("王", 10) > 0


def test_missing_glyphs_are_drawn_as_framed_code_points():
    """On a small page: 王 then two framed code points, each with ink at its frame and inside,
    laid out at the width the text layer measured (so wrapping and fitting count them)."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    size, x0, y0 = 20.0, 10.0, 12.0
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=(200, 40), invariant=1, initialFontName=fonts.REGULAR)
    t.draw(c, x0, y0, "王𠈌䶮", size)
    c.showPage()
    c.save()
    doc = pdfium.PdfDocument(buffer.getvalue())
    scale = 4
    image = doc[0].render(scale=scale, grayscale=True).to_pil()
    doc.close()
    spans = [t.width("王", size), t.width("𠈌", size), t.width("䶮", size)]
    assert spans[1] > 2 * size and spans[2] > 2 * size  # "U+2020C" in a box is wider than a glyph
    x = x0
    top, bottom = int((40 - y0 - 0.8 * size) * scale), int((40 - y0 + 0.15 * size) * scale)
    for i, span in enumerate(spans):
        region = image.crop((int(x * scale), top, int((x + span) * scale), bottom))
        assert region.getextrema()[0] < 60, f"span {i} has no ink"
        if i:  # a box: dark columns at both sides of the frame
            cols = [region.crop((cx, 0, cx + 1, region.height)).getextrema()[0] for cx in range(region.width)]
            dark = [cx for cx, v in enumerate(cols) if v < 100]
            assert dark[0] < region.width * 0.15 and dark[-1] > region.width * 0.85
        x += span


def test_rare_characters_stay_visible_in_every_document():
    c = samples.case(rare=True, mail_back=True)
    n = samples.notice_case()
    n = msgspec.structs.replace(n, applicant=msgspec.structs.replace(n.applicant, name="王𠈌䶮"))
    docs = {"receipt": receipt_pdf(c, samples.receipt_context(case_=c)),
            "receipt-a5": receipt_pdf(c, samples.receipt_context(case_=c), size="A5"),
            "waybill": waybill_pdf(samples.waybill(result_leg=True)),
            "manifest": manifest_pdf([c], samples.manifest_context()),
            "notice": notice_pdf(n, samples.notice_context())}
    for name, data in docs.items():
        # the framed code point of 䶮 (a BMP character, which pdfium reads from the ActualText)
        # is inked where it stands
        boxes = [b for _, _, _, ch, b in char_boxes(data) if ch == "䶮"]
        assert boxes, name
        doc = pdfium.PdfDocument(data)
        scale = 200 / 72
        image = doc[0].render(scale=scale, grayscale=True).to_pil()
        h = doc[0].get_size()[1]
        doc.close()
        left, bottom, right, top = boxes[0]
        crop = image.crop((int(left * scale), int((h - top) * scale) - 4, int(right * scale) + 1,
                           int((h - bottom) * scale) + 4))
        assert crop.getextrema()[0] < 100, name
        if shutil.which("pdftotext"):
            out = subprocess.run(["pdftotext", "-raw", "-", "-"], input=data, capture_output=True,
                                 check=True).stdout.decode()
            assert "𠈌" in out and "䶮" in out, name  # copy and search give the real characters


# -- masking and text layout ---------------------------------------------------------------------------
@pytest.mark.parametrize("number, masked", [
    ("11010519491231002X", "110105********002X"),
    ("110105 19491231 002X", "110105********002X"),
    ("610104620927690", "610104*****7690"),
    ("H12345678", "H1*****78"),
    ("1234", "****"),
    ("", ""),
])
def test_mask_id(number, masked):
    assert masking.mask_id(number) == masked


@pytest.mark.parametrize("phone, masked", [
    ("13812348000", "138****8000"),
    ("+86 138 1234 8000", "138****8000"),
    ("0817-4321234", "081****1234"),
    ("0755-26691234", "075*****1234"),
    ("12345", "*2345"),
    ("", ""),
])
def test_mask_phone(phone, masked):
    assert masking.mask_phone(phone) == masked


def test_wrap_keeps_latin_words_and_punctuation_rules():
    lines = t.wrap("申请人张晓梅，联系电话 13812348000（手机），地址：某某路 8 号。", 10, 75)
    assert all(t.width(line, 10) <= 75 + 1e-6 for line in lines)
    assert not any(line[0] in t.NO_LINE_START for line in lines)
    assert not any(line[-1] in t.NO_LINE_END for line in lines)
    assert "13812348000" in "".join(lines) and any("13812348000" in line for line in lines)
    assert "".join(lines).replace(" ", "") == "申请人张晓梅，联系电话13812348000（手机），地址：某某路8号。"


def test_fit_shrinks_then_cuts_visibly():
    fitted = t.fit("很长的地址" * 3, 100, 20, size=12, min_size=6)
    assert fitted.size < 12 and not fitted.truncated
    cut = t.fit("很长的地址" * 100, 100, 30, size=12, min_size=6)
    assert cut.truncated and cut.size == 6 and cut.lines[-1].endswith("…")
    assert all(t.width(line, 6) <= 100 + 1e-6 for line in cut.lines)


def test_a_printed_at_without_zone_is_written_without_offset():
    from counter_client.documents.pdf import pdf_date

    assert pdf_date(datetime(2025, 1, 2, 3, 4, 5)) == "D:20250102030405"
    assert pdf_date(samples.MOMENT) == "D:20251125093012+08'00'"
