"""Response bodies built from the stored canonical JSON, and a cache of them keyed by ETag.

The bodies are joined from stored JSON texts rather than re-serialised models: a 20,000-guide
manifest or a 500-guide batch is then a string join, and a full sync runs close to the speed of
the wire. A body depends only on the versions in its ETag, so a cached body is valid as long as
its ETag is current.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable

from counter_client.refplatform.store import CatalogueState, PlatformStore

MAX_CACHE_ENTRIES = 32
MAX_CACHE_BYTES = 256 * 1024 * 1024


def _entries(rows: list[tuple[str, int, str]]) -> str:
    return ",".join(f'{{"code":{json.dumps(code)},"version":{version},"hash":"{hash_}"}}' for code, version, hash_ in rows)


def manifest_body(store: PlatformStore, state: CatalogueState) -> bytes:
    rows = store.manifest_entries()
    return (
        f'{{"catalogue_id":{json.dumps(state.instance_id)},"catalogue_version":{state.catalogue_version},'
        f'"generated_at":{json.dumps(state.generated_at)},'
        f'"guide_count":{len(rows)},"guides":[{_entries(rows)}],'
        f'"departments_version":{state.departments_version},"agreements_version":{state.agreements_version},'
        f'"regions_version":{json.dumps(state.regions_version)}}}'
    ).encode("utf-8")


def changes_body(store: PlatformStore, state: CatalogueState, since: int) -> bytes:
    changed, removed = store.changes_since(since)
    return (
        f'{{"catalogue_id":{json.dumps(state.instance_id)},"since":{since},"catalogue_version":{state.catalogue_version},'
        f'"changed":[{_entries(changed)}],"removed":{json.dumps(removed)}}}'
    ).encode("utf-8")


def batch_body(bodies: list[bytes], missing: list[str]) -> bytes:
    tail = '],"missing":' + json.dumps(missing, ensure_ascii=False) + "}"
    return b'{"guides":[' + b",".join(bodies) + tail.encode("utf-8")


def list_body(store: PlatformStore, table: str, head: dict[str, object]) -> bytes:
    """``{**head, table: [stored JSON...]}`` for departments, agreements or regions."""
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
    separator = "," if head else ""
    return (prefix + separator + json.dumps(table) + ":[" + ",".join(store.bodies(table)) + "]}").encode("utf-8")


class BodyCache:
    """Finished bodies by ETag, least recently used dropped first, bounded in count and bytes."""

    def __init__(self, max_entries: int = MAX_CACHE_ENTRIES, max_bytes: int = MAX_CACHE_BYTES):
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._lock = threading.Lock()

    def get(self, etag: str, build: Callable[[], bytes]) -> bytes:
        with self._lock:
            body = self._items.get(etag)
            if body is not None:
                self._items.move_to_end(etag)
                return body
        body = build()  # outside the lock: two threads may build the same body, harmlessly
        with self._lock:
            if etag not in self._items:
                self._items[etag] = body
                self._bytes += len(body)
            while self._items and (len(self._items) > self._max_entries or self._bytes > self._max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)
        return body
