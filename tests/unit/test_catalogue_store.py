"""offline_cache.catalogue: atomic updates and the search tiers, on a real SQLite file."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter_client.domain.errors import InvalidCatalogue
from counter_client.domain.search import SearchFilters, compact, pinyin_keys
from counter_client.services.catalogue import CatalogueService
from offline_cache.catalogue import open_catalogue
from tests import factories as f

GUIDES = [
    f.guide("G-ID-440305", "居民身份证换领、补领", aliases=["身份证异地换领", "补办身份证"],
            basic_code="000172006000", item_type="07"),
    f.guide("G-SB-440305", "社会保障卡申领", aliases=["社保卡办理"], modes=["全程网办", "异地代收代办"]),
    f.guide("G-GJJ-440305", "住房公积金异地转移接续", aliases=["公积金转移"], modes=["全程网办"],
            department="D440305-GJJ", department_name="深圳市住房公积金管理中心南山管理部"),
    f.guide("G-HJ-500103", "开具户籍类证明", region="500103", national=False,
            department="D500103-GA", department_name="重庆市公安局渝中区分局", basic_code="PX0000000001"),
    f.guide("G-CJ-440305", "残疾人证迁移", national=False, basic_code="PX0000000002"),
    f.guide("G-JZ-510107", "机动车驾驶证换证", region="510107", department="D510107-JJ",
            department_name="成都市公安局交通管理局", aliases=["C1驾照换证"], item_type="07"),
]


@pytest.fixture
def catalogue(tmp_path):
    store = open_catalogue(tmp_path / "catalogue.sqlite3")
    f.load(store, GUIDES, regions=f.regions(), agreements=[f.agreement()], departments=[f.department()])
    yield store
    store.close()


def codes(hits):
    return [h.code for h in hits]


@pytest.mark.parametrize("query, expected", [
    ("身份证", "G-ID-440305"),      # Chinese substring (trigram)
    ("身份", "G-ID-440305"),        # two characters (per-character index)
    ("换", "G-ID-440305"),          # one character
    ("sfz", "G-ID-440305"),         # pinyin initials
    ("SFZ", "G-ID-440305"),         # upper case
    ("ｓｆｚ", "G-ID-440305"),       # full-width letters
    ("sf", "G-ID-440305"),          # two initials
    ("shenfen", "G-ID-440305"),     # pinyin
    ("补办身份证", "G-ID-440305"),   # local alias
    ("社保卡", "G-SB-440305"),
    ("gjj", "G-GJJ-440305"),        # initials of the alias 公积金转移
    ("公积金管理中心", "G-GJJ-440305"),  # department
    ("g-hj", "G-HJ-500103"),        # code prefix, any case
    ("000172", "G-ID-440305"),      # basic code prefix
    ("c1驾照", "G-JZ-510107"),      # mixed Latin and Chinese
    ("身份证 补领", "G-ID-440305"),  # two terms, both must match
])
def test_search_finds(catalogue, query, expected):
    assert expected in codes(catalogue.search(query))


def test_no_match(catalogue):
    assert catalogue.search("火星移民") == []
    assert catalogue.search("zzqx") == []


def test_exact_and_code_hits_rank_first(tmp_path):
    store = open_catalogue(tmp_path / "c.sqlite3")
    f.load(store, [
        f.guide("A-1", "结婚登记（补领结婚证）"),
        f.guide("A-2", "内地居民结婚登记"),
        f.guide("A-3", "结婚登记"),
        f.guide("JH-1", "离婚登记", basic_code="PX0000000009"),
    ])
    hits = store.search("结婚登记")
    assert hits[0].code == "A-3" and hits[0].match == "exact"
    assert hits[1].code == "A-1" and hits[1].match == "prefix"
    assert hits[2].code == "A-2" and hits[2].match == "substring"
    assert store.search("jh-1")[0].code == "JH-1"
    assert store.search("jh-1")[0].match == "exact"
    store.close()


def test_filters(catalogue):
    assert set(codes(catalogue.search("", SearchFilters(region="500000")))) == {"G-HJ-500103"}
    assert set(codes(catalogue.search("", SearchFilters(region="440305")))) >= {"G-ID-440305", "G-SB-440305"}
    assert codes(catalogue.search("", SearchFilters(mode="全程网办"))) == ["G-SB-440305", "G-GJJ-440305"] or \
        set(codes(catalogue.search("", SearchFilters(mode="全程网办")))) == {"G-SB-440305", "G-GJJ-440305"}
    assert set(codes(catalogue.search("", SearchFilters(item_type="07")))) == {"G-ID-440305", "G-JZ-510107"}
    assert codes(catalogue.search("证", SearchFilters(department_code="D440305-GJJ"))) == []
    assert codes(catalogue.search("公积金", SearchFilters(department_code="D440305-GJJ"))) == ["G-GJJ-440305"]


def test_collectable_national_everywhere_others_by_agreement(catalogue):
    sichuan_hall = "511324"
    found = set(codes(catalogue.search("", SearchFilters(collectable_at=sichuan_hall), limit=100)))
    # national-list items anywhere; 户籍证明 in 重庆 through 川渝通办; 残疾人证 in 深圳 by no agreement
    assert {"G-ID-440305", "G-SB-440305", "G-HJ-500103"} <= found
    assert "G-CJ-440305" not in found
    beijing_hall = "110105"
    found = set(codes(catalogue.search("", SearchFilters(collectable_at=beijing_hall), limit=100)))
    assert "G-HJ-500103" not in found and "G-ID-440305" in found
    hit = catalogue.search("户籍", hall_region=sichuan_hall)[0]
    assert hit.agreements == ("川渝通办",)
    assert hit.handling_region_name == "重庆市渝中区"


def test_agreement_restricted_to_items(tmp_path):
    store = open_catalogue(tmp_path / "c.sqlite3")
    f.load(store, GUIDES, agreements=[f.agreement(basic_codes=["PX0000000099"])])
    found = codes(store.search("", SearchFilters(collectable_at="511324"), limit=100))
    assert "G-HJ-500103" not in found
    store.close()


def test_guide_round_trip_and_materials(catalogue):
    g = catalogue.guide("G-ID-440305")
    assert g == GUIDES[0]
    assert catalogue.guide("g-id-440305") == GUIDES[0]  # codes typed in another case
    mats = catalogue.guide("G-ID-440305").materials
    assert [m.name for m in mats] == ["居民身份证", "申请表"]
    assert mats[0].source == 20 and mats[0].e_licence_candidate


def test_update_replaces_changed_and_removes(catalogue):
    changed = GUIDES[0].replace(name="居民身份证换领", version=2)
    summary = f.load(catalogue, [changed], version=2, removed=["G-CJ-440305"])
    assert summary.changed == 1 and summary.removed == 1 and summary.guide_count == len(GUIDES) - 1
    assert catalogue.guide("G-ID-440305").version == 2
    assert catalogue.guide("G-CJ-440305") is None
    assert catalogue.search("残疾人") == []
    assert "G-ID-440305" in codes(catalogue.search("身份证换领"))
    assert catalogue.version() == 2


def test_failed_update_leaves_catalogue_usable(catalogue):
    """An update that fails half-way (bad data after good batches) changes nothing."""
    with pytest.raises(InvalidCatalogue):
        with catalogue.update() as update:
            update.put_guides([f.guide("NEW-1", "新事项甲")], {})
            update.remove(["G-SB-440305"])
            update.put_guides([f.guide("NEW-1", "新事项甲")], {})  # duplicate code: refused
    assert catalogue.version() == 1
    assert catalogue.search("新事项") == []
    assert codes(catalogue.search("社保卡")) == ["G-SB-440305"]


def test_update_left_without_finish_rolls_back(catalogue):
    with catalogue.update() as update:
        update.put_guides([f.guide("NEW-1", "新事项甲")], {})
    assert catalogue.search("新事项") == [] and catalogue.version() == 1


def test_readers_see_the_old_catalogue_until_commit(catalogue):
    """Search on another thread keeps answering from the previous catalogue during an update."""
    import threading

    seen = []
    with catalogue.update() as update:
        update.put_guides([f.guide("NEW-1", "新事项甲")], {})
        t = threading.Thread(target=lambda: seen.append(codes(catalogue.search("新事项")) + codes(catalogue.search("社保卡"))))
        t.start()
        t.join()
        update.finish(2)
    assert seen == [["G-SB-440305"]]
    assert codes(catalogue.search("新事项")) == ["NEW-1"]


def test_duplicate_code_in_payload_refused(catalogue):
    for batches in ([[f.guide("DUP-1", "甲事项")], [f.guide("DUP-1", "乙事项")]],
                    [[f.guide("DUP-2", "丙"), f.guide("DUP-2", "丁")]]):
        with pytest.raises(InvalidCatalogue) as info:
            with catalogue.update() as update:
                for batch in batches:
                    update.put_guides(batch, {})
                update.finish(2)
        assert "DUP-" in info.value.message and "重复" in info.value.message
    assert catalogue.version() == 1 and catalogue.search("甲事项") == []


def test_region_names(catalogue):
    assert catalogue.region_full_name("440305") == "广东省深圳市南山区"
    assert catalogue.region_full_name("500103") == "重庆市渝中区"
    assert catalogue.region_full_name("999999") == "999999"


WORDS = ["居民身份证换领", "社会保障卡申领", "住房公积金提取", "结婚登记", "异地就医备案", "营业执照补领",
         "户口迁移", "失业保险金申领", "驾驶证补证", "学历公证", "养老保险关系转移", "就业登记"]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(word=st.sampled_from(WORDS), data=st.data())
def test_search_agrees_with_a_plain_scan(tmp_path_factory, word, data):
    """Any substring of a name (Chinese or its initials) finds that guide, and every hit really
    contains what was typed somewhere in its searchable text."""
    path = tmp_path_factory.getbasetemp() / "prop.sqlite3"
    store = open_catalogue(path)
    if store.version() is None:
        f.load(store, [f.guide(f"P-{i}", w) for i, w in enumerate(WORDS)])
    initials = pinyin_keys(word)[1]
    source = data.draw(st.sampled_from([word, initials]))
    start = data.draw(st.integers(0, len(source) - 1))
    end = data.draw(st.integers(start + 1, len(source)))
    query = source[start:end]
    hits = store.search(query, limit=100)
    assert f"P-{WORDS.index(word)}" in codes(hits)
    for h in hits:
        full, ini = pinyin_keys(h.name)
        assert query in compact(h.name) or query in ini or query in full or query.upper() in h.code.upper()
    store.close()


def test_large_update_leaves_the_wal_for_later_and_tidy_folds_it_back(tmp_path):
    store = open_catalogue(tmp_path / "c.sqlite3")
    f.load(store, [f.guide(f"W-{i}", f"事项{i}号", conditions="条件" * 500) for i in range(800)])
    wal = tmp_path / "c.sqlite3-wal"
    assert wal.stat().st_size > 1_000_000  # committed, readable, not yet copied back
    assert store.info().guide_count == 800
    CatalogueService(store).tidy()
    assert wal.stat().st_size == 0
    assert store.search("事项12号")[0].code == "W-12"
    store.close()


def test_rows_keep_every_character_and_the_bodies_as_received(tmp_path):
    """A batch reaches SQLite as JSON rows and one blob of bodies: quotes, backslashes, control
    characters, characters beyond the BMP and full-width forms come back exactly, and each body
    is the bytes given for it."""
    from offline_cache.catalogue_update import prepare_batch

    names = ['引号"与\\反斜杠', "换行\n与制表\t事项", "𠀀扩展字😀事项", "ＡＢＣ全角Ａ４事项", "'单引号'[括号]{花括号}"]
    guides = [f.guide(f"ODD-{i}", n, aliases=[n + "别名", f"别名{i}"], department=f"D-ODD-{i}",
                      department_name=n + "管理局", national=i % 2 == 0, version=i + 1)
              for i, n in enumerate(names)]
    bodies = {g.code: b'{"received": "%d", "raw": "\\u00e9\xe2\x82\xac"}' % i for i, g in enumerate(guides)}
    store = open_catalogue(tmp_path / "c.sqlite3")
    with store.update() as update:
        update.put(prepare_batch(guides, {g.code: f"hash-{g.code}" for g in guides}, {}, bodies))
        update.put(prepare_batch([f.guide("ODD-X", "第二批事项")], {}))
        update.finish(1)
    db = store.store.db
    rows = {r[0]: r[1:] for r in db.execute(
        "SELECT code, id, name, name_key, pinyin, initials, department_name, version, national_list, hash, body, "
        "typeof(version), typeof(body) FROM guide")}
    for g in guides:
        _id, name, key, full, ini, dept, version, national, digest, body, t_version, t_body = rows[g.code]
        assert (name, key, (full, ini), dept) == (g.name, compact(g.name), pinyin_keys(g.name), g.name + "管理局")
        assert (version, national, digest, body) == (g.version, int(g.national_list), f"hash-{g.code}", bodies[g.code])
        assert (t_version, t_body) == ("integer", "blob")
        fts = db.execute("SELECT f_name, f_aliases, f_department FROM guide_fts WHERE rowid = ?", [_id]).fetchone()
        assert fts == (compact(g.name), " ".join(compact(a) for a in g.aliases), compact(g.name + "管理局"))
        aliases = {r[0] for r in db.execute("SELECT alias_key FROM guide_alias WHERE guide_id = ?", [_id])}
        assert aliases == {compact(a) for a in g.aliases}
    # relevance order within a batch (national-list first, then shorter names), ids continue across batches
    by_id = [code for _, code in sorted((rows[g.code][0], g.code) for g in guides)]
    assert by_id == [g.code for g in sorted(guides, key=lambda g: (not g.national_list, len(g.name)))]
    assert [rows[c][0] for c in by_id] == list(range(1, len(guides) + 1))
    assert rows["ODD-X"][0] == max(r[0] for r in rows.values()) == len(guides) + 1
    assert codes(store.search("反斜杠")) == ["ODD-0"] and codes(store.search("𠀀扩展")) == ["ODD-2"]
    assert store.guide("ODD-X") == f.guide("ODD-X", "第二批事项")
    store.close()


def test_char_tokens():
    from counter_client.domain.search import char_tokens

    assert char_tokens("居民身份证 C1") == "居 民 身 份 证 c1"
    assert char_tokens("A4纸（Ｂ５）𠀀x") == "a4 纸 b5 𠀀 x"
    assert char_tokens("") == "" and char_tokens("（）") == ""


def test_values_json_cannot_carry_are_written_row_by_row(tmp_path):
    """A NUL character would cut the text short in SQLite's JSON functions, and a version beyond
    64 bits would turn into a REAL: such batches are written a row at a time, as they are."""
    from offline_cache.catalogue_update import prepare_batch

    store = open_catalogue(tmp_path / "c.sqlite3")
    odd = f.guide("NUL-1", "空\x00字符事项", aliases=["别\x00名"])
    plain = [f.guide(f"PLAIN-{i}", f"普通事项{i}") for i in range(3)]
    assert prepare_batch([odd], {}).rowwise and not prepare_batch(plain, {}).rowwise
    with store.update() as update:
        update.put(prepare_batch(plain[:2], {}))
        update.put(prepare_batch([odd], {}))
        update.put(prepare_batch(plain[2:], {}))
        update.finish(1)
    db = store.store.db
    assert db.execute("SELECT name, name_key FROM guide WHERE code = 'NUL-1'").fetchone() == (
        odd.name, compact(odd.name))
    assert [r[0] for r in db.execute("SELECT alias_key FROM guide_alias a JOIN guide g ON g.id = a.guide_id "
                                      "WHERE g.code = 'NUL-1'")] == ["别\x00名"]
    assert store.guide("NUL-1") == odd
    assert [h.code for h in store.search("普通事项", limit=10)] == ["PLAIN-0", "PLAIN-1", "PLAIN-2"]
    assert db.execute("SELECT count(*) FROM guide_fts").fetchone()[0] == 4
    with pytest.raises(OverflowError), store.update() as update:
        update.put(prepare_batch([f.guide("BIG-1", "大版本事项", version=1 << 63)], {}))
        update.finish(2)
    assert store.version() == 1 and store.guide("BIG-1") is None
    store.close()
