"""Intake figures: committing a collected case with three 2 MB scans (normalise, hash, encrypt,
fsync); scan import throughput against a plain file copy of the same bytes; filtering a case
list of 10,000 cases. Real stores on disk, the in-memory test keyring."""

from __future__ import annotations

import io
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from counter_client.scanning.importer import import_file
from counter_client.services.catalogue import CatalogueService
from counter_client.services.intake import IntakeService, Terminal
from offline_cache.blobs import BlobStore
from offline_cache.cases import CaseFilter, CaseStore, installation_id
from offline_cache.cases import open_store as open_cases
from offline_cache.catalogue import open_catalogue
from offline_cache.crypto import Cipher
from offline_cache.keys import load_data_keys, new_installation_id
from tests import factories as f

COMMITS = 15
LIST_CASES = 10_000
TERMINAL = Terminal(hall_code="511324102", terminal=1, clerk="bench", hall_region="511324")
MATERIALS = [{"name": f"材料{i}", "type": 1, "source": 10} for i in range(3)]


def _photo(seed: int, target_bytes: int = 2 * 2**20) -> bytes:
    """A noisy JPEG of about ``target_bytes`` (a phone or document-camera photo of a page)."""
    rng = random.Random(seed)
    side = 1800
    image = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
    for quality in (90, 80, 70, 60, 50):
        out = io.BytesIO()
        image.save(out, "JPEG", quality=quality)
        if out.tell() <= target_bytes * 1.3:
            break
    return out.getvalue()


def _service(root: Path) -> tuple[IntakeService, CaseStore]:
    catalogue = open_catalogue(root / "catalogue.sqlite3")
    f.load(catalogue, [f.guide("B-1", "基准事项", materials=MATERIALS)], regions=f.regions(), agreements=[f.agreement()])
    store = open_cases(root / "cases.sqlite3")
    cipher = Cipher(load_data_keys(installation_id(store, new_installation_id)))
    cases = CaseStore(store, cipher)
    return IntakeService(cases, BlobStore(root / "scans", cipher, min_free_bytes=0),
                         CatalogueService(catalogue, "511324"), TERMINAL), cases


def _ready_case(intake: IntakeService, n: int):
    from counter_client.domain.case import Party

    case = intake.add_item(intake.new_case(), "B-1")
    case.applicant = Party(name=f"申请人{n}", id_number="11010519491231002X", phone=f"138{n:08d}")
    return case


def run(list_cases: int = LIST_CASES) -> dict:
    os.environ.setdefault("PYTHON_KEYRING_BACKEND", "tests.keyring_memory.MemoryKeyring")
    root = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    try:
        intake, cases = _service(root)
        photos = []
        for i in range(COMMITS * 3):
            path = root / f"photo{i}.jpg"
            path.write_bytes(_photo(i))
            photos.append(path)
        # committing a case with 3 scans: import+normalise each file, store encrypted, confirm
        commit_ms = []
        for n in range(COMMITS):
            case = _ready_case(intake, n)
            started = time.perf_counter()
            for m, path in zip(case.materials, photos[n * 3:n * 3 + 3]):
                for page in import_file(path):
                    case = intake.add_scan(case, m.key, page.data)
                case = intake.set_material(case, m.key, form="原件核验", pages=1)
            intake.confirm(case)
            commit_ms.append((time.perf_counter() - started) * 1000)
        # scan import throughput against copying the same files
        sizes = sum(p.stat().st_size for p in photos)
        started = time.perf_counter()
        for path in photos:
            for page in import_file(path):
                intake.blobs.put(page.data)
        import_s = time.perf_counter() - started
        copy_dir = root / "copies"
        copy_dir.mkdir()
        started = time.perf_counter()
        for path in photos:
            shutil.copyfile(path, copy_dir / path.name)
            with open(copy_dir / path.name, "rb+") as fh:
                os.fsync(fh.fileno())
        copy_s = time.perf_counter() - started
        # the case list with 10,000 cases
        case = _ready_case(intake, 0)
        for n in range(max(0, list_cases - COMMITS)):
            case.id = cases.new_id()
            case.applicant.name = f"申请人{n}"
            case.applicant.phone = f"139{n:08d}"
            cases.save(case, "bench")
        filters = {"today": CaseFilter(day=time.strftime("%Y-%m-%d")),
                   "state": CaseFilter(state="collected"),
                   "item": CaseFilter(item_code="B-1", limit=200),
                   "phone": CaseFilter(phone="13900001234"),
                   "name": CaseFilter(name="申请人4321")}
        list_ms = {}
        for label, flt in filters.items():
            times = []
            for _ in range(7):
                started = time.perf_counter()
                intake.list(flt)
                times.append((time.perf_counter() - started) * 1000)
            list_ms[label] = round(statistics.median(times), 2)
        cases.close()
        return {
            "commit_case_3_scans_2mb": {"median_ms": round(statistics.median(commit_ms), 1),
                                        "max_ms": round(max(commit_ms), 1), "runs": COMMITS,
                                        "cipher": cases.cipher.algorithm},
            "scan_import": {"files": len(photos), "mib": round(sizes / 2**20, 1), "import_s": round(import_s, 3),
                            "plain_copy_fsync_s": round(copy_s, 3), "ratio": round(import_s / max(copy_s, 1e-6), 1),
                            "mib_per_s": round(sizes / 2**20 / import_s, 1)},
            "case_list": {"cases": max(list_cases, COMMITS), "filter_median_ms": list_ms},
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
