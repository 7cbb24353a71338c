"""``counter-client case import|show|list`` and ``id check`` as a clerk's script would run them,
each command its own process, against the training catalogue from the reference platform."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "resources" / "training" / "example-case.json"


@pytest.fixture
def cli(tmp_path, platform_server):
    server = platform_server()
    env = dict(os.environ, PYTHON_KEYRING_BACKEND="tests.keyring_memory.ProcessSharedKeyring",
               COUNTER_CLIENT_TEST_KEYRING=str(tmp_path / "keyring.json"))

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "counter_client", "--data-dir", str(tmp_path / "data"), *args],
                              cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=120)

    assert run("--platform", server.url, "catalogue", "refresh").returncode == 0
    # the terminal of a real hall (training mode would use its own)
    assert run("settings", "set", "hall.township_code", "511324102").returncode == 0
    assert run("settings", "set", "hall.terminal", "7").returncode == 0
    run.platform = server.url
    return run


def test_import_show_list(cli, tmp_path):
    scan = tmp_path / "id-card.png"
    Image.new("RGB", (800, 500), "white").save(scan)
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    case["materials"][0]["scans"] = [str(scan)]
    case["applicant"]["name"] = case["delivery"]["recipient"] = "欧阳明轩"  # a name no guide text contains
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    out = cli("--platform", cli.platform, "case", "import", str(path), "--json")
    assert out.returncode == 0, out.stderr
    receipt_no = json.loads(out.stdout)["receipt_no"]
    assert receipt_no.startswith("51132410207")
    shown = cli("--platform", cli.platform, "case", "show", receipt_no, "--json")
    data = json.loads(shown.stdout)
    assert data["state"] == "collected" and data["applicant"]["name"] == "欧阳明轩"
    assert data["items"][0]["due_date"] and len(data["materials"][0]["scans"]) == 1
    assert [e["action"] for e in data["events"]][-1] == "确认收件"
    listed = json.loads(cli("--platform", cli.platform, "case", "list", "--json", "--id-number",
                            "11010519491231002x").stdout)
    assert [r["receipt_no"] for r in listed] == [receipt_no]
    text = cli("--platform", cli.platform, "case", "show", receipt_no.replace("X", "x")).stdout
    assert "欧阳明轩" in text and "社会保障卡申领" in text
    for file in (tmp_path / "data").rglob("*"):
        if file.is_file():
            blob = file.read_bytes()
            assert "欧阳明轩".encode() not in blob and b"11010519491231002X" not in blob, file


def test_incomplete_case_is_refused_with_the_notice(cli, tmp_path):
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    case["materials"] = case["materials"][:1]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    out = cli("--platform", cli.platform, "case", "import", str(path), "--json")
    assert out.returncode == 1
    answer = json.loads(out.stdout)
    assert answer["notice"] == ["社会保障卡标准照片或电子照片", "社会保障卡申领登记表"]
    assert "一次性告知" in out.stderr
    assert json.loads(cli("--platform", cli.platform, "case", "list", "--json").stdout) == []


def test_invalid_identity_names_the_field(cli, tmp_path):
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    case["applicant"]["id_number"] = "110105194912310021"
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    out = cli("--platform", cli.platform, "case", "import", str(path))
    assert out.returncode == 1 and "校验位应为 X" in out.stderr


def test_bad_scan_file_is_refused_and_nothing_collected(cli, tmp_path):
    fake = tmp_path / "scan.jpg"
    fake.write_text("this is not a picture", encoding="utf-8")
    case = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    case["materials"][0]["scans"] = [str(fake)]
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case, ensure_ascii=False), encoding="utf-8")
    out = cli("--platform", cli.platform, "case", "import", str(path))
    assert out.returncode == 1 and "scan.jpg" in out.stderr
    assert json.loads(cli("--platform", cli.platform, "case", "list", "--json", "--state", "collected").stdout) == []
