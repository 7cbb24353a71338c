"""The import rules of architecture.md, checked on the source (no import side effects).

Each package lists what it may import from our own code and which third-party modules it must
not touch. A violation names the file, the line and the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ("counter_client", "offline_cache")
QT = ("PySide6",)

# package -> (allowed own packages (prefixes), forbidden third-party roots)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "counter_client.domain": (("counter_client.domain",), QT + ("requests", "sqlite3", "sqlite_utils", "reportlab")),
    "offline_cache": (("offline_cache", "counter_client.domain"), QT + ("requests", "reportlab")),
    "counter_client.platform_api": (
        ("counter_client.platform_api", "counter_client.domain", "counter_client.errors", "counter_client"),
        QT + ("sqlite3", "sqlite_utils", "reportlab"),
    ),
    "counter_client.documents": (
        ("counter_client.documents", "counter_client.domain", "counter_client.errors", "counter_client.paths"),
        QT + ("requests", "sqlite3", "sqlite_utils"),
    ),
    "counter_client.scanning": (
        ("counter_client.scanning", "counter_client.domain", "counter_client.errors", "counter_client.paths"),
        ("requests", "sqlite3", "sqlite_utils", "reportlab"),  # Qt only in scanning/camera*.py, below
    ),
    "counter_client.services": (
        ("counter_client.services", "counter_client.domain", "counter_client.errors", "counter_client.platform_api",
         "counter_client.documents", "counter_client.scanning", "counter_client.paths", "counter_client.settings",
         "offline_cache", "counter_client"),
        QT + ("requests", "sqlite3", "sqlite_utils", "reportlab"),
    ),
    "counter_client.background": (
        ("counter_client.background", "counter_client.services", "counter_client.domain", "counter_client.errors"),
        ("PySide6.QtWidgets", "PySide6.QtGui", "PySide6.QtPdf", "PySide6.QtPrintSupport", "requests", "sqlite3",
         "sqlite_utils", "reportlab"),  # painting only in background/printing.py, below
    ),
    "counter_client.ui": (
        ("counter_client.ui", "counter_client.background", "counter_client.services", "counter_client.domain",
         "counter_client.errors", "counter_client.paths", "counter_client.settings", "counter_client"),
        ("requests", "sqlite3", "sqlite_utils", "reportlab", "offline_cache"),
    ),
    "counter_client.refplatform": (
        ("counter_client.refplatform", "counter_client.domain", "counter_client.paths", "counter_client"),
        QT + ("offline_cache",),
    ),
}
# modules of ours that are not packages: what they may import is checked by the same table
MODULE_RULES = {
    "counter_client.errors": (("counter_client.domain",), QT + ("requests", "sqlite3", "sqlite_utils")),
    "counter_client.paths": ((), QT + ("requests", "sqlite3", "sqlite_utils")),
    "counter_client.settings": ((), QT + ("requests", "sqlite3", "sqlite_utils")),
}
# nothing below these may be imported by the named packages, whatever the table says above
NEVER = {
    "counter_client.refplatform": ("counter_client.services", "counter_client.ui", "counter_client.platform_api",
                                   "counter_client.background", "counter_client.app", "counter_client.context"),
    "counter_client.platform_api": ("counter_client.documents", "counter_client.scanning"),
    "counter_client.documents": ("counter_client.platform_api", "counter_client.scanning"),
    "counter_client.scanning": ("counter_client.platform_api", "counter_client.documents"),
}
CAMERA_EXCEPTION = "counter_client/scanning/camera"
# the print worker paints PDF pages on a QPrinter off the GUI thread: QtGui, QtPdf and QtPrintSupport
# there, never QtWidgets (the print dialog is ui/printing)
PRINT_EXCEPTION = "counter_client/background/printing.py"
PRINT_MODULES = ("PySide6.QtGui", "PySide6.QtPdf", "PySide6.QtPrintSupport")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from counter_client import errors` imports the module counter_client.errors
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if target in OURS or target.startswith(tuple(o + "." for o in OURS)):
                    found.append((node.lineno, full))
    return found


def _rule_for(module: str):
    if module in MODULE_RULES:
        return module, MODULE_RULES[module]
    for package, rule in sorted(RULES.items(), key=lambda kv: -len(kv[0])):
        if module == package or module.startswith(package + "."):
            return package, rule
    return None, None


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """``counter_client`` in a rule means the package root only (``__version__``), not all of it."""
    return any(name == p if p == "counter_client" else _within(name, (p,)) for p in allowed)


def _is_module_of_ours(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def _sources() -> list[Path]:
    files = []
    for top in OURS:
        files += sorted((ROOT / top).rglob("*.py"))
    return files


def test_sources_found():
    assert len(_sources()) > 20


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_import_rules(path: Path):
    module = _module_name(path)
    package, rule = _rule_for(module)
    if rule is None:
        return  # composition root (app, context, __main__, logs) may import anything of ours
    allowed, forbidden = rule
    problems = []
    for line, name in _imports(path):
        ours = name.split(".")[0] in OURS
        if ours:
            if not _is_module_of_ours(name):
                continue  # `from counter_client.x import SomeClass`: the module itself is checked
            if not _allowed(name, allowed):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({package} may import only {allowed})")
            for never in NEVER.get(package, ()):
                if _within(name, (never,)):
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {name} ({package} must never import {never})")
        else:
            for bad in forbidden:
                if _within(name, (bad,)):
                    if bad in QT and str(path.relative_to(ROOT)).startswith(CAMERA_EXCEPTION):
                        continue
                    if bad in PRINT_MODULES and str(path.relative_to(ROOT)) == PRINT_EXCEPTION:
                        continue
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {name} (forbidden in {package})")
            if package == "counter_client.scanning" and _within(name, QT) and \
                    not str(path.relative_to(ROOT)).startswith(CAMERA_EXCEPTION):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {name} (Qt only in {CAMERA_EXCEPTION}*)")
    assert not problems, "\n".join(problems)


def test_only_platform_api_uses_requests():
    offenders = []
    for path in _sources():
        module = _module_name(path)
        if _within(module, ("counter_client.platform_api",)):
            continue
        for line, name in _imports(path):
            if _within(name, ("requests",)):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, f"requests used outside platform_api: {offenders}"


def test_only_offline_cache_and_refplatform_use_sql():
    offenders = []
    for path in _sources():
        module = _module_name(path)
        if _within(module, ("offline_cache", "counter_client.refplatform")):
            continue
        for line, name in _imports(path):
            if _within(name, ("sqlite3", "sqlite_utils")):
                offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, f"SQL outside offline_cache: {offenders}"


def test_rule_checker_catches_a_violation(tmp_path, monkeypatch):
    """The checker itself fails on a forbidden import (so the tests above can fail)."""
    bad = ROOT / "counter_client" / "domain" / "_arch_probe_tmp.py"
    bad.write_text("import requests\nfrom offline_cache import db\n", encoding="utf-8")
    try:
        with pytest.raises(AssertionError) as info:
            test_import_rules(bad)
        assert "requests" in str(info.value) and "offline_cache" in str(info.value)
    finally:
        bad.unlink()
