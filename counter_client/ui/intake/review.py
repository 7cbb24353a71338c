"""The 核对 step (what the receipt will say, the 一次性告知, what still stops the case) and the
panel that shows a collected case's receipt number.

Everything typed at the counter is escaped before it goes into the rich text: a name holding
``<b>`` shows those characters.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.case import Case, MaterialEntry, Problem
from counter_client.domain.identity import TYPE_LABELS
from counter_client.domain.receipt import format_grouped
from counter_client.ui.intake.logic import (
    STEP_TITLES,
    DraftCheck,
    mask_id,
    mask_phone,
    step_of,
)
from counter_client.ui.widgets import plain_label, term

STEP_LINK = "step:"


def _tr(text: str) -> str:
    return QCoreApplication.translate("IntakeReview", text)


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


def _row(label: str, value: str) -> str:
    return (f'<tr><td style="color:#5b6675; padding:3px 14px 3px 0; white-space:nowrap;" valign="top">{_e(label)}</td>'
            f'<td style="padding:3px 0;">{value}</td></tr>')


def _party(case: Case, who: str) -> str:
    p = case.applicant if who == "applicant" else case.agent
    if p is None:
        return ""
    id_type = "credit_code" if p.kind == "enterprise" else p.id_type
    parts = [f"<b>{_e(p.name) or _e(_tr('（未填）'))}</b>"]
    if p.id_number:
        parts.append(f"{_e(term(TYPE_LABELS.get(id_type, '')))} {_e(mask_id(p.id_number))}")
    if p.kind == "enterprise" and p.contact:
        parts.append(_e(_tr("经办人 %1").replace("%1", p.contact)))
    if p.phone:
        parts.append(_e(_tr("电话 %1").replace("%1", mask_phone(p.phone))))
    if who == "agent" and p.relation:
        parts.append(_e(_tr("与申请人关系：%1").replace("%1", p.relation)))
    return "　".join(parts)


def receipt_html(case: Case, hall: dict[str, str], check: DraftCheck | None, *, collected: bool = False) -> str:
    """The receipt's content as the clerk checks it (and, once collected, as it is)."""
    check = check or DraftCheck(case.id)
    rows = [_row(_tr("收件点"), _e(f"{hall.get('hall.name', '')}　{hall.get('hall.window', '')}".strip())),
            _row(_tr("窗口人员"), _e(hall.get("clerk.name", "") or _tr("窗口人员"))),
            _row(_tr("办理方式"), _e(term(case.mode))
                 + (_e(_tr("　网上申办编号 %1").replace("%1", case.helper.platform_app_no))
                    if case.mode == "全程网办帮办" and case.helper.platform_app_no else "")),
            _row(_tr("申请人"), _party(case, "applicant"))]
    if collected and case.collected_at:
        rows.insert(2, _row(_tr("收件时间"), _e(case.collected_at[:16].replace("T", " "))))
    if case.agent is not None:
        rows.append(_row(_tr("代办人"), _party(case, "agent")))
    if case.helper.mode != "无":
        rows.append(_row(term(case.helper.mode) + _tr("员"), _e(case.helper.name) or _e(_tr("（未填）"))))
    items = []
    for number, item in enumerate(case.items, start=1):
        region = check.region_names.get(item.code) or item.handling_region
        if item.promised_days is not None:
            limit = _tr("承诺 %1 个%2").replace("%1", str(item.promised_days)).replace("%2", item.promised_unit)
            if collected and item.due_date:
                due, verified = item.due_date, item.due_verified
                limit += _tr("，%1 前办结").replace("%1", due)
            elif item.code in check.due:
                due, verified = check.due[item.code]
                limit += _tr("，约 %1 办结").replace("%1", due)
            else:
                verified = True
            if not verified:
                limit += _tr("（节假日未核实）")
        else:
            limit = _tr("未规定承诺时限")
        items.append(f"{number}. <b>{_e(item.name)}</b><br>"
                     f'<span style="color:#5b6675;">{_e(_tr("办理地"))}：{_e(region)} · {_e(item.department)}'
                     f" · {_e(limit)}</span>")
    rows.append(_row(_tr("事项"), "<br>".join(items) or _e(_tr("（未选择）"))))
    mats = []
    for m in case.materials:
        if m.form == "未收" and m.necessity == 2:
            continue
        how = term(m.form)
        if m.form == "电子证照" and m.elicence_ref:
            how += _tr("（%1）").replace("%1", m.elicence_ref)
        pages = _tr("，%1 页").replace("%1", str(m.pages)) if m.pages else ""
        scans = _tr("，已扫描 %1 页").replace("%1", str(len(m.scans))) if m.scans else ""
        colour = "#c62828" if m.form == "未收" else "#1f2933"
        mats.append(f'· {_e(m.name)} — <span style="color:{colour};">{_e(how)}</span>{_e(pages + scans)}')
    rows.append(_row(_tr("材料"), "<br>".join(mats) or _e(_tr("（无）"))))
    d = case.delivery
    delivery = _e(term(d.method))
    if d.method == "邮寄":
        delivery += _e(_tr("：%1，%2，%3").replace("%1", d.recipient).replace("%2", mask_phone(d.phone))
                       .replace("%3", d.address))
    rows.append(_row(_tr("送达方式"), delivery))
    return f'<table cellspacing="0" cellpadding="0">{"".join(rows)}</table>'


def notice_html(notice: list[MaterialEntry]) -> str:
    """一次性告知: each missing or wrong material with what is required."""
    lines = []
    for number, m in enumerate(notice, start=1):
        why = (_tr("形式审查不合格：%1").replace("%1", "；".join(m.review_reasons) or _tr("未写明原因"))
               if m.review == "不合格" else
               _tr("承诺后补") if m.form == "容缺后补" else m.requirement())
        lines.append(f"{number}. <b>{_e(m.name)}</b>　<span style=\"color:#5b6675;\">{_e(why)}</span>")
    return "<br>".join(lines)


def problems_html(problems: list[Problem]) -> str:
    """What still stops the case, each a link to its step."""
    lines = []
    for p in problems:
        step = step_of(p.field)
        title = _tr(STEP_TITLES.get(step, step))
        lines.append(f'<a href="{STEP_LINK}{step}" style="color:#c62828; text-decoration:none;">'
                     f"［{_e(title)}］</a> {_e(p.message)}")
    return "<br>".join(lines)


def _rich_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    label.setOpenExternalLinks(False)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                  | Qt.TextInteractionFlag.LinksAccessibleByMouse)
    return label


class ReviewSection(QWidget):
    """核对: the receipt preview, the 一次性告知 and what still stops the case, and the confirm button.

    Signals:
        confirm_was_requested()
        step_was_requested(str step)
        notice_print_was_requested(): 打印一次性告知书 of the draft as it is now.
    """

    confirm_was_requested = Signal()
    step_was_requested = Signal(str)
    notice_print_was_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(10)
        self.preview_box = QFrame(self)
        self.preview_box.setObjectName("ReceiptPreview")
        box = QVBoxLayout(self.preview_box)
        box.setContentsMargins(16, 12, 16, 12)
        box.addWidget(plain_label(self.tr("收件凭证将载明"), "PreviewTitle", self.preview_box))
        self.preview = _rich_label(self.preview_box, "ReceiptText")
        box.addWidget(self.preview)
        layout.addWidget(self.preview_box)

        self.notice_box = QFrame(self)
        self.notice_box.setObjectName("NoticeBox")
        nb = QVBoxLayout(self.notice_box)
        nb.setContentsMargins(16, 10, 16, 12)
        self.notice_title = plain_label(self.tr("一次性告知：申请人还须提交以下材料"), "NoticeTitle", self.notice_box)
        nb.addWidget(self.notice_title)
        self.notice = _rich_label(self.notice_box, "NoticeText")
        nb.addWidget(self.notice)
        notice_row = QHBoxLayout()
        notice_row.addStretch(1)
        self.notice_print_button = QPushButton(self.tr("打印一次性告知书（Ctrl+Shift+P）"), self.notice_box)
        self.notice_print_button.setToolTip(self.tr("把缺少或不合格的材料一次性书面告知申请人"))
        self.notice_print_button.clicked.connect(self.notice_print_was_requested)
        notice_row.addWidget(self.notice_print_button)
        nb.addLayout(notice_row)
        layout.addWidget(self.notice_box)

        self.problems_box = QFrame(self)
        self.problems_box.setObjectName("ProblemsBox")
        pb = QVBoxLayout(self.problems_box)
        pb.setContentsMargins(16, 10, 16, 12)
        self.problems_title = plain_label("", "ProblemsTitle", self.problems_box)
        pb.addWidget(self.problems_title)
        self.problems = _rich_label(self.problems_box, "ProblemsText")
        self.problems.linkActivated.connect(self._link)
        pb.addWidget(self.problems)
        layout.addWidget(self.problems_box)

        row = QHBoxLayout()
        self.status = plain_label("", "Hint", self, wrap=True)
        row.addWidget(self.status, 1)
        self.confirm_button = QPushButton(self.tr("确认收件（Ctrl+Enter）"), self)
        self.confirm_button.setObjectName("Primary")
        self.confirm_button.setProperty("size", "large")
        self.confirm_button.clicked.connect(self.confirm_was_requested)
        row.addWidget(self.confirm_button)
        layout.addLayout(row)
        self.notice_box.hide()
        self.problems_box.hide()

    def show_case(self, case: Case, hall: dict[str, str], check: DraftCheck | None, revealed: bool) -> None:
        self.preview.setText(receipt_html(case, hall, check))
        notice = check.notice if check else []
        self.notice.setText(notice_html(notice))
        self.notice_box.setVisible(bool(notice))
        problems = check.problems if check else []
        self.problems.setText(problems_html(problems))
        self.problems_title.setText(self.tr("还不能收件：%1 处须处理（点击跳到该步骤）").replace("%1", str(len(problems))))
        self.problems_box.setVisible(bool(problems) and revealed)
        if check is None:
            self.status.setText(self.tr("正在核对…"))
        elif problems:
            self.status.setText(self.tr("按 Ctrl+Enter 确认时会再次检查；不能收件的原因标在各步骤的字段旁。"))
        else:
            self.status.setText(self.tr("信息齐全，核对无误后确认收件。"))

    def _link(self, link: str) -> None:
        if link.startswith(STEP_LINK):
            self.step_was_requested.emit(link[len(STEP_LINK):])


class ReceiptPanel(QWidget):
    """After confirmation: the receipt number, big, and the case as collected.

    Signals:
        next_was_requested(): start the next applicant.
        case_view_was_requested(str case_id)
        print_was_requested(str kind): 打印收件凭证 ("receipt") / 一次性告知书 ("notice").
    """

    next_was_requested = Signal()
    case_view_was_requested = Signal(str)
    print_was_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.case_id = ""
        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 20, 28, 20)
        outer.setSpacing(12)
        self.done = plain_label(self.tr("✓ 已收件"), "ReceiptDone", self)
        outer.addWidget(self.done)
        outer.addWidget(plain_label(self.tr("收件编号"), "Hint", self))
        self.number = plain_label("", "ReceiptNumber", self)
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.number)
        self.hint = plain_label(self.tr("请把收件编号告知申请人：凭此编号查询进度、领取结果。"), "Hint", self, wrap=True)
        outer.addWidget(self.hint)
        box = QFrame(self)
        box.setObjectName("ReceiptPreview")
        inner = QVBoxLayout(box)
        inner.setContentsMargins(16, 12, 16, 12)
        self.summary = _rich_label(box, "ReceiptText")
        inner.addWidget(self.summary)
        outer.addWidget(box)
        self.notice_box = QFrame(self)
        self.notice_box.setObjectName("NoticeBox")
        nb = QVBoxLayout(self.notice_box)
        nb.setContentsMargins(16, 10, 16, 12)
        nb.addWidget(plain_label(self.tr("一次性告知：以下材料须在办理地规定期限内补交"), "NoticeTitle", self.notice_box))
        self.notice = _rich_label(self.notice_box, "NoticeText")
        nb.addWidget(self.notice)
        outer.addWidget(self.notice_box)
        row = QHBoxLayout()
        self.print_button = QPushButton(self.tr("打印收件凭证（Ctrl+P）"), self)
        self.print_button.clicked.connect(lambda: self.print_was_requested.emit("receipt"))
        row.addWidget(self.print_button)
        self.notice_print_button = QPushButton(self.tr("打印一次性告知书（Ctrl+Shift+P）"), self)
        self.notice_print_button.clicked.connect(lambda: self.print_was_requested.emit("notice"))
        row.addWidget(self.notice_print_button)
        row.addStretch(1)
        self.view_button = QPushButton(self.tr("在办件中查看"), self)
        self.view_button.clicked.connect(lambda: self.case_view_was_requested.emit(self.case_id))
        row.addWidget(self.view_button)
        self.next_button = QPushButton(self.tr("下一位：新收件"), self)
        self.next_button.setObjectName("Primary")
        self.next_button.clicked.connect(self.next_was_requested)
        row.addWidget(self.next_button)
        outer.addLayout(row)
        outer.addStretch(1)

    def show_case(self, case: Case, hall: dict[str, str], check: DraftCheck | None,
                  notice: list[MaterialEntry]) -> None:
        self.case_id = case.id
        self.number.setText(format_grouped(case.receipt_no))
        self.summary.setText(receipt_html(case, hall, check, collected=True))
        self.notice.setText(notice_html(notice))
        self.notice_box.setVisible(bool(notice))
        self.notice_print_button.setVisible(bool(notice))

    def set_printing_available(self, available: bool) -> None:
        self.print_button.setEnabled(available)
        self.notice_print_button.setEnabled(available)
