"""The reference platform's life: CLI changes while it serves, imports, generated catalogues,
training data, operator calendars, and the ways it stops. Real processes, real files."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

import pytest
import requests

from counter_client.domain.catalogue import Guide

pytestmark = pytest.mark.integration

TIMEOUT = (5, 30)
FIXTURE_TRAINING = Path(__file__).resolve().parents[1] / "fixtures" / "refplatform" / "training"


def get_json(server, path: str, **params) -> dict:
    response = requests.get(server.api + path, params=params, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


def fetch_guides(server, codes: list[str]) -> dict[str, Guide]:
    response = requests.post(server.api + "/catalogue/guides/batch", json={"codes": codes}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return {g["code"]: Guide.from_dict(g) for g in response.json()["guides"]}


def test_touch_while_serving_is_seen_as_one_delta(platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue)
    before = get_json(server, "/catalogue/manifest")
    etag = requests.get(server.api + "/catalogue/manifest", timeout=TIMEOUT).headers["ETag"]
    old = {e["code"]: e for e in before["guides"]}

    done = server.cli("catalogue", "touch", "--count", "7", "--seed", "3")
    assert done.returncode == 0, done.stderr
    assert "new catalogue version 2" in done.stdout

    delta = get_json(server, "/catalogue/changes", since=1)
    assert delta["since"] == 1 and delta["catalogue_version"] == 2 and delta["removed"] == []
    assert len(delta["changed"]) == 7
    fetched = fetch_guides(server, [e["code"] for e in delta["changed"]])
    for entry in delta["changed"]:
        guide = fetched[entry["code"]]
        assert guide.version == old[entry["code"]]["version"] + 1 == entry["version"]
        assert entry["hash"] == guide.content_hash() != old[entry["code"]]["hash"]
        assert "修订" in guide.conditions

    after = requests.get(server.api + "/catalogue/manifest", headers={"If-None-Match": etag}, timeout=TIMEOUT)
    assert after.status_code == 200, "the old ETag must not match the new catalogue version"
    assert after.json()["catalogue_version"] == 2
    assert get_json(server, "/catalogue/changes", since=2)["changed"] == []

    again = server.cli("catalogue", "touch", "--count", "2", "--seed", "3")
    assert again.returncode == 0, again.stderr
    assert len(get_json(server, "/catalogue/changes", since=1)["changed"]) == 7  # same picks, newer content
    assert len(get_json(server, "/catalogue/changes", since=2)["changed"]) == 2


def test_import_is_idempotent_and_stamps_only_what_changed(platform_server, small_catalogue, tmp_path):
    server = platform_server(catalogue=small_catalogue)
    first = server.cli("catalogue", "import", small_catalogue)
    assert first.returncode == 0, first.stderr
    assert "catalogue unchanged at version 1" in first.stdout
    assert get_json(server, "/catalogue/manifest")["catalogue_version"] == 1

    content = json.loads(small_catalogue.read_text(encoding="utf-8"))
    removed = [content["guides"].pop()["code"], content["guides"].pop()["code"]]
    content["guides"][0]["hours"] = "法定工作日上午8:30—12:00，下午14:00—17:30"
    content["departments"].pop()
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")

    for attempt in range(2):
        done = server.cli("catalogue", "import", edited)
        assert done.returncode == 0, done.stderr
        manifest = get_json(server, "/catalogue/manifest")
        assert manifest["catalogue_version"] == 2, f"attempt {attempt}: {done.stdout}"
        assert manifest["departments_version"] == 2 and manifest["agreements_version"] == 1
        assert manifest["guide_count"] == 58
    delta = get_json(server, "/catalogue/changes", since=1)
    assert [e["code"] for e in delta["changed"]] == [content["guides"][0]["code"]]
    assert sorted(delta["removed"]) == sorted(removed)
    assert fetch_guides(server, removed) == {}


def test_import_of_a_broken_file_changes_nothing(platform_server, small_catalogue, tmp_path):
    server = platform_server(catalogue=small_catalogue)
    content = json.loads(small_catalogue.read_text(encoding="utf-8"))
    content["guides"][5]["modes"] = []
    content["guides"].pop(0)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    done = server.cli("catalogue", "import", broken)
    assert done.returncode == 2
    assert "guides[4]" in done.stderr and "modes" in done.stderr
    manifest = get_json(server, "/catalogue/manifest")
    assert manifest["catalogue_version"] == 1 and manifest["guide_count"] == 60


def test_generated_catalogue_of_500_validates_and_serves(platform_server, platform_cli, tmp_path):
    out = tmp_path / "cat500.json"
    done = platform_cli("generate-catalogue", "--guides", "500", "--out", out, "--seed", "11")
    assert done.returncode == 0, done.stderr
    content = json.loads(out.read_text(encoding="utf-8"))
    assert set(content) == {"guides", "departments", "agreements"}
    guides = [Guide.from_dict(g) for g in content["guides"]]
    assert len({g.code for g in guides}) == 500
    assert len({g.handling_region for g in guides}) == 500  # spread over 500 counties
    assert len({g.name for g in guides}) > 60
    assert all(3 <= len(g.materials) <= 10 and 200 <= len(g.conditions) <= 800 for g in guides)
    departments = {d["code"] for d in content["departments"]}
    assert {g.implementer.department_code for g in guides} == departments
    assert not list(tmp_path.glob("*.tmp")), "the temporary file must be renamed, not left behind"

    server = platform_server(catalogue=out)
    manifest = get_json(server, "/catalogue/manifest")
    assert manifest["guide_count"] == 500
    hashes = {e["code"]: e["hash"] for e in manifest["guides"]}
    assert all(hashes[g.code] == g.content_hash() for g in guides)


def test_generate_catalogue_is_deterministic_for_a_seed(platform_cli, tmp_path):
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in outs:
        assert platform_cli("generate-catalogue", "--guides", "40", "--out", out, "--seed", "4").returncode == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()


def test_training_directory_with_bad_entries_still_serves_the_good_ones(platform_server):
    server = platform_server(training=FIXTURE_TRAINING)
    manifest = get_json(server, "/catalogue/manifest")
    assert manifest["guide_count"] == 3
    assert len(get_json(server, "/catalogue/departments")["departments"]) == 3
    assert len(get_json(server, "/catalogue/agreements")["agreements"]) == 2
    assert "BROKEN-GUIDE" in server.log() and "duplicate code" in server.log()


def test_shipped_training_data_loads_when_present(platform_server):
    from counter_client.paths import resources_dir

    guides_file = resources_dir() / "training" / "guides.json"
    if not guides_file.exists():
        pytest.skip("resources/training/guides.json not written yet")
    server = platform_server()
    listed = json.loads(guides_file.read_text(encoding="utf-8"))
    manifest = get_json(server, "/catalogue/manifest")
    assert 0 < manifest["guide_count"] <= len(listed)
    assert "skipped" not in server.log(), "the shipped training data should be valid"


def test_restart_keeps_the_catalogue_and_its_versions(platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue)
    assert server.cli("catalogue", "touch", "--count", "1").returncode == 0
    manifest = get_json(server, "/catalogue/manifest")
    assert server.stop() == 0
    again = platform_server(data_dir=server.data_dir)  # no --catalogue: the stored one is served
    assert get_json(again, "/catalogue/manifest") == manifest


def test_operator_calendar_file_is_served_for_a_year_the_library_lacks(platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue)
    assert requests.get(server.api + "/calendar/2031", timeout=TIMEOUT).status_code == 404
    operator = {"year": 2031, "holidays": ["2031-10-01", "2031-01-01"], "workdays": ["2031-09-28"]}
    (server.data_dir / "calendar-2031.json").write_text(json.dumps(operator), encoding="utf-8")
    body = get_json(server, "/calendar/2031")
    assert body == {
        "year": 2031,
        "holidays": ["2031-01-01", "2031-10-01"],
        "workdays": ["2031-09-28"],
        "source": "operator file",
        "verified": True,
    }
    (server.data_dir / "calendar-2032.json").write_text('{"year": 2031, "holidays": []}', encoding="utf-8")
    broken = requests.get(server.api + "/calendar/2032", timeout=TIMEOUT)
    assert broken.status_code == 500 and broken.json()["code"] == "calendar_file_invalid"


def test_parent_watch_exits_cleanly_when_stdin_closes(platform_server, small_catalogue):
    server = platform_server(catalogue=small_catalogue)
    started = time.monotonic()
    server.process.stdin.close()
    assert server.process.wait(timeout=15) == 0
    assert time.monotonic() - started < 10
    with pytest.raises(requests.ConnectionError):
        requests.get(server.api + "/ping", timeout=(2, 2))


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_shut_down_cleanly(platform_server, small_catalogue, signum):
    server = platform_server(catalogue=small_catalogue)
    assert requests.get(server.api + "/ping", timeout=TIMEOUT).status_code == 204
    server.process.send_signal(signum)
    assert server.process.wait(timeout=15) == 0
    assert "stopped by signal" in server.log()


def test_touch_on_an_empty_directory_is_a_clear_error(platform_cli, tmp_path):
    done = platform_cli("catalogue", "touch", "--count", "1", "--data", tmp_path / "nothing")
    assert done.returncode == 2 and "no platform database" in done.stderr


def test_openapi_command_writes_the_committed_document(platform_cli, tmp_path):
    out = tmp_path / "openapi.json"
    assert platform_cli("openapi", "--out", out).returncode == 0
    committed = Path(__file__).resolve().parents[2] / "counter_client" / "refplatform" / "openapi.json"
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(committed.read_text(encoding="utf-8"))
