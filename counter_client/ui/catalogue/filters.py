"""The filters beside the search field: 办理地 (province → prefecture), department, handling mode,
item type and "只看本窗口可收件". The choices come from the catalogue itself (``FilterOptions``,
read on the task runner), so a filter never offers something that finds nothing; the department
choices follow the chosen 办理地. The combo boxes sit on list models, so a national catalogue's
tens of thousands of departments fill in at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QWidget

from counter_client.domain.catalogue import HANDLING_MODES, ITEM_TYPES, scope_of
from counter_client.domain.search import SearchFilters

COMBO_MIN_CHARS = 6
# prefecture-level names that are not places a clerk would pick (直辖市 and 省直辖 groupings):
# their counties are offered instead
GROUPING_NAMES = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")


@dataclass(frozen=True)
class FilterOptions:
    """What the filters offer: departments and the 办理地 tree of the guides in the catalogue."""

    departments: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, 办理地 code)
    provinces: list[tuple[str, str]] = field(default_factory=list)  # (code, name)
    below: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # province -> (code, name)


def build_filter_options(departments: list[tuple[str, str, int, str]], regions_in_use: list[str],
                         region_name) -> FilterOptions:
    """Group the 办理地 codes in use into provinces and their prefectures (or, under a
    grouping such as 重庆市 市辖区, their counties). ``region_name(code)`` -> name or ''."""
    provinces: dict[str, str] = {}
    below: dict[str, dict[str, str]] = {}
    for code in regions_in_use:
        province = code[:2] + "0000"
        provinces.setdefault(province, region_name(province) or province)
        if code == province:
            continue
        prefecture = code[:4] + "00"
        name = region_name(prefecture)
        if name in GROUPING_NAMES or not name:
            if code != prefecture:
                below.setdefault(province, {})[code] = region_name(code) or code
        else:
            below.setdefault(province, {})[prefecture] = name
    return FilterOptions(
        departments=[(code, name, region) for code, name, _count, region in departments],
        provinces=sorted(provinces.items()),
        below={p: sorted(children.items()) for p, children in below.items()},
    )


class ChoiceModel(QAbstractListModel):
    """A combo box's entries as a Python list: the first is "全部…" (data ``None``)."""

    def __init__(self, all_text: str, parent: QObject | None = None):
        super().__init__(parent)
        self._entries: list[tuple[str | None, str]] = [(None, all_text)]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._entries)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._entries):
            return None
        code, name = self._entries[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return name
        if role == Qt.ItemDataRole.UserRole:
            return code
        return None

    def set_entries(self, entries: list[tuple[str, str]]) -> None:
        self.beginResetModel()
        self._entries = self._entries[:1] + list(entries)
        self.endResetModel()

    def row_of(self, code: str | None) -> int:
        return next((i for i, (c, _) in enumerate(self._entries) if c == code), -1)


def _combo(parent: QWidget, all_text: str) -> QComboBox:
    combo = QComboBox(parent)
    combo.setModel(ChoiceModel(all_text, combo))
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(COMBO_MIN_CHARS)
    return combo


class FilterBar(QWidget):
    """The search filters.

    Signals:
        filters_did_change(): the clerk changed a filter.
    """

    filters_did_change = Signal()

    def __init__(self, hall_region: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.hall_region = hall_region or None
        self._options = FilterOptions()
        self._quiet = False
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(6)

        def label(text: str) -> QLabel:
            lab = QLabel(text, self)
            lab.setObjectName("FilterLabel")
            return lab

        self.province = _combo(self, self.tr("全部省份"))
        self.prefecture = _combo(self, self.tr("全部地区"))
        self.department = _combo(self, self.tr("全部部门"))
        self.mode = _combo(self, self.tr("全部方式"))
        _refill(self.mode, [(mode, mode) for mode in HANDLING_MODES])
        self.item_type = _combo(self, self.tr("全部类型"))
        _refill(self.item_type, list(ITEM_TYPES.items()))
        self.collectable = QCheckBox(self.tr("只看本窗口可收件"), self)
        if not self.hall_region:
            self.collectable.setEnabled(False)
            self.collectable.setToolTip(self.tr("尚未设置本窗口所在区划，无法判断"))
        else:
            self.collectable.setToolTip(self.tr("全国清单事项，以及本地与办理地签有通办协议的事项"))
        self.clear_button = QPushButton(self.tr("清除筛选"), self)
        self.clear_button.setEnabled(False)

        region_row = QHBoxLayout()
        region_row.setSpacing(6)
        region_row.addWidget(self.province, 1)
        region_row.addWidget(self.prefecture, 1)
        grid.addWidget(label(self.tr("办理地")), 0, 0)
        grid.addLayout(region_row, 0, 1, 1, 3)
        grid.addWidget(label(self.tr("部门")), 1, 0)
        grid.addWidget(self.department, 1, 1, 1, 3)
        grid.addWidget(label(self.tr("方式")), 2, 0)
        grid.addWidget(self.mode, 2, 1)
        grid.addWidget(label(self.tr("类型")), 2, 2)
        grid.addWidget(self.item_type, 2, 3)
        bottom = QHBoxLayout()
        bottom.addWidget(self.collectable)
        bottom.addStretch(1)
        bottom.addWidget(self.clear_button)
        grid.addLayout(bottom, 3, 0, 1, 4)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)

        self.province.currentIndexChanged.connect(self._province_changed)
        self.prefecture.currentIndexChanged.connect(self._prefecture_changed)
        for combo in (self.department, self.mode, self.item_type):
            combo.currentIndexChanged.connect(self._changed)
        self.collectable.toggled.connect(self._changed)
        self.clear_button.clicked.connect(self.clear)
        self.prefecture.setEnabled(False)

    # -- state -----------------------------------------------------------------------------------
    def filters(self) -> SearchFilters:
        region = self.prefecture.currentData() or self.province.currentData()
        return SearchFilters(
            department_code=self.department.currentData(),
            region=region,
            mode=self.mode.currentData(),
            item_type=self.item_type.currentData(),
            collectable_at=self.hall_region if self.collectable.isChecked() and self.hall_region else None,
        )

    def set_options(self, options: FilterOptions) -> None:
        """New choices (after a refresh); the current choices are kept when still offered."""
        self._options = options
        self._quiet = True
        try:
            _refill(self.province, options.provinces)
            self._fill_prefectures()
            self._fill_departments()
        finally:
            self._quiet = False
        self._update_clear()

    def clear(self) -> None:
        self._quiet = True
        try:
            for combo in (self.province, self.prefecture, self.department, self.mode, self.item_type):
                combo.setCurrentIndex(0)
            self.collectable.setChecked(False)
            self._fill_prefectures()
            self._fill_departments()
        finally:
            self._quiet = False
        self._changed()

    def select(self, combo: QComboBox, data) -> bool:
        """Choose the entry whose data is ``data`` (tests, and restoring a choice)."""
        index = combo.findData(data)
        if index < 0:
            return False
        combo.setCurrentIndex(index)
        return True

    # -- internals -------------------------------------------------------------------------------
    def _province_changed(self) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            self._fill_prefectures()
            self._fill_departments()
        finally:
            self._quiet = False
        self._changed()

    def _prefecture_changed(self) -> None:
        if self._quiet:
            return
        self._quiet = True
        try:
            self._fill_departments()
        finally:
            self._quiet = False
        self._changed()

    def _fill_departments(self) -> None:
        """Departments of the chosen 办理地 (all when none is chosen)."""
        region = self.prefecture.currentData() or self.province.currentData()
        scope = scope_of(region) if region else ""
        _refill(self.department, [(code, name) for code, name, where in self._options.departments
                                  if where.startswith(scope)])

    def _fill_prefectures(self) -> None:
        province = self.province.currentData()
        _refill(self.prefecture, self._options.below.get(province, []) if province else [])
        self.prefecture.setEnabled(self.prefecture.count() > 1)

    def _changed(self) -> None:
        if self._quiet:
            return
        self._update_clear()
        self.filters_did_change.emit()

    def _update_clear(self) -> None:
        self.clear_button.setEnabled(self.filters().active())


def _refill(combo: QComboBox, entries: list[tuple[str, str]]) -> None:
    """Replace the entries after the first ("全部…"), keeping the current choice if offered."""
    model: ChoiceModel = combo.model()
    current = combo.currentData()
    combo.blockSignals(True)
    try:
        model.set_entries(entries)
        combo.setCurrentIndex(max(0, model.row_of(current)))
    finally:
        combo.blockSignals(False)
