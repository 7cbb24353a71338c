"""Catalogue refresh against the reference platform as a real server: full sync of the training
data, deltas, removals, a re-created platform catalogue, cancel, and the CLI end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from counter_client.errors import Cancelled
from counter_client.platform_api.client import PlatformClient
from counter_client.services.catalogue import CatalogueService
from offline_cache.catalogue import open_catalogue

pytestmark = pytest.mark.integration


@pytest.fixture
def service(tmp_path):
    store = open_catalogue(tmp_path / "catalogue.sqlite3")
    yield CatalogueService(store, hall_region="511324")
    store.close()


def refresh(service, server, **kw):
    client = PlatformClient(server.url)
    try:
        return service.refresh(client, **kw)
    finally:
        client.close()


def test_full_sync_of_the_training_catalogue(service, platform_server):
    server = platform_server()
    steps = []
    result = refresh(service, server, progress=lambda d, t, label: steps.append((d, t)))
    assert result.mode == "full" and result.guide_count >= 60 and result.changed == result.guide_count
    done = [d for d, t in steps if t]
    assert done == sorted(done) and done[-1] == result.guide_count
    info = service.info()
    assert info.version == result.version and info.guide_count == result.guide_count
    assert info.regions_version == "2023-06-30"
    assert 2026 in service.calendar_years()  # this year's working days, kept for due dates
    assert service.store.region_count() > 40_000  # counties and townships
    assert service.store.region_full_name("511324") == "四川省南充市仪陇县"
    # search over the real training data
    hits = service.search("sfz")
    assert hits and all("身份证" in h.name for h in hits[:3])
    guide = service.guide(hits[0].code)
    assert guide.materials and guide.implementer.department_code
    assert service.store.department(guide.implementer.department_code) is not None


def test_second_refresh_is_cheap_and_unchanged(service, platform_server):
    server = platform_server()
    refresh(service, server)
    again = refresh(service, server)
    assert again.mode == "unchanged" and again.changed == 0
    assert again.requests <= 6  # changes + 304s (departments, agreements, regions, two calendar years)
    assert again.bytes_received < 2_000


def test_delta_after_the_platform_changes(service, platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue)
    first = refresh(service, server)
    before = {code: service.guide(code) for code in service.store.local_hashes()}
    assert server.cli("catalogue", "touch", "--count", "5").returncode == 0
    delta = refresh(service, server)
    assert delta.mode == "delta" and delta.changed == 5 and delta.removed == 0
    assert delta.version == first.version + 1
    changed = [c for c, g in before.items() if service.guide(c) != g]
    assert len(changed) == 5
    assert all(service.guide(c).version > before[c].version for c in changed)
    assert delta.bytes_received < first.bytes_received / 3


def test_removed_guides_disappear(service, platform_server, small_catalogue, tmp_path):
    server = platform_server(catalogue=small_catalogue)
    refresh(service, server)
    data = json.loads(small_catalogue.read_text(encoding="utf-8"))
    gone = [g["code"] for g in data["guides"][:7]]
    data["guides"] = data["guides"][7:]
    smaller = tmp_path / "smaller.json"
    smaller.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert server.cli("catalogue", "import", str(smaller)).returncode == 0
    result = refresh(service, server)
    assert result.mode == "delta" and result.removed == 7
    assert all(service.guide(code) is None for code in gone)
    assert service.info().guide_count == len(data["guides"])


def test_recreated_platform_catalogue_is_compared_in_full(service, platform_server, small_catalogue, tmp_path):
    """A platform whose catalogue was re-created restarts its version numbers: the client must
    notice (catalogue_id) and compare hashes instead of trusting a delta."""
    first = platform_server(catalogue=small_catalogue, data_dir=tmp_path / "p1")
    refresh(service, first)
    url = first.url
    first.stop()
    second = platform_server(data_dir=tmp_path / "p2", extra_args=["--port", url.rsplit(":", 1)[1]])
    assert second.url == url
    result = refresh(service, second)
    assert result.mode == "full"
    assert service.info().guide_count == result.guide_count and service.search("sfz")


def test_cancel_leaves_the_old_catalogue(service, platform_server, small_catalogue):
    server = platform_server()
    refresh(service, server)
    before = service.info()
    other = platform_server(catalogue=small_catalogue)
    service.batch_size = 10
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        refresh(service, other, cancelled=cancelled)
    after = service.info()
    assert (after.version, after.guide_count, after.platform) == (before.version, before.guide_count, before.platform)
    assert service.search("sfz")


def run_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "counter_client", "--data-dir", str(tmp_path / "client"), *args],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_cli_end_to_end(tmp_path, platform_server):
    server = platform_server()
    out = run_cli(tmp_path, "--platform", server.url, "catalogue", "refresh", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["mode"] == "full"
    out = run_cli(tmp_path, "catalogue", "search", "社保卡", "--json")
    hits = json.loads(out.stdout)
    assert hits and {"code", "name", "version", "department", "handling_region"} <= set(hits[0])
    assert any("社会保障卡" in h["name"] for h in hits)
    out = run_cli(tmp_path, "catalogue", "show", hits[0]["code"], "--json")
    shown = json.loads(out.stdout)
    assert shown["code"] == hits[0]["code"] and shown["department_code"] and shown["materials"]
    text = run_cli(tmp_path, "catalogue", "show", hits[0]["code"]).stdout
    for section in ("【基本信息】", "【受理条件】", "【申请材料】", "【办理流程】", "【办理时限】", "【收费标准】",
                    "【送达方式】", "【咨询投诉】"):
        assert section in text
    missing = run_cli(tmp_path, "catalogue", "show", "NO-SUCH-CODE")
    assert missing.returncode == 3 and "没有编码为 NO-SUCH-CODE" in missing.stderr


def test_cli_offline_search_works_without_platform(tmp_path, platform_server):
    server = platform_server()
    assert run_cli(tmp_path, "--platform", server.url, "catalogue", "refresh").returncode == 0
    server.stop()
    down = run_cli(tmp_path, "--platform", server.url, "catalogue", "refresh")
    assert down.returncode == 1 and "离线" in down.stderr
    assert json.loads(run_cli(tmp_path, "catalogue", "search", "sfz", "--json").stdout)


def test_cli_empty_catalogue_message(tmp_path):
    out = run_cli(tmp_path, "catalogue", "search", "身份证")
    assert out.returncode == 1 and "请先更新目录" in out.stderr
