"""Helpers for the reference platform's sync-side tests (accounts, blobs, cases): a thin
requests-based caller, account creation through the CLI, case bodies, receipt numbers.

No tests here; ``test_refplatform_accounts``, ``_blobs`` and ``_cases`` import these.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
from datetime import date

import requests

from counter_client.domain.receipt import mint
from tests.integration.conftest import PLATFORM, ROOT

TIMEOUT = (5, 30)
HALL = "511324102"  # 马鞍镇, 仪陇县
OTHER_HALL = "110105001"
PASSWORD = "chuangkou2026"
TRAINING_PASSWORD = "peixun2026"
TUS = {"Tus-Resumable": "1.0.0", "Content-Type": "application/offset+octet-stream"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
CJK = re.compile(r"[\u4e00-\u9fff]")
DAY = date(2026, 11, 25)


def add_account(server, account: str, *, role: str = "clerk", hall: str = HALL, name: str = "李收件",
                password: str = PASSWORD) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*PLATFORM, "account", "add", account, "--role", role, "--hall", hall, "--name", name,
         "--data", str(server.data_dir), "--password-stdin"],
        cwd=ROOT, input=password + "\n", capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


def login(server, account: str, password: str = PASSWORD, *, hall: str = HALL, terminal: int = 1) -> requests.Response:
    return requests.post(server.api + "/auth/login", timeout=TIMEOUT, json={
        "account": account, "password": password, "terminal": {"hall_code": hall, "terminal": terminal}})


def token_for(server, account: str, password: str = PASSWORD, **terminal) -> str:
    response = login(server, account, password, **terminal)
    assert response.status_code == 200, response.text
    return response.json()["token"]


def assert_problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert PROBLEM_KEYS <= body.keys()
    assert body["status"] == status and body["code"] == code, body
    assert CJK.search(body["detail"]), "detail must be a Chinese sentence for the clerk"
    return body


class Caller:
    """Authenticated requests against one server."""

    def __init__(self, server, token: str):
        self.server = server
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, self.server.api + path, timeout=TIMEOUT, **kwargs)

    def patch_blob(self, data: bytes, offset: int, length: int | None, sha: str | None = None,
                   headers: dict | None = None) -> requests.Response:
        sha = sha or hashlib.sha256(data).hexdigest()
        sent = {**TUS, "Upload-Offset": str(offset)}
        if length is not None:
            sent["Upload-Length"] = str(length)
        sent.update(headers or {})
        return self.request("PATCH", f"/blobs/{sha}", data=data, headers=sent)

    def upload(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        response = self.patch_blob(data, 0, len(data), sha)
        assert response.status_code == 204, response.text
        return sha

    def put_case(self, body: dict) -> requests.Response:
        return self.request("PUT", f"/cases/{body['receipt_no']}", json=body)


def receipt(sequence: int, *, hall: str = HALL, terminal: int = 1, day: date = DAY) -> str:
    return mint(hall, terminal, day, sequence)


def case_body(receipt_no: str, blobs: dict[str, bytes] | None = None, *, delivery: str = "邮寄",
              items: list[tuple[str, str]] | None = None, mode: str = "异地代收代办") -> dict:
    """A collected case as the client would send it; ``blobs`` maps material name -> page bytes."""
    blobs = blobs if blobs is not None else {"申请人居民身份证": b"id card page " + receipt_no.encode()}
    materials = ["申请人居民身份证", "社会保障卡申领登记表", "户口簿"]
    return {
        "receipt_no": receipt_no,
        "payload": {
            "id": f"local-{receipt_no[-6:]}",
            "state": "collected",
            "receipt_no": receipt_no,
            "mode": mode,
            "applicant": {"kind": "person", "name": "张三", "id_type": "resident_id",
                          "id_number": "11010519491231002X", "phone": "13800138000"},
            "helper": {"mode": "无"},
            "items": [{"code": code, "name": "社会保障卡申领", "version": 1, "basic_code": code[:12],
                       "handling_region": region, "department_code": "GD-SZ-RS"}
                      for code, region in (items or [("PX0200000001-440300-01", "440300")])],
            "materials": [{"key": m, "name": m, "items": ["PX0200000001-440300-01"], "form": "原件核验", "pages": 1}
                          for m in materials],
            "delivery": {"method": delivery, "address": "四川省南充市仪陇县马鞍镇人民路1号", "recipient": "张三",
                         "phone": "13800138000"},
        },
        "attachments": [{"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "material": material,
                         "page": 1} for material, data in blobs.items()],
        "device_time": "2026-11-25T09:30:00+08:00",
        "clock_offset_s": 0.25,
    }


def canonical_hash(body: dict) -> str:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
