"""Request and response models of the HTTP contract, as the OpenAPI document shows them.

Most answers are built as JSON text for speed (stored canonical JSON joined together), so these
models describe the wire format for the document and the client's authors; request bodies are
validated with them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, WithJsonSchema, field_validator
from pydantic_core import PydanticCustomError

from counter_client.domain.catalogue import Agreement, Department, Guide, Region
from counter_client.domain.checksums import mod11_2

DOMAIN_TYPES = (Guide, Department, Agreement, Region)


def _ref(model: type) -> Any:
    """A body element that is a domain struct: validated by the domain type, documented by the
    schema msgspec derives from it (merged into the document by ``domain_schemas``)."""
    return Annotated[dict, WithJsonSchema({"$ref": f"#/components/schemas/{model.__name__}"})]


def domain_schemas() -> dict[str, Any]:
    """JSON Schemas of the domain structs, named as the ``$ref``s above expect."""
    _, components = msgspec.json.schema_components(DOMAIN_TYPES, ref_template="#/components/schemas/{name}")
    return components

MAX_CODE_CHARS = 64


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GuideEntry(_Wire):
    code: str = Field(description="业务办理项编码")
    version: int = Field(description="事项版本")
    hash: str = Field(description="SHA-256 of the guide's canonical JSON; an opaque change marker")


class Manifest(_Wire):
    catalogue_id: str = Field(description="Identity of this catalogue's version sequence; when it changes "
                              "(the platform's catalogue was re-created), versions held by a client mean "
                              "nothing and the client compares the full manifest instead of asking a delta")
    catalogue_version: int = Field(description="Catalogue version; grows by one per change set")
    generated_at: str = Field(description="When this catalogue version was made (UTC, ISO 8601)")
    guide_count: int
    guides: list[GuideEntry]
    departments_version: int
    agreements_version: int
    regions_version: str = Field(description="Cut-off date of the region codes, e.g. 2023-06-30")


class Changes(_Wire):
    catalogue_id: str = Field(description="As in the manifest")
    since: int
    catalogue_version: int
    changed: list[GuideEntry] = Field(description="Guides added or changed after `since`: fetch them")
    removed: list[str] = Field(description="Codes of guides removed after `since`: drop them")


class BatchRequest(_Wire):
    codes: list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_CODE_CHARS)]] = Field(
        description="Guide codes; at most 500 per request (more: 413 batch_too_large)"
    )


class BatchResponse(_Wire):
    guides: list[_ref(Guide)]
    missing: list[str] = Field(description="Requested codes that are unknown or removed")


class DepartmentList(_Wire):
    version: int
    departments: list[_ref(Department)]


class AgreementList(_Wire):
    version: int
    agreements: list[_ref(Agreement)]


class RegionList(_Wire):
    version: str
    source: str
    regions: list[_ref(Region)]


class FieldError(_Wire):
    field: str
    message: str


class ProblemDocument(BaseModel):
    """RFC 9457 problem details (media type application/problem+json); extension members as listed."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str = Field(description="A sentence in Chinese fit to show a clerk")
    code: str = Field(description="Machine-readable reason, e.g. delta_unavailable, batch_too_large")
    errors: list[FieldError] | None = Field(default=None, description="Per-field errors (422 only)")
    catalogue_version: int | None = Field(default=None, description="Current catalogue version (410 only)")
    oldest_since: int | None = Field(default=None, description="Oldest `since` a delta is offered for (410 only)")
    max_codes: int | None = Field(default=None, description="Most codes one batch may ask for (413 only)")
    max_items: int | None = Field(default=None, description="Most hashes one blob check may ask for (413 only)")
    max_bytes: int | None = Field(default=None, description="Largest request body or blob accepted "
                                  "(413 `request_too_large`, `blob_too_large`)")
    locked_until: str | None = Field(default=None, description="When the lock ends (423 `account_locked`)")
    hall_code: str | None = Field(default=None, description="The account's hall (403 `wrong_hall`)")
    offset: int | None = Field(default=None, description="The bytes the platform holds (409 `offset_mismatch`)")
    length: int | None = Field(default=None, description="The upload's total size as first announced "
                               "(409 `length_mismatch`, 413 `length_exceeded`)")
    actual_sha256: str | None = Field(default=None, description="What the uploaded bytes hash to (460)")
    missing: list[str] | None = Field(default=None, description="SHA-256 of blobs not yet complete "
                                      "(409 `blobs_missing`)")
    payload_hash: str | None = Field(default=None, description="Hash of the body the platform holds (409 `conflict`)")
    received_hash: str | None = Field(default=None, description="Hash of the body just sent (409 `conflict`)")
    receipts: list[str] | None = Field(default=None, description="Receipt numbers the platform does not hold "
                                       "(409 `cases_missing`)")
    parcel_id: str | None = Field(default=None, description="The parcel using the number (409 `waybill_used`)")


# ---- accounts ----------------------------------------------------------------------------------

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
HallCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{9}$")]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class TerminalRef(_Wire):
    hall_code: HallCode = Field(description="The hall's 9-digit code (as in the receipt numbers)")
    terminal: int = Field(ge=1, le=99, description="Terminal number within the hall, 1-99")


class LoginRequest(_Wire):
    account: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    terminal: TerminalRef


class LoginResponse(_Wire):
    token: str = Field(description="Bearer token for `Authorization: Bearer <token>`")
    expires_at: str = Field(description="When the token expires (UTC, ISO 8601); refresh before")
    account: str
    name: str
    roles: list[str] = Field(description="clerk (收件员), helper (帮办员), supervisor (审核员)")
    hall_code: str
    region_code: str = Field(description="6-digit county code of the hall")


# ---- blobs -------------------------------------------------------------------------------------

MAX_BLOB_CHECK = 1000


class BlobCheckRequest(_Wire):
    sha256: list[Sha256] = Field(description=f"Blobs the client is about to reference; at most {MAX_BLOB_CHECK}")


class BlobCheckResponse(_Wire):
    held: list[str] = Field(description="Complete and verified: never send these again")
    partial: dict[str, int] = Field(description="Uploads under way: SHA-256 -> bytes held (resume there)")


# ---- cases -------------------------------------------------------------------------------------

CASE_MODES = ("异地代收代办", "全程网办帮办", "多地联办")
DELIVERY_METHODS = ("窗口领取", "收件地代领", "邮寄")
CHECKED_ID_TYPES = ("resident_id", "hmt_residence_permit", "foreign_permanent_2023")


class _Open(BaseModel):
    """A payload part: the fields the platform relies on are checked, others pass through."""

    model_config = ConfigDict(extra="allow")


class CaseParty(_Open):
    kind: Literal["person", "enterprise"] = "person"
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    id_type: Annotated[str, StringConstraints(max_length=200)] = "resident_id"
    id_number: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]

    @field_validator("id_number")
    @classmethod
    def _check_digit(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("kind", "person") == "person" and info.data.get("id_type") in CHECKED_ID_TYPES:
            number = value.upper()
            if not re.fullmatch(r"[0-9]{17}[0-9X]", number):
                raise PydanticCustomError("id_number_format", "证件号码应为 18 位（末位可为 X）")
            if mod11_2(number[:17]) != number[17]:
                raise PydanticCustomError("id_number_check", "证件号码校验位不符")
        return value


class CaseItemIn(_Open):
    code: Text200 = Field(description="业务办理项编码 (opaque)")
    version: int = Field(ge=1, description="The guide version pinned at intake")
    handling_region: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}([0-9]{3})?$")] = Field(
        description="The 办理地's division code")


class CaseMaterialIn(_Open):
    name: Text200


class CaseDelivery(_Open):
    method: Literal["窗口领取", "收件地代领", "邮寄"] = "窗口领取"


class CasePayload(_Open):
    """The case as the client holds it (its own JSON); these fields are checked."""

    receipt_no: str | None = Field(default=None, description="If present, the same receipt number")
    state: Literal["collected"] | None = Field(default=None, description="If present, `collected`")
    mode: Literal["异地代收代办", "全程网办帮办", "多地联办"]
    applicant: CaseParty
    items: list[CaseItemIn] = Field(min_length=1, max_length=20)
    materials: list[CaseMaterialIn] = Field(max_length=500)
    delivery: CaseDelivery = Field(default_factory=CaseDelivery)


class AttachmentIn(_Wire):
    sha256: Sha256
    size: int = Field(ge=0, description="Bytes; must equal the verified blob's length")
    material: Text200 = Field(description="Name of the material (as in `payload.materials`) this page belongs to")
    page: int = Field(ge=1, le=10_000)


class CaseSubmission(_Wire):
    receipt_no: str = Field(description="The same receipt number as in the path")
    payload: CasePayload
    attachments: list[AttachmentIn] = Field(max_length=5000)
    device_time: Annotated[str, StringConstraints(max_length=64)] = Field(
        description="The terminal's clock when the case was collected (ISO 8601 with offset)")
    clock_offset_s: float = Field(allow_inf_nan=False, description="Server time minus device time, seconds, "
                                  "as learned at the last contact (round to milliseconds)")

    @field_validator("device_time")
    @classmethod
    def _iso(cls, value: str) -> str:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PydanticCustomError("datetime_format", "时间格式应为 ISO 8601，如 2026-11-25T09:30:00+08:00") from None
        if moment.tzinfo is None:
            raise PydanticCustomError("datetime_offset", "时间须带时区（如 +08:00 或 Z）")
        return value


class CaseAccepted(_Wire):
    receipt_no: str
    payload_hash: str = Field(description="SHA-256 (hex) of the canonical JSON of the request body")
    accepted_at: str = Field(description="When the platform first accepted it (UTC, ISO 8601)")
    status: str = Field(description="Always 已接收 (received; 受理 is the 办理地's decision, in the status feed)")


class StoredAttachment(_Wire):
    sha256: str
    size: int
    material: str
    page: int
    verified_sha256: str = Field(description="The hash the platform verified over the blob's bytes")
    verified_size: int = Field(description="The blob's length as verified")
    verified_at: str | None


class CaseItemStatus(_Wire):
    code: str
    handling_region: str
    status: str = Field(description="已接收, 受理, 不予受理, 补正, 办结 or 结果已寄出")


class StatusEvent(_Wire):
    seq: int | None = Field(description="Feed position; null for the 已接收 entry of a timeline")
    receipt_no: str
    item_code: str
    status: str = Field(description="受理, 不予受理 (with reason), 补正 (with needed and reason), 办结, "
                        "结果已寄出 (with tracking_no)")
    at: str
    reason: str | None
    needed: list[str] = Field(description="补正: the materials to supplement (一次性告知)")
    tracking_no: str | None = Field(description="结果已寄出: the UPU S10 waybill number")


class SupplementRecord(_Wire):
    supplement_id: str
    payload_hash: str
    accepted_at: str
    attachments: list[StoredAttachment]


class CaseRecord(_Wire):
    receipt_no: str
    hall_code: str
    terminal: int
    account: str = Field(description="Who sent it")
    payload_hash: str
    accepted_at: str
    device_time: str
    clock_offset_s: float
    status: str = Field(description="The case as a whole: the least advanced item (补正 if any item waits)")
    items: list[CaseItemStatus]
    attachments: list[StoredAttachment]
    supplements: list[SupplementRecord]
    timeline: list[StatusEvent] = Field(description="已接收, then every status event, oldest first")


class StatusFeed(_Wire):
    events: list[StatusEvent]
    next_cursor: int = Field(description="Pass as `cursor` next time (unchanged when there was nothing new)")


class SupplementMaterial(_Open):
    name: Text200


class SupplementSubmission(_Wire):
    materials: list[SupplementMaterial] = Field(min_length=1, max_length=500)
    attachments: list[AttachmentIn] = Field(max_length=5000)


class SupplementAccepted(_Wire):
    receipt_no: str
    supplement_id: str
    payload_hash: str = Field(description="SHA-256 of the canonical JSON of the supplement body")
    accepted_at: str
    status: str = Field(description="Always 已接收")


class ReconciliationCase(_Wire):
    receipt_no: str
    payload_hash: str
    accepted_at: str
    attachments: int = Field(description="Number of attachments of the case (supplements not counted)")


class Reconciliation(_Wire):
    date: str
    hall_code: str
    terminal: int
    cases: list[ReconciliationCase]


class AdvanceRequest(_Wire):
    steps: int = Field(default=1, ge=1, le=100)


class AdvanceResponse(_Wire):
    events: list[StatusEvent]


# ---- mail --------------------------------------------------------------------------------------

WaybillNo = Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}[0-9]{9}[A-Z]{2}|[0-9]{13})$")]
ParcelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class PoolRequest(_Wire):
    request_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = Field(
        description="Client-minted id (e.g. a UUID): the same id again returns the same block")
    count: int = Field(ge=1, le=500, description="How many numbers")
    kind: Literal["s10", "domestic"] = Field(default="s10", description="`s10`: UPU S10 EMS numbers with check "
                                             "digit (EM…CN); `domestic`: 13-digit domestic numbers")


class PoolBlock(_Wire):
    request_id: str
    kind: str
    hall_code: str
    terminal: int
    allocated_at: str = Field(description="When the block was first allocated (UTC, ISO 8601)")
    numbers: list[str] = Field(description="The numbers, each given to this terminal only")


class ParcelMaterial(_Open):
    name: Text200
    form: Literal["原件核验", "复印件"] = Field(description="How the paper travels")
    pages: int = Field(default=0, ge=0, le=10_000)


class ParcelCase(_Open):
    receipt_no: Annotated[str, StringConstraints(pattern=r"^[0-9]{21}[0-9X]$")]
    items: list[Text200] = Field(min_length=1, max_length=20, description="Codes of the items routed to the "
                                 "parcel's department")
    materials: list[ParcelMaterial] = Field(max_length=500, description="The materials sent for those items")


class ParcelSubmission(_Wire):
    parcel_id: str = Field(description="The same parcel id as in the path")
    waybill_no: WaybillNo = Field(description="A number allocated to this terminal and used by no other parcel")
    department_code: Text200 = Field(description="The 办理地 department the parcel goes to")
    created_at: Annotated[str, StringConstraints(max_length=64)] = Field(description="When the clerk made it")
    clerk: Annotated[str, StringConstraints(max_length=200)] = ""
    cases: list[ParcelCase] = Field(min_length=1, max_length=500)


class ParcelAccepted(_Wire):
    parcel_id: str
    waybill_no: str
    payload_hash: str = Field(description="SHA-256 of the canonical JSON of the request body")
    accepted_at: str


class ParcelRecord(ParcelAccepted):
    department_code: str


class LegSubmission(_Wire):
    tracking_no: WaybillNo = Field(description="The same number as in the path: one of this terminal's pool, unused")
    receipt_no: Annotated[str, StringConstraints(pattern=r"^[0-9]{21}[0-9X]$")]
    item_code: Text200 = Field(description="The item whose result is mailed")
    kind: Literal["result"] = Field(description="`result`: this hall mails the 办理结果 on to the applicant")
    created_at: Annotated[str, StringConstraints(max_length=64)] = Field(description="When the clerk took the number")
    clerk: Annotated[str, StringConstraints(max_length=200)] = ""


class LegAccepted(_Wire):
    tracking_no: str
    receipt_no: str
    payload_hash: str = Field(description="SHA-256 of the canonical JSON of the request body")
    accepted_at: str
