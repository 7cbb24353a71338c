"""The reference platform's store and catalogue sources, on real SQLite files in tmp_path."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from counter_client.domain.catalogue import Agreement, Department, Guide
from counter_client.paths import resources_dir
from counter_client.refplatform.bootstrap import ensure_loaded
from counter_client.refplatform.catalogue_file import CatalogueFile, CatalogueFileError, TrainingDirectory
from counter_client.refplatform.generator import CatalogueGenerator
from counter_client.refplatform.store import PlatformStore, PlatformStoreError, StorePool

FIXTURE_TRAINING = Path(__file__).resolve().parents[1] / "fixtures" / "refplatform" / "training"


class ListSource:
    """A catalogue source over in-memory lists (the store's input contract, nothing mocked)."""

    def __init__(self, guides: list[Guide], departments=(), agreements=()):
        self._guides = guides
        self.departments: list[Department] = list(departments)
        self.agreements: list[Agreement] = list(agreements)

    def guides(self):
        yield from self._guides


@pytest.fixture(scope="module")
def generated() -> CatalogueGenerator:
    return CatalogueGenerator.from_regions(resources_dir() / "regions", seed=3)


@pytest.fixture(scope="module")
def guides(generated) -> list[Guide]:
    return list(generated.guides(30))


@pytest.fixture
def store(tmp_path):
    store = PlatformStore(tmp_path / "data")
    yield store
    store.close()


def revised(guide: Guide, **changes) -> Guide:
    return Guide.from_dict({**guide.to_dict(), **changes})


def test_initial_load_is_version_1_and_reimport_bumps_nothing(store, guides, generated):
    departments = list(generated.departments.values())
    first = store.replace_catalogue(ListSource(guides, departments), "initial", initial=True)
    assert (first.catalogue_version, first.added, first.bumped) == (1, 30, True)
    again = store.replace_catalogue(ListSource(guides, departments), "same again")
    assert (again.catalogue_version, again.bumped, again.unchanged) == (1, False, 30)
    state = store.state()
    assert (state.catalogue_version, state.log_floor, state.departments_version) == (1, 1, 1)


def test_initial_load_of_an_empty_catalogue_still_makes_version_1(store):
    assert store.replace_catalogue(ListSource([]), "empty", initial=True).catalogue_version == 1
    assert store.changes_since(1) == ([], [])
    with pytest.raises(PlatformStoreError):
        store.replace_catalogue(ListSource([]), "twice", initial=True)


def test_changes_removals_and_readditions_are_tracked_per_version(store, guides):
    store.replace_catalogue(ListSource(guides), "v1", initial=True)
    edited = [revised(guides[0], hours="全天"), *guides[1:-2]]
    report = store.replace_catalogue(ListSource(edited), "v2")
    assert (report.catalogue_version, report.changed, report.removed) == (2, 1, 2)
    changed, removed = store.changes_since(1)
    assert [c[0] for c in changed] == [guides[0].code]
    assert sorted(removed) == sorted(g.code for g in guides[-2:])
    assert store.guide_bodies([g.code for g in guides[-2:]]) == {}

    report = store.replace_catalogue(ListSource([*edited, guides[-1]]), "v3")  # one comes back
    assert (report.catalogue_version, report.added) == (3, 1)
    changed, removed = store.changes_since(2)
    assert [c[0] for c in changed] == [guides[-1].code] and removed == []
    changed, removed = store.changes_since(1)
    assert {c[0] for c in changed} == {guides[0].code, guides[-1].code} and removed == [guides[-2].code]


def test_stored_body_is_the_canonical_json_and_hash(store, guides):
    store.replace_catalogue(ListSource(guides), "v1", initial=True)
    body = store.guide_bodies([guides[4].code])[guides[4].code]
    assert body == guides[4].to_json()
    entries = {code: (version, hash_) for code, version, hash_ in store.manifest_entries()}
    assert entries[guides[4].code] == (guides[4].version, guides[4].content_hash())


def test_departments_and_agreements_version_moves_only_on_change(store, guides, generated):
    departments = list(generated.departments.values())
    agreements = generated.agreements(30)
    store.replace_catalogue(ListSource(guides, departments, agreements), "v1", initial=True)
    report = store.replace_catalogue(ListSource(guides, departments[:-1], agreements), "fewer departments")
    assert (report.bumped, report.departments_version, report.agreements_version) == (False, 2, 1)
    assert len(store.bodies("departments")) == len(departments) - 1


def test_touch_bumps_versions_in_one_catalogue_version(store, guides):
    store.replace_catalogue(ListSource(guides), "v1", initial=True)
    report = store.touch(5, seed=1)
    assert (report.catalogue_version, report.changed) == (2, 5)
    changed, _ = store.changes_since(1)
    assert len(changed) == 5
    by_code = {g.code: g for g in guides}
    for code, version, hash_ in changed:
        guide = Guide.from_json(store.guide_bodies([code])[code])
        assert version == guide.version == by_code[code].version + 1
        assert hash_ == guide.content_hash()
    store.touch(5, seed=1)
    touched = Guide.from_json(store.guide_bodies([changed[0][0]])[changed[0][0]])
    assert touched.conditions.count("修订") == 1, "a second touch replaces the revision note"
    assert store.touch(0).bumped is False


def test_pruning_tombstones_raises_the_delta_floor(store, guides):
    store.replace_catalogue(ListSource(guides), "v1", initial=True)
    store.replace_catalogue(ListSource(guides[:-1]), "v2: one removed")
    for _ in range(3):
        store.touch(1, seed=2)
    assert store.state().catalogue_version == 5
    assert store.prune_change_log(retained_versions=2) == 3
    state = store.state()
    assert state.log_floor == 3
    _, removed = store.changes_since(3)
    assert removed == []  # the version-2 tombstone is gone; nobody at >= 3 needs it


def test_a_failing_source_rolls_the_whole_import_back(store, guides, tmp_path):
    store.replace_catalogue(ListSource(guides), "v1", initial=True)
    content = {"guides": [g.to_dict() for g in guides[:10]] + [{"code": "X"}], "departments": []}
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(CatalogueFileError, match=r"guides\[10\]"):
        store.replace_catalogue(CatalogueFile(path, strict=True), "broken")
    assert store.state().catalogue_version == 1
    assert len(store.manifest_entries()) == 30


def test_newer_schema_is_refused(tmp_path):
    PlatformStore(tmp_path).close()
    with sqlite3.connect(tmp_path / "platform.sqlite3") as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(PlatformStoreError, match="schema 99"):
        PlatformStore(tmp_path)


def test_store_pool_gives_each_thread_its_own_connection(tmp_path, guides):
    import threading

    ensure_loaded(tmp_path, training=FIXTURE_TRAINING)
    pool = StorePool(tmp_path)
    seen = []
    thread = threading.Thread(target=lambda: seen.append(pool.get()))
    thread.start()
    thread.join()
    assert pool.get() is pool.get() and seen[0] is not pool.get()
    assert seen[0].state() == pool.get().state()
    pool.close_all()


def test_training_directory_skips_invalid_and_duplicate_guides(caplog):
    source = TrainingDirectory(FIXTURE_TRAINING)
    loaded = list(source.guides())
    assert len(loaded) == 3 and source.skipped == 2
    assert len(source.departments) == 3 and len(source.agreements) == 2
    assert "BROKEN-GUIDE" in caplog.text and "duplicate code" in caplog.text
    with pytest.raises(CatalogueFileError):
        list(TrainingDirectory(FIXTURE_TRAINING, strict=True).guides())


def test_training_directory_accepts_wrapped_lists_and_missing_files(tmp_path):
    guides = json.loads((FIXTURE_TRAINING / "guides.json").read_text(encoding="utf-8"))[:2]
    (tmp_path / "guides.json").write_text(json.dumps({"guides": guides}, ensure_ascii=False), encoding="utf-8")
    source = TrainingDirectory(tmp_path)
    assert len(list(source.guides())) == 2
    assert source.departments == [] and source.agreements == []


def test_ensure_loaded_loads_once(tmp_path):
    report = ensure_loaded(tmp_path, training=FIXTURE_TRAINING)
    assert report is not None and report.added == 3
    assert ensure_loaded(tmp_path, training=FIXTURE_TRAINING) is None
    store = PlatformStore(tmp_path, create=False)
    try:
        assert len(store.bodies("regions")) > 40_000
        assert store.state().regions_version == "2023-06-30"
    finally:
        store.close()


def test_readers_open_and_read_while_a_writer_holds_the_lock(tmp_path, guides):
    writer = PlatformStore(tmp_path)
    writer.replace_catalogue(ListSource(guides), "v1", initial=True)
    try:
        with writer.write():
            writer.touch(3, seed=1)  # uncommitted: a reader must see version 1, without waiting
            started = time.monotonic()
            reader = PlatformStore(tmp_path, create=False)
            try:
                assert reader.state().catalogue_version == 1
                assert time.monotonic() - started < 1
            finally:
                reader.close()
    finally:
        writer.close()


def test_a_guide_larger_than_the_client_accepts_is_refused(tmp_path):
    guides = json.loads((FIXTURE_TRAINING / "guides.json").read_text(encoding="utf-8"))[:2]
    for field in ("conditions", "legal_basis", "place", "hours", "source"):
        guides[1][field] = "字" * 20_000  # each field within its limit, the whole guide ~300 KB
    (tmp_path / "guides.json").write_text(json.dumps(guides, ensure_ascii=False), encoding="utf-8")
    source = TrainingDirectory(tmp_path)
    assert [g.code for g in source.guides()] == [guides[0]["code"]] and source.skipped == 1
    with pytest.raises(CatalogueFileError, match="larger than"):
        list(TrainingDirectory(tmp_path, strict=True).guides())
