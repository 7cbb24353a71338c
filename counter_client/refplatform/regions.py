"""The region table the platform serves, built from the shipped division-code snapshot.

``resources/regions/`` holds the National Bureau of Statistics' 2023 statistical division codes
(provinces, prefectures, counties, townships) as CSV files; this module turns them into ``Region``
rows with 6-digit codes for the upper three levels and 9-digit codes for townships, each pointing
at the 6-digit code of the level above. Hong Kong, Macao and Taiwan are added at province level
with the codes 810000 / 820000 / 830000 (the snapshot names their districts but gives no codes).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from pathlib import Path

from counter_client.domain.catalogue import Region

REGIONS_VERSION = "2023-06-30"  # the snapshot's cut-off date
REGIONS_SOURCE = (
    "国家统计局2023年统计用区划代码（截止2023-06-30），经 modood/Administrative-divisions-of-China 整理（WTFPL）；"
    "港澳台为居住证地址码"
)
SPECIAL_PROVINCES = (("810000", "香港特别行政区"), ("820000", "澳门特别行政区"), ("830000", "台湾省"))


def _rows(path: Path) -> Iterator[dict[str, str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
        yield from csv.DictReader(fh)


def _csv(folder: Path, stem: str) -> Iterator[dict[str, str]]:
    for candidate in (folder / f"{stem}.csv", folder / f"{stem}.csv.gz"):
        if candidate.exists():
            return _rows(candidate)
    raise FileNotFoundError(f"missing region file: {folder / stem}.csv")


def load_regions(folder: Path) -> list[Region]:
    """Every region, provinces first, then prefectures, counties and townships.

    A county row whose code equals its prefecture's (东莞市 441900, 中山市 442000, 儋州市 460400:
    prefecture-level cities without counties) is folded into the prefecture row, so codes are unique.
    """
    regions: list[Region] = []
    for row in _csv(folder, "provinces"):
        regions.append(Region(code=row["code"] + "0000", name=row["name"], level=1))
    for code, name in SPECIAL_PROVINCES:
        regions.append(Region(code=code, name=name, level=1))
    prefectures: set[str] = set()
    for row in _csv(folder, "cities"):
        code = row["code"] + "00"
        prefectures.add(code)
        regions.append(Region(code=code, name=row["name"], parent=row["provinceCode"] + "0000", level=2))
    for row in _csv(folder, "areas"):
        if row["code"] in prefectures:
            continue
        regions.append(Region(code=row["code"], name=row["name"], parent=row["cityCode"] + "00", level=3))
    for row in _csv(folder, "streets"):
        regions.append(Region(code=row["code"], name=row["name"], parent=row["areaCode"], level=4))
    return regions


def read_counties(folder: Path) -> list[tuple[str, str, str, str]]:
    """(county code, county name, prefecture name, province name) for every county row."""
    provinces = {r["code"]: r["name"] for r in _csv(folder, "provinces")}
    cities = {r["code"]: r["name"] for r in _csv(folder, "cities")}
    return [
        (r["code"], r["name"], cities.get(r["cityCode"], ""), provinces.get(r["provinceCode"], ""))
        for r in _csv(folder, "areas")
    ]

