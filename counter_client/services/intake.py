"""Intake (收件): the use cases behind the intake page and ``counter-client case …``.

Everything here works offline. A case starts as a draft saved on every change (autosave), gains
items the hall may collect for (their guide version pinned), a checklist merged across items,
scans stored once and encrypted, and is confirmed into a collected case with a receipt number
minted from this terminal's daily sequence and due dates counted in working days. What is
missing becomes the 一次性告知. The GUI and the CLI call the same methods, so a case is checked
exactly the same way whichever way it arrives.
"""

from __future__ import annotations

import io
import logging
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import msgspec
from PIL import Image

from counter_client.domain import receipt
from counter_client.domain.case import (
    CASE_MODES,
    RECEIVED_FORMS,
    Case,
    CaseItem,
    Delivery,
    Helper,
    MaterialEntry,
    Party,
    Problem,
    build_checklist,
    case_problems,
    collectable_by,
    item_from_guide,
    material_key,
    not_collectable_message,
    notice,
)
from counter_client.domain.catalogue import Guide, TimeLimit
from counter_client.domain.workdays import WorkCalendar
from counter_client.errors import UserError
from counter_client.scanning.normalize import rotate as rotate_page
from counter_client.scanning.pages import JPEG, PNG, Page
from offline_cache.blobs import BlobStore
from offline_cache.cases import CaseFilter, CaseRow, CaseStore
from offline_cache.statuses import Statuses, Supplement, SupplementMaterial

from .catalogue import CatalogueService

log = logging.getLogger(__name__)

WARN_FREE_FACTOR = 2  # warn when free space is below twice the reserve the blob store keeps


@dataclass(frozen=True)
class Terminal:
    """Who collects: the hall code (9 digits) and this terminal's number, and the clerk."""

    hall_code: str
    terminal: int
    clerk: str
    hall_region: str  # 6-digit county code: what the hall may collect for is decided by it


class NotCollectable(UserError):
    """The hall may not collect for this item at this 办理地."""


class CaseRejected(UserError):
    """A case that cannot be collected yet: the problems, and the 一次性告知 list."""

    def __init__(self, problems: list[Problem], missing: list[MaterialEntry]):
        lines = [p.message for p in problems]
        super().__init__("不能收件：\n" + "\n".join(f"· {line}" for line in lines),
                         f"case rejected with {len(problems)} problem(s): {[p.field for p in problems]}")
        self.problems = problems
        self.missing = missing


class IntakeService:
    """Drafts, items, checklist, scans, confirmation and voiding of cases."""

    def __init__(self, cases: CaseStore, blobs: BlobStore, catalogue: CatalogueService, terminal: Terminal,
                 now: Callable[[], datetime] = lambda: datetime.now().astimezone(),
                 known_area: Callable[[str], bool] | None = None):
        self.cases = cases
        self.blobs = blobs
        self.catalogue = catalogue
        self.terminal = terminal
        self._now = now
        self._known_area = known_area

    # -- drafts -------------------------------------------------------------------------------------
    def new_case(self, mode: str = "异地代收代办") -> Case:
        case = Case(id=self.cases.new_id(), mode=mode)
        self.cases.save(case, self.terminal.clerk, "新建草稿")
        return case

    def save_draft(self, case: Case) -> None:
        """Autosave: what the clerk has entered so far survives a crash or a power cut."""
        if case.state != "draft":
            raise UserError("已收件的办件不能再修改；如需更正请作废后重新收件。", f"save of {case.state} case")
        self.cases.save(case, self.terminal.clerk)

    def load(self, case_id: str) -> Case | None:
        return self.cases.load(case_id)

    def drafts(self) -> list[str]:
        return self.cases.drafts()

    def discard_draft(self, case_id: str) -> None:
        self.cases.delete_draft(case_id)

    # -- items and checklist --------------------------------------------------------------------------
    def guide_for(self, code: str) -> Guide:
        guide = self.catalogue.guide(code)
        if guide is None:
            raise UserError(f"本地目录中没有编码为 {code} 的事项（可能已撤销或目录未更新）。请核对编码或先更新目录。",
                            f"unknown guide code {code!r}")
        return guide

    def add_item(self, case: Case, code: str) -> Case:
        """Add the item ``code`` (its 办理地 is the guide's), refusing what the hall may not collect."""
        guide = self.guide_for(code)
        if any(item.code == guide.code for item in case.items):
            return case
        reasons = collectable_by(guide, self.terminal.hall_region, self.catalogue.store.agreements())
        if not reasons:
            raise NotCollectable(not_collectable_message(guide, self.catalogue.region_full_name(guide.handling_region)),
                                 f"not collectable: {guide.code} for hall region {self.terminal.hall_region}")
        department = self.catalogue.department(guide.implementer.department_code)
        items = [*case.items, item_from_guide(guide, department.name if department else "", reasons)]
        mode = case.mode
        if len({i.handling_region for i in items}) > 1 and mode == "异地代收代办":
            mode = "多地联办"
        return self._with_items(case, items, mode)

    def remove_item(self, case: Case, code: str) -> Case:
        return self._with_items(case, [i for i in case.items if i.code != code], case.mode)

    def set_agent(self, case: Case, agent: Party | None) -> Case:
        """An agent (代办人) makes the 授权委托书 a required material."""
        updated = msgspec.structs.replace(case, agent=agent)
        return msgspec.structs.replace(updated, materials=self._checklist(updated))

    def _with_items(self, case: Case, items: list[CaseItem], mode: str) -> Case:
        updated = msgspec.structs.replace(case, items=items, mode=mode)
        return msgspec.structs.replace(updated, materials=self._checklist(updated))

    def _checklist(self, case: Case) -> list[MaterialEntry]:
        """The checklist of the case's items; the lines of an item whose guide has since left the
        catalogue are kept as recorded (``problems`` then says the item must go)."""
        guides, gone = [], set()
        for item in case.items:
            guide = self.catalogue.guide(item.code)
            if guide is None:
                gone.add(item.code)
                continue
            if guide.version != item.version:
                log.info("guide %s changed from version %s to %s since intake", item.code, item.version, guide.version)
            guides.append(guide)
        lines = build_checklist(guides, case.materials, with_agent=case.agent is not None)
        known = {m.key for m in lines}
        kept = [m for m in case.materials if m.key not in known and set(m.items) & gone]
        return lines + kept

    # -- scans --------------------------------------------------------------------------------------
    def add_scan(self, case: Case, key: str, page: bytes) -> Case:
        """Store one page (stored once, encrypted) and attach it to the material ``key``."""
        ref = self.blobs.put(page)
        return self._update_material(case, key, lambda m: msgspec.structs.replace(
            m, scans=[*m.scans, ref.sha256], pages=max(m.pages, len(m.scans) + 1)))

    def set_material(self, case: Case, key: str, **changes: Any) -> Case:
        return self._update_material(case, key, lambda m: msgspec.structs.replace(m, **changes))

    def _update_material(self, case: Case, key: str, change: Callable[[MaterialEntry], MaterialEntry]) -> Case:
        materials, found = [], False
        for m in case.materials:
            if m.key == key:
                m, found = change(m), True
            materials.append(m)
        if not found:
            raise UserError("清单中没有这项材料。", f"no material {key!r} in case {case.id}")
        return msgspec.structs.replace(case, materials=materials)

    def scan(self, sha256: str) -> bytes:
        return self.blobs.get(sha256)

    def rotate_scan(self, case: Case, key: str, index: int, degrees: int) -> Case:
        """Turn page ``index`` of material ``key`` clockwise by a multiple of 90 degrees: the turned
        page is stored as a new blob (the old one stays, content-addressed) and replaces it."""
        material = next((m for m in case.materials if m.key == key), None)
        if material is None or not 0 <= index < len(material.scans):
            raise UserError("该页已不在材料中，请刷新后重试。", f"rotate: no page {index} of {key!r}")
        old = material.scans[index]
        turned = _rotated(self.blobs.get(old), degrees)
        ref = self.blobs.put(turned)
        scans = list(material.scans)
        scans[index] = ref.sha256
        return self.set_material(case, key, scans=scans)

    # -- supplements (补正材料) -----------------------------------------------------------------------
    def add_supplement(self, case: Case, materials: Iterable[tuple[str, int, list[bytes]]]) -> Supplement:
        """Collect what the 办理地 asked for: each material's pages are stored as blobs (once,
        encrypted), then the supplement is recorded and queued in one transaction
        (``Statuses.add_supplement``) and noted on the case. ``materials``: (name, pages, page
        data) per material."""
        if case.state != "collected" or not case.receipt_no:
            raise UserError("只有已收件的办件才能收取补正材料。", f"supplement for case {case.id} in {case.state}")
        collected = []
        for name, pages, datas in materials:
            shas = tuple(self.blobs.put(data).sha256 for data in datas)
            collected.append(SupplementMaterial(name, max(int(pages), len(shas)), shas))
        if not collected:
            raise UserError("没有要提交的补正材料。", f"empty supplement for case {case.id}")
        supplement = Statuses(self.cases.store).add_supplement(case.id, case.receipt_no, self.terminal.clerk,
                                                               collected)
        self.cases.add_event(case.id, self.terminal.clerk, "收取补正材料",
                             {"supplement_id": supplement.id, "materials": [m.name for m in collected],
                              "pages": sum(m.pages for m in collected)})
        log.info("supplement %s for %s queued: %d material(s)", supplement.id, case.receipt_no, len(collected))
        return supplement

    def disk_warning(self) -> str | None:
        """A warning while there is still room: below twice the reserve new scans will soon be
        refused (the blob store refuses them below the reserve itself)."""
        free = shutil.disk_usage(self.blobs.root).free
        keep = self.blobs.min_free_bytes
        if free < WARN_FREE_FACTOR * keep:
            return (f"磁盘剩余空间不多（约 {free // 2**20} MB）：低于 {keep // 2**20} MB 时将不能再保存扫描件，"
                    "请尽快清理磁盘或联系技术支持。")
        return None

    # -- confirmation -------------------------------------------------------------------------------
    def due_dates(self, case: Case, day: date | None = None) -> dict[str, tuple[str, bool]]:
        """What ``confirm`` would compute today: item code -> (ISO due date, verified)."""
        day = day or self._now().date()
        calendar = WorkCalendar(self.catalogue.calendar_years())
        out = {}
        for item in case.items:
            dated = _with_due_date(item, day, calendar)
            if dated.due_date:
                out[item.code] = (dated.due_date, dated.due_verified)
        return out

    def problems(self, case: Case) -> list[Problem]:
        problems = case_problems(case, self._known_area)
        for i, item in enumerate(case.items):
            if self.catalogue.guide(item.code) is None:
                problems.append(Problem(f"items.{i}", f"事项“{item.name}”（{item.code}）已不在本地目录中（可能已被撤销），"
                                                     "请删除该事项或更新目录后重新选择。"))
        return problems

    def notice(self, case: Case) -> list[MaterialEntry]:
        """The 一次性告知 of ``case``: what is missing or wrong."""
        return notice(case)

    def confirm(self, case: Case) -> Case:
        """Collect ``case``: check it, mint its receipt number, count its due dates, save it."""
        problems = self.problems(case)
        if problems:
            raise CaseRejected(problems, notice(case))
        moment = self._now()
        day = moment.date()
        case = msgspec.structs.replace(case, collected_at=moment.isoformat(timespec="seconds"))
        calendar = WorkCalendar(self.catalogue.calendar_years())

        def mint(sequence: int) -> str:
            return receipt.mint(self.terminal.hall_code, self.terminal.terminal, day, sequence)

        def prepare(collected: Case, receipt_no: str) -> Case:
            return msgspec.structs.replace(collected, items=[_with_due_date(i, day, calendar) for i in collected.items])

        self.cases.save(case, self.terminal.clerk)  # the last edits, in case confirmation fails below
        collected = self.cases.collect(case, self.terminal.clerk, day, mint, prepare)
        log.info("case collected: %s items, %s materials", len(collected.items), len(collected.materials))
        return collected

    def void(self, case_id: str, reason: str) -> Case:
        if not reason.strip():
            raise UserError("作废须填写原因。", "void without reason")
        return self.cases.void(case_id, reason.strip(), self.terminal.clerk)

    def record_consultation(self, code: str, note: str = "") -> int:
        """Record a consultation about an item (e.g. one this hall may not collect for)."""
        guide = self.guide_for(code)
        return self.cases.record_consultation(self.terminal.clerk, guide.code, guide.name, guide.handling_region,
                                              note.strip())

    # -- finding ------------------------------------------------------------------------------------
    def find_receipt(self, text: str) -> Case | None:
        """The case of a typed or scanned receipt number (``ReceiptError`` says what is wrong)."""
        return self.cases.by_receipt(receipt.parse(text).text)

    def list(self, f: CaseFilter = CaseFilter()) -> list[CaseRow]:
        return self.cases.list(f)

    def events(self, case_id: str):
        return self.cases.events(case_id)

    # -- import (CLI) -------------------------------------------------------------------------------
    def import_case(self, data: dict, read_file: Callable[[Path], Iterable[bytes]]) -> Case:
        """Collect a case described as JSON (see README), checked exactly as the window checks it.

        ``read_file(path)`` yields the normalised pages of a scan file. A case that cannot be
        collected raises ``CaseRejected`` and leaves nothing behind."""
        spec = _parse_import(data)
        case = Case(id=self.cases.new_id(), mode=spec.mode)
        for item in spec.items:
            guide = self.guide_for(item.code)
            if item.handling_region and item.handling_region != guide.handling_region:
                raise UserError(f"事项 {item.code} 的办理地是 {guide.handling_region}，与填写的 {item.handling_region} 不符。",
                                f"handling region mismatch for {item.code}")
            case = self.add_item(case, item.code)
        case = msgspec.structs.replace(case, applicant=spec.applicant, helper=spec.helper, delivery=spec.delivery,
                                       identity_checked=True)
        case = self.set_agent(case, spec.agent)
        keys = {m.key: m for m in case.materials}
        for given in spec.materials:
            key = material_key(given.name)
            if key not in keys:
                names = "、".join(m.name for m in case.materials)
                raise UserError(f"材料“{given.name}”不在所选事项的材料清单中。清单：{names}",
                                f"unknown material {given.name!r}")
            case = self.set_material(case, key, form=given.form, pages=given.pages, elicence_ref=given.elicence_ref)
        problems = self.problems(case)
        if problems:
            raise CaseRejected(problems, notice(case))
        for given in spec.materials:
            for path in given.scans:
                for page in read_file(Path(path)):
                    case = self.add_scan(case, material_key(given.name), page)
        return self.confirm(case)


def rotate_page_data(data: bytes, degrees: int) -> bytes:
    """A normalised page (JPEG or PNG) turned clockwise by a multiple of 90 degrees."""
    return _rotated(data, degrees)


def _rotated(data: bytes, degrees: int) -> bytes:
    """A stored page (normalised JPEG or PNG) turned clockwise; Pillow reads only its header here."""
    with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as image:
        media, (width, height) = (PNG if image.format == "PNG" else JPEG), image.size
    return rotate_page(Page(data=data, media_type=media, width=width, height=height), degrees).data


def _with_due_date(item: CaseItem, day: date, calendar: WorkCalendar) -> CaseItem:
    if item.promised_days is None:
        return item
    due = calendar.due_date(day, TimeLimit(value=item.promised_days, unit=item.promised_unit))
    return msgspec.structs.replace(item, due_date=due.date.isoformat(), due_verified=due.verified)


# -- the import format --------------------------------------------------------------------------------
class _ImportItem(msgspec.Struct, forbid_unknown_fields=True):
    code: str
    handling_region: str = ""


class _ImportMaterial(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    form: str = "原件核验"
    pages: int = 0
    scans: list[str] = []
    elicence_ref: str = ""


class _Import(msgspec.Struct, forbid_unknown_fields=True):
    mode: str
    applicant: Party
    items: list[_ImportItem]
    agent: Party | None = None
    helper_mode: str = "无"
    helper: dict = {}
    materials: list[_ImportMaterial] = []
    delivery: dict = {}


@dataclass
class _Spec:
    mode: str
    applicant: Party
    agent: Party | None
    helper: Any
    items: list[_ImportItem]
    materials: list[_ImportMaterial]
    delivery: Any


def _parse_import(data: dict) -> _Spec:
    try:
        raw = msgspec.convert(data, _Import)
        helper = msgspec.convert({"mode": raw.helper_mode, **raw.helper}, Helper)
        delivery = msgspec.convert(raw.delivery or {}, Delivery)
    except msgspec.ValidationError as exc:
        raise UserError(f"办件数据格式有误：{exc}", f"case import rejected: {exc}") from None
    if raw.mode not in CASE_MODES:
        raise UserError(f"办理方式应为 {' / '.join(CASE_MODES)} 之一，收到“{raw.mode}”", f"bad mode {raw.mode!r}")
    for m in raw.materials:
        if m.form not in RECEIVED_FORMS or m.form == "未收":
            raise UserError(f"材料“{m.name}”的收取方式应为 原件核验 / 复印件 / 电子证照 / 容缺后补 / 不适用，收到“{m.form}”",
                            f"bad material form {m.form!r}")
    if not raw.items:
        raise UserError("请至少填写一个事项（items）。", "import without items")
    return _Spec(raw.mode, raw.applicant, raw.agent, helper, raw.items, raw.materials, delivery)


