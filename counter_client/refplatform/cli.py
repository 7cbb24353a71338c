"""``counter-platform``: serve the reference platform and manage its catalogue.

    counter-platform serve --host 127.0.0.1 --port 0 --data DIR [--catalogue FILE] [--parent-watch]
    counter-platform generate-catalogue --guides N --out FILE [--seed S]
    counter-platform catalogue import FILE --data DIR
    counter-platform catalogue touch --count N --data DIR [--seed S]
    counter-platform openapi [--out FILE]

Exit status: 0 done, 1 failed while running, 2 bad arguments or unusable input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from counter_client.paths import resources_dir, user_dirs
from counter_client.refplatform.catalogue_file import CatalogueFile, CatalogueFileError
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


def _serve(args: argparse.Namespace) -> int:
    from counter_client.refplatform.bootstrap import ensure_loaded
    from counter_client.refplatform.server import serve

    data = args.data or _default_data_dir()
    if ensure_loaded(data, catalogue=args.catalogue, training=args.training) is None and args.catalogue:
        log.info("%s", _summary(_import(args.catalogue, data)))
    return serve(data, args.host, args.port, parent_watch=args.parent_watch, training=args.training,
                 access_log=args.access_log)


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
        if args.action == "import":
            print(_summary(_import(args.file, args.data or _default_data_dir())))
            return 0
        return _touch(args)
    except (CatalogueFileError, PlatformStoreError, ValueError, FileNotFoundError) as exc:
        print(f"counter-platform: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"counter-platform: {exc}", file=sys.stderr)
        return 1
