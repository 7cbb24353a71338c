"""The case detail: state, applicant, items with due dates (and each item's status at the
办理地), materials, the timeline of what happened here (with the delivery to the platform), the
platform's progress (已接收, 受理, 补正 with what is needed, 不予受理 with its reason, 办结, 结果已寄出
with the tracking number), and what can be done (continue a draft, drop it, void a collected
case, collect the materials a 补正 asks for, print the 收件凭证 and the 一次性告知书), every
document printed for the case (原件 or 副本 with its reason, who, when, where; failed attempts), and
its mail legs (寄递: the materials' parcel with its tracking number, results mailed back) with
寄出办理结果 when the result of an 办结 item is to be mailed on to the applicant.

A 补正 and a 不予受理 are shown in a box of their own above the rest, where the clerk cannot miss
them. Everything typed at the counter is escaped before it goes into the rich text.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.case import STATE_LABELS, Case, notice
from counter_client.domain.identity import TYPE_LABELS
from counter_client.services.printing import KIND_TITLES, OTHER, REPRINT_REASONS
from counter_client.ui.cases.model import grouped
from counter_client.ui.intake.logic import mask_id, mask_phone
from counter_client.ui.widgets import plain_label, set_kind, term

SAVE_ACTION = "保存草稿"
SUPPLEMENT_ACTION = "收取补正材料"
SUPPLEMENT, REFUSED, MAILED = "补正", "不予受理", "结果已寄出"
PLATFORM_COLOURS = {SUPPLEMENT: "#9a5b00", REFUSED: "#c62828", "办结": "#2e7d32", MAILED: "#2e7d32",
                    "受理": "#1f4e8c", "已接收": "#1f4e8c"}
GREY, MUTED = "#5b6675", "#8a96a3"


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
    platform: Any = None  # services.sync_desk.CasePlatform: delivery, statuses, supplements
    prints: tuple = ()  # offline_cache.printlog.PrintEntry of the case, oldest first
    mail: Any = None  # services.mail_desk.CaseMail: legs, items whose result may be mailed on


def local_time(iso: str) -> str:
    """A platform time (UTC, ISO 8601) as local ``YYYY-MM-DD HH:MM``."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, AttributeError):
        return (iso or "")[:16].replace("T", " ")


def epoch_time(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch).strftime("%Y-%m-%d %H:%M") if epoch else ""


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
        elif e.action == SUPPLEMENT_ACTION and e.detail.get("materials"):
            what += "：" + "、".join(e.detail["materials"])
        elif e.detail.get("message"):
            what += "：" + e.detail["message"]
        out.append((e.at, what, e.clerk))
    return out


def _platform_line(e, item_names: dict[str, str], several: bool) -> str:
    colour = PLATFORM_COLOURS.get(e.status, "#1f2933")
    line = (f'<span style="color:{GREY};">{_e(local_time(e.at))}</span>　'
            f'<b style="color:{colour};">{_e(_tr(e.status))}</b>')
    if several:
        line += f'<span style="color:{GREY};">（{_e(item_names.get(e.item_code, e.item_code))}）</span>'
    if e.status == SUPPLEMENT and e.needed:
        line += _e(_tr("　须补正：%1").replace("%1", "、".join(e.needed)))
    elif e.reason and e.status != SUPPLEMENT:
        line += "　" + _e(e.reason)
    if e.tracking_no:
        line += _e(_tr("　邮件号 %1").replace("%1", e.tracking_no))
    if not e.applied:
        line += f'<span style="color:{MUTED};">{_e(_tr("（晚到的旧状态，未采用）"))}</span>'
    return line


def delivery_lines(platform) -> list[str]:
    """The case's and its supplements' delivery to the platform, for the timeline."""
    if platform is None:
        return []
    out = []
    d = platform.delivery
    if d is not None:
        if d.state == "acked":
            out.append(f'<span style="color:{GREY};">{_e(epoch_time(d.acked_at))}</span>　'
                       f'<span style="color:#2e7d32;">{_e(_tr("已送达平台"))}</span>')
        else:
            colour = "#c62828" if d.state == "rejected" else "#9a5b00"
            text = _tr("报送平台：%1").replace("%1", _tr(d.label))
            if d.last_error:
                text += "（" + d.last_error + "）"
            out.append(f'<span style="color:{colour};">{_e(text)}</span>')
    for s in platform.supplements:
        entry = platform.supplement_entries.get(s.id)
        if entry is None:
            continue
        names = "、".join(m.name for m in s.materials)
        if entry.state == "acked":
            out.append(f'<span style="color:{GREY};">{_e(epoch_time(entry.acked_at))}</span>　'
                       f'<span style="color:#2e7d32;">{_e(_tr("补正材料已送达平台：%1").replace("%1", names))}</span>')
        else:
            text = _tr("补正材料（%1）：%2").replace("%1", names).replace("%2", _tr(entry.label))
            out.append(f'<span style="color:#9a5b00;">{_e(text)}</span>')
    return out


def print_lines(entries) -> list[str]:
    """Every document printed for the case: 原件 / 副本 with its reason, where, who; failures in red."""
    out = []
    for e in entries:
        when = f'<span style="color:{GREY};">{_e(e.at[:16].replace("T", " "))}</span>　'
        title = _tr(KIND_TITLES.get(e.kind, e.kind))
        if e.outcome == "failed":
            text = _tr("%1 打印失败（%2）：%3").replace("%1", title).replace("%2", e.target).replace("%3", e.error.split("。")[0])
            out.append(f'{when}<span style="color:#c62828;">{_e(text)}</span>'
                       f'<span style="color:{MUTED};">　{_e(e.clerk)}</span>')
            continue
        which = _tr("原件") if e.copy_no == 1 else _tr("副本（第 %1 份）").replace("%1", str(e.copy_no))
        where = _tr("保存为 PDF") if e.outcome == "saved" else _tr("打印到 %1").replace("%1", e.target)
        if e.outcome == "pending":  # cut short (power, crash) before the result was written: counted as issued
            where += _tr("（中断，可能已打出）")
        if e.copies > 1:
            where += _tr(" × %1 份").replace("%1", str(e.copies))
        line = f"{when}<b>{_e(title)}</b> {_e(which)}，{_e(where)}"
        if e.copy_no > 1:
            why = _tr(REPRINT_REASONS.get(e.reason_code, e.reason_code))
            if e.reason:
                why = f"{why}：{e.reason}" if e.reason_code != OTHER else e.reason
            line += f'<span style="color:#9a5b00;">{_e(_tr("　补打原因：%1").replace("%1", why))}</span>'
        out.append(f'{line}<span style="color:{MUTED};">　{_e(e.clerk)}</span>')
    return out


def mail_lines(data: CaseDetailData) -> list[str]:
    """The case's mail legs: the materials' parcel per department, results mailed back."""
    m = data.mail
    if m is None:
        return []
    names = {i.code: i.name for i in data.case.items}
    out = []
    for leg in m.legs:
        when = f'<span style="color:{GREY};">{_e(local_time(leg.created_at))}</span>　'
        if leg.kind == "materials":
            where = m.parcels.get(leg.parcel_id) or leg.item_code
            text = _tr("材料寄往 %1：邮件号 %2（邮包 %3）").replace("%1", where).replace("%2", leg.tracking_no) \
                .replace("%3", leg.parcel_id)
        else:
            who = _tr("本窗口寄出") if leg.source == "pool" else _tr("办理地寄出")
            text = _tr("办理结果寄回申请人（%1）：邮件号 %2").replace("%1", who).replace("%2", leg.tracking_no)
            if len(data.case.items) > 1:
                text += "（" + names.get(leg.item_code, leg.item_code) + "）"
        out.append(when + _e(text))
    if not out and data.case.state == "collected":
        out.append(f'<span style="color:{GREY};">{_e(_tr("纸质材料尚未装包寄出（在“寄递”页新建邮包）。"))}</span>')
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
        status = data.platform.item_statuses.get(item.code) if data.platform is not None else None
        if status:
            colour = PLATFORM_COLOURS.get(status, "#1f2933")
            due += f'<br><b style="color:{colour};">{_e(_tr("办理地：%1").replace("%1", _tr(status)))}</b>'
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
    events = [f'<span style="color:#5b6675;">{_e(at[:16].replace("T", " "))}</span>　{_e(what)}'
              f'<span style="color:#8a96a3;">　{_e(who)}</span>' for at, what, who in timeline(data.events)]
    row(_tr("经过"), "<br>".join(events + delivery_lines(data.platform)))
    if data.prints:
        row(_tr("打印记录"), "<br>".join(print_lines(data.prints)))
    mailed = mail_lines(data)
    if mailed:
        row(_tr("寄递"), "<br>".join(mailed))
    p = data.platform
    if c.state == "collected" and p is not None:
        names = {i.code: i.name for i in c.items}
        several = len(c.items) > 1
        progress = [_platform_line(e, names, several) for e in p.events]
        if not progress:
            waiting = (_tr("平台已收到，办理地尚未给出进度。") if p.delivery is not None and p.delivery.state == "acked"
                       else _tr("送达平台后，这里显示办理地的办理进度。"))
            progress = [f'<span style="color:{GREY};">{_e(waiting)}</span>']
        row(_tr("办理进度"), "<br>".join(progress))
    return f'<table cellspacing="0" cellpadding="0">{"".join(lines)}</table>'


def refusal_text(data: CaseDetailData) -> str:
    """不予受理: which item and why (plain text)."""
    p = data.platform
    if p is None:
        return ""
    names = {i.code: i.name for i in data.case.items}
    lines = []
    for e in p.refused:
        line = names.get(e.item_code, e.item_code)
        line += "：" + (e.reason or _tr("（办理地未说明理由）"))
        lines.append(line)
    return "\n".join(lines)


def supplement_text(data: CaseDetailData) -> str:
    """补正: the reason and exactly what is needed (plain text)."""
    p = data.platform
    if p is None:
        return ""
    names = {i.code: i.name for i in data.case.items}
    several = len(data.case.items) > 1
    lines = []
    for e in p.supplement_needed:
        head = names.get(e.item_code, e.item_code) + "：" if several else ""
        if e.reason:
            lines.append(_tr("办理地意见：") + head + e.reason)
    lines.append(_tr("须补正的材料："))
    lines += [f"　· {name}" for name in p.needed_materials] or [_tr("　（办理地未列出，请电话联系办理地）")]
    return "\n".join(lines)


def supplement_state(data: CaseDetailData) -> str:
    """What became of supplements collected after the latest 补正 (plain text, '' for none)."""
    p = data.platform
    if p is None or not p.supplement_needed:
        return ""
    latest = max(local_time(e.at) for e in p.supplement_needed)
    collected = [s for s in p.supplements if epoch_time(s.created_at) >= latest]
    if not collected:
        return ""
    s = collected[-1]
    entry = p.supplement_entries.get(s.id)
    state = _tr(entry.label) if entry is not None else ""
    return (_tr("已于 %1 收取补正材料（%2），等待办理地审核。").replace("%1", epoch_time(s.created_at))
            .replace("%2", state))


class CaseDetail(QWidget):
    """Signals:
        continue_was_requested(str case_id)
        discard_was_requested(str case_id)
        void_was_requested(str case_id)
        supplement_was_requested(str case_id): 收取补正材料
        print_was_requested(str case_id, str kind): 打印收件凭证 ("receipt") / 一次性告知书 ("notice")
        mail_result_was_requested(str case_id, str item_code): 寄出办理结果 of that item
        waybill_print_was_requested(str waybill_no): 打印结果面单 (a result this hall mailed on)
    """

    continue_was_requested = Signal(str)
    discard_was_requested = Signal(str)
    void_was_requested = Signal(str)
    supplement_was_requested = Signal(str)
    print_was_requested = Signal(str, str)
    mail_result_was_requested = Signal(str, str)
    waybill_print_was_requested = Signal(str)

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

        self.refusal_box = QFrame(self)
        self.refusal_box.setObjectName("ProblemsBox")
        box = QVBoxLayout(self.refusal_box)
        box.setContentsMargins(12, 8, 12, 10)
        box.setSpacing(4)
        self.refusal_title = plain_label(self.tr("办理地决定不予受理"), "RefusalTitle", self.refusal_box)
        box.addWidget(self.refusal_title)
        self.refusal_text = plain_label("", "AttentionText", self.refusal_box, wrap=True)
        self.refusal_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.refusal_text)
        box.addWidget(plain_label(self.tr("请告知申请人不予受理的理由；如有异议，可依法申请行政复议或提起行政诉讼。"),
                                  "Hint", self.refusal_box, wrap=True))
        layout.addWidget(self.refusal_box)

        self.supplement_box = QFrame(self)
        self.supplement_box.setObjectName("NoticeBox")
        box = QVBoxLayout(self.supplement_box)
        box.setContentsMargins(12, 8, 12, 10)
        box.setSpacing(4)
        self.supplement_title = plain_label(self.tr("办理地要求补正"), "SupplementTitle", self.supplement_box)
        box.addWidget(self.supplement_title)
        self.supplement_text = plain_label("", "AttentionText", self.supplement_box, wrap=True)
        self.supplement_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.supplement_text)
        self.supplement_state = plain_label("", "Hint", self.supplement_box, wrap=True)
        box.addWidget(self.supplement_state)
        collect_row = QHBoxLayout()
        collect_row.addStretch(1)
        self.supplement_button = QPushButton(self.tr("收取补正材料…"), self.supplement_box)
        self.supplement_button.setObjectName("Primary")
        self.supplement_button.setToolTip(self.tr("申请人带来补正材料后：逐项拍照或导入，确认后报送办理地"))
        self.supplement_button.clicked.connect(
            lambda: self.data and self.supplement_was_requested.emit(self.data.case.id))
        collect_row.addWidget(self.supplement_button)
        box.addLayout(collect_row)
        layout.addWidget(self.supplement_box)

        self.body = QLabel(self)
        self.body.setObjectName("DetailText")
        self.body.setTextFormat(Qt.TextFormat.RichText)
        self.body.setWordWrap(True)
        self.body.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.body)
        prints = QHBoxLayout()
        self.print_receipt_button = QPushButton(self.tr("打印收件凭证…"), self)
        self.print_receipt_button.setToolTip(self.tr("预览并打印收件凭证（Ctrl+P）；再次打印时印“副本”，须选择补打原因"))
        self.print_receipt_button.clicked.connect(lambda: self._print("receipt"))
        prints.addWidget(self.print_receipt_button)
        self.print_notice_button = QPushButton(self.tr("打印一次性告知书…"), self)
        self.print_notice_button.clicked.connect(lambda: self._print("notice"))
        prints.addWidget(self.print_notice_button)
        prints.addStretch(1)
        layout.addLayout(prints)
        mails = QHBoxLayout()
        self.mail_result_button = QPushButton(self.tr("寄出办理结果…"), self)
        self.mail_result_button.setToolTip(self.tr("办理结果已寄回本窗口、由本窗口转寄申请人时使用：占用一个邮件号，然后打印面单"))
        self.mail_result_button.clicked.connect(self._mail_result)
        mails.addWidget(self.mail_result_button)
        self.result_waybill_button = QPushButton(self.tr("打印结果面单…"), self)
        self.result_waybill_button.setToolTip(self.tr("再次打印本窗口寄出办理结果的面单（须选择补打原因）"))
        self.result_waybill_button.clicked.connect(self._print_result_waybill)
        mails.addWidget(self.result_waybill_button)
        mails.addStretch(1)
        layout.addLayout(mails)
        self.result_menu: QMenu | None = None
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
        for w in (self.number, self.state, self.body, self.discard_button, self.continue_button, self.void_button,
                  self.refusal_box, self.supplement_box, self.print_receipt_button, self.print_notice_button,
                  self.mail_result_button, self.result_waybill_button):
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
        self.print_receipt_button.setVisible(c.state == "collected")
        self.print_notice_button.setVisible(c.state in ("collected", "draft"))
        missing = bool(notice(c))
        self.print_notice_button.setEnabled(missing)
        self.print_notice_button.setToolTip(
            self.tr("预览并打印一次性告知书，列明缺少或不合格的材料（Ctrl+Shift+P）") if missing
            else self.tr("材料齐全，无需出具一次性告知书"))
        m = data.mail if c.state == "collected" else None
        self.mail_result_button.setVisible(bool(m and m.result_items))
        self.result_waybill_button.setVisible(bool(m and m.pool_result_legs()))
        p = data.platform if c.state == "collected" else None
        refused = bool(p and p.refused)
        self.refusal_box.setVisible(refused)
        if refused:
            self.refusal_text.setText(refusal_text(data))
        needs = bool(p and p.supplement_needed)
        self.supplement_box.setVisible(needs)
        if needs:
            self.supplement_text.setText(supplement_text(data))
            done = supplement_state(data)
            self.supplement_state.setText(done)
            self.supplement_state.setVisible(bool(done))
            self.supplement_button.setText(self.tr("再次收取补正材料…") if done else self.tr("收取补正材料…"))

    def _print(self, kind: str) -> None:
        if self.data is not None:
            self.print_was_requested.emit(self.data.case.id, kind)

    def _mail_result(self) -> None:
        """寄出办理结果: the one item, or a menu of the items whose result may be mailed on."""
        data = self.data
        if data is None or data.mail is None or not data.mail.result_items:
            return
        items = data.mail.result_items
        if len(items) == 1:
            self.mail_result_was_requested.emit(data.case.id, items[0][0])
            return
        menu = QMenu(self)
        for code, name in items:
            menu.addAction(name, lambda c=code: self.mail_result_was_requested.emit(data.case.id, c))
        self.result_menu = menu
        menu.popup(self.mail_result_button.mapToGlobal(self.mail_result_button.rect().bottomLeft()))

    def _print_result_waybill(self) -> None:
        legs = self.data.mail.pool_result_legs() if self.data is not None and self.data.mail is not None else []
        if legs:
            self.waybill_print_was_requested.emit(legs[-1].tracking_no)

    def request_print(self, kind: str) -> bool:
        """A shortcut's print: only what the buttons offer for this case now."""
        button = self.print_receipt_button if kind == "receipt" else self.print_notice_button
        if self.data is None or button.isHidden() or not button.isEnabled():
            return False
        self._print(kind)
        return True
