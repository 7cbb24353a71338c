"""Helpers of the intake and case-list widget tests: typing, filling the form, generated scan
files (Pillow PNG, reportlab PDF), collected cases made through the real service. The fixtures
(the real window on real stores) are in ``intake_fixtures``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QInputMethodEvent
from PySide6.QtWidgets import QApplication

from counter_client.services.intake import IntakeService

ID_OK = "11010519491231002X"
ID_BAD = "110105194912310021"  # check character should be X
AGENT_ID = "110105194912310011"
PHONE = "13800138000"
NATIONAL = "G440305000001"  # 居民身份证换领: national list, three materials
OTHER = "G440305000006"  # 就业创业证申领: national list, two materials
REFUSED = "G440305000005"  # 身份证明开具（非通办）: not collectable at the training hall (51)


def type_text(qtbot, widget, text: str) -> None:
    """Type like a clerk: ASCII through key events, Chinese as an input method commits it."""
    for ch in text:
        if ch.isascii():
            qtbot.keyClick(widget, ch)
        else:
            event = QInputMethodEvent("", [])
            event.setCommitString(ch)
            QApplication.sendEvent(widget, event)


def show(qtbot, gui, page: str = "intake") -> None:
    gui.window.show()
    gui.window.activateWindow()
    qtbot.waitExposed(gui.window)
    qtbot.waitUntil(gui.window.isActiveWindow, timeout=3000)  # shortcuts need the active window
    gui.window.show_page(page)


def add_item(qtbot, page, code: str) -> None:
    page.add_item(code)
    assert any(i.code == code for i in page.case.items) or page.items.refusal.isVisible()


def fill_applicant(page, name: str = "张三", id_number: str = ID_OK, phone: str = PHONE) -> None:
    """Through the form's own signals (as typing does)."""
    form = page.applicant
    form.name.setText(name)
    form.name.textEdited.emit(name)
    form.id_number.setText(id_number)
    form.id_number.textEdited.emit(id_number)
    form.phone.setText(phone)
    form.phone.textEdited.emit(phone)


def receive_all(page, form: str = "原件核验", pages: int = 1, skip: tuple[str, ...] = ()) -> None:
    """Mark every material received the way the clerk does it: the row's combo and page count."""
    for key, row in page.materials.rows.items():
        if any(word in row.name.text() for word in skip):
            continue
        row.form.setCurrentIndex(row.form.findData(form))
        row.pages.setValue(pages)


def png_file(path: Path, text: str = "page", size=(600, 800)) -> Path:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([40, 40, size[0] - 40, 120], fill=(31, 78, 140))
    draw.text((60, 200), text, fill="black")
    image.save(path, "PNG")
    return path


def pdf_file(path: Path, pages: int = 2) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4)
    for number in range(pages):
        c.setFont("Helvetica", 28)
        c.drawString(72, 700, f"Household register page {number + 1}")
        c.rect(72, 400, 300, 200)
        c.showPage()
    c.save()
    return path


def service_at(context, when: dt.datetime) -> IntakeService:
    """The context's intake service as it would run at ``when`` (cases of another day)."""
    s = context.intake()
    return IntakeService(s.cases, s.blobs, s.catalogue, s.terminal, now=lambda: when)


def collected_case(service, name: str = "张三", id_number: str = ID_OK, phone: str = PHONE, code: str = NATIONAL):
    from counter_client.domain.case import Party

    case = service.add_item(service.new_case(), code)
    case.applicant = Party(name=name, id_number=id_number, phone=phone)
    for m in case.materials:
        case = service.set_material(case, m.key, form="原件核验", pages=1)
    return service.confirm(case)


def ctrl_enter(qtbot, gui) -> None:
    target = QApplication.focusWidget() or gui.intake_page
    qtbot.keyClick(target, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)


def large_font_context(tmp_path):
    """A context whose settings ask for large-font mode (适老化), its catalogue filled with the
    sample guides; the caller closes it."""
    import json

    from counter_client.context import build_context
    from tests.gui.conftest import fill_catalogue, sample_guides

    data = tmp_path / "large"
    (data / "config").mkdir(parents=True)
    (data / "config" / "settings.json").write_text(
        json.dumps({"version": 1, "values": {"ui.large_font": True}}), encoding="utf-8")
    context = build_context(data)
    fill_catalogue(context, sample_guides())
    return context
