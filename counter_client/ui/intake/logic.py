"""Pure helpers of the intake page (no Qt): which step a problem belongs to, masking for the
review, the requirement of a material in words, merging what the clerk recorded into a rebuilt
checklist, and copies of a case for the runner.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from counter_client.domain.case import (
    Case,
    Delivery,
    Helper,
    MaterialEntry,
    Party,
    Problem,
)

STEPS = ("items", "applicant", "agent", "materials", "delivery", "review")
STEP_TITLES = {"items": "事项", "applicant": "申请人", "agent": "代办人", "materials": "材料",
               "delivery": "送达", "review": "核对"}
RECORDED = ("form", "pages", "scans", "review", "review_reasons", "elicence_ref")

_ENCODER = msgspec.json.Encoder()


def copy_case(case: Case) -> Case:
    """A deep, private copy (the GUI keeps editing its own while the runner saves this one)."""
    return msgspec.json.decode(_ENCODER.encode(case), type=Case)


def step_of(field_path: str) -> str:
    """The step of a ``Problem.field``: ``applicant.id_number`` -> applicant, ``materials.3`` ->
    materials, ``helper.platform_app_no`` -> items (it is asked with the mode)."""
    head = field_path.split(".", 1)[0]
    if field_path == "helper.platform_app_no":
        return "items"
    if head == "helper":
        return "agent"
    return head if head in STEPS else "review"


def problems_by_step(problems: list[Problem]) -> dict[str, list[Problem]]:
    out: dict[str, list[Problem]] = {step: [] for step in STEPS}
    for p in problems:
        out[step_of(p.field)].append(p)
    return out


def mask_id(number: str) -> str:
    """First 6 and last 4 characters, the middle as asterisks: 110105********002X."""
    n = "".join(number.split())
    if len(n) <= 10:
        return n[:2] + "*" * max(0, len(n) - 4) + n[-2:] if len(n) > 4 else n
    return n[:6] + "*" * (len(n) - 10) + n[-4:]


def mask_phone(phone: str) -> str:
    """138****8000 for a mobile number; landlines keep area code and last 4."""
    p = "".join(phone.split())
    if len(p) >= 7:
        return p[:3] + "*" * (len(p) - 7) + p[-4:]
    return p


def merge_recorded(rebuilt: list[MaterialEntry], current: list[MaterialEntry]) -> list[MaterialEntry]:
    """The rebuilt checklist with what the clerk recorded on the current one (by material key):
    edits made while the rebuild ran on the runner are not lost."""
    by_key = {m.key: m for m in current}
    out = []
    for m in rebuilt:
        old = by_key.get(m.key)
        if old is not None:
            m = msgspec.structs.replace(m, **{name: getattr(old, name) for name in RECORDED})
        out.append(m)
    return out


def is_blank(case: Case) -> bool:
    """Nothing entered yet: such a draft may be dropped without asking."""
    return (not case.items and case.applicant == Party() and case.agent is None and case.helper == Helper()
            and case.delivery == Delivery() and not any(m.scans or m.form != "未收" for m in case.materials))


@dataclass(frozen=True)
class DraftCheck:
    """What the runner computes after each save: the problems, the 一次性告知 and the due dates
    the confirmation would compute today."""

    case_id: str
    problems: list[Problem] = field(default_factory=list)
    notice: list[MaterialEntry] = field(default_factory=list)
    due: dict[str, tuple[str, bool]] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)
