"""The item-guide catalogue: guides (办事指南), their materials, departments, 通办 agreements.

These are the elements of the national implementation-list format (see ``domain.md``). The
models are ``msgspec`` structs because the same structure is validated at three borders: the
training data the reference platform loads, the JSON the platform serves, and the payload the
client accepts before it touches its local catalogue; msgspec decodes and validates in one pass,
several times faster than building pydantic models, which is most of the cost of a catalogue
refresh. Limits on sizes are part of the types so that a hostile or broken payload (10 MB of
text in one field, 10,000 materials) is refused before it reaches the store.

Codes (基本编码, 实施编码, 业务办理项编码) are opaque strings: never parsed, never check-summed.
Code lists that differ between provinces (item types, material types, sources) are kept as
data: the literals below name the national values, and decoding accepts only those, because a
value outside the national list would print nonsense on a receipt.

``from_json``/``from_dict`` validate; ``to_json`` gives the canonical JSON (fields in declaration
order), whose SHA-256 is a guide's content hash.
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta, Struct, field

# ---- size limits (a guide is a page of text; anything far beyond is a broken payload) ----
MAX_SHORT_TEXT = 200  # names, codes, phone numbers
MAX_TEXT = 20_000  # one free-text element (conditions, legal basis, notes)
MAX_MATERIALS = 200
MAX_LIST = 100  # aliases, process steps, fee items, channels
MAX_GUIDE_JSON_BYTES = 256 * 1024  # a whole guide serialised

ShortText = Annotated[str, Meta(max_length=MAX_SHORT_TEXT)]
NonEmptyShort = Annotated[str, Meta(min_length=1, max_length=MAX_SHORT_TEXT, pattern=r"\S")]
Text = Annotated[str, Meta(max_length=MAX_TEXT)]
Code = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-\.]+$")]
RegionCode = Annotated[str, Meta(pattern=r"^\d{6}$")]
RegionScope = Annotated[str, Meta(pattern=r"^\d{2}(\d{2}(\d{2})?)?$")]
Count = Annotated[int, Meta(ge=0, le=100)]

ITEM_TYPES: dict[str, str] = {
    "01": "行政许可",
    "02": "行政处罚",
    "03": "行政强制",
    "04": "行政征收",
    "05": "行政给付",
    "06": "行政检查",
    "07": "行政确认",
    "08": "行政奖励",
    "09": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}
ItemType = Literal["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "20"]

HANDLING_MODES = ("全程网办", "异地代收代办", "多地联办")
HandlingMode = Literal["全程网办", "异地代收代办", "多地联办"]

MATERIAL_TYPES = {1: "原件", 2: "复印件", 3: "原件或复印件"}
MATERIAL_FORMS = ("纸质", "电子", "纸质或电子")
NECESSITY = {1: "必要", 2: "非必要", 3: "容缺后补"}
MATERIAL_SOURCES = {10: "申请人自备", 20: "政府部门核发", 99: "其他"}
DELIVERY_METHODS = ("窗口领取", "收件地代领", "邮寄", "网上送达")
CHANNEL_KINDS = ("咨询", "投诉")
TIME_UNITS = ("工作日", "自然日")


class _Model(Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Immutable, strict: an unknown field is an error, not something silently dropped."""

    @classmethod
    def from_json(cls: type[M], data: bytes | str) -> M:
        return msgspec.json.decode(data, type=cls)

    @classmethod
    def from_dict(cls: type[M], data: Any) -> M:
        return msgspec.convert(data, cls)

    def to_json(self) -> bytes:
        return _ENCODER.encode(self)

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)

    def replace(self: M, **changes: Any) -> M:
        return msgspec.structs.replace(self, **changes)


M = TypeVar("M", bound=_Model)
_ENCODER = msgspec.json.Encoder()
ValidationError = msgspec.ValidationError
DecodeError = msgspec.DecodeError


class TimeLimit(_Model, kw_only=True):
    """法定/承诺办结时限: a number and its unit; 0 means done on the spot (即办)."""

    value: Annotated[int, Meta(ge=0, le=3650)]
    unit: Literal["工作日", "自然日"] = "工作日"

    def label(self) -> str:
        return "即时办结" if self.value == 0 else f"{self.value}个{self.unit}"


class FeeItem(_Model, kw_only=True):
    name: NonEmptyShort
    standard: Text = ""  # 收费标准
    basis: Text = ""  # 收费依据


class Fee(_Model, kw_only=True):
    charged: bool = False
    items: Annotated[list[FeeItem], Meta(max_length=MAX_LIST)] = []
    note: Text = ""

    def label(self) -> str:
        return "收费" if self.charged else "不收费"


class ProcessStep(_Model, kw_only=True):
    """办理流程 and its 环节."""

    name: NonEmptyShort
    description: Text = ""
    time_limit: ShortText = ""


class Channel(_Model, kw_only=True):
    """A consultation (咨询) or complaint (投诉) channel."""

    kind: Literal["咨询", "投诉"]
    phone: ShortText = ""
    address: Text = ""
    online: ShortText = ""  # a URL or an app/applet name, shown as text only


class Delivery(_Model, kw_only=True):
    """Flags of the implementation list plus the result-delivery methods offered."""

    logistics: bool = False  # 支持物流快递
    materials_by_mail: bool = False  # 申报材料邮寄
    result_by_mail: bool = False  # 办件结果邮寄
    methods: Annotated[list[Literal["窗口领取", "收件地代领", "邮寄", "网上送达"]], Meta(max_length=4)] = field(
        default_factory=lambda: ["窗口领取"])


class Result(_Model, kw_only=True):
    name: ShortText = ""  # 结果名称
    type: Literal["证照", "批文", "其他"] = "其他"  # 结果类型
    sample: ShortText = ""


class Implementer(_Model, kw_only=True):
    """实施主体: the department that decides (the 办理地's 业务属地部门)."""

    name: NonEmptyShort
    credit_code: ShortText = ""  # 统一社会信用代码 (shown, not checked here)
    department_code: Code


class Material(_Model, kw_only=True):
    """One material of a guide, with every element of the national list."""

    name: NonEmptyShort  # 材料名称
    type: Literal[1, 2, 3] = 1  # 材料类型: 1 原件, 2 复印件, 3 原件或复印件
    originals: Count = 1  # 原件份数
    copies: Count = 0  # 复印件份数
    form: Literal["纸质", "电子", "纸质或电子"] = "纸质"  # 材料形式
    paper: ShortText = "A4"  # 纸张规格
    necessity: Literal[1, 2, 3] = 1  # 必要性: 1 必要, 2 非必要, 3 容缺后补
    source: Literal[10, 20, 99] = 10  # 来源渠道
    source_note: Text = ""  # 来源渠道说明 (issuing department for 20, explanation for 99)
    standard: Text = ""  # 受理标准
    notes: Text = ""  # 填报须知
    blank_form: ShortText = ""  # 空白表格 (name or reference)
    sample: ShortText = ""  # 示例样表

    @property
    def type_label(self) -> str:
        return MATERIAL_TYPES[self.type]

    @property
    def necessity_label(self) -> str:
        return NECESSITY[self.necessity]

    @property
    def source_label(self) -> str:
        return MATERIAL_SOURCES[self.source]

    @property
    def e_licence_candidate(self) -> bool:
        """Materials issued by a government department may be replaced by an 电子证照."""
        return self.source == 20


class Guide(_Model, kw_only=True):
    """One 办事指南: an item as implemented by one department of one 办理地."""

    code: Code  # 业务办理项编码: the guide's identity in the catalogue
    basic_code: Code  # 基本编码 (12 chars in the national list, kept opaque)
    impl_code: Code  # 实施编码
    version: Annotated[int, Meta(ge=1)]  # 事项版本
    name: NonEmptyShort  # 事项名称
    aliases: Annotated[list[NonEmptyShort], Meta(max_length=MAX_LIST)] = []  # local names
    item_type: ItemType  # 事项类型
    implementer: Implementer  # 实施主体
    handling_region: RegionCode  # 办理地 (county, prefecture or province code, 6 digits)
    national_list: bool = False  # on the national 跨省通办 list
    modes: Annotated[list[HandlingMode], Meta(min_length=1, max_length=3)]
    scope: ShortText = "全国"  # 通办范围
    legal_basis: Text = ""  # 设定依据
    conditions: Text = ""  # 受理条件
    legal_limit: TimeLimit | None = None  # 法定办结时限
    promised_limit: TimeLimit | None = None  # 承诺办结时限
    case_type: Literal["即办件", "承诺件"] = "承诺件"  # 办件类型
    visits: Annotated[int, Meta(ge=0, le=10)] = 0  # 到现场次数
    fee: Fee = field(default_factory=lambda: Fee())
    process: Annotated[list[ProcessStep], Meta(max_length=MAX_LIST)] = []
    place: Text = ""  # 办理地点
    hours: Text = ""  # 办理时间
    channels: Annotated[list[Channel], Meta(max_length=MAX_LIST)] = []
    delivery: Delivery = field(default_factory=lambda: Delivery())
    result: Result = field(default_factory=lambda: Result())
    materials: Annotated[list[Material], Meta(max_length=MAX_MATERIALS)] = []
    source: Text = ""  # provenance of the guide's facts (public pages)
    updated: ShortText = ""  # date of the guide's last change, ISO

    def __post_init__(self) -> None:
        names = [m.name for m in self.materials]
        if len(names) != len(set(names)):
            dup = next(n for n in names if names.count(n) > 1)
            raise ValueError(f"材料名称重复：{dup}")

    @property
    def item_type_label(self) -> str:
        return ITEM_TYPES[self.item_type]

    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON; the manifest's per-guide hash."""
        return guide_hash(self.to_json())


def guide_hash(canonical_json: bytes) -> str:
    return hashlib.sha256(canonical_json).hexdigest()


class Department(_Model, kw_only=True):
    """A department (业务属地部门) with the contacts a clerk needs to route and mail to it."""

    code: Code
    name: NonEmptyShort
    region_code: RegionCode
    credit_code: ShortText = ""
    address: Text = ""
    postcode: Annotated[str, Meta(pattern=r"^(\d{6})?$")] = ""
    phone: ShortText = ""  # 咨询电话
    complaint_phone: ShortText = ""  # 投诉电话
    hours: Text = ""
    recipient: ShortText = ""  # 收件人 (the desk that receives mailed materials)
    source: Text = ""


class Agreement(_Model, kw_only=True):
    """A 通办 agreement beyond the national list.

    Halls in ``hall_regions`` may collect for ``handling_regions`` the items whose basic code is
    in ``basic_codes`` (empty list: every item of those 办理地). Region scopes are 2-, 4- or
    6-digit prefixes (a province, a prefecture, a county).
    """

    id: Code
    name: NonEmptyShort
    hall_regions: Annotated[list[RegionScope], Meta(min_length=1, max_length=MAX_LIST * 10)]
    handling_regions: Annotated[list[RegionScope], Meta(min_length=1, max_length=MAX_LIST * 10)]
    basic_codes: Annotated[list[Code], Meta(max_length=10_000)] = []
    source: Text = ""

    def covers(self, hall_region: str, handling_region: str, basic_code: str) -> bool:
        return (
            any(hall_region.startswith(p) for p in self.hall_regions)
            and any(handling_region.startswith(p) for p in self.handling_regions)
            and (not self.basic_codes or basic_code in self.basic_codes)
        )


class Region(_Model, kw_only=True):
    """A division code: province (2 significant digits), prefecture (4), county (6), township (9)."""

    code: Annotated[str, Meta(pattern=r"^(\d{6}|\d{9})$")]
    name: NonEmptyShort
    parent: Annotated[str, Meta(pattern=r"^(\d{6})?$")] = ""
    level: Literal[1, 2, 3, 4]


def scope_of(region_code: str) -> str:
    """The significant prefix of a 6-digit code: ``510000`` -> ``51``, ``510100`` -> ``5101``."""
    code = region_code[:6]
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))
