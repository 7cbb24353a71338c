"""Catalogue use cases: search, guide look-up, and refresh from the platform.

Refresh downloads only what differs: a delta since the local version when the platform can give
one, otherwise the manifest compared hash by hash with the local catalogue (a first sync is the
case where nothing is local; a switch to another platform compares by hash too, so only what
differs is downloaded). Departments, agreements and regions are fetched with their ETags.
Guides arrive in batches, each validated and written inside one transaction that commits only
at the end (``offline_cache.catalogue``), so a failure at any point leaves the old catalogue in
use; the working-day calendar is written in the same transaction. The next batches download and
are validated and turned into rows on helper threads while the current one is written.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Callable, Iterator

import msgspec

from counter_client.domain.catalogue import Department, Guide
from counter_client.domain.search import SearchFilters, SearchHit
from counter_client.errors import Cancelled, InvalidCatalogue, PlatformError
from counter_client.platform_api import wire
from counter_client.platform_api.results import DeltaUnavailable, Fetched
from counter_client.platform_api.wire import ManifestEntry
from offline_cache.catalogue import (
    CatalogueInfo,
    CatalogueStore,
    CatalogueUpdate,
    PreparedBatch,
    prepare_batch,
)

if TYPE_CHECKING:
    from counter_client.platform_api.client import PlatformClient

log = logging.getLogger(__name__)

AHEAD = 3  # batches downloading, decoding or ready ahead of the writer (about 10 MB)
SWITCH_INTERVAL_S = 0.0005  # during a refresh (see _threads_interleaved)
Progress = Callable[[int, int, str], None]
IsCancelled = Callable[[], bool]


@dataclass(frozen=True)
class RefreshResult:
    mode: str  # full | delta | unchanged
    version: int
    changed: int
    removed: int
    guide_count: int
    bytes_received: int
    requests: int
    seconds: float

    def as_json(self) -> dict:
        return self.__dict__.copy()

    def summary(self) -> str:
        if self.mode == "unchanged":
            return f"目录已是最新（版本 {self.version}，共 {self.guide_count} 项）。"
        return (f"目录已更新到版本 {self.version}：更新 {self.changed} 项，删除 {self.removed} 项，"
                f"共 {self.guide_count} 项。")


class CatalogueService:
    """Search and refresh of the offline catalogue."""

    def __init__(self, store: CatalogueStore, hall_region: str | None = None, batch_size: int = 500):
        self.store = store
        self.hall_region = hall_region or None
        self.batch_size = batch_size

    # -- reading -------------------------------------------------------------------------------
    def search(self, query: str, filters: SearchFilters = SearchFilters(), limit: int = 50) -> list[SearchHit]:
        return self.store.search(query, filters, limit, hall_region=self.hall_region)

    def guide(self, code: str) -> Guide | None:
        return self.store.guide(code.strip())

    def info(self) -> CatalogueInfo:
        return self.store.info()

    def tidy(self) -> None:
        """Housekeeping after a large update (WAL checkpoint); safe to skip, run it off the GUI thread."""
        self.store.store.checkpoint()

    def department(self, code: str) -> Department | None:
        return self.store.department(code)

    def region_full_name(self, code: str) -> str:
        """``440305`` -> ``广东省深圳市南山区`` (the code itself when unknown)."""
        return self.store.region_full_name(code)

    def region_name(self, code: str) -> str:
        """The region's own name (``南山区``), ``""`` when unknown."""
        region = self.store.region(code)
        return region.name if region else ""

    def departments_in_use(self) -> list[tuple[str, str, int, str]]:
        """(code, name, guide count, 办理地) of the departments that implement guides: the filter's choices."""
        return self.store.departments_in_use()

    def regions_in_use(self) -> list[str]:
        """The distinct 办理地 codes of the guides: the region filter's choices."""
        return self.store.regions_in_use()

    def collectable(self, guide: Guide, hall_region: str | None = None) -> list[str]:
        """Why this hall may collect for the guide: ``["全国跨省通办清单"]``, agreement names, or []."""
        hall = hall_region or self.hall_region
        reasons = ["全国跨省通办清单"] if guide.national_list else []
        if hall:
            reasons += self.store.agreements_covering(hall, guide.handling_region, guide.basic_code)
        return reasons

    # -- refresh -------------------------------------------------------------------------------
    def refresh(self, client: PlatformClient, progress: Progress | None = None,
                cancelled: IsCancelled | None = None) -> RefreshResult:
        """Bring the local catalogue up to the platform's; blocking (run it off the GUI thread)."""
        progress = progress or (lambda done, total, label: None)
        cancelled = cancelled or (lambda: False)
        started = time.monotonic()
        req0, bytes0 = client.requests_made, client.bytes_received
        store = self.store
        same_platform = store.meta("platform") == client.base_url
        local_version = store.version() if same_platform else None

        progress(0, 0, "正在检查目录更新…")
        mode, version, to_fetch, removed, catalogue_id = self._plan(client, local_version)
        meta: dict[str, str | int | None] = {"refreshed_at": _now(), "platform": client.base_url,
                                             "catalogue_id": catalogue_id}
        total = len(to_fetch)
        known_calendar = store.calendar_years()
        with _threads_interleaved(), _Downloads(client, to_fetch, self.batch_size, cancelled) as downloads, \
                store.update() as update:
            calendar = downloads.run(self._fetch_calendar, client, known_calendar)
            changed_reference = self._update_reference_data(client, update, meta, force=not same_platform,
                                                            departments_written=downloads.prepare_with)
            if mode == "unchanged" and not changed_reference:
                summary = None  # leaving without finish(): nothing written
                years, calendar_error = calendar.result()  # saved below, on their own
            else:
                if cancelled():
                    raise Cancelled()
                done = 0
                for chunk, batch in downloads:
                    update.put(batch)
                    done += len(chunk)
                    progress(done, total, f"正在下载事项指南 {done}/{total}")
                if cancelled():
                    raise Cancelled()
                update.remove(removed)
                # The calendar is written in this transaction: a write of its own after the
                # commit would be the one to copy the whole WAL of a large update back into the
                # file (the checkpoint ``CatalogueUpdate`` leaves to later). It is auxiliary data,
                # so failing to fetch it does not hold back the catalogue: the error is raised
                # once the catalogue is committed, as when the calendar was fetched afterwards.
                years, calendar_error = calendar.result()
                for year, body in years:
                    update.save_calendar_year(year, body)
                progress(total, total, "正在启用新目录…")
                summary = update.finish(version, meta)
        if summary is None:
            for year, body in years:
                store.save_calendar_year(year, body)
        if calendar_error is not None:
            raise calendar_error
        if summary is None:
            store.set_meta(refreshed_at=meta["refreshed_at"])
            return self._result("unchanged", version, 0, 0, client, req0, bytes0, started,
                                store.info().guide_count)
        log.info("catalogue %s refresh to version %s: %s changed, %s removed, %s guides",
                 mode, version, summary.changed, summary.removed, summary.guide_count)
        return self._result("delta" if mode == "unchanged" else mode, version, summary.changed,
                            summary.removed, client, req0, bytes0, started, summary.guide_count)

    def _plan(self, client: PlatformClient, local_version: int | None
              ) -> tuple[str, int, list[tuple[str, str]], list[str], str]:
        """(mode, target version, [(code, hash) to download], [codes to remove], catalogue id).

        A delta is used only when the platform's catalogue is the one our version number came
        from (same ``catalogue_id``); a re-created platform catalogue restarts its numbering."""
        local = self.store.local_hashes()
        if local_version is not None:
            try:
                changes = client.changes(local_version)
                if changes.catalogue_id != (self.store.meta("catalogue_id") or ""):
                    raise DeltaUnavailable("目录来源已变化", f"catalogue id changed to {changes.catalogue_id!r}")
            except DeltaUnavailable as exc:
                log.info("delta unavailable (%s); comparing the full manifest", exc.log)
            else:
                to_fetch = [(e.code, e.hash) for e in changes.changed if local.get(e.code) != e.hash]
                removed = [c for c in changes.removed if c in local]
                version = changes.catalogue_version
                unchanged = not to_fetch and not removed and version == local_version
                return ("unchanged" if unchanged else "delta"), version, to_fetch, removed, changes.catalogue_id
        manifest = client.manifest().value
        _check_unique(manifest.guides)
        to_fetch = [(e.code, e.hash) for e in manifest.guides if local.get(e.code) != e.hash]
        remote = {e.code for e in manifest.guides}
        removed = [code for code in local if code not in remote]
        return "full", manifest.catalogue_version, to_fetch, removed, manifest.catalogue_id

    @staticmethod
    def _update_reference_data(client: PlatformClient, update: CatalogueUpdate, meta: dict, force: bool,
                               departments_written: Callable[[dict[str, str]], None] = lambda names: None
                               ) -> bool:
        """Departments, agreements and regions that changed (by ETag), written into ``update``
        one at a time so that large lists (45,000 regions) are not all held at once.

        ``departments_written`` gets department code -> name as the update now has them, as
        soon as departments are done (guide rows carry these names: the batches downloaded
        meanwhile can be turned into rows while agreements and regions are written)."""
        store = update.catalogue
        changed = False
        for key, call, write in (("departments", client.departments, update.replace_departments),
                                 ("agreements", client.agreements, update.replace_agreements),
                                 ("regions", client.regions, update.replace_regions)):
            fetched: Fetched = call(etag=None if force else store.meta(f"{key}_etag"))
            if not fetched.not_modified:
                write(getattr(fetched.value, key))
                meta[f"{key}_etag"] = fetched.etag or ""
                if key == "regions":
                    meta["regions_version"] = fetched.value.version
                changed = True
            del fetched
            if key == "departments":
                departments_written(update.department_names())
        return changed

    @staticmethod
    def _fetch_calendar(client: PlatformClient, known: dict[int, dict]
                        ) -> tuple[list[tuple[int, dict]], Exception | None]:
        """The platform's working-day calendars of this year and the next that differ from
        ``known`` (due dates need them when the holiday library does not know a year; a year the
        platform lacks is skipped): ([(year, body to save)], the error that stopped the fetching)."""
        this_year = datetime.now().year
        years: list[tuple[int, dict]] = []
        try:
            for year in (this_year, this_year + 1):
                fetched = client.calendar(year, etag=known.get(year, {}).get("etag"))
                if fetched is None or fetched.not_modified or fetched.value.year != year:
                    continue
                years.append((year, msgspec.to_builtins(fetched.value) | {"etag": fetched.etag or ""}))
        except Exception as exc:  # noqa: BLE001 - the caller raises it once what was fetched is saved
            return years, exc
        return years, None

    def calendar_years(self) -> dict[int, tuple]:
        """Year -> (holidays, workdays, source, verified) as the platform supplied them."""
        return {year: (body.get("holidays", []), body.get("workdays", []), body.get("source", "") or "平台",
                       bool(body.get("verified", True)))
                for year, body in self.store.calendar_years().items()}

    @staticmethod
    def _result(mode: str, version: int, changed: int, removed: int, client: PlatformClient,
                req0: int, bytes0: int, started: float, count: int = 0) -> RefreshResult:
        return RefreshResult(mode, version, changed, removed, count, client.bytes_received - bytes0,
                             client.requests_made - req0, round(time.monotonic() - started, 3))


_runtime_lock = threading.Lock()
_runtime_users = 0
_runtime_saved: float | None = None


@contextmanager
def _threads_interleaved() -> Iterator[None]:
    """The interpreter tuned for a refresh's threads, as long as one runs.

    The writer's thread spends most of its time inside SQLite without the GIL and needs it back
    for a moment after each statement, while the decoding thread holds it for long stretches of
    msgspec and search-key work: with the default switch interval (5 ms) the writer waits up to
    that long for each statement, so it is shortened (other threads, the GUI's among them, get
    the GIL back sooner too). The objects that exist before the refresh are left out of garbage
    collection meanwhile (``gc.freeze``): decoding allocates millions of short-lived objects, and
    each full collection would otherwise walk the whole process, every module included.
    """
    global _runtime_users, _runtime_saved
    with _runtime_lock:
        _runtime_users += 1
        if _runtime_users == 1:
            _runtime_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_runtime_saved, SWITCH_INTERVAL_S))
            gc.freeze()
    try:
        yield
    finally:
        with _runtime_lock:
            _runtime_users -= 1
            if _runtime_users == 0:
                gc.unfreeze()
                if _runtime_saved is not None:
                    sys.setswitchinterval(_runtime_saved)


class _Downloads:
    """Guide batches downloaded on one helper thread and validated and turned into rows on
    another, ahead of the writer.

    The first batches are requested on entry, so they download while departments, agreements
    and regions are written; their rows wait for ``prepare_with`` (they carry department names
    as this update writes them). ``AHEAD`` batches are in flight, so the platform is not left
    idle while a batch is decoded. The writer's thread only runs SQLite:
    ``put`` writes each table of a batch with one statement, during which SQLite does not hold
    the GIL, so the decoding thread's Python work (msgspec, search keys) and the writer's SQLite
    work overlap instead of handing the GIL back and forth for every row.
    """

    def __init__(self, client: PlatformClient, entries: list[tuple[str, str]], batch_size: int,
                 cancelled: IsCancelled):
        self._client = client
        self._chunks = [entries[i:i + batch_size] for i in range(0, len(entries), batch_size)]
        self._cancelled = cancelled
        self._network = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-fetch")
        self._decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalogue-decode")
        self._batches: deque[Future] = deque()
        self._next = 0
        self._departments: dict[str, str] | None = None
        self._preparing = threading.Event()

    def prepare_with(self, departments: dict[str, str]) -> None:
        """Department code -> name for the rows; batches are turned into rows from now on."""
        self._departments = departments
        self._preparing.set()

    def _download(self, codes: list[str]) -> bytes:
        if self._cancelled():
            raise Cancelled()
        return self._client.guides_raw(codes)

    def _prepare(self, chunk: list[tuple[str, str]], download: Future) -> PreparedBatch:
        codes = [code for code, _ in chunk]
        guides, bodies, _missing = wire.parse_guide_batch(download.result())
        _checked_batch(codes, guides)
        self._preparing.wait()
        if self._departments is None or self._cancelled():  # the refresh ended before writing them
            raise Cancelled()
        return prepare_batch(guides, dict(chunk), self._departments,
                             {g.code: body for g, body in zip(guides, bodies)})

    def run(self, fn: Callable, *args) -> Future:
        """``fn(*args)`` on the download thread, after the batches already requested."""
        return self._network.submit(fn, *args)

    def _submit(self) -> None:
        """Keep ``AHEAD`` batches in flight (downloading, decoding or ready) ahead of the writer."""
        while self._next < len(self._chunks) and len(self._batches) < AHEAD:
            chunk = self._chunks[self._next]
            self._next += 1
            download = self._network.submit(self._download, [code for code, _ in chunk])
            self._batches.append(self._decoder.submit(self._prepare, chunk, download))

    def __enter__(self) -> "_Downloads":
        self._submit()
        return self

    def __iter__(self) -> Iterator[tuple[list[tuple[str, str]], PreparedBatch]]:
        for chunk in self._chunks:
            batch = self._batches.popleft().result()
            if self._cancelled():
                raise Cancelled()
            self._submit()
            yield chunk, batch

    def __exit__(self, *exc) -> None:
        # batches not started are dropped; one being decoded gets its download (if it waits for
        # prepare_with, it gives up), then downloads not started are dropped
        self._preparing.set()
        self._decoder.shutdown(wait=True, cancel_futures=True)
        self._network.shutdown(wait=True, cancel_futures=True)


def _checked_batch(codes: list[str], guides: list[Guide]) -> None:
    """Refuse a batch answer unless it holds exactly the codes asked for."""
    got = [g.code for g in guides]
    wanted = set(codes)
    stray = [c for c in got if c not in wanted]
    if stray:
        raise InvalidCatalogue(f"平台返回了未请求的事项指南（编码 {stray[0]}），本次更新已放弃，继续使用原目录。",
                               f"batch answered unrequested codes {stray[:5]}")
    if len(got) != len(set(got)):
        dup = next(c for c in got if got.count(c) > 1)
        raise InvalidCatalogue(f"目录数据有误：事项编码 {dup} 重复出现，本次更新已放弃，继续使用原目录。",
                               f"duplicate code {dup} in one batch")
    missing = wanted - set(got)
    if missing:
        raise PlatformError("平台目录在更新过程中发生了变化，请稍后重新更新目录。",
                            f"{len(missing)} guides of the manifest missing from the batch, e.g. {sorted(missing)[:3]}")


def _check_unique(entries: list[ManifestEntry]) -> None:
    seen: set[str] = set()
    for e in entries:
        if e.code in seen:
            raise InvalidCatalogue(f"目录清单有误：事项编码 {e.code} 重复出现，本次更新已放弃，继续使用原目录。",
                                   f"duplicate code {e.code} in manifest")
        seen.add(e.code)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
