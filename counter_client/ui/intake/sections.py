"""The form steps of the intake page: 事项, 申请人, 代办人, 送达, and the frame around each step.

Each step is a view: ``load(case)`` fills it without emitting, edits come out as signals, and
``set_problems`` puts each reason beside its field. The page owns the case.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QListView,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.case import (
    CASE_MODES,
    DELIVERY_METHODS,
    HELPER_MODES,
    PERSON_ID_TYPES,
    Case,
    CaseItem,
    Party,
    phone_problem,
)
from counter_client.domain.identity import TYPE_LABELS, check_id
from counter_client.domain.search import SearchHit
from counter_client.ui.catalogue.results import HitDelegate, SearchResultsModel
from counter_client.ui.widgets import (
    FieldMessage,
    combo_value,
    em,
    fill_combo,
    plain_label,
    set_combo_value,
    set_kind,
    term,
)

LABEL_EM = 6.5
FIELD_EM = 17
RESULT_ROWS = 5


def _field(parent: QWidget, placeholder: str = "", width_em: float = FIELD_EM) -> QLineEdit:
    edit = QLineEdit(parent)
    edit.setPlaceholderText(placeholder)
    edit.setMinimumWidth(em(parent, width_em))
    return edit


def _set_text(edit: QLineEdit, text: str) -> None:
    if edit.text() != text:
        edit.blockSignals(True)
        edit.setText(text)
        edit.blockSignals(False)


class StepSection(QFrame):
    """The frame of one step: number and title, a section-level message, the body."""

    def __init__(self, key: str, number: int, title: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.key = key
        self.setObjectName("StepSection")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 16)
        layout.setSpacing(10)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.number = plain_label(str(number), "StepNumber", self)
        self.number.setAlignment(Qt.AlignmentFlag.AlignCenter)
        side = em(self, 1.7)
        self.number.setFixedSize(side, side)
        self.title = plain_label(title, "StepTitle", self)
        head.addWidget(self.number)
        head.addWidget(self.title)
        head.addStretch(1)
        self.head = head
        layout.addLayout(head)
        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        self.body = QVBoxLayout()
        self.body.setSpacing(10)
        layout.addLayout(self.body)

    def set_problem_mark(self, problem: bool) -> None:
        set_kind(self.number, "error" if problem else "", "state")


# -- 事项 ---------------------------------------------------------------------------------------------
class ItemCard(QFrame):
    """One chosen item: name, code and pinned version, 办理地 and department, why collectable, limit.

    Signals:
        removal_was_requested(str code)
    """

    removal_was_requested = Signal(str)

    def __init__(self, item: CaseItem, region_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ItemCard")
        self.code = item.code
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 8, 8)
        row.setSpacing(10)
        text = QVBoxLayout()
        text.setSpacing(2)
        self.name = plain_label(item.name, "ItemName", self, wrap=True)
        text.addWidget(self.name)
        place = region_name or item.handling_region
        self.place = plain_label(self.tr("办理地：%1　%2").replace("%1", place).replace("%2", item.department),
                                 "ItemPlace", self, wrap=True)
        text.addWidget(self.place)
        why = "、".join(item.collectable_by) or self.tr("不在通办范围内")
        limit = (self.tr("承诺 %1 个%2").replace("%1", str(item.promised_days)).replace("%2", item.promised_unit)
                 if item.promised_days is not None else self.tr("未规定承诺时限"))
        self.details = plain_label(self.tr("收件依据：%1　·　%2　·　编码 %3（指南第 %4 版）")
                                   .replace("%1", why).replace("%2", limit).replace("%3", item.code)
                                   .replace("%4", str(item.version)), "Hint", self, wrap=True)
        text.addWidget(self.details)
        self.message = FieldMessage(self)
        text.addWidget(self.message)
        row.addLayout(text, 1)
        self.remove_button = QPushButton(self.tr("移除"), self)
        self.remove_button.setToolTip(self.tr("从本次收件中移除这个事项"))
        self.remove_button.clicked.connect(lambda: self.removal_was_requested.emit(self.code))
        row.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)


class ItemsSection(QWidget):
    """Search the catalogue, add items (Enter), see the chosen ones, the mode; refusals in place.

    Signals:
        search_was_requested(str query)
        item_was_chosen(str code)
        item_removal_was_requested(str code)
        mode_did_change(str mode)
        app_no_did_change(str number)
        consultation_was_requested(str code, str note)
    """

    search_was_requested = Signal(str)
    item_was_chosen = Signal(str)
    item_removal_was_requested = Signal(str)
    mode_did_change = Signal(str)
    app_no_did_change = Signal(str)
    consultation_was_requested = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        self.search = QLineEdit(self)
        self.search.setObjectName("ItemSearch")
        self.search.setPlaceholderText(self.tr("输入事项名称、拼音首字母（如 sbk）或编码，↑↓ 选择，Enter 加入"))
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._query_changed)
        self.search.installEventFilter(self)
        layout.addWidget(self.search)
        self.model = SearchResultsModel(self)
        self.results = QListView(self)
        self.results.setObjectName("ItemResults")
        self.results.setModel(self.model)
        self.results.setItemDelegate(HitDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.results.clicked.connect(lambda index: self._choose(index.row()))
        self.results.hide()
        layout.addWidget(self.results)
        self.search_message = FieldMessage(self)
        layout.addWidget(self.search_message)

        # a refusal (NotCollectable) in place, with the consultation
        self.refusal = QFrame(self)
        self.refusal.setObjectName("Refusal")
        box = QVBoxLayout(self.refusal)
        box.setContentsMargins(12, 10, 12, 10)
        box.setSpacing(6)
        self.refusal_text = plain_label("", "RefusalText", self.refusal, wrap=True)
        box.addWidget(self.refusal_text)
        note_row = QHBoxLayout()
        note_row.setSpacing(8)
        self.consult_note = QLineEdit(self.refusal)
        self.consult_note.setPlaceholderText(self.tr("咨询备注（可不填），如：已告知到办理地或网上办理"))
        note_row.addWidget(self.consult_note, 1)
        self.consult_button = QPushButton(self.tr("登记咨询"), self.refusal)
        self.consult_button.setObjectName("Primary")
        self.consult_button.clicked.connect(self._consult)
        note_row.addWidget(self.consult_button)
        self.refusal_close = QPushButton(self.tr("关闭"), self.refusal)
        self.refusal_close.clicked.connect(self.hide_refusal)
        note_row.addWidget(self.refusal_close)
        box.addLayout(note_row)
        self.consult_result = FieldMessage(self.refusal)
        box.addWidget(self.consult_result)
        self.refusal.hide()
        layout.addWidget(self.refusal)
        self._refused_code = ""

        self.cards_box = QVBoxLayout()
        self.cards_box.setSpacing(6)
        layout.addLayout(self.cards_box)
        self.cards: dict[str, ItemCard] = {}
        self.none_yet = plain_label(self.tr("尚未选择事项。"), "Hint", self)
        layout.addWidget(self.none_yet)

        mode_row = QHBoxLayout()
        mode_row.setSpacing(8)
        mode_label = plain_label(self.tr("办理方式"), "FormLabel", self)
        mode_label.setFixedWidth(em(self, LABEL_EM))
        mode_row.addWidget(mode_label)
        self.mode = QComboBox(self)
        self.mode.setMinimumWidth(em(self, 9))
        fill_combo(self.mode, CASE_MODES)
        self.mode.currentIndexChanged.connect(lambda _i: self._mode_changed(combo_value(self.mode)))
        mode_row.addWidget(self.mode)
        self.app_no = _field(self, self.tr("网上申办编号（全程网办帮办必填）"), 14)
        self.app_no.textEdited.connect(self.app_no_did_change)
        mode_row.addWidget(self.app_no)
        self.app_no_message = FieldMessage(self)
        mode_row.addWidget(self.app_no_message, 1)
        mode_row.addStretch(1)
        layout.addLayout(mode_row)

    # -- case ------------------------------------------------------------------------------------
    def load(self, case: Case, region_names: dict[str, str]) -> None:
        codes = [i.code for i in case.items]
        if codes != list(self.cards) or any(self.cards[c].place.text().find(region_names.get(c, "\0")) < 0
                                            for c in codes if region_names.get(c)):
            for card in self.cards.values():
                self.cards_box.removeWidget(card)
                card.deleteLater()
            self.cards = {}
            for item in case.items:
                card = ItemCard(item, region_names.get(item.code, ""), self)
                card.removal_was_requested.connect(self.item_removal_was_requested)
                self.cards_box.addWidget(card)
                card.show()
                self.cards[item.code] = card
        self.none_yet.setVisible(not case.items)
        set_combo_value(self.mode, case.mode)
        _set_text(self.app_no, case.helper.platform_app_no)
        self.app_no.setVisible(case.mode == "全程网办帮办")

    def set_problems(self, problems: dict[str, str]) -> None:
        for index, code in enumerate(self.cards):
            self.cards[code].message.set_problem(problems.get(f"items.{index}", ""))
        self.app_no_message.set_problem(problems.get("helper.platform_app_no", ""))

    # -- search ----------------------------------------------------------------------------------
    def show_hits(self, query: str, hits: list[SearchHit]) -> None:
        if query != self.search.text():
            return
        self.model.set_hits(hits)
        visible = bool(query.strip()) and bool(hits)
        self.results.setVisible(visible)
        if visible:
            rows = min(RESULT_ROWS, len(hits))
            self.results.setFixedHeight(rows * self.results.sizeHintForRow(0) + 4)
            first = next((i for i, h in enumerate(hits) if h.national_list or h.agreements), 0)
            self.results.setCurrentIndex(self.model.index(first, 0))
            self.results.scrollTo(self.model.index(first, 0))
        if query.strip() and not hits:
            self.search_message.set_live(self.tr("没有找到匹配的事项，可试试拼音首字母或事项编码"), "hint")
        else:
            self.search_message.set_live("")

    def clear_search(self) -> None:
        self.search.clear()
        self.model.set_hits([])
        self.results.hide()

    def show_refusal(self, code: str, message: str) -> None:
        self._refused_code = code
        self.refusal_text.setText(message)
        self.consult_note.clear()
        self.consult_result.set_live("")
        self.consult_button.setEnabled(True)
        self.refusal.show()

    def hide_refusal(self) -> None:
        self.refusal.hide()
        self._refused_code = ""

    def consultation_recorded(self, number: int) -> None:
        self.consult_result.set_live(self.tr("已登记咨询（第 %1 号）。").replace("%1", str(number)), "ok")
        self.consult_button.setEnabled(False)

    def _consult(self) -> None:
        if self._refused_code:
            self.consultation_was_requested.emit(self._refused_code, self.consult_note.text())

    def _query_changed(self, text: str) -> None:
        if not text.strip():
            self.model.set_hits([])
            self.results.hide()
            self.search_message.set_live("")
        self.search_was_requested.emit(text)

    def _mode_changed(self, mode: str) -> None:
        self.app_no.setVisible(mode == "全程网办帮办")
        self.mode_did_change.emit(mode)

    def _choose(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is not None:
            self.item_was_chosen.emit(hit.code)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.search and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up) and self.model.rowCount():
                row = self.results.currentIndex().row()
                row = max(0, min(self.model.rowCount() - 1, row + (1 if key == Qt.Key.Key_Down else -1)))
                self.results.setCurrentIndex(self.model.index(row, 0))
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
                if self.model.rowCount() and self.search.text().strip():
                    index: QModelIndex = self.results.currentIndex()
                    self._choose(index.row() if index.isValid() else 0)
                return True
        return super().eventFilter(watched, event)


# -- 申请人 / 代办人 -------------------------------------------------------------------------------------
class PartyForm(QWidget):
    """A person or an enterprise, with live checks of the ID number and the phone.

    Signals:
        value_did_change(str field, object value): a field of ``Party``.
    """

    value_did_change = Signal(str, object)

    def __init__(self, role: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.role = role  # "applicant" or "agent"
        self._kind = "person"
        self._id_typing = True
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        self.grid = grid
        row = 0
        self.kind_person = QRadioButton(self.tr("个人"), self)
        self.kind_enterprise = QRadioButton(self.tr("企业或其他组织"), self)
        self.kind_person.setChecked(True)
        self._kind_group = QButtonGroup(self)
        self._kind_group.addButton(self.kind_person)
        self._kind_group.addButton(self.kind_enterprise)
        self.kind_enterprise.toggled.connect(self._kind_toggled)
        kinds = QHBoxLayout()
        kinds.addWidget(self.kind_person)
        kinds.addWidget(self.kind_enterprise)
        kinds.addStretch(1)
        self.kind_label = plain_label(self.tr("申请人类型"), "FormLabel", self)
        if role == "applicant":
            grid.addWidget(self.kind_label, row, 0)
            grid.addLayout(kinds, row, 1, 1, 2)
            row += 1
        else:
            self.kind_label.hide()
            self.kind_person.hide()
            self.kind_enterprise.hide()

        self.labels: dict[str, object] = {}
        self.edits: dict[str, QLineEdit] = {}
        self.messages: dict[str, FieldMessage] = {}

        def add(field: str, label: str, widget: QWidget) -> None:
            nonlocal row
            lab = plain_label(label, "FormLabel", self)
            lab.setFixedWidth(em(self, LABEL_EM))
            grid.addWidget(lab, row, 0)
            grid.addWidget(widget, row, 1)
            message = FieldMessage(self)
            grid.addWidget(message, row, 2)
            self.labels[field] = lab
            self.messages[field] = message
            row += 1

        self.name = _field(self, self.tr("与证件一致"))
        self.name.textEdited.connect(lambda t: self.value_did_change.emit("name", t))
        add("name", self.tr("姓名"), self.name)
        self.id_type = QComboBox(self)
        for code in PERSON_ID_TYPES:
            self.id_type.addItem(term(TYPE_LABELS[code]), code)
        self.id_type.currentIndexChanged.connect(self._id_type_changed)
        add("id_type", self.tr("证件类型"), self.id_type)
        self.id_number = _field(self, self.tr("输入时即核对"))
        self.id_number.setObjectName("IdNumber")
        self.id_number.textEdited.connect(self._id_edited)
        self.id_number.editingFinished.connect(self._id_finished)
        add("id_number", self.tr("证件号码"), self.id_number)
        self.contact = _field(self, self.tr("来办理的人"))
        self.contact.textEdited.connect(lambda t: self.value_did_change.emit("contact", t))
        add("contact", self.tr("经办人"), self.contact)
        self.phone = _field(self, self.tr("手机或固定电话"))
        self.phone.textEdited.connect(self._phone_edited)
        self.phone.editingFinished.connect(self._phone_finished)
        add("phone", self.tr("联系电话"), self.phone)
        self.address = _field(self, self.tr("现住址或证件地址"), 26)
        self.address.textEdited.connect(lambda t: self.value_did_change.emit("address", t))
        add("address", self.tr("住址"), self.address)
        self.relation = _field(self, self.tr("如：子女、配偶、村委会工作人员"))
        self.relation.textEdited.connect(lambda t: self.value_did_change.emit("relation", t))
        add("relation", self.tr("与申请人关系"), self.relation)
        if role != "agent":
            for w in (self.labels["relation"], self.relation, self.messages["relation"]):
                w.hide()
        grid.setColumnStretch(2, 1)
        self.edits = {"name": self.name, "id_number": self.id_number, "contact": self.contact,
                      "phone": self.phone, "address": self.address, "relation": self.relation}
        self._apply_kind("person")

    # -- values ----------------------------------------------------------------------------------
    def load(self, party: Party) -> None:
        self.kind_enterprise.blockSignals(True)
        self.kind_enterprise.setChecked(party.kind == "enterprise")
        self.kind_person.setChecked(party.kind != "enterprise")
        self.kind_enterprise.blockSignals(False)
        self._apply_kind(party.kind)
        for name, edit in self.edits.items():
            _set_text(edit, getattr(party, name))
        if party.kind != "enterprise":
            index = self.id_type.findData(party.id_type)
            self.id_type.blockSignals(True)
            self.id_type.setCurrentIndex(max(0, index))
            self.id_type.blockSignals(False)
        self._id_typing = False
        self._check_id()
        self._check_phone(final=bool(party.phone))

    def set_problems(self, problems: dict[str, str]) -> None:
        for name, message in self.messages.items():
            message.set_problem(problems.get(f"{self.role}.{name}", ""))

    def id_type_code(self) -> str:
        return "credit_code" if self._kind == "enterprise" else (self.id_type.currentData() or "resident_id")

    # -- live checks -----------------------------------------------------------------------------
    def _id_edited(self, text: str) -> None:
        self._id_typing = True
        self.value_did_change.emit("id_number", text)
        self._check_id()

    def _id_finished(self) -> None:
        self._id_typing = False
        self._check_id()

    def _id_type_changed(self, _index: int) -> None:
        self.value_did_change.emit("id_type", self.id_type_code())
        self._check_id()

    def _check_id(self) -> None:
        """check_id as typed: a green tick with sex and birth date, or the reason."""
        message = self.messages["id_number"]
        number = self.id_number.text()
        if not number.strip():
            message.set_live("")
            return
        result = check_id(number, self.id_type_code())
        if result.valid:
            parts = ["✓ " + result.type_label]
            if result.sex:
                parts.append(result.sex)
            if result.birth_date:
                parts.append(self.tr("%1 出生").replace("%1", result.birth_date.isoformat()))
            text = "　".join(parts)
            if result.warnings:
                message.set_live(text + "\n" + "；".join(result.warnings), "warning")
            else:
                message.set_live(text, "ok")
            return
        reason = result.reason + ("；" + "；".join(result.warnings) if result.warnings else "")
        short = len("".join(number.split())) < 18 and self.id_type_code() in ("resident_id", "credit_code",
                                                                              "hmt_residence_permit",
                                                                              "foreign_permanent_2023")
        message.set_live(reason, "hint" if (self._id_typing and short) else "error")

    def _phone_edited(self, text: str) -> None:
        self.value_did_change.emit("phone", text)
        self._check_phone(final=False)

    def _phone_finished(self) -> None:
        self._check_phone(final=True)

    def _check_phone(self, final: bool) -> None:
        text = self.phone.text()
        message = self.messages["phone"]
        if not text.strip():
            message.set_live("")
            return
        problem = phone_problem(text)
        if problem is None:
            message.set_live("✓", "ok")
        else:
            message.set_live(problem if final else "", "error" if final else "hint")

    # -- person / enterprise ---------------------------------------------------------------------
    def _kind_toggled(self, enterprise: bool) -> None:
        kind = "enterprise" if enterprise else "person"
        self._apply_kind(kind)
        self.value_did_change.emit("kind", kind)
        self.value_did_change.emit("id_type", self.id_type_code())
        self._check_id()

    def _apply_kind(self, kind: str) -> None:
        self._kind = kind
        enterprise = kind == "enterprise"
        self.labels["name"].setText(self.tr("单位名称") if enterprise else self.tr("姓名"))
        self.labels["id_number"].setText(self.tr("统一社会信用代码") if enterprise else self.tr("证件号码"))
        self.labels["address"].setText(self.tr("地址") if enterprise else self.tr("住址"))
        for w in (self.labels["id_type"], self.id_type, self.messages["id_type"]):
            w.setVisible(not enterprise)
        for w in (self.labels["contact"], self.contact):
            w.setVisible(enterprise)
        self.messages["contact"].setVisible(enterprise and bool(self.messages["contact"].text()))


class AgentSection(QWidget):
    """有代办人 (the agent and the 授权委托书) and the helper (帮办/代办员).

    Signals:
        agent_was_toggled(bool)
        agent_value_did_change(str field, object value)
        helper_value_did_change(str field, object value)
    """

    agent_was_toggled = Signal(bool)
    agent_value_did_change = Signal(str, object)
    helper_value_did_change = Signal(str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.has_agent = QCheckBox(self.tr("有代办人（申请人未到场，授权委托书将加入材料清单）"), self)
        self.has_agent.toggled.connect(self._toggled)
        layout.addWidget(self.has_agent)
        self.form = PartyForm("agent", self)
        self.form.value_did_change.connect(self.agent_value_did_change)
        self.form.hide()
        layout.addWidget(self.form)

        helper = QGridLayout()
        helper.setHorizontalSpacing(10)
        helper.setVerticalSpacing(8)
        label = plain_label(self.tr("帮办/代办"), "FormLabel", self)
        label.setFixedWidth(em(self, LABEL_EM))
        helper.addWidget(label, 0, 0)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.helper_mode = QComboBox(self)
        fill_combo(self.helper_mode, HELPER_MODES)
        self.helper_mode.setToolTip(self.tr("帮办：帮助到场的申请人办理；代办：受托为不在场的申请人办理"))
        self.helper_mode.currentIndexChanged.connect(lambda _i: self._helper_mode_changed(combo_value(self.helper_mode)))
        row.addWidget(self.helper_mode)
        self.helper_name = _field(self, self.tr("帮办/代办员姓名"), 9)
        self.helper_name.textEdited.connect(lambda t: self.helper_value_did_change.emit("name", t))
        row.addWidget(self.helper_name)
        self.helper_staff = _field(self, self.tr("工号（可不填）"), 7)
        self.helper_staff.textEdited.connect(lambda t: self.helper_value_did_change.emit("staff_no", t))
        row.addWidget(self.helper_staff)
        helper.addLayout(row, 0, 1)
        self.helper_message = FieldMessage(self)
        helper.addWidget(self.helper_message, 0, 2)
        helper.setColumnStretch(2, 1)
        layout.addLayout(helper)

    def load(self, case: Case) -> None:
        self.has_agent.blockSignals(True)
        self.has_agent.setChecked(case.agent is not None)
        self.has_agent.blockSignals(False)
        self.form.setVisible(case.agent is not None)
        if case.agent is not None:
            self.form.load(case.agent)
        set_combo_value(self.helper_mode, case.helper.mode)
        _set_text(self.helper_name, case.helper.name)
        _set_text(self.helper_staff, case.helper.staff_no)
        self._show_helper_fields(case.helper.mode)

    def set_problems(self, problems: dict[str, str]) -> None:
        self.form.set_problems(problems)
        self.helper_message.set_problem(problems.get("helper.name", ""))

    def _toggled(self, on: bool) -> None:
        self.form.setVisible(on)
        self.agent_was_toggled.emit(on)

    def _helper_mode_changed(self, mode: str) -> None:
        self._show_helper_fields(mode)
        self.helper_value_did_change.emit("mode", mode)

    def _show_helper_fields(self, mode: str) -> None:
        on = mode != "无"
        self.helper_name.setVisible(on)
        self.helper_staff.setVisible(on)


# -- 送达 ---------------------------------------------------------------------------------------------
class DeliverySection(QWidget):
    """How the result reaches the applicant.

    Signals:
        value_did_change(str field, object value): a field of ``Delivery``.
        copy_was_requested(): fill the mail fields from the applicant.
    """

    value_did_change = Signal(str, object)
    copy_was_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        methods = QHBoxLayout()
        methods.setSpacing(16)
        self.group = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for method in DELIVERY_METHODS:
            button = QRadioButton(term(method), self)
            self.group.addButton(button)
            self.buttons[method] = button
            button.toggled.connect(lambda on, m=method: on and self._method_chosen(m))
            methods.addWidget(button)
        methods.addStretch(1)
        layout.addLayout(methods)
        self.explain = plain_label("", "Hint", self, wrap=True)
        layout.addWidget(self.explain)

        self.mail = QWidget(self)
        grid = QGridLayout(self.mail)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(8)
        self.edits: dict[str, QLineEdit] = {}
        self.messages: dict[str, FieldMessage] = {}
        for row, (name, label, placeholder, width) in enumerate((
                ("recipient", self.tr("收件人"), self.tr("姓名"), FIELD_EM),
                ("phone", self.tr("联系电话"), self.tr("手机或固定电话"), FIELD_EM),
                ("address", self.tr("邮寄地址"), self.tr("省市县乡镇村（街道门牌）"), 26))):
            lab = plain_label(label, "FormLabel", self.mail)
            lab.setFixedWidth(em(self, LABEL_EM))
            grid.addWidget(lab, row, 0)
            edit = _field(self.mail, placeholder, width)
            edit.textEdited.connect(lambda t, n=name: self.value_did_change.emit(n, t))
            grid.addWidget(edit, row, 1)
            message = FieldMessage(self.mail)
            grid.addWidget(message, row, 2)
            self.edits[name], self.messages[name] = edit, message
        self.copy_button = QPushButton(self.tr("同申请人"), self.mail)
        self.copy_button.setToolTip(self.tr("用申请人的姓名、电话和住址填写"))
        self.copy_button.clicked.connect(self.copy_was_requested)
        grid.addWidget(self.copy_button, 3, 1, Qt.AlignmentFlag.AlignLeft)
        grid.setColumnStretch(2, 1)
        layout.addWidget(self.mail)
        self.buttons["窗口领取"].blockSignals(True)
        self.buttons["窗口领取"].setChecked(True)
        self.buttons["窗口领取"].blockSignals(False)
        self._show("窗口领取")

    def load(self, case: Case) -> None:
        d = case.delivery
        button = self.buttons[d.method]
        if not button.isChecked():
            button.blockSignals(True)
            button.setChecked(True)
            button.blockSignals(False)
        for name, edit in self.edits.items():
            _set_text(edit, getattr(d, name))
        self._show(d.method)

    def set_problems(self, problems: dict[str, str]) -> None:
        for name, message in self.messages.items():
            message.set_problem(problems.get(f"delivery.{name}", ""))

    def _method_chosen(self, method: str) -> None:
        self._show(method)
        self.value_did_change.emit("method", method)

    def _show(self, method: str) -> None:
        self.mail.setVisible(method == "邮寄")
        self.explain.setText({
            "窗口领取": self.tr("办结后申请人到办理地窗口领取结果。"),
            "收件地代领": self.tr("办理地将结果寄回本窗口，申请人到本窗口领取。"),
            "邮寄": self.tr("办理地将结果直接寄给申请人。"),
        }[method])
