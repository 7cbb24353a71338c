"""A guide laid out as the sections a clerk reads, in the national element order.

Both the CLI (plain text) and the catalogue page (rendered by the UI, every value escaped) use
these sections, so the two always show the same elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from counter_client.domain.catalogue import ITEM_TYPES, Department, Guide

MATERIAL_HEADERS = ("序号", "材料名称", "材料类型", "份数", "材料形式", "必要性", "来源渠道", "受理标准", "填报须知")


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)  # (label, value)
    text: str = ""  # a free-text section
    table: list[tuple[str, ...]] = field(default_factory=list)  # material rows


def _copies(m) -> str:
    parts = []
    if m.type in (1, 3) and m.originals:
        parts.append(f"原件{m.originals}份")
    if m.type in (2, 3) and m.copies:
        parts.append(f"复印件{m.copies}份")
    return ("或" if m.type == 3 else "，").join(parts) or "—"


def guide_sections(guide: Guide, department: Department | None, region_name: str,
                   collectable: list[str]) -> list[Section]:
    g = guide
    basic = [
        ("事项名称", g.name),
        ("别名", "、".join(g.aliases) or "—"),
        ("业务办理项编码", g.code),
        ("实施编码", g.impl_code),
        ("基本编码", g.basic_code),
        ("事项版本", str(g.version)),
        ("事项类型", ITEM_TYPES.get(g.item_type, g.item_type)),
        ("实施主体", g.implementer.name + (f"（{g.implementer.credit_code}）" if g.implementer.credit_code else "")),
        ("办理地", region_name),
        ("办理方式", "、".join(g.modes)),
        ("通办范围", g.scope or "—"),
        ("可收件依据", "、".join(collectable) if collectable else "本窗口不在通办范围内（仅可咨询）"),
        ("办件类型", g.case_type),
        ("到现场次数", f"{g.visits} 次"),
        ("设定依据", g.legal_basis or "—"),
    ]
    limits = [
        ("法定办结时限", g.legal_limit.label() if g.legal_limit else "—"),
        ("承诺办结时限", g.promised_limit.label() if g.promised_limit else "—"),
    ]
    fee_rows = [("是否收费", g.fee.label())]
    for item in g.fee.items:
        fee_rows.append((item.name, "；".join(x for x in (item.standard, item.basis and f"依据：{item.basis}") if x) or "—"))
    if g.fee.note:
        fee_rows.append(("说明", g.fee.note))
    d = g.delivery
    delivery = [
        ("支持物流快递", "是" if d.logistics else "否"),
        ("申报材料邮寄", "是" if d.materials_by_mail else "否"),
        ("办件结果邮寄", "是" if d.result_by_mail else "否"),
        ("结果送达方式", "、".join(d.methods) or "—"),
        ("办理结果", g.result.name + (f"（{g.result.type}）" if g.result.name else "") or "—"),
    ]
    place = [("办理地点", g.place or "—"), ("办理时间", g.hours or "—")]
    if department:
        place += [
            ("部门地址", department.address + (f"（邮编 {department.postcode}）" if department.postcode else "")),
            ("材料接收", department.recipient or "—"),
            ("部门电话", department.phone or "—"),
        ]
    contact = [(f"{c.kind}", "；".join(x for x in (c.phone, c.address, c.online) if x) or "—") for c in g.channels]
    if department and department.complaint_phone:
        contact.append(("部门投诉电话", department.complaint_phone))
    contact.append(("政务服务便民热线", "12345"))
    materials = [
        (str(i + 1), m.name, m.type_label, _copies(m), m.form + (f"，{m.paper}" if m.paper else ""),
         m.necessity_label, m.source_label + (f"（{m.source_note}）" if m.source_note else ""),
         m.standard or "—", m.notes or "—")
        for i, m in enumerate(g.materials)
    ]
    process = [(f"{i + 1}. {p.name}",
                "；".join(x.rstrip("。；") for x in (p.description, p.time_limit and f"时限：{p.time_limit}") if x) or "—")
               for i, p in enumerate(g.process)]
    return [
        Section("基本信息", basic),
        Section("受理条件", text=g.conditions or "—"),
        Section("申请材料", table=materials),
        Section("办理流程", process or [("—", "—")]),
        Section("办理时限", limits),
        Section("收费标准", fee_rows),
        Section("送达方式", delivery),
        Section("办理地点与时间", place),
        Section("咨询投诉", contact),
    ]


def guide_as_text(guide: Guide, department: Department | None, region_name: str,
                  collectable: list[str]) -> str:
    lines: list[str] = []
    for s in guide_sections(guide, department, region_name, collectable):
        lines.append(f"【{s.title}】")
        for label, value in s.rows:
            lines.append(f"  {label}：{value}")
        if s.text:
            lines.extend("  " + line for line in s.text.splitlines())
        if s.table:
            for row in s.table:
                lines.append("  " + " | ".join(row))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
