"""The CLI's mail and printing commands: ``parcel``, ``pool``, ``print``.

    counter-client parcel new --to DEPARTMENT_CODE --cases R1,R2,… [--json]
    counter-client parcel list [--json]
    counter-client parcel show PARCEL [--json]
    counter-client parcel result RECEIPT [--item CODE] [--json]   this hall mails the result on
    counter-client pool [--refill] [--json]           free numbers, low warning; --refill asks the platform
    counter-client print receipt RECEIPT --out FILE.pdf [--size A4|A5]
    counter-client print notice RECEIPT --out FILE.pdf
    counter-client print waybill WAYBILL --out FILE.pdf [--size 100x150|76x130|100x180]
    counter-client print manifest PARCEL --out FILE.pdf
        a second issue of the same document is a 副本 and needs --reason lost|unclear|extra|other
        [--reason-text TEXT]; every issue is in the print log (who, when, why)

PDFs are written atomically (a temporary file beside the target, then renamed). Exit codes as
in ``__main__``: 0 done, 1 failed (the message says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from counter_client.services.printing import REPRINT_REASONS

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    parcel = sub.add_parser("parcel", help="包裹（材料寄往办理地）", parents=[common])
    parcel_sub = parcel.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = parcel_sub.add_parser("new", help="用邮件号池中的下一个号码生成包裹", parents=[common])
    new.add_argument("--to", required=True, metavar="DEPARTMENT_CODE", help="办理地部门编码")
    new.add_argument("--cases", required=True, metavar="R1,R2,…", help="收件编号，逗号分隔")
    new.add_argument("--json", action="store_true")
    listing = parcel_sub.add_parser("list", help="列出包裹", parents=[common])
    listing.add_argument("--json", action="store_true")
    show = parcel_sub.add_parser("show", help="显示一个包裹", parents=[common])
    show.add_argument("parcel")
    show.add_argument("--json", action="store_true")
    result = parcel_sub.add_parser("result", help="把办理结果寄给申请人（用邮件号池中的下一个号码；随同步报送平台）",
                                   parents=[common])
    result.add_argument("receipt")
    result.add_argument("--item", metavar="CODE", help="事项编码（办件只有一个事项时可省略）")
    result.add_argument("--json", action="store_true")

    pool = sub.add_parser("pool", help="邮件号池：剩余数量与提示", parents=[common])
    pool.add_argument("--refill", action="store_true", help="立即向平台领取邮件号（需已登录）")
    pool.add_argument("--json", action="store_true")
    pool.set_defaults(action=None)

    printing = sub.add_parser("print", help="打印为 PDF 文件", parents=[common])
    print_sub = printing.add_subparsers(dest="action", metavar="DOCUMENT", required=True)
    receipt = print_sub.add_parser("receipt", help="收件凭证", parents=[common])
    receipt.add_argument("receipt")
    receipt.add_argument("--size", choices=["A4", "A5"], help="纸张（默认按设置 print.receipt_size）")
    notice = print_sub.add_parser("notice", help="一次性告知书", parents=[common])
    notice.add_argument("receipt")
    waybill = print_sub.add_parser("waybill", help="邮件面单", parents=[common])
    waybill.add_argument("waybill")
    waybill.add_argument("--size", choices=["100x150", "76x130", "100x180"],
                         help="面单尺寸（毫米；默认按设置 print.label_size）")
    manifest = print_sub.add_parser("manifest", help="材料交接单", parents=[common])
    manifest.add_argument("parcel")
    for p in (receipt, notice, waybill, manifest):
        p.add_argument("--out", required=True, metavar="FILE.pdf")
        p.add_argument("--reason", choices=list(REPRINT_REASONS), help="补打原因（再次打印同一文书时必填，纸上印“副本”）："
                       + "，".join(f"{k}={v}" for k, v in REPRINT_REASONS.items()))
        p.add_argument("--reason-text", default="", metavar="TEXT", help="补打原因的说明（原因为 other 时必填）")


def _out(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _parcel_json(parcel) -> dict:
    return {"parcel_id": parcel.id, "waybill_no": parcel.waybill_no, "department_code": parcel.department_code,
            "department": parcel.department_name, "created_at": parcel.created_at, "clerk": parcel.clerk,
            "cases": [{"receipt_no": c.receipt_no, "items": list(c.items),
                       "materials": [m.__dict__ for m in c.materials]} for c in parcel.cases]}


def cmd_parcel_new(ctx, args) -> int:
    receipts = [r for r in args.cases.replace("，", ",").split(",") if r.strip()]
    made = ctx.mail().create_parcel(args.to, receipts)
    if args.json:
        _out({"parcel_id": made.parcel.id, "waybill_no": made.parcel.waybill_no, "warnings": made.warnings})
    else:
        print(f"已生成包裹 {made.parcel.id}，邮件号 {made.parcel.waybill_no}，寄往 {made.parcel.department_name}，"
              f"共 {len(made.parcel.cases)} 件。")
    for warning in made.warnings:
        print(f"提示：{warning}", file=sys.stderr)
    return EXIT_OK


def cmd_parcel_result(ctx, args) -> int:
    mail = ctx.mail()
    item = args.item
    if not item:
        codes = [i.code for i in mail.load(args.receipt).items]
        if len(codes) != 1:
            print(f"该办件有 {len(codes)} 个事项，请用 --item 指定要寄出结果的事项：{'、'.join(codes)}", file=sys.stderr)
            return EXIT_USAGE
        item = codes[0]
    leg = mail.mail_result(args.receipt, item)
    if args.json:
        _out({"receipt_no": leg.receipt_no, "item_code": leg.item_code, "tracking_no": leg.tracking_no})
    else:
        print(f"已登记寄出办理结果：邮件号 {leg.tracking_no}（打印面单：counter-client print waybill {leg.tracking_no}"
              " --out 面单.pdf）。")
    return EXIT_OK


def cmd_parcel_list(ctx, args) -> int:
    parcels = ctx.mail().parcels()
    if args.json:
        _out([_parcel_json(p) for p in parcels])
        return EXIT_OK
    for p in parcels:
        print(f"{p.id}\t{p.waybill_no}\t{p.department_code}\t{p.department_name}\t{len(p.cases)} 件\t{p.created_at}")
    if not parcels:
        print("还没有包裹。", file=sys.stderr)
    return EXIT_OK


def cmd_parcel_show(ctx, args) -> int:
    parcel = ctx.mail().parcel(args.parcel)
    if args.json:
        _out(_parcel_json(parcel))
        return EXIT_OK
    print(f"包裹 {parcel.id}　邮件号 {parcel.waybill_no}\n寄往：{parcel.department_name}（{parcel.department_code}）\n"
          f"装包：{parcel.created_at} {parcel.clerk}")
    for c in parcel.cases:
        print(f"  {c.receipt_no}　事项 {'、'.join(c.items)}")
        for m in c.materials:
            print(f"    {m.name}（{m.form}{f'，{m.pages} 页' if m.pages else ''}）" + ("　另备一份" if m.shared else ""))
    return EXIT_OK


def cmd_pool(ctx, args) -> int:
    mail = ctx.mail()
    added = None
    if args.refill:
        ctx.start_training_platform()
        client = ctx.connection.delivery_client()
        try:
            ctx.login_service().authorise(client)
            added = mail.refill(client, force=True)
        finally:
            client.close()
    status = mail.pool_status()
    if args.json:
        _out(status.as_dict() | ({"added": added} if added is not None else {}))
    else:
        if added is not None:
            print(f"已领取 {added} 个邮件号。")
        print(f"可用邮件号 {status.free} 个，已使用 {status.used} 个（不多于 {status.low_water} 个时提示）。")
    if status.warning:
        print(status.warning, file=sys.stderr)
    return EXIT_OK


def _issue(ctx, args, request) -> int:
    """Save the document as a PDF through the print service: original or 副本 by the print log,
    a reprint only with a reason, and the issue recorded (who, when, why) like a print at the window."""
    folder = Path(args.out).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        print(f"无法创建文件夹“{folder}”：{exc.strerror or exc}。", file=sys.stderr)
        return EXIT_FAILED
    path, entry = ctx.printing().issue_to_file(request, args.out, args.reason or "", args.reason_text)
    copy = f"（第 {entry.copy_no} 份，副本）" if entry.copy_no > 1 else ""
    print(f"已保存：{path}{copy}")
    return EXIT_OK


def _mail_documents(ctx):
    from counter_client.services.printouts import MailDocuments

    return MailDocuments(ctx.mail(), ctx.catalogue, ctx.settings)


def cmd_print_receipt(ctx, args) -> int:
    case = ctx.mail().load(args.receipt)
    return _issue(ctx, args, ctx.printing().receipt_request(case, args.size))


def cmd_print_notice(ctx, args) -> int:
    case = ctx.mail().load(args.receipt)
    return _issue(ctx, args, ctx.printing().notice_request(case))


def cmd_print_waybill(ctx, args) -> int:
    return _issue(ctx, args, _mail_documents(ctx).waybill_request(args.waybill, args.size))


def cmd_print_manifest(ctx, args) -> int:
    return _issue(ctx, args, _mail_documents(ctx).manifest_request(args.parcel))


COMMANDS = {
    ("parcel", "new"): cmd_parcel_new,
    ("parcel", "list"): cmd_parcel_list,
    ("parcel", "show"): cmd_parcel_show,
    ("parcel", "result"): cmd_parcel_result,
    ("pool", None): cmd_pool,
    ("print", "receipt"): cmd_print_receipt,
    ("print", "notice"): cmd_print_notice,
    ("print", "waybill"): cmd_print_waybill,
    ("print", "manifest"): cmd_print_manifest,
}
