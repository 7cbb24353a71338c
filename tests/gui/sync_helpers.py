"""Helpers of the sync widget tests: the training example collected through the real intake
service, the platform's own view of a case, the login dialog as a clerk fills it, and a recorder
of the threads the sync engine is made and run on. The fixtures are in ``sync_fixtures``."""

from __future__ import annotations

import json
import os
import threading

import requests
from PIL import Image

from tests.integration.conftest import ROOT

EXAMPLE = ROOT / "resources" / "training" / "example-case.json"
PASSWORD = "peixun2026"


def recording(factory, threads: list):
    """The engine factory, noting the thread that makes each engine and runs each pass."""

    def make():
        threads.append(("make", threading.current_thread()))
        engine = factory()
        run = engine.run_once

        def run_once(*args, **kwargs):
            threads.append(("run", threading.current_thread()))
            return run(*args, **kwargs)

        engine.run_once = run_once
        return engine

    return make


def collect(ctx, tmp_path, name: str = "张三"):
    """One case of the training example, with one small scan, collected through the service."""
    spec = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    spec["applicant"]["name"] = name
    path = tmp_path / f"scan-{os.urandom(4).hex()}.png"
    Image.frombytes("RGB", (120, 90), os.urandom(120 * 90 * 3)).save(path)
    spec["materials"][0]["scans"] = [str(path)]
    spec["materials"][0]["pages"] = 1
    return ctx.intake().import_case(spec, lambda p: [p.read_bytes()])


def platform_case(ctx, receipt: str) -> dict:
    """``GET /cases/{receipt}`` on the platform with the client's own token."""
    token = ctx.login_service()._load_token()
    answer = requests.get(f"{ctx.server.api}/cases/{receipt}", headers={"Authorization": f"Bearer {token}"},
                          timeout=(5, 30))
    assert answer.status_code == 200, answer.text
    return answer.json()


def login_through_dialog(qtbot, gui, account: str, password: str = PASSWORD):
    """The login dialog as the clerk fills it (asked by the page or opened automatically)."""
    page = gui.sync_page
    dialog = page.login_dialog or page.ask_login()
    assert dialog is not None and dialog.isVisible()
    dialog.account.setText(account)
    dialog.password.setText(password)
    with qtbot.waitSignal(page.login_did_change, timeout=10_000) as changed:
        dialog.login_button.click()
    return changed.args[0]
