"""Content-addressed blobs, uploaded resumably (the tus 1.0 core protocol, with PATCH creating).

Files: ``blobs/partial/<sha256>`` while an upload is under way, ``blobs/<sha256[:2]>/<sha256>``
once verified. The database row (``blobs``) holds the announced length and whether the blob is
complete; the offset of a partial upload is the size of its file, i.e. the bytes on disk: every
chunk is fsynced before it is acknowledged, so after a crash or a restart the offset is what
survived, and the client resumes from there. When the offset reaches the length the whole file is
hashed (read back from disk: a corrupt disk shows too); a mismatch discards the upload.

One upload per blob at a time: ``UploadLocks`` refuses a second concurrent PATCH (the client's
retry while its first request is still being read) instead of interleaving writes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from counter_client.refplatform import utc_iso
from counter_client.refplatform.store import PlatformStore

log = logging.getLogger(__name__)

SHA256_PATTERN = r"^[0-9a-f]{64}$"
_SHA256 = re.compile(SHA256_PATTERN)
HASH_READ_BYTES = 1024 * 1024


class OffsetMismatch(Exception):
    def __init__(self, offset: int, length: int | None):
        super().__init__(offset)
        self.offset = offset
        self.length = length


class LengthMismatch(Exception):
    def __init__(self, length: int):
        super().__init__(length)
        self.length = length


class LengthRequired(Exception):
    """The first PATCH of an upload must say the blob's total size (``Upload-Length``)."""


class HashMismatch(Exception):
    def __init__(self, actual: str):
        super().__init__(actual)
        self.actual = actual


@dataclass(frozen=True)
class BlobState:
    sha256: str
    length: int
    offset: int
    complete: bool
    verified_at: str | None = None


def valid_sha256(text: str) -> bool:
    return bool(_SHA256.match(text))


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # directories cannot be opened for fsync there; NTFS journals renames
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """The blob files of a data directory and their rows; methods take the thread's store."""

    def __init__(self, data_dir: Path):
        self.root = Path(data_dir) / "blobs"
        self.partial_dir = self.root / "partial"

    def complete_path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def partial_path(self, sha256: str) -> Path:
        return self.partial_dir / sha256

    def state(self, store: PlatformStore, sha256: str) -> BlobState | None:
        row = store.conn.execute(
            "SELECT length, complete, verified_at FROM blobs WHERE sha256 = ?", (sha256,)
        ).fetchone()
        if row is None:
            return None
        length, complete, verified_at = row
        if complete:
            return BlobState(sha256, length, length, True, verified_at)
        try:
            offset = self.partial_path(sha256).stat().st_size
        except FileNotFoundError:
            offset = 0
        return BlobState(sha256, length, min(offset, length), False)

    def states(self, store: PlatformStore, hashes: list[str]) -> dict[str, BlobState]:
        found = {}
        for sha256 in dict.fromkeys(hashes):
            state = self.state(store, sha256)
            if state is not None:
                found[sha256] = state
        return found

    def open_for_append(self, store: PlatformStore, sha256: str, offset: int, length: int | None,
                        ) -> tuple[BlobState, BinaryIO | None]:
        """Check a PATCH against the upload's state; returns the state and, unless the blob is
        complete already, the partial file opened at ``offset`` (created with the upload)."""
        state = self.state(store, sha256)
        if state is not None and state.complete:
            return state, None
        if state is None:
            if length is None:
                raise LengthRequired()
            if offset != 0:
                raise OffsetMismatch(0, None)
            self.partial_dir.mkdir(parents=True, exist_ok=True)
            with open(self.partial_path(sha256), "wb") as fh:  # truncates a leftover without a row
                os.fsync(fh.fileno())
            _fsync_dir(self.partial_dir)
            with store.write():
                store.conn.execute(
                    "INSERT INTO blobs (sha256, length, created_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (sha256) DO NOTHING",
                    (sha256, length, utc_iso()),
                )
            state = self.state(store, sha256)
            assert state is not None
        if length is not None and length != state.length:
            raise LengthMismatch(state.length)
        if offset != state.offset:
            raise OffsetMismatch(state.offset, state.length)
        path = self.partial_path(sha256)
        fh = open(path, "r+b" if path.exists() else "w+b")
        fh.seek(offset)
        fh.truncate()  # nothing beyond the acknowledged offset (there never is; cheap to be sure)
        return state, fh

    def finish_chunk(self, store: PlatformStore, state: BlobState, fh: BinaryIO) -> BlobState:
        """Make the appended bytes durable; verify and publish the blob when it is whole.
        Raises ``HashMismatch`` (the upload is then gone) when the content is not the hash."""
        fh.flush()
        os.fsync(fh.fileno())
        offset = fh.tell()
        fh.close()
        if offset < state.length:
            return BlobState(state.sha256, state.length, offset, False)
        return self._verify(store, state)

    def _verify(self, store: PlatformStore, state: BlobState) -> BlobState:
        partial = self.partial_path(state.sha256)
        digest = hashlib.sha256()
        with open(partial, "rb") as fh:
            while chunk := fh.read(HASH_READ_BYTES):
                digest.update(chunk)
        actual = digest.hexdigest()
        if actual != state.sha256:
            self.discard(store, state.sha256)
            log.warning("blob %s discarded: its %d bytes hash to %s", state.sha256, state.length, actual)
            raise HashMismatch(actual)
        final = self.complete_path(state.sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        _fsync_dir(final.parent)
        _fsync_dir(self.partial_dir)
        verified_at = utc_iso()
        with store.write():
            store.conn.execute("UPDATE blobs SET complete = 1, verified_at = ? WHERE sha256 = ?",
                               (verified_at, state.sha256))
        log.info("blob %s verified (%d bytes)", state.sha256, state.length)
        return BlobState(state.sha256, state.length, state.length, True, verified_at)

    def truncate(self, sha256: str, offset: int) -> None:
        """Drop what a refused PATCH appended after ``offset``."""
        try:
            with open(self.partial_path(sha256), "r+b") as fh:
                fh.truncate(offset)
                os.fsync(fh.fileno())
        except FileNotFoundError:
            pass

    def discard(self, store: PlatformStore, sha256: str) -> None:
        with store.write():
            store.conn.execute("DELETE FROM blobs WHERE sha256 = ? AND complete = 0", (sha256,))
        try:
            self.partial_path(sha256).unlink()
        except FileNotFoundError:
            pass

    def disk_hash(self, sha256: str) -> tuple[str, int] | None:
        """SHA-256 and size of a complete blob's file as it is on disk now (operator checks)."""
        path = self.complete_path(sha256)
        if not path.exists():
            return None
        digest = hashlib.sha256()
        size = 0
        with open(path, "rb") as fh:
            while chunk := fh.read(HASH_READ_BYTES):
                digest.update(chunk)
                size += len(chunk)
        return digest.hexdigest(), size


class UploadLocks:
    """Which blobs have a PATCH in progress in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[str] = set()

    def acquire(self, sha256: str) -> bool:
        with self._lock:
            if sha256 in self._busy:
                return False
            self._busy.add(sha256)
            return True

    def release(self, sha256: str) -> None:
        with self._lock:
            self._busy.discard(sha256)
