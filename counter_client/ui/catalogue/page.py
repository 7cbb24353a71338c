"""The catalogue page (事项指南): search as you type, filters, the result list and the guide.

Every keystroke schedules a search on the task runner (after a short debounce); a newer search
supersedes older ones, and a result that arrives after a newer query was typed is dropped, so
the list always answers what is in the box. Searching keeps working while the catalogue is
refreshed: searches read the old catalogue until the new one is committed.

Keyboard: Ctrl+F / F3 focus the search box; ↑/↓ in the box move through the results; Enter
opens the selected guide; PageUp/PageDown scroll the guide; Esc returns to the search box;
F5 refreshes the catalogue; Ctrl+N starts intake with the guide on screen.
"""

from __future__ import annotations

import logging
from typing import Protocol

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.catalogue_refresh import CatalogueRefresher
from counter_client.background.tasks import Job, TaskRunner
from counter_client.domain.catalogue import Department, Guide
from counter_client.domain.search import SearchFilters, SearchHit
from counter_client.ui.catalogue.filters import FilterBar, FilterOptions, build_filter_options
from counter_client.ui.catalogue.guide_view import GuideDocument, GuideView
from counter_client.ui.catalogue.results import HitDelegate, SearchResultsModel
from counter_client.ui.icons import icon

log = logging.getLogger(__name__)

SEARCH_DEBOUNCE_MS = 40
RESULT_LIMIT = 50
LEFT_PANE_WIDTH = 470  # px at the normal font; wider in large-font mode
LEFT_PANE_EM = 29
SEARCH_KEY = "catalogue-search"
GUIDE_KEY = "catalogue-guide"


class CatalogueApi(Protocol):
    """What the page reads from the catalogue (on the task runner, never on the GUI thread)."""

    def search(self, query: str, filters: SearchFilters, limit: int) -> list[SearchHit]: ...
    def guide(self, code: str) -> Guide | None: ...
    def collectable(self, guide: Guide) -> list[str]: ...
    def department(self, code: str) -> Department | None: ...
    def region_full_name(self, code: str) -> str: ...
    def region_name(self, code: str) -> str: ...
    def departments_in_use(self) -> list[tuple[str, str, int, str]]: ...
    def regions_in_use(self) -> list[str]: ...


class CataloguePage(QWidget):
    """事项指南.

    Signals:
        search_did_finish(str query, int count): results for ``query`` are on screen.
        guide_did_open(str code): a guide is shown.
        options_did_load(): the filter choices were (re)loaded.
        intake_was_requested(str code): 开始收件 (Ctrl+N) with the guide on screen (or the selected hit).
    """

    search_did_finish = Signal(str, int)
    guide_did_open = Signal(str)
    options_did_load = Signal()
    intake_was_requested = Signal(str)

    def __init__(self, runner: TaskRunner, catalogue: CatalogueApi, refresher: CatalogueRefresher,
                 hall_region: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("CataloguePage")
        self._runner = runner
        self._catalogue = catalogue
        self._refresher = refresher
        self._generation = 0
        self._shown_generation = 0
        self._open_when_ready = False
        self._guide_count: int | None = None

        # -- search row --------------------------------------------------------------------------
        self.search_field = QLineEdit(self)
        self.search_field.setObjectName("SearchField")
        self.search_field.setPlaceholderText(self.tr("输入事项名称、拼音首字母（如 sfz）或事项编码"))
        self.search_field.setClearButtonEnabled(True)
        self.search_field.addAction(icon("search", colour="#5b6675", selected_colour=None),
                                    QLineEdit.ActionPosition.LeadingPosition)
        self.search_field.installEventFilter(self)
        self.refresh_button = QPushButton(self.tr("更新目录"), self)
        self.refresh_button.setToolTip(self.tr("从平台下载最新的事项指南（F5）"))
        self.refresh_button.clicked.connect(self._refresh_clicked)
        search_row = QHBoxLayout()
        search_row.setSpacing(8)
        search_row.addWidget(self.search_field, 1)
        search_row.addWidget(self.refresh_button)

        # -- left: filters and results ---------------------------------------------------------
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 6, 0)
        left_layout.setSpacing(8)
        self.filter_bar = FilterBar(hall_region, left)
        self.filter_bar.filters_did_change.connect(self.search_now)
        left_layout.addWidget(self.filter_bar)
        self.summary = QLabel(left)
        self.summary.setObjectName("ResultsSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        left_layout.addWidget(self.summary)

        self.model = SearchResultsModel(self)
        self.results = QListView(left)
        self.results.setObjectName("ResultsList")
        self.results.setModel(self.model)
        self.results.setItemDelegate(HitDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.results.clicked.connect(lambda index: self.open_guide_at(index.row()))
        self.results.activated.connect(lambda index: self.open_guide_at(index.row()))
        self.empty_state = QLabel(left)
        self.empty_state.setObjectName("EmptyState")
        self.empty_state.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_state.setWordWrap(True)
        self.empty_state.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.results_stack = QStackedWidget(left)
        self.results_stack.addWidget(self.results)
        self.results_stack.addWidget(self.empty_state)
        left_layout.addWidget(self.results_stack, 1)

        # -- right: the guide ------------------------------------------------------------------
        self.guide_view = GuideView(self)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.guide_view)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        px = self.font().pixelSize() if self.font().pixelSize() > 0 else 14
        self.splitter.setSizes([max(LEFT_PANE_WIDTH, LEFT_PANE_EM * px), 800])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 8)
        layout.setSpacing(10)
        layout.addLayout(search_row)
        layout.addWidget(self.splitter, 1)
        self.setTabOrder(self.search_field, self.results)

        # -- behaviour -------------------------------------------------------------------------
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.search_now)
        self.search_field.textChanged.connect(lambda _text: self._debounce.start())

        for keys in (QKeySequence.StandardKey.Find, QKeySequence(Qt.Key.Key_F3)):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self.focus_search)
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.focus_search)
        refresh = QShortcut(QKeySequence(Qt.Key.Key_F5), self)
        refresh.setContext(Qt.ShortcutContext.WindowShortcut)
        refresh.activated.connect(self._refresh_clicked)
        start = QShortcut(QKeySequence("Ctrl+N"), self)
        start.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        start.activated.connect(self.start_intake)
        self.guide_view.intake_was_requested.connect(self.intake_was_requested)

        refresher.refresh_did_start.connect(self._refresh_started)
        refresher.refresh_did_end.connect(self._refresh_ended)
        refresher.catalogue_did_refresh.connect(lambda _result: self.reload())
        refresher.info_did_change.connect(self._info_changed)
        self.reload()

    # -- public ----------------------------------------------------------------------------------
    def page_shown(self) -> None:
        self.focus_search()

    def focus_search(self) -> None:
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def reload(self) -> None:
        """Re-read filter choices, search again and re-open the guide on screen (after a refresh)."""
        self._load_options()
        self.search_now()
        if self.guide_view.code:
            self.open_guide(self.guide_view.code)

    def search_now(self) -> None:
        """Search for what is in the box with the current filters (on the runner)."""
        self._debounce.stop()
        self._generation += 1
        generation = self._generation
        query = self.search_field.text()
        filters = self.filter_bar.filters()
        (self._runner.op(lambda job: self._catalogue.search(query, filters, RESULT_LIMIT))
         .superseding(SEARCH_KEY)
         .on_success(lambda hits: self._show_hits(generation, query, filters, hits))
         .run())

    @property
    def search_pending(self) -> bool:
        return self._debounce.isActive() or self._shown_generation != self._generation

    def selected_row(self) -> int:
        index = self.results.currentIndex()
        return index.row() if index.isValid() else -1

    def open_selected(self) -> None:
        if self.search_pending:
            self._open_when_ready = True
            return
        row = self.selected_row()
        self.open_guide_at(row if row >= 0 else 0)

    def open_guide_at(self, row: int) -> None:
        hit = self.model.hit(row)
        if hit is not None:
            self._select(row)
            self.open_guide(hit.code)

    def start_intake(self) -> None:
        """Ctrl+N: start intake with the guide on screen, else the selected result."""
        code = self.guide_view.code
        if not code:
            hit = self.model.hit(self.selected_row())
            code = hit.code if hit is not None else ""
        if code:
            self.intake_was_requested.emit(code)

    def open_guide(self, code: str) -> None:
        (self._runner.op(lambda job: self._read_guide(job, code))
         .superseding(GUIDE_KEY)
         .on_success(lambda document: self._show_guide(code, document))
         .run())

    # -- keyboard --------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.search_field and event.type() == QEvent.Type.KeyPress:
            key = event.key()
            if event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
                return super().eventFilter(watched, event)
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._move(1 if key == Qt.Key.Key_Down else -1)
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.open_selected()
                return True
            if key in (Qt.Key.Key_PageDown, Qt.Key.Key_PageUp):
                self.guide_view.scroll_page(1 if key == Qt.Key.Key_PageDown else -1)
                return True
        return super().eventFilter(watched, event)

    def _move(self, step: int) -> None:
        count = self.model.rowCount()
        if not count:
            return
        row = self.selected_row()
        self._select(max(0, min(count - 1, (row if row >= 0 else -1) + step)))

    def _select(self, row: int) -> None:
        index = self.model.index(row, 0)
        self.results.setCurrentIndex(index)
        self.results.scrollTo(index)

    # -- results ---------------------------------------------------------------------------------
    def _show_hits(self, generation: int, query: str, filters: SearchFilters, hits: list[SearchHit]) -> None:
        if generation != self._generation:
            log.debug("dropping stale search results")
            return
        self._shown_generation = generation
        current = self.model.hit(self.selected_row())
        self.model.set_hits(hits)
        if hits:
            keep = self.model.row_of(current.code) if current else -1
            self._select(keep if keep >= 0 and not query else 0)
            self.results_stack.setCurrentWidget(self.results)
        else:
            self.empty_state.setText(self._empty_text(query, filters))
            self.results_stack.setCurrentWidget(self.empty_state)
        self.summary.setText(self._summary_text(query, len(hits)))
        self.search_did_finish.emit(query, len(hits))
        if self._open_when_ready:
            self._open_when_ready = False
            if hits:
                self.open_guide_at(max(0, self.selected_row()))

    def _summary_text(self, query: str, count: int) -> str:
        if not query.strip():
            if self._guide_count:
                return self.tr("目录共 %1 项；输入文字即可检索").replace("%1", str(self._guide_count))
            return ""
        if count >= RESULT_LIMIT:
            return self.tr("显示最相关的 %1 项，多输入几个字可缩小范围").replace("%1", str(count))
        return self.tr("找到 %1 项").replace("%1", str(count))

    def _empty_text(self, query: str, filters: SearchFilters) -> str:
        if self._guide_count == 0:
            return self.tr("本地目录为空。\n请点击右上角“更新目录”，从平台下载事项指南。")
        text = self.tr("没有找到匹配的事项。\n可以试试拼音首字母（如 sfz）、别名或事项编码。")
        if filters.active():
            text += "\n" + self.tr("已设置筛选条件，可点击“清除筛选”扩大范围。")
        return text

    # -- guide -----------------------------------------------------------------------------------
    def _read_guide(self, job: Job, code: str) -> GuideDocument | None:
        guide = self._catalogue.guide(code)
        if guide is None or job.cancelled():
            return None
        return GuideDocument(
            guide=guide,
            department=self._catalogue.department(guide.implementer.department_code),
            region_name=self._catalogue.region_full_name(guide.handling_region),
            collectable=self._catalogue.collectable(guide),
        )

    def _show_guide(self, code: str, document: GuideDocument | None) -> None:
        if document is None:
            self.guide_view.show_message(
                self.tr("目录中已没有编码为 %1 的事项（可能已在更新中删除）。").replace("%1", code))
            return
        self.guide_view.show_guide(document)
        self.guide_did_open.emit(code)

    # -- filters and refresh ---------------------------------------------------------------------
    def _load_options(self) -> None:
        catalogue = self._catalogue

        def read(job: Job) -> FilterOptions:
            return build_filter_options(catalogue.departments_in_use(), catalogue.regions_in_use(),
                                        catalogue.region_name)

        (self._runner.op(read).superseding("catalogue-filter-options")
         .on_success(self._options_loaded).run())

    def _options_loaded(self, options: FilterOptions) -> None:
        self.filter_bar.set_options(options)
        self.options_did_load.emit()

    def _info_changed(self, info) -> None:
        self._guide_count = info.guide_count if info is not None else None
        if not self.search_pending:
            self.summary.setText(self._summary_text(self.search_field.text(), self.model.rowCount()))
            if self.model.rowCount() == 0:
                self.empty_state.setText(self._empty_text(self.search_field.text(), self.filter_bar.filters()))

    def _refresh_clicked(self) -> None:
        if self._refresher.running:
            self._refresher.cancel()
        else:
            self._refresher.refresh()

    def _refresh_started(self) -> None:
        self.refresh_button.setText(self.tr("取消更新"))
        self.refresh_button.setToolTip(self.tr("停止更新，继续使用原目录"))

    def _refresh_ended(self) -> None:
        self.refresh_button.setText(self.tr("更新目录"))
        self.refresh_button.setToolTip(self.tr("从平台下载最新的事项指南（F5）"))
