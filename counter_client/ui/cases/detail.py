"""The case detail: state, applicant, items with due dates, materials, the timeline of what
happened, and what can be done (continue a draft, drop it, void a collected case).

Everything typed at the counter is escaped before it goes into the rich text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from counter_client.domain.case import STATE_LABELS, Case
from counter_client.domain.identity import TYPE_LABELS
from counter_client.ui.cases.model import grouped
from counter_client.ui.intake.logic import mask_id, mask_phone
from counter_client.ui.widgets import plain_label, set_kind, term

SAVE_ACTION = "保存草稿"


def _tr(text: str) -> str:
    return QCoreApplication.translate("CaseDetail", text)


def _e(text: str) -> str:
    return html.escape(text or "", quote=True)


@dataclass(frozen=True)
class CaseDetailData:
    """What the pane shows (read on the runner)."""

    case: Case
    events: list
    region_names: dict[str, str]


def timeline(events: list) -> list[tuple[str, str, str]]:
    """(time, what, who) lines; runs of autosaves collapse into one line."""
    out: list[tuple[str, str, str]] = []
    run = 0
    for e in events:
        if e.action == SAVE_ACTION:
            run += 1
            if run > 1 and out and out[-1][1].startswith(_tr("自动保存")):
                out[-1] = (e.at, _tr("自动保存 %1 次").replace("%1", str(run)), e.clerk)
            else:
                out.append((e.at, _tr("自动保存 %1 次").replace("%1", "1"), e.clerk))
            continue
        run = 0
        what = _tr(e.action)
        if e.action == "确认收件" and e.detail.get("receipt_no"):
            what += _tr("，收件编号 %1").replace("%1", grouped(e.detail["receipt_no"]))
        out.append((e.at, what, e.clerk))
    return out


def detail_html(data: CaseDetailData) -> str:
    c = data.case
    lines = []

    def row(label: str, value: str) -> None:
        lines.append(f'<tr><td style="color:#5b6675; padding:3px 12px 3px 0; white-space:nowrap;" valign="top">'
                     f"{_e(label)}</td><td style=\"padding:3px 0;\">{value}</td></tr>")

    a = c.applicant
    id_type = "credit_code" if a.kind == "enterprise" else a.id_type
    who = f"<b>{_e(a.name) or _e(_tr('（未填）'))}</b>"
    if a.id_number:
        who += f"　{_e(term(TYPE_LABELS.get(id_type, '')))} {_e(mask_id(a.id_number))}"
    if a.phone:
        who += f"　{_e(mask_phone(a.phone))}"
    row(_tr("申请人"), who)
    if c.agent is not None:
        row(_tr("代办人"), f"{_e(c.agent.name)}　{_e(mask_id(c.agent.id_number))}　{_e(c.agent.relation)}")
    if c.helper.mode != "无":
        row(term(c.helper.mode), _e(c.helper.name))
    row(_tr("办理方式"), _e(term(c.mode)))
    items = []
    for item in c.items:
        due = ""
        if item.due_date:
            due = _e(_tr("　%1 前办结").replace("%1", item.due_date))
            if not item.due_verified:
                due += f' <span style="color:#9a5b00;">{_e(_tr("（节假日未核实）"))}</span>'
        elif item.promised_days is not None:
            due = _e(_tr("　承诺 %1 个%2").replace("%1", str(item.promised_days)).replace("%2", item.promised_unit))
        place = data.region_names.get(item.code) or item.handling_region
        items.append(f"<b>{_e(item.name)}</b><br><span style=\"color:#5b6675;\">{_e(place)} · {_e(item.department)}"
                     f"</span>{due}")
    row(_tr("事项"), "<br>".join(items) or _e(_tr("（未选事项）")))
    mats = []
    for m in c.materials:
        if m.form == "未收" and m.necessity == 2:
            continue
        extra = []
        if m.pages:
            extra.append(_tr("%1 页").replace("%1", str(m.pages)))
        if m.scans:
            extra.append(_tr("扫描 %1 页").replace("%1", str(len(m.scans))))
        if m.review == "不合格":
            extra.append(_tr("审查不合格：%1").replace("%1", "；".join(m.review_reasons)))
        colour = "#c62828" if m.form == "未收" else "#1f2933"
        mats.append(f'· {_e(m.name)} — <span style="color:{colour};">{_e(term(m.form))}</span>'
                    + (f"，{_e('，'.join(extra))}" if extra else ""))
    row(_tr("材料"), "<br>".join(mats) or _e(_tr("（无）")))
    d = c.delivery
    delivery = _e(term(d.method))
    if d.method == "邮寄":
        delivery += _e(f"：{d.recipient}，{mask_phone(d.phone)}，{d.address}")
    row(_tr("送达"), delivery)
    if c.void_reason:
        row(_tr("作废原因"), f'<span style="color:#c62828;">{_e(c.void_reason)}</span>')
    events = "<br>".join(f'<span style="color:#5b6675;">{_e(at[:16].replace("T", " "))}</span>　{_e(what)}'
                         f'<span style="color:#8a96a3;">　{_e(who)}</span>'
                         for at, what, who in timeline(data.events))
    row(_tr("经过"), events)
    return f'<table cellspacing="0" cellpadding="0">{"".join(lines)}</table>'


class CaseDetail(QWidget):
    """Signals:
        continue_was_requested(str case_id)
        discard_was_requested(str case_id)
        void_was_requested(str case_id)
    """

    continue_was_requested = Signal(str)
    discard_was_requested = Signal(str)
    void_was_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.data: CaseDetailData | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        head = QHBoxLayout()
        self.number = plain_label("", "DetailNumber", self)
        self.number.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        head.addWidget(self.number, 1)
        self.state = plain_label("", "StateBadge", self)
        head.addWidget(self.state)
        layout.addLayout(head)
        self.body = QLabel(self)
        self.body.setObjectName("DetailText")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.body)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.discard_button = QPushButton(self.tr("放弃草稿…"), self)
        self.discard_button.clicked.connect(lambda: self.data and self.discard_was_requested.emit(self.data.case.id))
        buttons.addWidget(self.discard_button)
        self.continue_button = QPushButton(self.tr("继续办理"), self)
        self.continue_button.setObjectName("Primary")
        self.continue_button.clicked.connect(lambda: self.data and self.continue_was_requested.emit(self.data.case.id))
        buttons.addWidget(self.continue_button)
        self.void_button = QPushButton(self.tr("作废…"), self)
        self.void_button.setObjectName("Danger")
        self.void_button.clicked.connect(lambda: self.data and self.void_was_requested.emit(self.data.case.id))
        buttons.addWidget(self.void_button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.empty = plain_label(self.tr("在左侧选择一件办件查看详情。"), "EmptyState", self, wrap=True)
        layout.addWidget(self.empty)
        self.clear()

    def clear(self) -> None:
        self.data = None
        for w in (self.number, self.state, self.body, self.discard_button, self.continue_button, self.void_button):
            w.hide()
        self.empty.show()

    def show_detail(self, data: CaseDetailData) -> None:
        self.data = data
        c = data.case
        self.empty.hide()
        self.number.setText(grouped(c.receipt_no))
        self.state.setText(_tr(STATE_LABELS.get(c.state, c.state)))
        set_kind(self.state, c.state)
        self.body.setText(detail_html(data))
        for w in (self.number, self.state, self.body):
            w.show()
        self.continue_button.setVisible(c.state == "draft")
        self.discard_button.setVisible(c.state == "draft")
        self.void_button.setVisible(c.state == "collected")
