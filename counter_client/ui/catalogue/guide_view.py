"""The guide pane: title, copyable code, whether this window may collect, links to the sections, and the
guide itself in the sections of ``services.guide_text`` (the national element order).

Guide text comes from the platform and is shown as plain text, always: every value is escaped
before it is put into the document, and the browser (``SafeTextBrowser``) never loads a
resource and never follows a link, so ``<img src="file:///...">`` or ``<a href=...>`` in a guide
shows up as those characters and touches nothing.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QUrl, Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication, QTextDocument
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.catalogue import Department, Guide
from counter_client.services.guide_text import Section, guide_sections

log = logging.getLogger(__name__)

SECTION_ANCHOR = "s{index}"
LABEL_COLUMN_EM = 8.5
# The material table. guide_text gives nine columns (MATERIAL_HEADERS); on screen 材料类型, 份数
# and 材料形式 share one column, so that the table stays readable in a half-screen pane and in
# large-font mode. Every element is still shown.
MATERIAL_COLUMNS = ("序号", "材料名称", "材料要求", "必要性", "来源渠道", "受理标准", "填报须知")
MATERIAL_WIDTHS = (5, 19, 15, 8, 15, 19, 19)  # percent


@dataclass(frozen=True)
class GuideDocument:
    """Everything the pane shows for one guide (read on the task runner)."""

    guide: Guide
    department: Department | None
    region_name: str
    collectable: list[str] = field(default_factory=list)

    def sections(self) -> list[Section]:
        return guide_sections(self.guide, self.department, self.region_name, self.collectable)


def _text(value: str) -> str:
    """Escape for the document: markup characters become text, line breaks stay line breaks."""
    escaped = html.escape(value or "", quote=True)
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


def material_cells(row: tuple[str, ...]) -> tuple[str, ...]:
    """One row of guide_text's material table (nine cells) as the seven cells shown."""
    number, name, kind, copies, form, necessity, source, standard, notes = row
    if copies in ("", "—"):
        requirement = kind
    elif copies.startswith(kind):  # 原件1份, 复印件2份: the count says the type
        requirement = copies
    else:  # 原件或复印件 (原件1份，复印件1份)
        requirement = f"{kind}（{copies}）"
    return (number, name, f"{requirement}\n{form}", necessity, source, standard, notes)


def guide_html(sections: list[Section], body_px: int) -> str:
    """The guide as a rich-text document whose every value is escaped (see module docstring)."""
    heading_px = body_px + 2
    parts = [
        "<html><body>",
    ]
    for index, section in enumerate(sections):
        anchor = SECTION_ANCHOR.format(index=index)
        parts.append(
            f'<table width="100%" cellspacing="0" cellpadding="5" style="margin-top: {8 if index else 0}px;">'
            f'<tr><td bgcolor="#e8eef7" style="font-size: {heading_px}px; font-weight: bold; color: #1f4e8c;">'
            f'<a name="{anchor}"></a>{_text(section.title)}</td></tr></table>')
        if section.rows:
            parts.append('<table width="100%" cellspacing="0" cellpadding="4">')
            for label, value in section.rows:
                parts.append(
                    f'<tr><td width="{round(LABEL_COLUMN_EM * body_px)}" valign="top" style="color: #5b6675;">'
                    f"{_text(label)}</td><td valign=\"top\">{_text(value)}</td></tr>")
            parts.append("</table>")
        if section.text:
            parts.append(f'<p style="margin: 6px 5px;">{_text(section.text)}</p>')
        if section.table or section.title == "申请材料":
            if not section.table:
                parts.append(f'<p style="margin: 6px 5px;">{_text("（本事项未列出申请材料）")}</p>')
            else:
                parts.append('<table width="100%" border="1" cellspacing="0" cellpadding="4" '
                             'style="border-color: #c9d3e3; border-style: solid; margin-top: 4px;">')
                parts.append("<tr>" + "".join(
                    f'<th bgcolor="#f1f4f8" align="left" valign="top" width="{width}%" style="white-space: nowrap;">'
                    f'{_text(header)}</th>'
                    for header, width in zip(MATERIAL_COLUMNS, MATERIAL_WIDTHS)) + "</tr>")
                for row in section.table:
                    parts.append("<tr>" + "".join(
                        f'<td valign="top">{_text(cell)}</td>' for cell in material_cells(row)) + "</tr>")
                parts.append("</table>")
    parts.append("</body></html>")
    return "".join(parts)


class SafeTextBrowser(QTextBrowser):
    """A read-only rich-text view that loads no resource and opens no link, ever.

    ``resource_requests`` records what the document asked for (a well-formed guide asks for
    nothing); the answer is always "nothing".
    """

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.setUndoRedoEnabled(False)
        self.setReadOnly(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                     | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.resource_requests: list[str] = []

    def loadResource(self, kind: int, url: QUrl):  # noqa: N802 - Qt override
        self.resource_requests.append(url.toString())
        log.warning("guide view refused to load a resource (%s)", url.scheme() or "relative")
        return None

    def doSetSource(self, name: QUrl, type=QTextDocument.ResourceType.UnknownResource) -> None:  # noqa: N802, A002
        log.warning("guide view refused to open a source")

    def setSource(self, name: QUrl, type=QTextDocument.ResourceType.UnknownResource) -> None:  # noqa: N802, A002
        log.warning("guide view refused to open a source")


class GuideView(QWidget):
    """Title, code, collectability and the guide's sections.

    Signals:
        code_was_copied(str code): the 业务办理项编码 went to the clipboard.
        intake_was_requested(str code): 开始收件 with this item.
    """

    code_was_copied = Signal(str)
    intake_was_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.document: GuideDocument | None = None
        self.section_titles: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)

        header = QFrame(self)
        header.setObjectName("GuideHeader")
        head = QVBoxLayout(header)
        head.setContentsMargins(4, 2, 4, 8)
        head.setSpacing(4)
        self.title = QLabel(header)
        self.title.setObjectName("GuideTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.title)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.code_label = QLabel(header)
        self.code_label.setObjectName("GuideCode")
        self.code_label.setTextFormat(Qt.TextFormat.PlainText)
        self.code_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        row.addWidget(self.code_label)
        self.copy_button = QPushButton(self.tr("复制编码"), header)
        self.copy_button.setToolTip(self.tr("复制业务办理项编码"))
        self.copy_button.clicked.connect(self.copy_code)
        row.addWidget(self.copy_button)
        row.addStretch(1)
        self.start_button = QPushButton(self.tr("开始收件（Ctrl+N）"), header)
        self.start_button.setObjectName("Primary")
        self.start_button.setToolTip(self.tr("以这个事项开始收件"))
        self.start_button.clicked.connect(self._start_intake)
        row.addWidget(self.start_button)
        head.addLayout(row)
        self.collectable_label = QLabel(header)  # why this window may collect, or that it may not
        self.collectable_label.setObjectName("Collectable")
        self.collectable_label.setTextFormat(Qt.TextFormat.PlainText)
        self.collectable_label.setWordWrap(True)
        head.addWidget(self.collectable_label)
        # links to the sections: our own constant titles, internal anchors only; wraps when narrow
        self.section_links = QLabel(header)
        self.section_links.setObjectName("SectionLinks")
        self.section_links.setTextFormat(Qt.TextFormat.RichText)
        self.section_links.setWordWrap(True)
        self.section_links.setOpenExternalLinks(False)
        self.section_links.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.section_links.linkActivated.connect(self._link_activated)
        head.addWidget(self.section_links)
        layout.addWidget(header)

        self.browser = SafeTextBrowser(self)
        self.browser.setObjectName("GuideBrowser")
        self.browser.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.browser.customContextMenuRequested.connect(self._context_menu)
        layout.addWidget(self.browser, 1)

        self.placeholder = QLabel(self.tr("在左侧选择一个事项，查看办事指南。\n\n"
                                          "↑↓ 选择　Enter 打开　Esc 回到搜索框　PageDown 翻阅指南"), self)
        self.placeholder.setObjectName("EmptyState")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.placeholder, 1)
        self._set_empty(True)

    # -- content ---------------------------------------------------------------------------------
    def show_guide(self, document: GuideDocument) -> None:
        self.document = document
        g = document.guide
        self.title.setText(g.name)
        self.code_label.setText(self.tr("业务办理项编码：%1").replace("%1", g.code))
        self._set_collectable(document.collectable)
        sections = document.sections()
        self._set_links([s.title for s in sections])
        px = self.font().pixelSize()
        if px <= 0:
            px = round(self.font().pointSizeF() * 96 / 72)
        self.browser.document().setDefaultFont(self.font())
        self.browser.setHtml(guide_html(sections, px))
        self.browser.verticalScrollBar().setValue(0)
        self._set_empty(False)

    def show_message(self, text: str) -> None:
        """Replace the guide with a sentence (the guide was removed, could not be read…)."""
        self.document = None
        self.placeholder.setText(text)
        self._set_empty(True)

    def clear(self) -> None:
        self.document = None
        self._set_empty(True)

    @property
    def code(self) -> str:
        return self.document.guide.code if self.document else ""

    def copy_code(self) -> None:
        if self.document is None:
            return
        QGuiApplication.clipboard().setText(self.document.guide.code)
        self.code_was_copied.emit(self.document.guide.code)

    def _start_intake(self) -> None:
        if self.document is not None:
            self.intake_was_requested.emit(self.document.guide.code)

    def scroll_page(self, pages: int) -> None:
        bar = self.browser.verticalScrollBar()
        bar.setValue(bar.value() + pages * bar.pageStep())

    def scroll_to_section(self, index: int) -> None:
        self.browser.scrollToAnchor(SECTION_ANCHOR.format(index=index))

    # -- internals -------------------------------------------------------------------------------
    def _set_empty(self, empty: bool) -> None:
        for w in (self.findChild(QFrame, "GuideHeader"), self.browser):
            w.setVisible(not empty)
        self.placeholder.setVisible(empty)

    def _set_collectable(self, reasons: list[str]) -> None:
        if reasons:
            self.collectable_label.setText(self.tr("✓ 本窗口可收件：%1").replace("%1", "；".join(reasons)))
            self.collectable_label.setProperty("kind", "ok")
        else:
            self.collectable_label.setText(self.tr("本窗口不在此事项的通办范围内，仅可提供咨询"))
            self.collectable_label.setProperty("kind", "none")
        self.collectable_label.style().unpolish(self.collectable_label)
        self.collectable_label.style().polish(self.collectable_label)

    def _set_links(self, titles: list[str]) -> None:
        self.section_titles = list(titles)
        links = ' <span style="color: #c0c8d2;">|</span> '.join(
            f'<a href="#{SECTION_ANCHOR.format(index=i)}" style="color: #1f4e8c; text-decoration: none; '
            f'white-space: nowrap;">{html.escape(t)}</a>' for i, t in enumerate(titles))
        self.section_links.setText(f"<span style=\"color: #5b6675;\">{html.escape(self.tr('跳到：'))}</span> {links}")

    def _link_activated(self, link: str) -> None:
        prefix = "#" + SECTION_ANCHOR.format(index="")
        if link.startswith(prefix) and link[len(prefix):].isdigit():
            self.scroll_to_section(int(link[len(prefix):]))

    def _context_menu(self, pos) -> None:
        menu: QMenu = self.browser.createStandardContextMenu(pos)
        for action in menu.actions():  # the standard menu offers "copy link location": not here
            if "Link" in action.objectName() or "link" in action.text().lower():
                menu.removeAction(action)
        menu.addSeparator()
        copy_code = QAction(self.tr("复制事项编码"), menu)
        copy_code.triggered.connect(self.copy_code)
        copy_code.setEnabled(self.document is not None)
        menu.addAction(copy_code)
        menu.exec(self.browser.viewport().mapToGlobal(pos))
        menu.deleteLater()
