"""Settings: defaults, validation with Chinese reasons, a broken file never stops the window,
atomic saves, upgrades of older files, run-only overrides."""

from __future__ import annotations

import json
import os

import pytest

from counter_client.settings import SETTINGS, Settings, atomic_write_text


def test_defaults_and_training_mode(tmp_path):
    s = Settings.load(tmp_path / "settings.json")
    assert s.training and s.problems == []
    assert s.hall()["hall.region_code"] == "511324"  # the training hall
    assert all(s.get(spec.key) == spec.default for spec in SETTINGS)


def test_round_trip_and_real_platform(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    s.set("platform.url", "https://zwfw.example.gov.cn")
    s.set("hall.region_code", "440305")
    s.set("network.read_timeout", 12)
    s.save()
    again = Settings.load(path)
    assert not again.training
    assert again.get("network.read_timeout") == 12.0 and isinstance(again.get("network.read_timeout"), float)
    assert again.hall()["hall.region_code"] == "440305"


@pytest.mark.parametrize("key, value, reason", [
    ("platform.url", "ftp://x", "http"),
    ("platform.url", "http://zwfw.example.gov.cn", "https"),
    ("platform.url", "https://x.example/api/v1", "路径"),
    ("hall.region_code", "51132", "6 位"),
    ("network.connect_timeout", 0.0, "之间"),
    ("catalogue.batch_size", "500", "整数"),
    ("ui.large_font", 1, "是/否"),
])
def test_invalid_values_are_refused_in_chinese(tmp_path, key, value, reason):
    s = Settings.load(tmp_path / "settings.json")
    with pytest.raises(ValueError) as info:
        s.set(key, value)
    assert reason in str(info.value)


def test_local_http_is_allowed_for_the_training_platform(tmp_path):
    s = Settings.load(tmp_path / "settings.json")
    s.set("platform.url", "http://127.0.0.1:8765")
    assert not s.training


def test_broken_file_falls_back_and_is_kept(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    s = Settings.load(path)
    assert s.training and s.problems and "已恢复默认设置" in s.problems[0]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("settings.json.bad-")]
    assert kept and kept[0].read_text(encoding="utf-8") == "{not json"


def test_bad_values_fall_back_one_by_one(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"version": 1, "values": {
        "platform.url": "https://ok.example.gov.cn", "network.read_timeout": "fast",
        "hall.region_code": "abc", "no.such.key": 1}}), encoding="utf-8")
    s = Settings.load(path)
    assert s.get("platform.url") == "https://ok.example.gov.cn"
    assert s.get("network.read_timeout") == 30.0 and s.get("hall.region_code") == ""
    assert len(s.problems) == 2 and all("已使用默认值" in p for p in s.problems)


def test_unversioned_file_is_upgraded(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"platform.url": "https://old.example.gov.cn"}), encoding="utf-8")
    assert Settings.load(path).get("platform.url") == "https://old.example.gov.cn"


def test_override_is_not_saved(tmp_path):
    path = tmp_path / "settings.json"
    s = Settings.load(path)
    s.set("hall.name", "某某镇便民服务中心")
    s.override("platform.url", "https://run-only.example.gov.cn")
    s.save()
    saved = json.loads(path.read_text(encoding="utf-8"))["values"]
    assert saved == {"hall.name": "某某镇便民服务中心"}


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "settings.json"
    atomic_write_text(path, "old")

    def boom(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temporary file left
