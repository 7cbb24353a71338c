"""The scan store: content-addressed, encrypted, written atomically.

A blob is addressed by the SHA-256 of its plaintext and stored once, encrypted as a chunked
stream (``crypto``: header, then authenticated chunks; AAD = the hash) under
``root/ab/cd/<sha256>.blob``. Memory stays bounded for 300 MB scans: files are read, sealed,
opened and hashed a chunk at a time.

A write goes to a locked temporary file in the blob's own directory, is flushed and fsync'd,
then ``os.replace``d into place and the directory fsync'd: a crash leaves either no blob or a
complete one. Temporary files of a crashed writer are removed when a store is opened (a writer
still alive holds a lock on its file, so a second process opening the store leaves it alone).
Reads verify every chunk and then the hash, so a damaged, truncated or swapped file is an error,
never wrong data.
"""

from __future__ import annotations

import errno
import hashlib
import io
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from counter_client.domain.errors import StoreError
from offline_cache.crypto import (
    DEFAULT_CHUNK_SIZE,
    STREAM_HEADER,
    Cipher,
    IntegrityError,
    StreamEncryptor,
    StreamLayout,
)

if os.name == "posix":
    import fcntl
else:  # pragma: no cover - Windows: an open file cannot be deleted, which protects live temp files
    fcntl = None

log = logging.getLogger(__name__)

BLOB_SUFFIX = ".blob"
TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"
HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")
FANOUT_PATTERN = re.compile(r"^[0-9a-f]{2}$")
CONTEXT_PREFIX = b"blob:"
DEFAULT_MIN_FREE_BYTES = 256 * 1024 * 1024
READ_SIZE = 1024 * 1024
FILE_MODE = 0o600
DIR_MODE = 0o700
TEMP_CREATE_ATTEMPTS = 5
DISK_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
DISK_FULL_WINERRORS = {39, 112}  # ERROR_HANDLE_DISK_FULL, ERROR_DISK_FULL
DIR_FSYNC_UNSUPPORTED = {errno.EINVAL, errno.EBADF, errno.EACCES, getattr(errno, "ENOTSUP", errno.EINVAL)}

NO_SPACE_MESSAGE = ("磁盘空间不足：保存该扫描件约需 {need} MB，当前可用 {free} MB（须保留至少 {keep} MB）。"
                    "扫描件未保存，请清理磁盘后重试。")
DISK_FULL_MESSAGE = "磁盘空间不足，扫描件未能保存。请清理磁盘后重试。"
WRITE_FAILED_MESSAGE = "扫描件保存失败（本地磁盘写入出错），请重试；若反复出现请联系技术支持。"
BLOB_INTEGRITY_MESSAGE = ("数据校验失败：本地保存的扫描件（{short}）已损坏或被篡改，无法读取。"
                          "请重新扫描该材料；若反复出现请联系技术支持。")
MISSING_MESSAGE = "找不到本地保存的扫描件（{short}），可能已被清理或删除。请重新扫描该材料。"
SOURCE_UNREADABLE_MESSAGE = "无法读取文件“{name}”，请确认文件存在且未被其他程序占用后重试。"
SOURCE_CHANGED_MESSAGE = "文件“{name}”在保存过程中被修改，未保存。请等扫描完成后重新导入。"
READ_FAILED_MESSAGE = "读取本地保存的扫描件（{short}）失败，请重试；若反复出现请联系技术支持。"


@dataclass(frozen=True)
class BlobRef:
    """A stored blob: the SHA-256 (hex) of its plaintext and its size in bytes."""

    sha256: str
    size: int


def _context(sha256: str) -> bytes:
    return CONTEXT_PREFIX + sha256.encode("ascii")


def _fsync_dir(path: Path) -> None:
    """Make a rename or new entry in ``path`` durable (not possible on Windows: skipped)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems (network, FUSE) cannot fsync a directory
        if exc.errno not in DIR_FSYNC_UNSUPPORTED:
            raise
    finally:
        os.close(fd)


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _is_disk_full(exc: OSError) -> bool:
    return exc.errno in DISK_FULL_ERRNOS or getattr(exc, "winerror", None) in DISK_FULL_WINERRORS


class BlobStore:
    """Encrypted, content-addressed blobs under ``root``; safe to share between threads."""

    def __init__(self, root: str | Path, cipher: Cipher, *, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
                 chunk_size: int = DEFAULT_CHUNK_SIZE):
        self.root = Path(root)
        self.min_free_bytes = min_free_bytes
        self._cipher = cipher
        self._chunk_size = chunk_size
        self.root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
        self._clean_stray_temps()

    # -- addresses --------------------------------------------------------------------------
    @staticmethod
    def _check_hash(sha256: str) -> str:
        sha = sha256.lower()
        if not HASH_PATTERN.match(sha):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return sha

    def path_for(self, sha256: str) -> Path:
        sha = self._check_hash(sha256)
        return self.root / sha[:2] / sha[2:4] / (sha + BLOB_SUFFIX)

    # -- writing ----------------------------------------------------------------------------
    def put(self, data: bytes | bytearray | memoryview) -> BlobRef:
        """Store ``data`` (once: the same content again writes nothing) and return its address."""
        view = memoryview(data).cast("B")
        sha = hashlib.sha256(view).hexdigest()

        def fill(enc: StreamEncryptor, out: BinaryIO) -> None:
            out.writelines(enc.chunks(view))

        return self._store(sha, len(view), fill)

    def put_file(self, path: str | Path, progress: Callable[[int, int], None] | None = None) -> BlobRef:
        """Store the file at ``path`` a chunk at a time (two reads: hash first, then encrypt).

        ``progress(done, total)`` is called after each chunk; raising from it (e.g. ``Cancelled``)
        abandons the write and leaves nothing behind.
        """
        path = Path(path)
        digest, size = hashlib.sha256(), 0
        try:
            with open(path, "rb") as src:
                while block := src.read(READ_SIZE):
                    digest.update(block)
                    size += len(block)
        except OSError as exc:
            raise StoreError(SOURCE_UNREADABLE_MESSAGE.format(name=path.name), f"cannot read {path}: {exc}") from exc
        sha = digest.hexdigest()

        def fill(enc: StreamEncryptor, out: BinaryIO) -> None:
            layout, again, done = enc.layout, hashlib.sha256(), 0
            try:
                src = open(path, "rb")
            except OSError as exc:
                raise StoreError(SOURCE_UNREADABLE_MESSAGE.format(name=path.name),
                                 f"cannot reopen {path}: {exc}") from exc
            with src:
                out.write(enc.header)
                for i in range(layout.chunk_count):
                    want = layout.plain_length(i)
                    try:
                        block = src.read(want)
                    except OSError as exc:
                        raise StoreError(SOURCE_UNREADABLE_MESSAGE.format(name=path.name),
                                         f"cannot read {path}: {exc}") from exc
                    if len(block) != want:
                        break
                    again.update(block)
                    out.write(enc.seal(block))
                    done += want
                    if progress is not None:
                        progress(done, size)
            if done != size or again.hexdigest() != sha:
                raise StoreError(SOURCE_CHANGED_MESSAGE.format(name=path.name),
                                 f"{path} changed while being stored (expected {sha}, {size} bytes)")

        return self._store(sha, size, fill)

    def _store(self, sha: str, size: int, fill: Callable[[StreamEncryptor, BinaryIO], None]) -> BlobRef:
        target = self.path_for(sha)
        ref = BlobRef(sha, size)
        if self._looks_complete(target, size):
            return ref
        enc = self._cipher.stream_encryptor(size, _context(sha), self._chunk_size)
        self._check_space(enc.layout.total_length, sha)
        try:
            directory = self._make_dirs(sha)
            tmp, fd = self._create_temp(directory, sha)
        except OSError as exc:
            raise self._write_error(exc, sha) from exc
        try:
            with open(fd, "wb") as out:
                fill(enc, out)
                out.flush()
                os.fsync(out.fileno())
                if os.name == "posix":  # still locked: no cleaner can take the finished temp file
                    os.replace(tmp, target)
            if os.name != "posix":  # Windows cannot rename an open file
                os.replace(tmp, target)
            _fsync_dir(directory)
        except BaseException as exc:
            _unlink_quietly(tmp)
            if isinstance(exc, OSError):
                raise self._write_error(exc, sha) from exc
            raise
        return ref

    def _looks_complete(self, target: Path, size: int) -> bool:
        """A blob already in place, structurally whole and readable here (dedupe without reading it)."""
        try:
            with open(target, "rb") as f:
                header = f.read(STREAM_HEADER.size)
                actual = os.fstat(f.fileno()).st_size
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("cannot inspect existing blob %s, rewriting it: %s", target.name, exc)
            return False
        try:
            layout = StreamLayout.parse(header)
        except StoreError as exc:
            log.warning("existing blob %s is damaged, rewriting it: %s", target.name, exc.log)
            return False
        if layout.size != size or layout.total_length != actual or not self._cipher.has_key(layout.key_id):
            log.warning("existing blob %s is damaged or under an unknown key, rewriting it", target.name)
            return False
        return True

    def _check_space(self, needed: int, sha: str) -> None:
        free = shutil.disk_usage(self.root).free
        if free - needed < self.min_free_bytes:
            mb = 1024 * 1024
            raise StoreError(
                NO_SPACE_MESSAGE.format(need=-(-needed // mb), free=free // mb, keep=self.min_free_bytes // mb),
                f"refusing blob {sha}: {needed} bytes needed, {free} free, minimum {self.min_free_bytes}")

    def _make_dirs(self, sha: str) -> Path:
        directory = self.root
        for part in (sha[:2], sha[2:4]):
            parent, directory = directory, directory / part
            if not directory.is_dir():
                directory.mkdir(mode=DIR_MODE, exist_ok=True)
                _fsync_dir(parent)
        return directory

    def _create_temp(self, directory: Path, sha: str) -> tuple[Path, int]:
        """A new temporary file, locked (POSIX) so a store opened elsewhere does not delete it."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(TEMP_CREATE_ATTEMPTS):
            tmp = directory / f"{TEMP_PREFIX}{sha[:16]}-{secrets.token_hex(6)}{TEMP_SUFFIX}"
            fd = os.open(tmp, flags, FILE_MODE)
            if fcntl is None:
                return tmp, fd
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:  # a cleaner may have removed the file between creation and locking: then retry
                if os.stat(tmp).st_ino == os.fstat(fd).st_ino:
                    return tmp, fd
            except FileNotFoundError:
                pass
            os.close(fd)
        raise OSError(errno.EAGAIN, "could not create a temporary blob file", str(directory))

    def _write_error(self, exc: OSError, sha: str) -> StoreError:
        if _is_disk_full(exc):
            return StoreError(DISK_FULL_MESSAGE, f"disk full writing blob {sha}: {exc}")
        return StoreError(WRITE_FAILED_MESSAGE, f"cannot write blob {sha}: {exc}")

    # -- reading ----------------------------------------------------------------------------
    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The plaintext size from the blob's header (authenticated when the blob is read)."""
        sha = self._check_hash(sha256)
        with self._open(sha) as f:
            return self._layout(sha, f.read(STREAM_HEADER.size)).size

    def get(self, sha256: str) -> bytes:
        """The whole blob, verified (use ``iter_chunks`` or ``open_stream`` for large scans)."""
        out = bytearray()
        for chunk in self.iter_chunks(sha256):
            out += chunk
        return bytes(out)

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        """The plaintext a chunk at a time; each chunk is authenticated before it is yielded, and
        the SHA-256 of the whole is checked after the last one (a mismatch raises)."""
        sha = self._check_hash(sha256)
        with self._open(sha) as f:
            dec = self._decryptor(sha, f.read(STREAM_HEADER.size))
            layout = dec.layout
            actual = os.fstat(f.fileno()).st_size
            if actual != layout.total_length:
                raise IntegrityError(BLOB_INTEGRITY_MESSAGE.format(short=sha[:12]),
                                     f"blob {sha} has {actual} bytes, its header says {layout.total_length} "
                                     "(truncated or extended)")
            digest = hashlib.sha256()
            for i in range(layout.chunk_count):
                try:
                    sealed = f.read(layout.sealed_length(i))
                except OSError as exc:
                    raise StoreError(READ_FAILED_MESSAGE.format(short=sha[:12]), f"cannot read blob {sha}: {exc}") from exc
                try:
                    plain = dec.open(i, sealed)
                except IntegrityError as exc:
                    raise IntegrityError(BLOB_INTEGRITY_MESSAGE.format(short=sha[:12]),
                                         f"blob {sha}: {exc.log}") from None
                digest.update(plain)
                yield plain
            if digest.hexdigest() != sha:
                raise IntegrityError(BLOB_INTEGRITY_MESSAGE.format(short=sha[:12]),
                                     f"blob {sha} decrypted to content with hash {digest.hexdigest()}")

    def open_stream(self, sha256: str) -> io.BufferedReader:
        """A read-only file object over the verified plaintext (e.g. for a streamed upload)."""
        return io.BufferedReader(_ChunkReader(self.iter_chunks(sha256)), buffer_size=READ_SIZE)

    def verify(self, sha256: str) -> BlobRef:
        """Read the whole blob and check it; raises ``StoreError`` if it is damaged."""
        size = 0
        for chunk in self.iter_chunks(sha256):
            size += len(chunk)
        return BlobRef(self._check_hash(sha256), size)

    def hashes(self) -> Iterator[str]:
        """The hashes of all blobs present (for retention and checks)."""
        for path in sorted(self.root.glob(f"??/??/*{BLOB_SUFFIX}")):
            name = path.name[:-len(BLOB_SUFFIX)]
            if HASH_PATTERN.match(name) and path.parent.parent.name == name[:2] and path.parent.name == name[2:4]:
                yield name

    def _open(self, sha: str) -> BinaryIO:
        path = self.path_for(sha)
        try:
            return open(path, "rb")
        except FileNotFoundError:
            raise StoreError(MISSING_MESSAGE.format(short=sha[:12]), f"blob {sha} is missing") from None
        except OSError as exc:
            raise StoreError(READ_FAILED_MESSAGE.format(short=sha[:12]), f"cannot open blob {sha}: {exc}") from exc

    def _layout(self, sha: str, header: bytes) -> StreamLayout:
        try:
            return StreamLayout.parse(header)
        except IntegrityError as exc:
            raise IntegrityError(BLOB_INTEGRITY_MESSAGE.format(short=sha[:12]), f"blob {sha}: {exc.log}") from None

    def _decryptor(self, sha: str, header: bytes):
        self._layout(sha, header)
        try:
            return self._cipher.stream_decryptor(header, _context(sha))
        except IntegrityError as exc:
            raise IntegrityError(exc.message, f"blob {sha}: {exc.log}") from None

    # -- removing ---------------------------------------------------------------------------
    def delete(self, sha256: str) -> bool:
        """Remove a blob (retention); False if it was not there."""
        path = self.path_for(sha256)
        try:
            os.unlink(path)
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def _clean_stray_temps(self) -> None:
        removed = 0
        for temp in self.root.glob(f"??/??/{TEMP_PREFIX}*{TEMP_SUFFIX}"):
            if FANOUT_PATTERN.match(temp.parent.name) and FANOUT_PATTERN.match(temp.parent.parent.name):
                removed += self._remove_if_abandoned(temp)
        if removed:
            log.info("removed %d temporary file(s) left by an interrupted write under %s", removed, self.root)

    @staticmethod
    def _remove_if_abandoned(temp: Path) -> bool:
        if fcntl is None:  # pragma: no cover - Windows refuses to delete a file another writer holds open
            try:
                os.unlink(temp)
            except OSError:
                return False
            return True
        try:
            fd = os.open(temp, os.O_RDONLY)
        except OSError:
            return False
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a live writer holds it
                return False
            _unlink_quietly(temp)
            return True
        finally:
            os.close(fd)


class _ChunkReader(io.RawIOBase):
    """Raw reads over an iterator of byte chunks."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        super().close()
