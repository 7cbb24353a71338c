"""``counter-platform``: serve the reference platform and manage its catalogue.

    counter-platform serve --host 127.0.0.1 --port 0 --data DIR [--catalogue FILE] [--parent-watch]
                           [--token-ttl S] [--lockout-seconds S] [--max-request-mb MB] [--simulate-every S]
    counter-platform generate-catalogue --guides N --out FILE [--seed S]
    counter-platform catalogue import FILE --data DIR
    counter-platform catalogue touch --count N --data DIR [--seed S]
    counter-platform account add ACCOUNT --role clerk|helper|supervisor --hall HALL --name NAME --data DIR
                                 [--password-stdin]
    counter-platform account list --data DIR [--json]
    counter-platform account unlock ACCOUNT --data DIR
    counter-platform cases --data DIR [--json] [--verify]
    counter-platform parcels --data DIR [--json]
    counter-platform simulate --data DIR [--steps N]
    counter-platform openapi [--out FILE]

Exit status: 0 done, 1 failed while running, 2 bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from counter_client.paths import resources_dir, user_dirs
from counter_client.refplatform import accounts
from counter_client.refplatform.catalogue_file import CatalogueFile, CatalogueFileError
from counter_client.refplatform.config import MIB, PlatformConfig
from counter_client.refplatform.store import ImportReport, PlatformStore, PlatformStoreError

log = logging.getLogger("counter_client.refplatform")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
OPENAPI_FILE = Path(__file__).with_name("openapi.json")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _default_data_dir() -> Path:
    return user_dirs().training_platform


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="counter-platform", description="跨省通办 reference / training platform")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port (printed on stdout)")
    serve.add_argument("--data", type=Path, default=None, help="data directory (created and loaded if empty)")
    serve.add_argument("--catalogue", type=Path, help="catalogue file to load instead of the training data")
    serve.add_argument("--training", type=Path, help="training data directory (default resources/training)")
    serve.add_argument("--parent-watch", action="store_true", help="shut down when stdin reaches end of file")
    serve.add_argument("--access-log", action="store_true", help="log every request (stderr)")
    serve.add_argument("--token-ttl", type=float, default=None, metavar="SECONDS",
                       help="lifetime of a login token (default 12 hours)")
    serve.add_argument("--lockout-seconds", type=float, default=None, metavar="SECONDS",
                       help="how long 5 wrong passwords lock an account (default 15 minutes)")
    serve.add_argument("--max-request-mb", type=float, default=None, metavar="MB",
                       help="largest request body, MiB (default 8); larger is 413 request_too_large")
    serve.add_argument("--simulate-every", type=float, default=None, metavar="SECONDS",
                       help="advance the simulated 办理地 every SECONDS (default 20 in training mode, "
                            "off otherwise; 0 turns it off)")

    account = commands.add_parser("account", help="manage the accounts clerks log in with")
    account_actions = account.add_subparsers(dest="action", required=True)
    add = account_actions.add_parser("add", help="create an account")
    add.add_argument("account")
    add.add_argument("--role", required=True, choices=accounts.ROLES)
    add.add_argument("--hall", required=True, help="the hall's 9-digit code")
    add.add_argument("--name", required=True, help="the person's name")
    add.add_argument("--data", type=Path, default=None)
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of stdin (else it is asked for)")
    listing = account_actions.add_parser("list", help="list the accounts")
    listing.add_argument("--data", type=Path, default=None)
    listing.add_argument("--json", action="store_true")
    unlock = account_actions.add_parser("unlock", help="lift a lockout")
    unlock.add_argument("account")
    unlock.add_argument("--data", type=Path, default=None)

    held = commands.add_parser("cases", help="every case the platform holds, with its verified blobs")
    held.add_argument("--data", type=Path, default=None)
    held.add_argument("--json", action="store_true")
    held.add_argument("--verify", action="store_true", help="hash every blob file on disk again")

    parcels = commands.add_parser("parcels", help="every parcel manifest the platform holds, and the waybill "
                                                  "numbers allocated to each terminal")
    parcels.add_argument("--data", type=Path, default=None)
    parcels.add_argument("--json", action="store_true")

    simulate = commands.add_parser("simulate", help="advance the simulated 办理地 now")
    simulate.add_argument("--data", type=Path, default=None)
    simulate.add_argument("--steps", type=int, default=1)
    simulate.add_argument("--receipt", help="instead of random steps: move this case's item (with --item, --to)")
    simulate.add_argument("--item", help="the item code (with --receipt)")
    simulate.add_argument("--to", choices=["受理", "办结"], help="the status to reach (受理 is passed on the way to 办结)")

    generate = commands.add_parser("generate-catalogue", help="write a synthetic catalogue for load tests")
    generate.add_argument("--guides", type=int, required=True)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--seed", type=int, default=1)

    catalogue = commands.add_parser("catalogue", help="change the catalogue of a data directory")
    actions = catalogue.add_subparsers(dest="action", required=True)
    imp = actions.add_parser("import", help="replace the catalogue with a file's content")
    imp.add_argument("file", type=Path)
    imp.add_argument("--data", type=Path, default=None)
    touch = actions.add_parser("touch", help="revise N guides in one new catalogue version")
    touch.add_argument("--count", type=int, required=True)
    touch.add_argument("--data", type=Path, default=None)
    touch.add_argument("--seed", type=int, default=None)

    openapi = commands.add_parser("openapi", help="write the OpenAPI document")
    openapi.add_argument("--out", type=Path, default=OPENAPI_FILE)
    return parser


def _summary(report: ImportReport) -> str:
    state = "new catalogue version" if report.bumped else "catalogue unchanged at version"
    return (
        f"{state} {report.catalogue_version}: {report.added} added, {report.changed} changed, "
        f"{report.removed} removed, {report.unchanged} unchanged; departments v{report.departments_version}, "
        f"agreements v{report.agreements_version}"
    )


def _config(args: argparse.Namespace) -> PlatformConfig:
    defaults = PlatformConfig()
    for name in ("token_ttl", "lockout_seconds", "max_request_mb"):
        value = getattr(args, name)
        if value is not None and value <= 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive")
    if args.simulate_every is not None and args.simulate_every < 0:
        raise ValueError("--simulate-every must not be negative")
    return PlatformConfig(
        token_ttl_s=args.token_ttl if args.token_ttl is not None else defaults.token_ttl_s,
        lockout_s=args.lockout_seconds if args.lockout_seconds is not None else defaults.lockout_s,
        max_request_bytes=(int(args.max_request_mb * MIB) if args.max_request_mb is not None
                           else defaults.max_request_bytes),
        simulate_every_s=args.simulate_every,
    )


def _serve(args: argparse.Namespace) -> int:
    from counter_client.refplatform.bootstrap import ensure_loaded
    from counter_client.refplatform.server import serve

    config = _config(args)
    data = args.data or _default_data_dir()
    if ensure_loaded(data, catalogue=args.catalogue, training=args.training) is None and args.catalogue:
        log.info("%s", _summary(_import(args.catalogue, data)))
    return serve(data, args.host, args.port, parent_watch=args.parent_watch, training=args.training,
                 access_log=args.access_log, config=config)


def _loaded_store(data: Path | None) -> PlatformStore:
    store = PlatformStore(data or _default_data_dir(), create=False)
    if not store.loaded():
        store.close()
        raise PlatformStoreError("the platform database holds no catalogue yet: start the platform once first")
    return store


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the passwords differ")
    return first


def _account(args: argparse.Namespace) -> int:
    store = _loaded_store(args.data)
    try:
        if args.action == "add":
            made = accounts.add_account(store, args.account, role=args.role, hall_code=args.hall, name=args.name,
                                        password=_read_password(args.password_stdin))
            print(f"account {made.account} added: {made.roles[0]} at hall {made.hall_code} (region {made.region_code})")
        elif args.action == "list":
            found = accounts.list_accounts(store)
            if args.json:
                print(json.dumps([{"account": a.account, "name": a.name, "roles": a.roles, "hall_code": a.hall_code,
                                   "region_code": a.region_code, "failures": a.failures,
                                   "locked": a.locked_until > time.time()} for a in found],
                                 ensure_ascii=False, indent=2))
            for a in found if not args.json else ():
                locked = " LOCKED" if a.locked_until > time.time() else ""
                print(f"{a.account}\t{','.join(a.roles)}\t{a.hall_code}\t{a.name}{locked}")
        else:
            if not accounts.unlock(store, args.account):
                raise ValueError(f"no account {args.account!r}")
            print(f"account {args.account} unlocked")
    finally:
        store.close()
    return 0


def _cases(args: argparse.Namespace) -> int:
    from counter_client.refplatform.blobs import BlobStore
    from counter_client.refplatform.cases import all_cases

    data = args.data or _default_data_dir()
    store = _loaded_store(data)
    try:
        records = all_cases(store)
    finally:
        store.close()
    if args.verify:
        blobs = BlobStore(data)
        for record in records:
            for attachment in record["attachments"] + [a for s in record["supplements"] for a in s["attachments"]]:
                found = blobs.disk_hash(attachment["sha256"])
                attachment["on_disk"] = ({"sha256": found[0], "size": found[1],
                                          "ok": found == (attachment["verified_sha256"], attachment["verified_size"])}
                                         if found else None)
    if args.json:
        print(json.dumps({"cases": records}, ensure_ascii=False, indent=2))
        return 0
    for record in records:
        items = ", ".join(f"{i['code']} {i['status']}" for i in record["items"])
        print(f"{record['receipt_no']}  {record['payload_hash']}  {record['accepted_at']}  {record['status']}  [{items}]")
        for attachment in record["attachments"] + [a for s in record["supplements"] for a in s["attachments"]]:
            check = ""
            if "on_disk" in attachment:
                check = "  disk ok" if attachment["on_disk"] and attachment["on_disk"]["ok"] else "  DISK MISMATCH"
            print(f"    {attachment['verified_sha256']}  {attachment['verified_size']:>10}  "
                  f"{attachment['material']} p{attachment['page']}{check}")
    print(f"{len(records)} case(s)")
    if args.verify and any(a.get("on_disk") is None or not a["on_disk"]["ok"]
                           for r in records for a in r["attachments"]):
        return 1
    return 0


def _parcels(args: argparse.Namespace) -> int:
    from counter_client.refplatform.mail import all_parcels

    store = _loaded_store(args.data)
    try:
        held = all_parcels(store)
    finally:
        store.close()
    if args.json:
        print(json.dumps(held, ensure_ascii=False, indent=2))
        return 0
    for pool in held["pools"]:
        print(f"pool {pool['hall_code']}/{pool['terminal']:02d}: {pool['allocated']} allocated, {pool['used']} used")
    for parcel in held["parcels"]:
        print(f"{parcel['parcel_id']}  {parcel['waybill_no']}  -> {parcel['department_code']}  "
              f"{parcel['hall_code']}/{parcel['terminal']:02d}  {parcel['accepted_at']}")
        for case in parcel["cases"]:
            names = ", ".join(m.get("name", "") for m in case.get("materials", []))
            print(f"    {case.get('receipt_no', '')}  [{', '.join(case.get('items', []))}]  {names}")
    print(f"{len(held['parcels'])} parcel(s)")
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from counter_client.refplatform.simulation import advance

    if args.steps < 1:
        raise ValueError("--steps must be at least 1")
    if bool(args.receipt) != bool(args.to) or bool(args.item) != bool(args.receipt):
        raise ValueError("--receipt, --item and --to go together")
    store = _loaded_store(args.data)
    try:
        events = _move(store, args.receipt, args.item, args.to) if args.receipt else advance(store, args.steps)
    finally:
        store.close()
    for event in events:
        extra = event["tracking_no"] or "、".join(event["needed"]) or event["reason"] or ""
        print(f"{event['seq']}\t{event['receipt_no']}\t{event['item_code']}\t{event['status']}\t{extra}".rstrip())
    print(f"{len(events)} status change(s)")
    return 0


def _move(store, receipt_no: str, item_code: str, target: str) -> list[dict]:
    """The 办理地's steps for one item up to ``target`` (a trainer showing one case through)."""
    from counter_client.refplatform import cases

    events = []
    for status in ("受理", "办结")[: ("受理", "办结").index(target) + 1]:
        try:
            events.append(cases.set_status(store, receipt_no, item_code, status))
        except cases.StatusRefused:  # already there or past it
            continue
        except KeyError:
            raise ValueError(f"no item {item_code} in case {receipt_no}") from None
    return events


def _import(path: Path, data: Path) -> ImportReport:
    from counter_client.refplatform.bootstrap import ensure_loaded

    report = ensure_loaded(data, catalogue=path)  # a fresh directory is loaded from the file itself
    if report is not None:
        return report
    store = PlatformStore(data, create=False)
    try:
        return store.replace_catalogue(CatalogueFile(path, strict=True), f"import of {path.name}")
    finally:
        store.close()


def _touch(args: argparse.Namespace) -> int:
    if args.count < 0:
        raise ValueError("--count must not be negative")
    store = PlatformStore(args.data or _default_data_dir(), create=False)
    try:
        print(_summary(store.touch(args.count, seed=args.seed)))
    finally:
        store.close()
    return 0


def _generate(args: argparse.Namespace) -> int:
    from counter_client.refplatform.generator import generate_catalogue

    if args.guides < 0:
        raise ValueError("--guides must not be negative")
    departments = generate_catalogue(args.out, args.guides, args.seed, resources_dir() / "regions")
    print(f"wrote {args.out}: {args.guides} guides, {departments} departments (seed {args.seed})")
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from counter_client.refplatform.app import create_app
    from counter_client.refplatform.generator import write_atomically

    document = create_app(Path(".")).openapi()
    write_atomically(args.out, lambda fh: fh.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n"))
    print(f"wrote {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, stream=sys.stderr, format=LOG_FORMAT)
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "generate-catalogue":
            return _generate(args)
        if args.command == "openapi":
            return _openapi(args)
        if args.command == "account":
            return _account(args)
        if args.command == "cases":
            return _cases(args)
        if args.command == "parcels":
            return _parcels(args)
        if args.command == "simulate":
            return _simulate(args)
        if args.action == "import":
            print(_summary(_import(args.file, args.data or _default_data_dir())))
            return 0
        return _touch(args)
    except (CatalogueFileError, PlatformStoreError, ValueError, FileNotFoundError) as exc:  # AccountError too
        print(f"counter-platform: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"counter-platform: {exc}", file=sys.stderr)
        return 1
