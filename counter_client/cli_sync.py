"""The CLI's platform commands: ``login``, ``logout``, ``sync``, ``queue``, ``reconcile``.

    counter-client login ACCOUNT [--password-stdin] [--json]
    counter-client logout
    counter-client sync [--json]                    one pass: deliver what can be, pull statuses
    counter-client queue [--json] [--all]           the outbox
    counter-client reconcile [--date YYYY-MM-DD] [--resend] [--json]

Exit codes as in ``__main__``: 0 done, 1 failed (or, for ``reconcile``, gaps found; for ``sync``,
something could not be delivered because of login or connection), 2 bad usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    login = sub.add_parser("login", help="登录平台（令牌保存在系统密钥存储中）", parents=[common])
    login.add_argument("account")
    login.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取密码")
    login.add_argument("--json", action="store_true")
    sub.add_parser("logout", help="退出平台登录", parents=[common])
    sync = sub.add_parser("sync", help="同步一次：上传待发送的办件，获取办理状态", parents=[common])
    sync.add_argument("--json", action="store_true")
    queue = sub.add_parser("queue", help="待上传队列", parents=[common])
    queue.add_argument("--all", action="store_true", help="连同已送达的一并列出")
    queue.add_argument("--json", action="store_true")
    rec = sub.add_parser("reconcile", help="对账：本机已送达的办件与平台所存的逐一核对", parents=[common])
    rec.add_argument("--date", help="收件日期 YYYY-MM-DD（默认今天）")
    rec.add_argument("--resend", action="store_true", help="把平台缺少的办件重新排队并同步一次")
    rec.add_argument("--json", action="store_true")
    for name in ("login", "logout", "sync", "queue", "reconcile"):
        sub.choices[name].set_defaults(action=None)


def _out(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    print(message, file=sys.stderr)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    return getpass.getpass("密码：")


def cmd_login(ctx, args) -> int:
    ctx.start_training_platform()
    password = _read_password(args.password_stdin)
    if not password:
        _fail("密码不能为空。", args.json)
        return EXIT_USAGE
    login = ctx.login_service()
    client = ctx.connection.delivery_client()
    try:
        profile = login.login(client, args.account, password)
    finally:
        client.close()
    if args.json:
        _out({"account": profile.account, "name": profile.name, "roles": list(profile.roles),
              "hall_code": profile.hall_code, "expires_at": profile.expires_at})
    else:
        until = dt.datetime.fromtimestamp(profile.expires_at).strftime("%m月%d日 %H:%M")
        print(f"已登录：{profile.name or profile.account}（{'、'.join(profile.roles)}），有效至 {until}")
    return EXIT_OK


def cmd_logout(ctx, args) -> int:
    ctx.start_training_platform()
    client = ctx.connection.delivery_client()
    try:
        ctx.login_service().logout(client)
    finally:
        client.close()
    print("已退出登录。")
    return EXIT_OK


def cmd_sync(ctx, args) -> int:
    ctx.start_training_platform()
    ctx.connection.probe()  # learns the clock offset recorded in new bodies (rule 9)
    engine = ctx.sync_engine()
    report = engine.run_once()
    if args.json:
        _out(report.as_dict())
    else:
        print(f"送达 {report.delivered} 件（其中核实 {report.confirmed} 件），等待重试 {report.waiting} 件，"
              f"待确认 {report.in_doubt} 件，被退回 {report.rejected} 件；上传文件 {report.blobs_sent} 个，"
              f"平台已有 {report.blobs_present} 个；状态更新 {report.statuses} 条；尚未送达 {report.remaining} 件。")
        for e in report.changed:
            if e.status not in ("补正", "不予受理"):  # those are listed below with what they need
                print(f"  {e.receipt_no} {e.item_code} {e.status}" + (f"（运单号 {e.tracking_no}）" if e.tracking_no else ""))
        for e in report.needs_clerk:
            need = "、".join(e.needed)
            print(f"  ！{e.receipt_no} {e.item_code} {e.status}" + (f"：{e.reason}" if e.reason else "")
                  + (f"（须补正：{need}）" if need else ""))
    if report.stopped:
        print(report.stopped, file=sys.stderr)
    return EXIT_FAILED if report.login_required or (report.stopped and not report.busy) else EXIT_OK


def cmd_queue(ctx, args) -> int:
    from offline_cache.outbox import STATE_LABELS, STATES, Outbox

    intake = ctx.intake()
    outbox = Outbox(intake.cases.store)
    states = STATES if args.all else tuple(s for s in STATES if s != "acked")
    items = outbox.items(states)
    age = outbox.oldest_unsent_age()
    if args.json:
        _out({"counts": outbox.counts(), "oldest_unsent_age_s": age,
              "items": [{"kind": i.kind, "key": i.key, "state": i.state, "label": i.label, "attempts": i.attempts,
                         "next_attempt_at": i.next_attempt_at or None, "last_error": i.last_error,
                         "payload_hash": i.payload_hash, "acked_at": i.acked_at} for i in items]})
        return EXIT_OK
    counts = outbox.counts()
    print("，".join(f"{STATE_LABELS[s]} {counts[s]}" for s in STATES if counts.get(s)) or "队列为空。")
    if age is not None:
        print(f"最早未送达的已等待 {_duration(age)}")
    for i in items:
        when = ""
        if i.state in ("retry_wait", "in_doubt") and i.next_attempt_at > time.time():
            when = f"，{_duration(i.next_attempt_at - time.time())}后重试"
        kind = {"supplement": "补正", "parcel": "包裹", "leg": "寄出结果"}.get(i.kind, "办件")
        print(f"{i.key}\t{kind}\t{i.label}\t第 {i.attempts} 次{when}\t{i.last_error}".rstrip())
    return EXIT_OK


def cmd_reconcile(ctx, args) -> int:
    from counter_client.services.reconcile import reconcile, resend
    from offline_cache.outbox import Outbox

    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    except ValueError:
        _fail(f"日期格式应为 YYYY-MM-DD，收到“{args.date}”。", args.json)
        return EXIT_USAGE
    ctx.start_training_platform()
    login = ctx.login_service()
    outbox = Outbox(ctx.intake().cases.store, ctx.intake().cases.cipher)
    client = ctx.connection.delivery_client()
    try:
        login.authorise(client)
        report = reconcile(client, outbox, day)
    finally:
        client.close()
    resent: list[str] = []
    if args.resend and report.gaps:
        resent = resend(outbox, report)
        if resent:
            ctx.sync_engine().run_once(pull=False)
    if args.json:
        _out(report.as_dict() | {"resent": resent})
    else:
        print(f"{report.day} 对账：本机已送达 {report.acked_here} 件，平台收到 {report.held_there} 件，"
              f"一致 {report.matched} 件，尚未送达 {report.pending_here} 件。")
        for receipt in report.settled:
            print(f"  {receipt}：平台已收到（此前待确认），已记为送达。")
        if report.gaps:
            print(f"！！！发现 {len(report.gaps)} 处不一致：", file=sys.stderr)
            for g in report.gaps:
                print(f"  ！{g.receipt_no}：{g.message}", file=sys.stderr)
            if resent:
                print(f"已重新发送 {len(resent)} 件：{'、'.join(resent)}", file=sys.stderr)
        else:
            print("全部一致。")
    return EXIT_OK if report.clean else EXIT_FAILED


def _duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分钟"
    if seconds < 86400:
        return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分钟"
    return f"{seconds // 86400} 天"


COMMANDS = {
    ("login", None): cmd_login,
    ("logout", None): cmd_logout,
    ("sync", None): cmd_sync,
    ("queue", None): cmd_queue,
    ("reconcile", None): cmd_reconcile,
}
