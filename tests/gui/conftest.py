"""Fixtures of the widget tests: a real catalogue SQLite file built from the factories, the
Qt-free context around it (training mode unless a platform URL is given; the training platform
is never started here), and the task runners (synchronous for deterministic tests, the real
pool where the threading itself is under test)."""

from __future__ import annotations

import pytest

from counter_client.background.catalogue_refresh import CatalogueRefresher
from counter_client.background.tasks import SyncTaskRunner, TaskRunner
from counter_client.context import build_context
from counter_client.ui.catalogue.page import CataloguePage
from tests import factories as f

MATERIALS = [
    {"name": "居民身份证", "type": 1, "originals": 1, "source": 20, "source_note": "公安机关",
     "standard": "在有效期内", "notes": "核验后退还"},
    {"name": "户口簿", "type": 3, "originals": 1, "copies": 1, "source": 20},
    {"name": "近期免冠照片", "type": 1, "originals": 2, "source": 10},
]


def sample_guides(extra=()) -> list:
    return [
        f.guide("G440305000001", "居民身份证换领", region="440305", materials=MATERIALS, item_type="07",
                aliases=["身份证到期换证"], conditions="有效期满。\n本人到场。",
                process=[{"name": "收件", "description": "核验身份"}, {"name": "办结"}]),
        f.guide("G440305000002", "居民身份证挂失申报", region="440305", item_type="20"),
        f.guide("G510107000003", "居民身份证首次申领", region="510107", department="D510107-GA",
                department_name="成都市武侯区公安分局", national=False, item_type="07"),
        f.guide("G500103000004", "临时居民身份证办理", region="500103", department="D500103-GA",
                department_name="重庆市渝中区公安分局", national=False, modes=["全程网办"]),
        f.guide("G440305000005", "身份证明开具（非通办）", region="440305", national=False, item_type="20"),
        f.guide("G440305000006", "就业创业证申领", region="440305", item_type="20"),
        *extra,
    ]


def fill_catalogue(context, guides, version: int = 1) -> None:
    """Write ``guides`` as the whole catalogue the way a refresh does (one transaction)."""
    store = context.catalogue_store
    gone = [code for code in store.local_hashes() if code not in {g.code for g in guides}]
    with store.update() as update:
        update.put_guides(guides, {g.code: g.content_hash() for g in guides})
        update.remove(gone)
        update.replace_departments([f.department(), f.department("D510107-GA", "成都市武侯区公安分局", "510107"),
                                    f.department("D500103-GA", "重庆市渝中区公安分局", "500103")])
        update.replace_agreements([f.agreement()])
        update.replace_regions(f.regions())
        update.finish(version, {"refreshed_at": "2025-01-02T01:30:00+00:00"})


@pytest.fixture
def context(tmp_path):
    ctx = build_context(tmp_path / "data")
    fill_catalogue(ctx, sample_guides())
    yield ctx
    ctx.close()


@pytest.fixture
def sync_runner(qtbot):
    runner = SyncTaskRunner()
    yield runner
    runner.shutdown()


@pytest.fixture
def pool_runner(qtbot):
    runner = TaskRunner()
    yield runner
    runner.shutdown()


def make_page(qtbot, context, runner, catalogue=None, owned_by_test: bool = True) -> CataloguePage:
    lookups = catalogue or context.catalogue
    refresher = CatalogueRefresher(runner, context.catalogue, context.connection)
    page = CataloguePage(runner, lookups, refresher, hall_region=context.settings.hall()["hall.region_code"])
    if owned_by_test:
        qtbot.addWidget(page)
    page.resize(1200, 700)
    refresher.load_info()
    return page


@pytest.fixture
def page(qtbot, context, sync_runner):
    return make_page(qtbot, context, sync_runner)
