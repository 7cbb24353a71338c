"""Entry point: ``counter-client`` / ``python -m counter_client``.

With no command it starts the window (in training mode when no platform is configured). The
subcommands run the same services without a GUI, for scripts, support and tests. Messages for
people are Chinese on stderr; ``--json`` output is for programs. Exit codes: 0 done, 1 the
request failed (message says why), 2 bad usage, 3 not found.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any, Callable

from counter_client import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_NOT_FOUND = 0, 1, 2, 3


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default: Any = argparse.SUPPRESS if suppress else None
    parser.add_argument("--data-dir", metavar="DIR", default=default,
                        help="数据目录（数据库、设置、日志都放在这里）")
    parser.add_argument("--platform", metavar="URL", default=default,
                        help="本次运行使用的平台地址（不保存；保存请用 settings set platform.url）")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="counter-client", description="跨省通办窗口客户端")
    parser.add_argument("--version", action="version", version=f"counter-client {__version__}")
    _global_options(parser, suppress=False)
    parser.add_argument("--self-test", action="store_true",
                        help="离屏启动界面，逐页打开后退出；失败时列出原因")
    parser.add_argument("--screenshots", metavar="DIR", help="与 --self-test 同用：把每个页面保存为 PNG")
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)  # start-up benchmark
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, suppress=True)

    cat = sub.add_parser("catalogue", help="事项指南目录", parents=[common])
    cat_sub = cat.add_subparsers(dest="action", metavar="ACTION", required=True)
    refresh = cat_sub.add_parser("refresh", help="从平台更新目录", parents=[common])
    refresh.add_argument("--json", action="store_true")
    search = cat_sub.add_parser("search", help="检索事项", parents=[common])
    search.add_argument("query")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--region", help="办理地区划代码（省、市或县）")
    search.add_argument("--department", help="实施部门编码")
    search.add_argument("--mode", choices=["全程网办", "异地代收代办", "多地联办"])
    search.add_argument("--type", dest="item_type", help="事项类型代码，如 01、07、20")
    search.add_argument("--collectable", action="store_true", help="只列出本窗口可以收件的事项")
    search.add_argument("--json", action="store_true")
    show = cat_sub.add_parser("show", help="显示一个事项指南", parents=[common])
    show.add_argument("code")
    show.add_argument("--json", action="store_true")
    cat_sub.add_parser("info", help="目录版本与更新时间", parents=[common]).add_argument("--json", action="store_true")

    cases = sub.add_parser("case", help="办件（收件）", parents=[common])
    case_sub = cases.add_subparsers(dest="action", metavar="ACTION", required=True)
    imp = case_sub.add_parser("import", help="按 JSON 描述收件（校验与窗口收件相同），打印收件编号", parents=[common])
    imp.add_argument("file", metavar="FILE.json")
    imp.add_argument("--json", action="store_true")
    show_case = case_sub.add_parser("show", help="显示一个办件", parents=[common])
    show_case.add_argument("receipt")
    show_case.add_argument("--json", action="store_true")
    list_cases = case_sub.add_parser("list", help="列出办件", parents=[common])
    list_cases.add_argument("--today", action="store_true", help="只列今天的办件")
    list_cases.add_argument("--state", choices=["draft", "collected", "void"])
    list_cases.add_argument("--item", help="事项编码")
    list_cases.add_argument("--id-number", help="申请人或代办人证件号码（精确匹配）")
    list_cases.add_argument("--phone", help="联系电话（精确匹配）")
    list_cases.add_argument("--limit", type=int, default=100)
    list_cases.add_argument("--json", action="store_true")

    ident = sub.add_parser("id", help="证件号码", parents=[common])
    ident_sub = ident.add_subparsers(dest="action", metavar="ACTION", required=True)
    id_check = ident_sub.add_parser("check", help="核验证件号码（身份证、居住证、通行证、护照、统一社会信用代码）",
                                    parents=[common])
    id_check.add_argument("number")
    id_check.add_argument("--type", dest="id_type", choices=_id_types(), metavar="TYPE",
                          help="按指定证件类型核验：" + "、".join(_id_types()) + "（不指定时按号码形式判断）")
    id_check.add_argument("--json", action="store_true")

    from counter_client import cli_mail, cli_sync

    cli_sync.add_parsers(sub, common)
    cli_mail.add_parsers(sub, common)

    st = sub.add_parser("settings", help="查看或修改设置", parents=[common])
    st_sub = st.add_subparsers(dest="action", metavar="ACTION", required=True)
    st_sub.add_parser("show", help="列出全部设置", parents=[common]).add_argument("--json", action="store_true")
    st_set = st_sub.add_parser("set", help="修改一项设置", parents=[common])
    st_set.add_argument("key")
    st_set.add_argument("value")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_platform"]:  # the bundled reference platform, started by training mode
        from counter_client.refplatform.cli import main as platform_main

        return platform_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command is None:
        from counter_client.app import run_gui

        return run_gui(data_dir=args.data_dir, platform_url=args.platform,
                       self_test=args.self_test, screenshots=args.screenshots,
                       exit_when_shown=args.exit_when_shown)
    from counter_client.cli_mail import COMMANDS as MAIL_COMMANDS
    from counter_client.cli_sync import COMMANDS as SYNC_COMMANDS

    handler = {**_COMMANDS, **SYNC_COMMANDS, **MAIL_COMMANDS}[(args.command, args.action)]
    return _run(handler, args)


def _run(handler: Callable, args: argparse.Namespace) -> int:
    from counter_client.context import build_context
    from counter_client.errors import UserError

    context = None
    try:
        context = build_context(args.data_dir, args.platform, log_to_stderr=logging.ERROR)
        for problem in context.settings.problems:
            print(problem, file=sys.stderr)
        code = handler(context, args)
        for notice in context.notices:
            print(notice, file=sys.stderr)
        return code
    except UserError as exc:
        logging.getLogger(__name__).warning("command failed: %s", exc.log)
        _fail(exc.message, getattr(args, "json", False))
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    finally:
        if context is not None:
            context.close()


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"error": message}, ensure_ascii=False))
    print(message, file=sys.stderr)


def _print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2))


# -- catalogue -------------------------------------------------------------------------------
def cmd_catalogue_refresh(ctx, args) -> int:
    ctx.start_training_platform()
    client = ctx.connection.client()
    try:
        def progress(done: int, total: int, label: str) -> None:
            if not args.json and total:
                print(f"\r{label}", end="", file=sys.stderr, flush=True)

        result = ctx.catalogue.refresh(client, progress)
    finally:
        client.close()
    if args.json:
        _print_json(result.as_json())
    else:
        print(("\n" if result.changed else "") + result.summary())
    return EXIT_OK


def cmd_catalogue_search(ctx, args) -> int:
    from counter_client.domain.search import SearchFilters

    if ctx.catalogue.info().guide_count == 0:
        _fail("本地目录为空，请先更新目录：counter-client catalogue refresh", args.json)
        return EXIT_FAILED
    hall = ctx.settings.hall()["hall.region_code"] or None
    if args.collectable and not hall:
        _fail("尚未设置本窗口所在区划（settings set hall.region_code），无法判断可收件事项。", args.json)
        return EXIT_USAGE
    filters = SearchFilters(department_code=args.department, region=args.region, mode=args.mode,
                            item_type=args.item_type, collectable_at=hall if args.collectable else None)
    hits = ctx.catalogue.search(args.query, filters, args.limit)
    if args.json:
        _print_json([h.as_json() for h in hits])
        return EXIT_OK
    if not hits:
        print("没有找到匹配的事项。", file=sys.stderr)
    for h in hits:
        badge = "全国清单" if h.national_list else ("、".join(h.agreements) or "—")
        print(f"{h.code}\t{h.name}\t{h.handling_region_name}\t{h.department}\t{'/'.join(h.modes)}\t{badge}")
    return EXIT_OK


def cmd_catalogue_show(ctx, args) -> int:
    guide = ctx.catalogue.guide(args.code)
    if guide is None:
        _fail(f"本地目录中没有编码为 {args.code} 的事项。请核对编码，或先更新目录。", args.json)
        return EXIT_NOT_FOUND
    department = ctx.catalogue_store.department(guide.implementer.department_code)
    region_name = ctx.catalogue_store.region_full_name(guide.handling_region)
    reasons = ctx.catalogue.collectable(guide)
    if args.json:
        data = guide.to_dict()
        data.update(department_code=guide.implementer.department_code,
                    department=department.to_dict() if department else None,
                    handling_region_name=region_name, collectable=reasons)
        _print_json(data)
        return EXIT_OK
    from counter_client.services.guide_text import guide_as_text

    print(guide_as_text(guide, department, region_name, reasons))
    return EXIT_OK


def cmd_catalogue_info(ctx, args) -> int:
    info = ctx.catalogue.info()
    data = {"version": info.version, "guide_count": info.guide_count, "refreshed_at": info.refreshed_at,
            "platform": info.platform, "regions_version": info.regions_version,
            "training": ctx.training}
    if args.json:
        _print_json(data)
    else:
        print(f"目录版本：{info.version if info.version is not None else '无（尚未更新）'}\n"
              f"事项数：{info.guide_count}\n最近更新：{info.refreshed_at or '从未'}\n"
              f"来源平台：{info.platform or '—'}\n区划版本：{info.regions_version or '—'}")
    return EXIT_OK


# -- id ------------------------------------------------------------------------------------------
def _id_types() -> tuple[str, ...]:
    from counter_client.domain.identity import ID_TYPES

    return ID_TYPES


def cmd_id_check(ctx, args) -> int:
    """Exit 0 when the number is valid, 1 when not; county codes are looked up in the local
    region table only when the catalogue has one."""
    from counter_client.domain.identity import check_id

    store = ctx.catalogue_store
    known_area = (lambda code: store.region(code) is not None) if store.region_count() > 0 else None
    result = check_id(args.number, type=args.id_type, known_area=known_area)
    if args.json:
        _print_json(result.as_json())
    else:
        if result.valid:
            print(f"有效：{result.type_label} {result.normalized}")
        else:
            print(f"无效（{result.type_label}）：{result.reason}")
        if result.birth_date:
            print(f"出生日期：{result.birth_date.isoformat()}" + (f"　性别：{result.sex}" if result.sex else ""))
        if result.upgraded:
            print(f"18 位号码：{result.upgraded}")
        for warning in result.warnings:
            print(f"提示：{warning}")
    return EXIT_OK if result.valid else EXIT_FAILED


# -- settings --------------------------------------------------------------------------------
def cmd_settings_show(ctx, args) -> int:
    from counter_client.settings import SETTINGS

    values = {s.key: ctx.settings.get(s.key) for s in SETTINGS}
    if args.json:
        _print_json(values)
    else:
        for s in SETTINGS:
            print(f"{s.key} = {values[s.key]!r}\t# {s.description}")
    return EXIT_OK


def cmd_settings_set(ctx, args) -> int:
    from counter_client.settings import SETTINGS

    spec = next((s for s in SETTINGS if s.key == args.key), None)
    if spec is None:
        _fail(f"没有名为 {args.key} 的设置。可用设置见 counter-client settings show", False)
        return EXIT_USAGE
    raw = args.value
    try:
        value: Any = {bool: lambda v: v.lower() in ("1", "true", "yes", "是"), int: int, float: float,
                      str: str}[spec.type](raw)
    except ValueError:
        kind = {int: "整数", float: "数字"}.get(spec.type, "文本")
        _fail(f"设置未保存：{spec.description}应为{kind}，收到“{raw}”。", False)
        return EXIT_USAGE
    try:
        ctx.settings.set(spec.key, value)
    except ValueError as exc:
        _fail(f"设置未保存：{exc}", False)
        return EXIT_USAGE
    ctx.settings.save()
    print(f"已保存：{spec.key} = {value!r}")
    return EXIT_OK


# -- cases ---------------------------------------------------------------------------------------
def cmd_case_import(ctx, args) -> int:
    from pathlib import Path

    from counter_client.scanning.importer import import_file
    from counter_client.services.intake import CaseRejected

    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        _fail(f"无法读取办件文件“{args.file}”：{exc}", args.json)
        return EXIT_USAGE
    if not isinstance(data, dict):
        _fail("办件文件的最外层应为 JSON 对象。", args.json)
        return EXIT_USAGE
    max_bytes = ctx.settings.get("scans.max_file_mb") * 2**20
    intake = ctx.intake()
    try:
        case = intake.import_case(data, lambda path: [p.data for p in import_file(path, max_bytes=max_bytes)])
    except CaseRejected as exc:
        if args.json:
            print(json.dumps({"error": exc.message, "problems": [p.__dict__ for p in exc.problems],
                              "notice": [m.name for m in exc.missing]}, ensure_ascii=False, indent=2))
        print(exc.message, file=sys.stderr)
        if exc.missing:
            print("一次性告知（须补齐的材料）：\n" + "\n".join(f"  {i + 1}. {m.name}" for i, m in enumerate(exc.missing)),
                  file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        _print_json({"receipt_no": case.receipt_no})
    else:
        from counter_client.domain.receipt import format_grouped

        print(f"已收件，收件编号：{format_grouped(case.receipt_no)}")
    return EXIT_OK


def cmd_case_show(ctx, args) -> int:
    from counter_client.domain.receipt import ReceiptError, format_grouped

    intake = ctx.intake()
    try:
        case = intake.find_receipt(args.receipt)
    except ReceiptError as exc:
        _fail(f"收件编号有误：{exc.message}", args.json)
        return EXIT_USAGE
    if case is None:
        _fail(f"没有收件编号为 {args.receipt} 的办件。", args.json)
        return EXIT_NOT_FOUND
    if args.json:
        data = case.to_dict()
        data["events"] = [e.__dict__ for e in intake.events(case.id)]
        _print_json(data)
        return EXIT_OK
    from counter_client.domain.case import STATE_LABELS

    print(f"收件编号：{format_grouped(case.receipt_no)}（{STATE_LABELS[case.state]}）\n办理方式：{case.mode}\n"
          f"申请人：{case.applicant.name}\n收件时间：{case.collected_at}")
    for item in case.items:
        due = f"，承诺办结 {item.due_date}{'' if item.due_verified else '（节假日未核实）'}" if item.due_date else ""
        print(f"事项：{item.name}（{item.code}，办理地 {item.department}{due}）")
    for m in case.materials:
        print(f"  材料：{m.name} — {m.form}" + (f"，{m.pages} 页" if m.pages else "")
              + (f"，扫描 {len(m.scans)} 页" if m.scans else ""))
    if case.void_reason:
        print(f"作废原因：{case.void_reason}")
    return EXIT_OK


def cmd_case_list(ctx, args) -> int:
    import datetime

    from offline_cache.cases import CaseFilter

    f = CaseFilter(day=datetime.date.today().isoformat() if args.today else None, state=args.state,
                   item_code=args.item, applicant_id=args.id_number, phone=args.phone, limit=args.limit)
    rows = ctx.intake().list(f)
    if args.json:
        _print_json([r.__dict__ | {"items": list(r.items)} for r in rows])
        return EXIT_OK
    from counter_client.domain.case import STATE_LABELS

    for r in rows:
        print(f"{r.receipt_no or '（草稿）'}\t{STATE_LABELS[r.state]}\t{r.day}\t{r.applicant}\t{'、'.join(r.items)}")
    if not rows:
        print("没有符合条件的办件。", file=sys.stderr)
    return EXIT_OK


_COMMANDS = {
    ("catalogue", "refresh"): cmd_catalogue_refresh,
    ("catalogue", "search"): cmd_catalogue_search,
    ("catalogue", "show"): cmd_catalogue_show,
    ("catalogue", "info"): cmd_catalogue_info,
    ("id", "check"): cmd_id_check,
    ("case", "import"): cmd_case_import,
    ("case", "show"): cmd_case_show,
    ("case", "list"): cmd_case_list,
    ("settings", "show"): cmd_settings_show,
    ("settings", "set"): cmd_settings_set,
}


if __name__ == "__main__":
    sys.exit(main())
