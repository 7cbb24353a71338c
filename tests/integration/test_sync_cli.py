"""``counter-client login|sync|queue|reconcile|logout`` as a clerk's script runs them, each command
its own process, against a reference platform with a real account."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from tests.integration.conftest import ROOT
from tests.integration.test_refplatform_support import add_account

pytestmark = pytest.mark.integration

EXAMPLE = ROOT / "resources" / "training" / "example-case.json"
PASSWORD = "chuangkou2026"


@pytest.fixture
def cli(tmp_path, platform_server):
    server = platform_server()
    assert add_account(server, "li.shoujian", name="李收件").returncode == 0
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="tests.keyring_memory.ProcessSharedKeyring",
               COUNTER_CLIENT_TEST_KEYRING=str(tmp_path / "keyring.json"))

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "counter_client", "--data-dir", str(tmp_path / "data"),
                               "--platform", server.url, *args], cwd=ROOT, env=env, input=stdin,
                              capture_output=True, text=True, encoding="utf-8", timeout=120)

    assert run("catalogue", "refresh").returncode == 0
    assert run("settings", "set", "hall.township_code", "511324102").returncode == 0
    assert run("settings", "set", "hall.terminal", "5").returncode == 0
    run.server = server
    return run


def import_case(cli, tmp_path) -> str:
    scan = tmp_path / "id-card.png"
    Image.frombytes("RGB", (400, 250), os.urandom(400 * 250 * 3)).save(scan)
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    case["materials"][0]["scans"] = [str(scan)]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    done = cli("case", "import", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["receipt_no"]


def test_login_sync_queue_reconcile(cli, tmp_path):
    receipt = import_case(cli, tmp_path)

    before = cli("sync")
    assert before.returncode == 1 and "登录" in before.stderr
    queued = json.loads(cli("queue", "--json").stdout)
    assert [(i["key"], i["state"], i["attempts"]) for i in queued["items"]] == [(receipt, "queued", 0)]

    wrong = cli("login", "li.shoujian", "--password-stdin", stdin="wrong-password\n")
    assert wrong.returncode == 1 and "账号或密码错误" in wrong.stderr

    good = cli("login", "li.shoujian", "--password-stdin", "--json", stdin=PASSWORD + "\n")
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout)["roles"] == ["clerk"]
    assert PASSWORD not in (tmp_path / "keyring.json").read_text(encoding="utf-8")

    synced = cli("sync", "--json")
    assert synced.returncode == 0, synced.stderr
    report = json.loads(synced.stdout)
    assert (report["delivered"], report["remaining"], report["blobs_sent"]) == (1, 0, 1)

    listed = json.loads(cli("queue", "--all", "--json").stdout)
    [item] = listed["items"]
    assert item["state"] == "acked" and listed["oldest_unsent_age_s"] is None
    held = json.loads(cli.server.cli("cases", "--json").stdout)["cases"]
    assert [(c["receipt_no"], c["payload_hash"]) for c in held] == [(receipt, item["payload_hash"])]

    reconciled = cli("reconcile", "--json")
    assert reconciled.returncode == 0, reconciled.stderr
    assert json.loads(reconciled.stdout)["clean"] is True

    assert cli("logout").returncode == 0
    after = cli("sync")
    assert after.returncode == 1 and "登录" in after.stderr


def test_reconcile_date_must_be_a_date(cli):
    done = cli("reconcile", "--date", "25/11/2026")
    assert done.returncode == 2 and "YYYY-MM-DD" in done.stderr
