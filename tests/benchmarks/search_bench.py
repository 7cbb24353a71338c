"""Search latency on a synthetic catalogue, through the service layer, against a LIKE scan."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path

from counter_client.domain.search import SearchFilters, pinyin_keys
from counter_client.paths import resources_dir
from counter_client.refplatform.generator import CatalogueGenerator
from counter_client.services.catalogue import CatalogueService
from offline_cache.catalogue import open_catalogue, prepare_batch

BATCH = 500
LIMIT = 50
HALL = "511324"


def build(path: Path, n: int) -> float:
    """Write a synthetic catalogue of ``n`` guides the way a refresh does; returns seconds."""
    store = open_catalogue(path)
    gen = CatalogueGenerator.from_regions(resources_dir() / "regions")
    started = time.perf_counter()
    batch = []
    with store.update() as update:
        update.replace_agreements(gen.agreements(n))
        for g in gen.guides(n):
            batch.append(g)
            if len(batch) == BATCH:
                update.put(prepare_batch(batch, {}))
                batch = []
        if batch:
            update.put(prepare_batch(batch, {}))
        update.finish(1)
    seconds = time.perf_counter() - started
    store.close()
    return seconds


def queries(service: CatalogueService, count: int, seed: int = 11) -> dict[str, list[str]]:
    """Queries a clerk would type, drawn from the catalogue itself (so they do match)."""
    rng = random.Random(seed)
    rows = service.store.store.db.execute(
        "SELECT name, code FROM guide ORDER BY random() LIMIT 3000").fetchall()
    out: dict[str, list[str]] = {"chinese": [], "initials": [], "code_prefix": []}
    for _ in range(count):
        name, code = rng.choice(rows)
        length = rng.choice([1, 2, 3, 4])
        start = rng.randrange(max(1, len(name) - length))
        out["chinese"].append(name[start:start + length])
        initials = pinyin_keys(name)[1]
        length = rng.choice([2, 3, 4])
        start = rng.randrange(max(1, len(initials) - length))
        out["initials"].append(initials[start:start + length])
        out["code_prefix"].append(code[: rng.randint(4, min(12, len(code)))])
    return out


def timed(fn, items: list[str]) -> list[float]:
    times = []
    for q in items:
        t = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - t) * 1000)
    return times


def summary(times: list[float]) -> dict:
    ordered = sorted(times)
    return {"median_ms": round(statistics.median(ordered), 3),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)], 3),
            "max_ms": round(ordered[-1], 3)}


def run(n: int, count: int = 300) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalogue.sqlite3"
        build_s = build(path, n)
        store = open_catalogue(path)
        service = CatalogueService(store, hall_region=HALL)
        qs = queries(service, count)
        result: dict = {"guides": n, "build_s": round(build_s, 2),
                        "db_mib": round(path.stat().st_size / 2**20, 1)}
        for kind, items in qs.items():
            service.search(items[0])  # warm the connection and caches
            ours = summary(timed(lambda q: service.search(q, limit=LIMIT), items))
            filtered = summary(timed(lambda q: service.search(q, SearchFilters(collectable_at=HALL), LIMIT), items))
            like = summary(timed(lambda q: store.like_scan(q, LIMIT), items[: max(20, count // 5)]))
            result[kind] = {"search": ours, "search_collectable_filter": filtered, "like_scan": like,
                            "ratio_p99_like_over_search": round(like["p99_ms"] / max(ours["p99_ms"], 1e-6), 1),
                            "examples": items[:5]}
        store.close()
        return result
