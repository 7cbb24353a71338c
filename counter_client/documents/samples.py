"""Sample documents with made-up data: the printer test page of each document type (a clerk sets
up a printer with them), the training printouts, and the inputs of the document tests, golden
renderings and benchmarks.

Every person, number and address here is fictitious; identity numbers are built to pass their
check digits (the 身份证 sample of GB 11643), receipt numbers are minted by
``domain.receipt.mint``, tracking numbers are the S10 example of the UPU standard.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from counter_client.domain.case import Case, CaseItem, Delivery, Helper, MaterialEntry, Party
from counter_client.domain.receipt import mint

from .manifest import ManifestContext
from .notice import NoticeContext
from .receipt import ReceiptContext, status_url
from .waybill import Contact, WaybillData

CST = timezone(timedelta(hours=8))
MOMENT = datetime(2025, 11, 25, 9, 30, 12, tzinfo=CST)
HALL_CODE = "511324102"
HALL = "西充县晋城街道便民服务中心"
PLATFORM = "https://zwfw.example.gov.cn"
LONG_NAME = "欧阳" + "慕容" * 3 + "·阿不都热合曼·买买提艾力·" + "司马" * 4
LONG_ADDRESS = ("广东省深圳市南山区粤海街道科技园社区深南大道" + "高新技术产业园区某某路" * 6
                + "创新大厦B座二十八层2808室（政务服务中心跨省通办材料接收专窗，请于工作日送达）")


def _item(n: int, *, long: bool = False, verified: bool = True) -> CaseItem:
    names = ["养老保险关系转移接续申请", "户口迁移（夫妻投靠）", "职业资格证书补办"]
    departments = ["深圳市南山区人力资源局", "重庆市公安局渝中区分局", "成都市武侯区人力资源和社会保障局"]
    name = names[n % 3]
    if long:
        name = name + "（含城镇职工基本养老保险、城乡居民基本养老保险跨制度衔接及个人账户资金转移）"
    return CaseItem(code=f"44030500{n}RS{n:04d}", name=name, version=3, basic_code=f"00012345600{n}",
                    handling_region=["440305", "500103", "510107"][n % 3], department_code=f"D{n}",
                    department=departments[n % 3], promised_days=[15, 20, 10][n % 3],
                    collectable_by=["全国跨省通办清单"], due_date=["2025-12-16", "2025-12-23", "2026-12-09"][n % 3],
                    due_verified=verified)


def _materials(items: list[str], *, many: int = 0, rare: bool = False) -> list[MaterialEntry]:
    out = [
        MaterialEntry(key="居民身份证", name="居民身份证", items=items, type=1, source=20, form="电子证照",
                      elicence_ref="DZZZ-440305-2025-000123", review="合格"),
        MaterialEntry(key="申请表", name="养老保险关系转移接续申请表", items=items[:1], type=1, form="原件核验",
                      pages=2, review="合格", standard="申请人签名，填写完整"),
        MaterialEntry(key="户口簿", name="居民户口簿（首页及本人页）", items=items, type=2, copies=1, form="复印件",
                      pages=2, review="合格"),
        MaterialEntry(key="证明", name="参保缴费凭证", items=items[:1], type=1, necessity=3, form="容缺后补"),
    ]
    if rare:
        out.append(MaterialEntry(key="更名", name="姓名变更证明（原名王𠈌，现名王䶮）", items=items[:1], type=1,
                                 form="原件核验", pages=1, review="合格"))
    for i in range(many):
        out.append(MaterialEntry(key=f"附{i}", name=f"补充证明材料第{i + 1}号（单位出具的工作经历证明及劳动合同）",
                                 items=items, type=1, form="原件核验", pages=1 + i % 4, review="合格"))
    return out


def receipt_number(sequence: int = 7, day: date | None = None) -> str:
    return mint(HALL_CODE, 1, day or MOMENT.date(), sequence)


def case(*, items: int = 1, agent: bool = False, helper: bool = False, long: bool = False, rare: bool = False,
         many_materials: int = 0, unverified: bool = False, mail_back: bool = False, sequence: int = 7) -> Case:
    """A collected case with a receipt number."""
    case_items = [_item(n, long=long, verified=not (unverified and n == 0)) for n in range(items)]
    codes = [i.code for i in case_items]
    name = LONG_NAME if long else ("王𠈌䶮" if rare else "张晓梅")
    applicant = Party(name=name, id_type="resident_id", id_number="11010519491231002X", phone="13812348000",
                      address="四川省南充市西充县晋城街道某某路 8 号")
    delivery = Delivery(method="邮寄", recipient=name, phone="13812348000",
                        address=LONG_ADDRESS if long else "四川省南充市西充县晋城街道某某路 8 号 2 单元 301 室") \
        if mail_back else Delivery(method="收件地代领")
    return Case(
        id="C-0001", state="collected", receipt_no=receipt_number(sequence),
        mode="多地联办" if items > 1 else "异地代收代办",
        applicant=applicant,
        agent=Party(name="李建国", id_number="511324198001011233", phone="13900001111",
                    relation="儿子") if agent else None,
        helper=(Helper(mode="代办" if agent else "帮办", name="赵帮办", staff_no="H0017")
                if (helper or agent) else Helper()),
        items=case_items,
        materials=_materials(codes, many=many_materials, rare=rare),
        delivery=delivery,
        identity_checked=True,
        created_at="2025-11-25T09:02:41+08:00",
        collected_at=MOMENT.isoformat(),
    )


def receipt_context(*, training: bool = False, copy: bool = False, long: bool = False,
                    case_: Case | None = None) -> ReceiptContext:
    c = case_ or case()
    channels = {item.code: f"{item.department} 投诉电话 0755-2669{i:04d}" for i, item in enumerate(c.items)}
    return ReceiptContext(hall_name=HALL + ("（" + "跨省通办综合服务专区" * 3 + "）" if long else ""),
                          window="3 号窗口（跨省通办）", clerk="陈晓燕", printed_at=MOMENT + timedelta(minutes=1),
                          status_url=status_url(PLATFORM, c.receipt_no), complaint_channels=channels,
                          hall_phone="0817-4321234", training=training, copy=copy,
                          copy_note="补打 2025-11-26 10:05 · 原件遗失" if copy else "")


def notice_case(*, long: bool = False, many: int = 0) -> Case:
    """A draft whose checklist still has missing and rejected materials."""
    items = [_item(0, long=long), _item(1)]
    codes = [i.code for i in items]
    materials = [
        MaterialEntry(key="居民身份证", name="居民身份证", items=codes, type=1, source=20, form="原件核验", pages=1,
                      review="合格", standard="有效期内"),
        MaterialEntry(key="申请表", name="养老保险关系转移接续申请表", items=codes[:1], type=1, form="原件核验",
                      pages=2, review="不合格", review_reasons=["申请人未签名", "缴费年限一栏未填写"],
                      standard="申请人本人签名；各栏填写完整，不得涂改"),
        MaterialEntry(key="结婚证", name="结婚证（夫妻投靠）", items=codes[1:], type=3, originals=1, copies=1,
                      source=20, form="未收", standard="婚姻登记机关核发，夫妻双方信息与申请一致"),
        MaterialEntry(key="住房", name="合法稳定住所证明（房产证或租赁合同）", items=codes[1:], type=2, copies=1,
                      form="未收", standard="房屋所有权人或出租人签章；租赁合同须在有效期内" * (4 if long else 1)),
        MaterialEntry(key="缴费", name="参保缴费凭证", items=codes[:1], type=1, necessity=3, form="容缺后补",
                      standard="社保经办机构出具，加盖业务专用章"),
        MaterialEntry(key="照片", name="近期免冠照片", items=codes[1:], type=1, necessity=2, form="未收"),
    ]
    for i in range(many):
        materials.append(MaterialEntry(key=f"m{i}", name=f"补充证明材料第{i + 1}号", items=codes, form="未收",
                                       standard="原件，加盖出具单位公章"))
    return Case(id="D-20251125-0042", mode="多地联办", applicant=Party(name=LONG_NAME if long else "张晓梅",
                id_number="11010519491231002X", phone="13812348000"), items=items, materials=materials,
                created_at="2025-11-25T09:02:41+08:00")


def notice_context(*, training: bool = False, copy: bool = False) -> NoticeContext:
    return NoticeContext(hall_name=HALL, window="3 号窗口（跨省通办）", clerk="陈晓燕", printed_at=MOMENT,
                         hall_phone="0817-4321234", hall_address="四川省南充市西充县晋城街道政务服务中心一楼",
                         supplement_by=date(2025, 12, 2), training=training, copy=copy)


def waybill(*, long: bool = False, training: bool = False, copy: bool = False, receipts: int = 3,
            tracking_no: str = "EA123456785CN", result_leg: bool = False) -> WaybillData:
    """Materials to a department (default), or a result mailed back to the applicant."""
    hall = Contact(name=HALL, phone="0817-4321234", address="四川省南充市西充县晋城街道政务服务中心一楼跨省通办窗口",
                   postcode="637200")
    department = Contact(name="深圳市南山区人力资源局" + ("社会保险待遇审核科跨省通办材料接收专窗" * 3 if long else ""),
                         phone="0755-26691234",
                         address=LONG_ADDRESS if long else "广东省深圳市南山区南海大道 2001 号 5 楼",
                         postcode="518000", contact=LONG_NAME if long else "王收件")
    sender, receiver = hall, department
    if result_leg:
        sender = Contact(name="深圳市南山区人力资源局", phone="0755-26691234",
                         address="广东省深圳市南山区南海大道 2001 号", postcode="518000")
        receiver = Contact(name="王𠈌䶮", phone="13812348000", address="四川省南充市西充县晋城街道某某路 8 号",
                           postcode="637200")
    return WaybillData(tracking_no=tracking_no, sender=sender, receiver=receiver, customer_no="51132410200088",
                       contents="证照" if result_leg else "政务服务申请材料", weight_g=860, payment="月结",
                       date=MOMENT.date(), receipt_nos=tuple(receipt_number(i + 1) for i in range(receipts)),
                       remarks="内含原件，请勿折叠。" * 12 if long else "内含原件，请勿折叠",
                       training=training, copy=copy, copy_note="补打" if copy else "")


def manifest_cases(n: int = 3, *, long: bool = False) -> list[Case]:
    out = []
    for i in range(n):
        c = case(items=1, agent=(i % 3 == 1), long=long and i == 0, rare=(i == 2), many_materials=i % 4,
                 sequence=i + 1)
        out.append(c)
    return out


def manifest_context(*, training: bool = False, copy: bool = False) -> ManifestContext:
    return ManifestContext(parcel_id="P-20251125-0003", tracking_no="EA123456785CN", hall_name=HALL,
                           hall_code=HALL_CODE, clerk="陈晓燕", department="深圳市南山区人力资源局",
                           department_code="D0", department_address="广东省深圳市南山区南海大道 2001 号 5 楼",
                           printed_at=MOMENT, training=training, copy=copy)
