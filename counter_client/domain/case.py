"""A case (办件) collected at the window: applicant, agent, helper, items, material checklist,
delivery, and the rules that decide whether it may be collected.

The window collects (收件); it never accepts (受理). A case is a draft while the clerk works on
it, becomes ``collected`` when confirmed (and gets its receipt number then), and may be voided
(作废) with a reason. Its items each carry the guide version pinned at intake and their own
办理地. Materials common to several items are asked once (一件事一次办): the checklist merges
them by name.

These are plain msgspec structs: the store keeps them as JSON (personal parts encrypted), the
platform will receive them as JSON, and the GUI and the CLI edit the same shapes. The checks
here are pure: identity numbers through ``domain.identity``, what the hall may collect for
through the catalogue's agreements (passed in), due dates through ``domain.workdays``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Sequence

import msgspec
from msgspec import Meta, Struct, field

from counter_client.domain.catalogue import MATERIAL_SOURCES, NECESSITY, Agreement, Guide, Material
from counter_client.domain.identity import check_id, normalize_id

MAX_ITEMS = 20
MAX_SCANS_PER_MATERIAL = 200
ShortText = Annotated[str, Meta(max_length=200)]
Text = Annotated[str, Meta(max_length=2000)]

CASE_STATES = ("draft", "collected", "void")
STATE_LABELS = {"draft": "草稿", "collected": "已收件", "void": "已作废"}
CASE_MODES = ("异地代收代办", "全程网办帮办", "多地联办")
HELPER_MODES = ("无", "帮办", "代办")
RECEIVED_FORMS = ("未收", "原件核验", "复印件", "电子证照", "容缺后补", "不适用")
DELIVERY_METHODS = ("窗口领取", "收件地代领", "邮寄")
REVIEW_RESULTS = ("未审查", "合格", "不合格")
PERSON_ID_TYPES = ("resident_id", "resident_id_15", "hmt_residence_permit", "foreign_permanent_2023",
                   "foreign_permanent_2017", "hk_macao_permit", "taiwan_permit", "passport")
AUTHORIZATION = "授权委托书（委托代办时提供）"

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SPACES = re.compile(r"[\s\u3000]+")
_CONDITION = re.compile(r"[（(][^（）()]*[）)]$")


class _Model(Struct, kw_only=True, forbid_unknown_fields=True):
    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)


class Party(_Model, kw_only=True):
    """The applicant (person or enterprise) or the agent: who they are and how to reach them."""

    kind: Literal["person", "enterprise"] = "person"
    name: ShortText = ""
    id_type: ShortText = "resident_id"  # enterprise: "credit_code"
    id_number: ShortText = ""
    phone: ShortText = ""
    address: Text = ""
    contact: ShortText = ""  # enterprise: the person who came (经办人)
    relation: ShortText = ""  # agent: relation to the applicant


class Helper(_Model, kw_only=True):
    """帮办 / 代办 by a helper (帮办员/代办员), recorded with who they are."""

    mode: Literal["无", "帮办", "代办"] = "无"
    name: ShortText = ""
    staff_no: ShortText = ""
    platform_app_no: ShortText = ""  # 全程网办帮办: the application number on the online platform


class CaseItem(_Model, kw_only=True):
    """One item of the case with its 办理地 and the guide version pinned at intake."""

    code: ShortText
    name: ShortText
    version: int
    basic_code: ShortText
    handling_region: ShortText
    department_code: ShortText
    department: ShortText = ""
    promised_days: int | None = None
    promised_unit: ShortText = "工作日"
    collectable_by: list[ShortText] = []  # 全国跨省通办清单 and/or agreement names
    due_date: ShortText = ""  # ISO date, computed at collection
    due_verified: bool = True
    sub_status: ShortText = ""  # 多地联办: each item's own status from its 办理地


class MaterialEntry(_Model, kw_only=True):
    """One line of the checklist: a material asked once for every item that needs it."""

    key: ShortText  # the merge key (normalised name)
    name: ShortText
    items: list[ShortText]  # codes of the items that need it
    type: int = 1
    originals: int = 1
    copies: int = 0
    necessity: int = 1  # strictest over the items: 1 必要 < 3 容缺后补 < 2 非必要
    source: int = 10
    standard: Text = ""
    form: Literal["未收", "原件核验", "复印件", "电子证照", "容缺后补", "不适用"] = "未收"
    pages: Annotated[int, Meta(ge=0, le=10_000)] = 0
    scans: Annotated[list[ShortText], Meta(max_length=MAX_SCANS_PER_MATERIAL)] = []  # sha256 of pages
    review: Literal["未审查", "合格", "不合格"] = "未审查"
    review_reasons: list[Text] = []
    elicence_ref: ShortText = ""  # 电子证照: the licence reference (the look-up comes later)

    @property
    def e_licence_candidate(self) -> bool:
        return self.source == 20

    def requirement(self) -> str:
        """What the guide asks of this material, in the one wording used at the window and on the
        一次性告知书: ``原件 1 份 · 必要 · 政府部门核发（可用电子证照）``."""
        originals, copies = max(1, self.originals), max(1, self.copies)
        if self.type == 1:
            count = f"原件 {originals} 份"
        elif self.type == 2:
            count = f"复印件 {copies} 份"
        elif self.originals and self.copies and self.originals != self.copies:
            count = f"原件 {originals} 份或复印件 {copies} 份"
        else:
            count = f"原件或复印件 {max(self.originals, self.copies, 1)} 份"
        source = MATERIAL_SOURCES.get(self.source, "")
        if self.e_licence_candidate:
            source += "（可用电子证照）"
        return " · ".join(x for x in (count, NECESSITY.get(self.necessity, ""), source) if x)


class Delivery(_Model, kw_only=True):
    method: Literal["窗口领取", "收件地代领", "邮寄"] = "窗口领取"
    address: Text = ""
    recipient: ShortText = ""
    phone: ShortText = ""


class Case(_Model, kw_only=True):
    """The whole case as the clerk edits it and the store keeps it."""

    id: ShortText  # local id (a draft has no receipt number yet)
    state: Literal["draft", "collected", "void"] = "draft"
    receipt_no: ShortText = ""
    mode: Literal["异地代收代办", "全程网办帮办", "多地联办"] = "异地代收代办"
    applicant: Party = field(default_factory=Party)
    agent: Party | None = None
    helper: Helper = field(default_factory=Helper)
    items: Annotated[list[CaseItem], Meta(max_length=MAX_ITEMS)] = []
    materials: list[MaterialEntry] = []
    delivery: Delivery = field(default_factory=Delivery)
    identity_checked: bool = False  # 身份核验 done (card reader / visual check)
    credit_checked: Literal["未查", "正常", "异常"] = "未查"  # 信用核查
    note: Text = ""
    void_reason: Text = ""
    created_at: ShortText = ""
    collected_at: ShortText = ""


@dataclass(frozen=True)
class Problem:
    """Something that stops a case from being collected: where (a field path the GUI can mark)
    and why, in Chinese."""

    field: str
    message: str


# -- items -------------------------------------------------------------------------------------------
def collectable_by(guide: Guide, hall_region: str, agreements: Sequence[Agreement]) -> list[str]:
    """Why this hall may collect for ``guide``: the national list and/or agreement names."""
    reasons = ["全国跨省通办清单"] if guide.national_list else []
    reasons += [a.name for a in agreements if a.covers(hall_region, guide.handling_region, guide.basic_code)]
    return reasons


def not_collectable_message(guide: Guide, region_name: str) -> str:
    return (f"本窗口不能收件：“{guide.name}”（办理地 {region_name}）不在全国跨省通办清单内，"
            f"本地与办理地之间也没有覆盖该事项的通办协议。可登记为咨询，并告知申请人到办理地或网上办理。")


def item_from_guide(guide: Guide, department_name: str, reasons: list[str]) -> CaseItem:
    limit = guide.promised_limit or guide.legal_limit
    return CaseItem(code=guide.code, name=guide.name, version=guide.version, basic_code=guide.basic_code,
                    handling_region=guide.handling_region, department_code=guide.implementer.department_code,
                    department=department_name or guide.implementer.name,
                    promised_days=limit.value if limit else None, promised_unit=limit.unit if limit else "工作日",
                    collectable_by=list(reasons))


# -- checklist ---------------------------------------------------------------------------------------
def material_key(name: str) -> str:
    """The merge key of a material name: NFKC, no spaces, full-width brackets."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", name)).replace("(", "（").replace(")", "）")


_NECESSITY_RANK = {1: 0, 3: 1, 2: 2}  # 必要 is strictest, then 容缺后补, then 非必要


def build_checklist(guides: Sequence[Guide], previous: Sequence[MaterialEntry] = (),
                    with_agent: bool = False) -> list[MaterialEntry]:
    """The checklist of the case's items: one line per distinct material, what was already
    recorded kept. With an agent, the 授权委托书 is required even when no guide lists it."""
    kept = {m.key: m for m in previous}
    merged: dict[str, MaterialEntry] = {}
    for guide in guides:
        for m in guide.materials:
            key = material_key(m.name)
            line = merged.get(key)
            if line is None:
                merged[key] = _entry(key, m, guide.code, kept.get(key))
            else:
                line.items.append(guide.code)
                if _NECESSITY_RANK[m.necessity] < _NECESSITY_RANK[line.necessity]:
                    line.necessity = m.necessity
                line.originals = max(line.originals, m.originals)
                line.copies = max(line.copies, m.copies)
    if with_agent and not any("授权委托书" in key for key in merged):
        key = material_key(AUTHORIZATION)
        old = kept.get(key)
        merged[key] = MaterialEntry(key=key, name=AUTHORIZATION, items=[g.code for g in guides], type=1,
                                    necessity=1, source=10, standard="委托人、受托人签名，写明委托事项和权限",
                                    **_recorded(old))
    for line in merged.values():  # materials of the agent count only when there is one
        if for_agent_only(line.name):
            line.necessity = 1 if with_agent else 2
    return list(merged.values())


def for_agent_only(name: str) -> bool:
    """授权委托书, 受托人/代办人 documents, and anything "委托代办时提供"."""
    return any(word in name for word in ("授权委托书", "委托代办", "受托人", "代办人", "委托人"))


def _recorded(old: MaterialEntry | None) -> dict[str, Any]:
    if old is None:
        return {}
    return {"form": old.form, "pages": old.pages, "scans": list(old.scans), "review": old.review,
            "review_reasons": list(old.review_reasons), "elicence_ref": old.elicence_ref}


def _entry(key: str, m: Material, code: str, old: MaterialEntry | None) -> MaterialEntry:
    return MaterialEntry(key=key, name=m.name, items=[code], type=m.type, originals=m.originals, copies=m.copies,
                         necessity=m.necessity, source=m.source, standard=m.standard, **_recorded(old))


def is_conditional(name: str) -> bool:
    """A material needed only in some cases names the case in brackets: 结婚证（夫妻投靠）."""
    return bool(_CONDITION.search(name))


# -- checks ------------------------------------------------------------------------------------------
def phone_problem(phone: str) -> str | None:
    digits = phone.replace(" ", "")
    if not digits:
        return "请填写联系电话"
    if digits.startswith("+86"):
        digits = digits[3:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return None
    return "电话号码格式不对：手机号为 1 开头的 11 位数字，固定电话如 0817-1234567"


def party_problems(party: Party, prefix: str, known_area: Callable[[str], bool] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    who = "申请人" if prefix == "applicant" else "代办人"
    if not party.name.strip():
        problems.append(Problem(f"{prefix}.name", f"请填写{who}{'名称' if party.kind == 'enterprise' else '姓名'}"))
    id_type = "credit_code" if party.kind == "enterprise" else party.id_type
    if not party.id_number.strip():
        problems.append(Problem(f"{prefix}.id_number", f"请填写{who}证件号码"))
    else:
        result = check_id(party.id_number, id_type, known_area=known_area)
        if not result.valid:
            problems.append(Problem(f"{prefix}.id_number", f"{who}{result.type_label}号码有误：{result.reason}"))
    problem = phone_problem(party.phone)
    if problem:
        problems.append(Problem(f"{prefix}.phone", problem))
    return problems


def notice(case: Case) -> list[MaterialEntry]:
    """The 一次性告知: every material still missing or found wrong, in checklist order.

    A material counts as missing when it is required (必要) and was neither received in a form
    that counts nor marked not applicable; 容缺后补 lines are listed too, as promised later."""
    out = []
    for m in case.materials:
        if m.review == "不合格":
            out.append(m)
        elif m.form == "未收" and m.necessity in (1, 3):
            out.append(m)
        elif m.form == "容缺后补":
            out.append(m)
    return out


def material_problems(case: Case) -> list[Problem]:
    problems = []
    for i, m in enumerate(case.materials):
        where = f"materials.{i}"
        if m.form == "未收" and m.necessity == 1:
            problems.append(Problem(where, f"缺少必要材料：{m.name}"))
        elif m.form == "容缺后补" and m.necessity == 1:
            problems.append(Problem(where, f"“{m.name}”是必要材料，不在容缺后补范围内，须当场提交"))
        elif m.form == "不适用" and m.necessity == 1 and not is_conditional(m.name):
            problems.append(Problem(where, f"“{m.name}”是必要材料，不能标为不适用"))
        if m.review == "不合格":
            reasons = "；".join(m.review_reasons) or "形式审查不合格"
            problems.append(Problem(where, f"“{m.name}”形式审查不合格：{reasons}"))
        if m.form == "电子证照" and not m.elicence_ref.strip():
            problems.append(Problem(where, f"“{m.name}”以电子证照提交时须记录证照编号"))
        if m.form in ("原件核验", "复印件") and m.pages == 0 and not m.scans:
            problems.append(Problem(where, f"“{m.name}”请填写页数或扫描材料"))
    return problems


def case_problems(case: Case, known_area: Callable[[str], bool] | None = None) -> list[Problem]:
    """Everything that stops ``case`` from being collected; [] means it may be confirmed."""
    problems: list[Problem] = []
    if not case.items:
        problems.append(Problem("items", "请至少选择一个事项"))
    for i, item in enumerate(case.items):
        if not item.collectable_by:
            problems.append(Problem(f"items.{i}", f"本窗口不能收件：“{item.name}”不在通办范围内"))
    problems += party_problems(case.applicant, "applicant", known_area)
    if case.helper.mode == "代办" and case.agent is None:
        problems.append(Problem("agent", "代办须填写代办人信息并收取授权委托书"))
    if case.agent is not None:
        problems += party_problems(case.agent, "agent", known_area)
        if case.applicant.id_number and normalize_id(case.agent.id_number) == normalize_id(case.applicant.id_number):
            problems.append(Problem("agent.id_number", "代办人与申请人不能是同一人"))
    if case.helper.mode in ("帮办", "代办") and not case.helper.name.strip():
        problems.append(Problem("helper.name", f"请填写{case.helper.mode}员姓名"))
    if case.mode == "全程网办帮办" and not case.helper.platform_app_no.strip():
        problems.append(Problem("helper.platform_app_no", "全程网办帮办须记录网上申请的申办编号"))
    problems += material_problems(case)
    d = case.delivery
    if d.method == "邮寄":
        if not d.address.strip():
            problems.append(Problem("delivery.address", "邮寄送达须填写收件地址"))
        if not d.recipient.strip():
            problems.append(Problem("delivery.recipient", "邮寄送达须填写收件人"))
        phone = phone_problem(d.phone)
        if phone:
            problems.append(Problem("delivery.phone", phone))
    return problems
