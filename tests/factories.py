"""Small builders of valid domain objects for tests (real models, no mocks)."""

from __future__ import annotations

from counter_client.domain.catalogue import Agreement, Department, Guide, Region


def guide(code: str, name: str, *, region: str = "440305", department: str = "D440305-RS",
          department_name: str = "深圳市南山区人力资源局", national: bool = True,
          aliases: list[str] | None = None, modes: list[str] | None = None, item_type: str = "20",
          basic_code: str | None = None, version: int = 1, materials: list[dict] | None = None,
          **extra) -> Guide:
    basic = basic_code or ("PX" + code[-10:].rjust(10, "0"))
    data = {
        "code": code,
        "basic_code": basic,
        "impl_code": f"{basic}-{region}",
        "version": version,
        "name": name,
        "aliases": aliases or [],
        "item_type": item_type,
        "implementer": {"name": department_name, "department_code": department},
        "handling_region": region,
        "national_list": national,
        "modes": modes or ["异地代收代办"],
        "materials": materials if materials is not None else [
            {"name": "居民身份证", "type": 1, "source": 20},
            {"name": "申请表", "type": 1, "source": 10},
        ],
    }
    data.update(extra)
    return Guide.from_dict(data)


def department(code: str = "D440305-RS", name: str = "深圳市南山区人力资源局",
               region: str = "440305") -> Department:
    return Department(code=code, name=name, region_code=region, address="深圳市南山区某路1号",
                      postcode="518000", phone="0755-12345678")


def regions() -> list[Region]:
    return [
        Region(code="440000", name="广东省", parent="", level=1),
        Region(code="440300", name="深圳市", parent="440000", level=2),
        Region(code="440305", name="南山区", parent="440300", level=3),
        Region(code="510000", name="四川省", parent="", level=1),
        Region(code="510100", name="成都市", parent="510000", level=2),
        Region(code="510107", name="武侯区", parent="510100", level=3),
        Region(code="500000", name="重庆市", parent="", level=1),
        Region(code="500100", name="市辖区", parent="500000", level=2),
        Region(code="500103", name="渝中区", parent="500100", level=3),
    ]


def agreement(**kw) -> Agreement:
    data = {"id": "chuanyu", "name": "川渝通办", "hall_regions": ["51", "50"],
            "handling_regions": ["51", "50"], "basic_codes": []}
    data.update(kw)
    return Agreement.from_dict(data)


def load(store, guides, version: int = 1, *, departments=None, agreements=None, regions=None,
         removed=()) -> object:
    """Write ``guides`` into a CatalogueStore as one update, the way a refresh does."""
    with store.update() as update:
        if departments is not None:
            update.replace_departments(departments)
        if agreements is not None:
            update.replace_agreements(agreements)
        if regions is not None:
            update.replace_regions(regions)
        update.put_guides(guides, {})
        update.remove(removed)
        return update.finish(version)
