"""``generate-catalogue``: a realistic synthetic catalogue for benchmarks and load tests.

Guide *i* is a national 跨省通办 item as implemented by one department of one real county
(``resources/regions/areas.csv``): counties are shuffled by the seed and items rotated so that
(county, item, sub-item) never repeats. Each guide is generated from its own seeded random source,
so the first 500 guides of a 200,000-guide catalogue equal a 500-guide catalogue of the same seed.
Departments are one per (county, department kind) actually used. The file is written as a stream
(a guide at a time) into a temporary file that replaces the target only when complete.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from counter_client.domain.catalogue import Agreement, Department, Guide
from counter_client.refplatform import synthdata as data
from counter_client.refplatform.regions import read_counties

DEFAULT_SEED = 1
UPDATED_FROM = date(2023, 1, 1)
UPDATED_DAYS = 900
CONDITIONS_CHARS = (200, 800)
MATERIALS_PER_GUIDE = (3, 10)
CREDIT_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
PAIR_AGREEMENTS_PER_1000_GUIDES = 1
MAX_PAIR_AGREEMENTS = 50


@dataclass(frozen=True)
class County:
    code: str
    name: str
    prefecture: str
    province: str

    @property
    def place(self) -> str:
        """How a department of this county names itself: 深圳市南山区, 北京市朝阳区, 昆山市."""
        if self.prefecture in ("市辖区", "县"):
            return self.province + self.name
        if self.name.endswith("区") and not self.prefecture.endswith("行政区划"):
            return self.prefecture + self.name
        return self.name

    @property
    def address_prefix(self) -> str:
        if self.prefecture in ("市辖区", "县") or self.prefecture.endswith("行政区划") or self.prefecture == self.name:
            return self.province + self.name
        return self.province + self.prefecture + self.name


def _numeral(n: int) -> str:
    digits = data.CHINESE_NUMERALS
    if n <= 10:
        return digits[n - 1]
    if n < 20:
        return "十" + digits[n - 11]
    return digits[n // 10 - 1] + "十" + (digits[n % 10 - 1] if n % 10 else "")


def org_code_check(org8: str) -> str:
    """Check character of an 8-digit organisation code (GB 11714)."""
    value = 11 - sum(int(c) * w for c, w in zip(org8, ORG_WEIGHTS)) % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def credit_code_check(body17: str) -> str:
    """Check character of a 统一社会信用代码 (GB 32100-2015) from its first 17 characters."""
    total = sum(CREDIT_ALPHABET.index(c) * w for c, w in zip(body17, CREDIT_WEIGHTS))
    return CREDIT_ALPHABET[(31 - total % 31) % 31]


def credit_code(region: str, org8: str) -> str:
    """A well-formed 统一社会信用代码 of a government body (registration class 11)."""
    body = "11" + region + org8 + org_code_check(org8)
    return body + credit_code_check(body)


def make_department(county: County, kind: str, seed: int) -> Department:
    kind_code, suffix = data.DEPARTMENT_KINDS[kind]
    rng = random.Random(f"{seed}:department:{county.code}:{kind}")
    if kind == "gaj" and county.name.endswith("区") and county.prefecture not in ("市辖区", "县"):
        name = f"{county.prefecture}公安局{county.name}分局"
    elif kind == "gjj":
        name = f"{county.prefecture if county.prefecture not in ('市辖区', '县') else county.province}住房公积金管理中心{county.name}管理部"
    else:
        name = county.place + suffix
    province = county.code[:2]
    area = data.MUNICIPALITY_AREA_CODES.get(province) or f"0{rng.randint(310, 999)}"
    phone = f"{area}-{rng.randint(2, 8)}{rng.randint(0, 9_999_999):07d}"
    address = f"{county.address_prefix}{rng.choice(data.ROADS)}{rng.randint(1, 399)}号"
    return Department(
        code=f"D{county.code}{kind_code}",
        name=name,
        region_code=county.code,
        credit_code=credit_code(county.code, f"{int(county.code) % 1_000_000:06d}{kind_code}"),
        address=address,
        postcode=data.POSTCODE_PREFIX.get(province, "10") + f"{rng.randint(0, 9999):04d}",
        phone=phone,
        complaint_phone="12345",
        hours=data.HOURS,
        recipient=f"{name}“跨省通办”收件窗口",
        source="合成数据（counter-platform generate-catalogue），仅供培训与测试",
    )


def _conditions(rng: random.Random, dept: str, place: str) -> str:
    target = rng.randint(*CONDITIONS_CHARS)
    clauses = list(data.CONDITION_CLAUSES)
    rng.shuffle(clauses)
    text = ""
    for n, clause in enumerate(clauses, start=1):
        line = f"（{_numeral(n)}）{clause.format(dept=dept, place=place)}；"
        if len(text) + len(line) > CONDITIONS_CHARS[1]:
            break
        text += line
        if len(text) >= target:
            break
    return text[:-1] + "。"


def _materials(rng: random.Random, item: str, kind: str) -> list[dict]:
    form_name = f"《{item.split('（')[0]}申请表》"
    chosen = [
        {
            "name": form_name,
            "type": 1,
            "originals": 1,
            "copies": 0,
            "necessity": 1,
            "source": 10,
            "standard": "按格式填写完整，申请人签名（单位申请的加盖公章）",
            "notes": "可在政务服务网下载或在窗口领取，不得涂改",
            "blank_form": f"{form_name}空白表格",
            "sample": f"{form_name}示例样表",
        }
    ]
    pool = [
        m
        for m in (*data.KIND_MATERIALS[kind], *data.COMMON_MATERIALS[1:])
        if len(m) == 6 or any(word in item for word in m[6])
    ]
    rng.shuffle(pool)
    wanted = rng.randint(*MATERIALS_PER_GUIDE)
    for name, type_, source, source_note, standard, necessity, *_ in [data.COMMON_MATERIALS[0], *pool][: wanted - 1]:
        chosen.append(
            {
                "name": name,
                "type": type_,
                "originals": 0 if type_ == 2 else 1,
                "copies": rng.choice((1, 1, 2)) if type_ != 1 else 0,
                "form": rng.choice(("纸质", "纸质", "纸质或电子")),
                "paper": "A4",
                "necessity": necessity,
                "source": source,
                "source_note": source_note,
                "standard": standard,
                "notes": "复印件须注明“与原件一致”并签名" if type_ != 1 else "",
            }
        )
    return chosen


def _limits(rng: random.Random, item_type: str) -> tuple[dict | None, dict | None]:
    if item_type == "20":
        promised = rng.choice((0, 0, 1, 3, 5, 10))
        legal = None if rng.random() < 0.5 else max(promised, rng.choice((5, 10, 15, 20)))
    else:
        legal = rng.choice((15, 20, 20, 30))
        promised = rng.choice((0, 3, 5, 7, 10, legal // 2))
    return (
        {"value": legal, "unit": "工作日"} if legal is not None else None,
        {"value": promised, "unit": "工作日"},
    )


def _fee(item: str, kind: str) -> dict:
    if kind == "gzc":
        return {
            "charged": True,
            "items": [{"name": "公证费", "standard": "按办理地所在省（区、市）公证服务收费标准收取", "basis": "办理地公证服务收费标准"}],
            "note": "翻译费、邮寄费另计",
        }
    if item == "不动产抵押登记":
        return {
            "charged": True,
            "items": [
                {
                    "name": "不动产登记费",
                    "standard": "住宅每件80元，非住宅每件550元",
                    "basis": "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）",
                }
            ],
            "note": "",
        }
    return {"charged": False, "items": [], "note": "本事项不收费"}


def _result(item: str) -> dict:
    name, type_ = next(((n, t) for key, n, t in data.RESULTS if key in item), data.DEFAULT_RESULT)
    return {"name": name, "type": type_, "sample": ""}


def make_guide(index: int, county: County, item_no: int, variant: int, department: Department, seed: int) -> Guide:
    item, kind, item_type, modes = data.NATIONAL_ITEMS[item_no]
    rng = random.Random(f"{seed}:guide:{index}")
    kind_code = data.DEPARTMENT_KINDS[kind][0]
    basic_code = f"{item_type}{kind_code}{item_no + 1:03d}{variant:02d}000"
    impl_code = basic_code + department.credit_code
    legal, promised = _limits(rng, item_type)
    instant = promised["value"] == 0
    review = max(1, promised["value"] - 2)
    steps = data.INSTANT_PROCESS if instant else data.PROCESS_TEMPLATES
    collects = any(m in modes for m in ("异地代收代办", "多地联办"))
    bases = data.LEGAL_BASES[kind]
    basis = "；".join([rng.choice(bases), data.GUIDANCE_BASIS])
    window = rng.randint(1, 40)
    return Guide.from_dict(
        {
            "code": impl_code + "001",
            "basic_code": basic_code,
            "impl_code": impl_code,
            "version": rng.randint(1, 6),
            "name": item + data.VARIANTS[variant],
            "aliases": [f"{county.place}{item}"] if rng.random() < 0.3 else [],
            "item_type": item_type,
            "implementer": {
                "name": department.name,
                "credit_code": department.credit_code,
                "department_code": department.code,
            },
            "handling_region": county.code,
            "national_list": True,
            "modes": list(modes),
            "scope": "全国",
            "legal_basis": basis,
            "conditions": _conditions(rng, department.name, county.place),
            "legal_limit": legal,
            "promised_limit": promised,
            "case_type": "即办件" if instant else "承诺件",
            "visits": 0 if modes == data.ONLINE else 1,
            "fee": _fee(item, kind),
            "process": [
                {"name": n, "description": d.format(dept=department.name), "time_limit": t.format(review=review)}
                for n, d, t in steps
            ],
            "place": f"{county.place}政务服务中心{window}号窗口（{department.address}）",
            "hours": data.HOURS,
            "channels": [
                {"kind": "咨询", "phone": department.phone, "address": department.address},
                {"kind": "投诉", "phone": "12345", "online": "12345政务服务便民热线"},
            ],
            "delivery": {
                "logistics": collects,
                "materials_by_mail": collects,
                "result_by_mail": collects or rng.random() < 0.5,
                "methods": ["窗口领取", "收件地代领", "邮寄"] if collects else ["网上送达", "邮寄"],
            },
            "result": _result(item),
            "materials": _materials(rng, item, kind),
            "source": f"合成数据（counter-platform generate-catalogue，种子{seed}），仅供培训与测试",
            "updated": (UPDATED_FROM + timedelta(days=rng.randrange(UPDATED_DAYS))).isoformat(),
        }
    )


class CatalogueGenerator:
    """Deterministic guides, departments and agreements for a seed and a guide count."""

    def __init__(self, counties: list[County], seed: int = DEFAULT_SEED):
        if not counties:
            raise ValueError("no counties to generate guides for")
        self.seed = seed
        self.counties = sorted(counties, key=lambda c: c.code)
        random.Random(f"{seed}:counties").shuffle(self.counties)
        self.departments: dict[tuple[str, str], Department] = {}
        self._basic_codes: list[str] = []

    @classmethod
    def from_regions(cls, regions_dir: Path, seed: int = DEFAULT_SEED) -> "CatalogueGenerator":
        return cls([County(*row) for row in read_counties(regions_dir)], seed)

    def capacity(self) -> int:
        return len(self.counties) * len(data.NATIONAL_ITEMS) * len(data.VARIANTS)

    def guides(self, count: int) -> Iterator[Guide]:
        if count > self.capacity():
            raise ValueError(f"at most {self.capacity()} distinct guides can be generated")
        items = len(data.NATIONAL_ITEMS)
        for index in range(count):
            slot = index % len(self.counties)
            round_ = index // len(self.counties)
            county = self.counties[slot]
            item_no = (slot + round_) % items
            kind = data.NATIONAL_ITEMS[item_no][1]
            key = (county.code, kind)
            if key not in self.departments:
                self.departments[key] = make_department(county, kind, self.seed)
            guide = make_guide(index, county, item_no, round_ // items, self.departments[key], self.seed)
            if len(self._basic_codes) < 1000:
                self._basic_codes.append(guide.basic_code)
            yield guide

    def agreements(self, guide_count: int) -> list[Agreement]:
        """Regional agreements (all items) plus prefecture pairs for a few items."""
        rng = random.Random(f"{self.seed}:agreements")
        out = [
            Agreement(id=f"AG{n:03d}", name=name, hall_regions=list(provinces), handling_regions=list(provinces),
                      source="合成数据，仅供培训与测试")
            for n, (name, provinces) in enumerate(data.REGIONAL_AGREEMENTS, start=1)
        ]
        pairs = min(MAX_PAIR_AGREEMENTS, guide_count * PAIR_AGREEMENTS_PER_1000_GUIDES // 1000)
        prefectures = sorted({(c.code[:4], c.prefecture) for c in self.counties if c.prefecture not in ("市辖区", "县")})
        codes = sorted(set(self._basic_codes))
        for n in range(pairs):
            (a, a_name), (b, b_name) = rng.sample(prefectures, 2)
            out.append(
                Agreement(
                    id=f"AG{len(data.REGIONAL_AGREEMENTS) + n + 1:03d}",
                    name=f"{a_name}与{b_name}政务服务“跨省通办”合作协议",
                    hall_regions=[a, b],
                    handling_regions=[a, b],
                    basic_codes=rng.sample(codes, min(len(codes), rng.randint(3, 12))),
                    source="合成数据，仅供培训与测试",
                )
            )
        return out


def _file_mode(path: Path) -> int:
    """The replaced file's permissions, or the usual ones for a new file (mkstemp makes 0600)."""
    try:
        return path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomically(path: Path, write: Callable[[object], None]) -> None:
    """Write through ``write(file)`` into a temporary file beside ``path``, then replace ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _file_mode(path))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def generate_catalogue(out: Path, guides: int, seed: int, regions_dir: Path) -> int:
    """Write a catalogue of ``guides`` guides to ``out``; returns the number of departments."""
    generator = CatalogueGenerator.from_regions(regions_dir, seed)

    def write(fh) -> None:
        fh.write('{"guides": [')
        for n, guide in enumerate(generator.guides(guides)):
            fh.write(("\n" if n == 0 else ",\n") + guide.to_json().decode("utf-8"))
        fh.write('\n], "departments": [')
        for n, department in enumerate(generator.departments.values()):
            fh.write(("\n" if n == 0 else ",\n") + department.to_json().decode("utf-8"))
        fh.write('\n], "agreements": [')
        for n, agreement in enumerate(generator.agreements(guides)):
            fh.write(("\n" if n == 0 else ",\n") + agreement.to_json().decode("utf-8"))
        fh.write("\n]}\n")

    write_atomically(out, write)
    return len(generator.departments)

