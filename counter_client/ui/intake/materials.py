"""The 材料 step: the checklist as a table, one row per material (asked once for every item
that needs it), with how it was received, its pages, the 形式审查 and its scan strip.

Rows are rebuilt only when the checklist itself changes (an item or the agent added or removed);
otherwise values are updated in place, so typing in a row never loses focus. A row takes files
dropped on it. The selected row is where the watched folder's new files go.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from counter_client.domain.case import RECEIVED_FORMS, REVIEW_RESULTS, MaterialEntry
from counter_client.ui.intake.scan_strip import ScanStrip, ThumbnailCache
from counter_client.ui.widgets import (
    FieldMessage,
    FileDropFrame,
    combo_value,
    em,
    fill_combo,
    plain_label,
    set_combo_value,
    set_kind,
)

# column widths in 中-widths (they grow with the font)
COLUMNS = (("name", None), ("form", 7.5), ("pages", 4.5), ("review", 6.5))


class MaterialRow(FileDropFrame):
    """One material.

    Signals:
        material_did_change(str key, dict changes): fields of ``MaterialEntry`` to set.
        row_was_selected(str key)
        files_were_dropped(str key, list paths)
    """

    material_did_change = Signal(str, dict)
    row_was_selected = Signal(str)
    files_were_dropped = Signal(str, list)

    def __init__(self, entry: MaterialEntry, item_names: dict[str, str], thumbnails: ThumbnailCache,
                 suffixes: frozenset[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MaterialRow")
        self.setAcceptDrops(True)
        self.key = entry.key
        self._loading = False
        grid = QGridLayout(self)
        grid.setContentsMargins(10, 8, 10, 8)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(4)

        # column 0: the material and its requirement
        left = QVBoxLayout()
        left.setSpacing(2)
        self.name = plain_label(entry.name, "MaterialName", self, wrap=True)
        self.name.setToolTip(entry.standard or entry.name)
        left.addWidget(self.name)
        self.requirement = plain_label(entry.requirement(), "MaterialRequirement", self, wrap=True)
        left.addWidget(self.requirement)
        self.message = FieldMessage(self)  # why the material stops the case, beside its fields
        left.addWidget(self.message)
        if len(item_names) > 1 or len(entry.items) > 1:
            used = "、".join(item_names.get(code, code) for code in entry.items)
            self.used_by = plain_label(self.tr("用于：%1").replace("%1", used), "Hint", self, wrap=True)
            left.addWidget(self.used_by)
        grid.addLayout(left, 0, 0)

        # column 1: how it was received (+ the licence number)
        form_box = QVBoxLayout()
        form_box.setSpacing(2)
        self.form = QComboBox(self)
        fill_combo(self.form, RECEIVED_FORMS)
        self.form.setFixedWidth(em(self, COLUMNS[1][1]))
        self.form.setToolTip(self.tr("收取方式"))
        self.form.currentIndexChanged.connect(lambda _i: self._form_changed(combo_value(self.form)))
        form_box.addWidget(self.form)
        self.licence = QLineEdit(self)
        self.licence.setPlaceholderText(self.tr("电子证照编号"))
        self.licence.setFixedWidth(em(self, COLUMNS[1][1]))
        self.licence.textEdited.connect(lambda text: self._emit({"elicence_ref": text}))
        form_box.addWidget(self.licence)
        form_box.addStretch(1)
        grid.addLayout(form_box, 0, 1)

        # column 2: pages
        self.pages = QSpinBox(self)
        self.pages.setRange(0, 9999)
        self.pages.setSuffix(self.tr(" 页"))
        self.pages.setFixedWidth(em(self, COLUMNS[2][1]))
        self.pages.setToolTip(self.tr("纸质页数（扫描时自动计数）"))
        self.pages.valueChanged.connect(lambda value: self._emit({"pages": value}))
        grid.addWidget(self.pages, 0, 2, Qt.AlignmentFlag.AlignTop)

        # column 3: 形式审查 (+ reasons)
        review_box = QVBoxLayout()
        review_box.setSpacing(2)
        self.review = QComboBox(self)
        fill_combo(self.review, REVIEW_RESULTS)
        self.review.setFixedWidth(em(self, COLUMNS[3][1]))
        self.review.setToolTip(self.tr("形式审查"))
        self.review.currentIndexChanged.connect(lambda _i: self._review_changed(combo_value(self.review)))
        review_box.addWidget(self.review)
        review_box.addStretch(1)
        grid.addLayout(review_box, 0, 3)
        self.reasons = QLineEdit(self)
        self.reasons.setPlaceholderText(self.tr("不合格原因（多条用“；”分隔），如：复印件不清晰；缺少签名"))
        self.reasons.textEdited.connect(self._reasons_edited)
        grid.addWidget(self.reasons, 1, 1, 1, 3)

        # below: scans and the message beside the material
        self.strip = ScanStrip(thumbnails, suffixes, self)
        grid.addWidget(self.strip, 2, 0, 1, 4)
        grid.setColumnStretch(0, 1)

        for w in (self.form, self.licence, self.pages, self.review, self.reasons, self.strip.pages,
                  self.strip.camera_button, self.strip.import_button):
            w.installEventFilter(self)
        self.update_entry(entry)

    # -- values ----------------------------------------------------------------------------------
    def update_entry(self, entry: MaterialEntry) -> None:
        self._loading = True
        try:
            self.requirement.setText(entry.requirement())
            set_combo_value(self.form, entry.form)
            if self.licence.text() != entry.elicence_ref:
                self.licence.setText(entry.elicence_ref)
            self.licence.setVisible(entry.form == "电子证照")
            if self.pages.value() != entry.pages:
                self.pages.setValue(entry.pages)
            set_combo_value(self.review, entry.review)
            reasons = "；".join(entry.review_reasons)
            if "；".join(_split(self.reasons.text())) != reasons:
                self.reasons.setText(reasons)
            self.reasons.setVisible(entry.review == "不合格")
            self.strip.set_scans(list(entry.scans))
            set_kind(self, "missing" if entry.form == "未收" and entry.necessity == 1 else "", "state")
        finally:
            self._loading = False

    def set_problem(self, text: str) -> None:
        self.message.set_problem(text)
        set_kind(self, "true" if text else "false", "problem")

    def set_selected(self, selected: bool) -> None:
        set_kind(self, "true" if selected else "false", "selected")

    def _emit(self, changes: dict) -> None:
        if not self._loading:
            self.material_did_change.emit(self.key, changes)

    def _form_changed(self, text: str) -> None:
        self.licence.setVisible(text == "电子证照")
        self._emit({"form": text})

    def _review_changed(self, text: str) -> None:
        self.reasons.setVisible(text == "不合格")
        changes = {"review": text}
        if text != "不合格":
            changes["review_reasons"] = []
        else:
            changes["review_reasons"] = _split(self.reasons.text())
        self._emit(changes)

    def _reasons_edited(self, text: str) -> None:
        self._emit({"review_reasons": _split(text)})

    # -- selection and drops ---------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() in (QEvent.Type.FocusIn, QEvent.Type.MouseButtonPress):
            self.row_was_selected.emit(self.key)
        return super().eventFilter(watched, event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.row_was_selected.emit(self.key)
        super().mousePressEvent(event)

    def files_dropped(self, paths: list[str]) -> None:
        self.row_was_selected.emit(self.key)
        self.files_were_dropped.emit(self.key, paths)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(";", "；").split("；") if part.strip()]


class MaterialsSection(QWidget):
    """The checklist: a header and one row per material.

    Signals:
        material_did_change(str key, dict changes)
        row_was_selected(str key)
        files_were_dropped(str key, list paths)
        camera_was_requested(str key)
        page_action_was_requested(str key, str action, int index)
        undo_was_requested(str key)
    """

    material_did_change = Signal(str, dict)
    row_was_selected = Signal(str)
    files_were_dropped = Signal(str, list)
    camera_was_requested = Signal(str)
    page_action_was_requested = Signal(str, str, int)
    undo_was_requested = Signal(str)

    def __init__(self, thumbnails: ThumbnailCache, suffixes: frozenset[str], parent: QWidget | None = None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._suffixes = suffixes
        self.rows: dict[str, MaterialRow] = {}
        self._keys: list[str] = []
        self.selected = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.watch_status = plain_label("", "Hint", self, wrap=True)
        self.watch_status.hide()
        layout.addWidget(self.watch_status)
        self.header = QFrame(self)
        self.header.setObjectName("ChecklistHeader")
        head = QHBoxLayout(self.header)
        head.setContentsMargins(10, 4, 10, 4)
        head.setSpacing(10)
        titles = (self.tr("材料与要求"), self.tr("收取方式"), self.tr("页数"), self.tr("形式审查"))
        for (name, width), title in zip(COLUMNS, titles):
            label = plain_label(title, "ColumnTitle", self.header)
            if width is None:
                head.addWidget(label, 1)
            else:
                label.setFixedWidth(em(self, width))
                head.addWidget(label)
        layout.addWidget(self.header)
        self.empty = plain_label(self.tr("选择事项后，这里列出须收取的材料。"), "Hint", self, wrap=True)
        layout.addWidget(self.empty)
        self._rows_box = QVBoxLayout()
        self._rows_box.setSpacing(6)
        layout.addLayout(self._rows_box)
        self.header.hide()

    def show_materials(self, materials: list[MaterialEntry], item_names: dict[str, str]) -> None:
        keys = [m.key for m in materials]
        if keys != self._keys:
            for row in self.rows.values():
                self._rows_box.removeWidget(row)
                row.deleteLater()
            self.rows = {}
            for m in materials:
                row = MaterialRow(m, item_names, self._thumbnails, self._suffixes, self)
                row.material_did_change.connect(self.material_did_change)
                row.row_was_selected.connect(self.select)
                row.files_were_dropped.connect(self.files_were_dropped)
                strip = row.strip
                strip.camera_was_requested.connect(lambda k=m.key: self.camera_was_requested.emit(k))
                strip.files_were_chosen.connect(lambda paths, k=m.key: self.files_were_dropped.emit(k, paths))
                strip.page_action_was_requested.connect(
                    lambda action, index, k=m.key: self.page_action_was_requested.emit(k, action, index))
                strip.undo_was_requested.connect(lambda k=m.key: self.undo_was_requested.emit(k))
                self._rows_box.addWidget(row)
                row.show()  # added to a visible parent: shown now, not after the next event loop turn
                self.rows[m.key] = row
            self._keys = keys
            if self.selected not in self.rows:
                self.selected = ""
        else:
            for m in materials:
                self.rows[m.key].update_entry(m)
        self.header.setVisible(bool(materials))
        self.empty.setVisible(not materials)
        if not self.selected and materials:
            first = next((m.key for m in materials if not m.scans and m.form in ("未收", "原件核验", "复印件")),
                         materials[0].key)
            self.select(first)
        else:
            self._mark_selected()

    def select(self, key: str) -> None:
        if key in self.rows and key != self.selected:
            self.selected = key
            self._mark_selected()
            self.row_was_selected.emit(key)

    def _mark_selected(self) -> None:
        for key, row in self.rows.items():
            row.set_selected(key == self.selected)

    def row_at(self, index: int) -> MaterialRow | None:
        return self.rows.get(self._keys[index]) if 0 <= index < len(self._keys) else None

    def set_watch_status(self, text: str, kind: str = "hint") -> None:
        self.watch_status.setText(text)
        set_kind(self.watch_status, kind)
        self.watch_status.setVisible(bool(text))

    def first_focus(self) -> QWidget | None:
        row = self.row_at(0)
        return row.form if row else None

