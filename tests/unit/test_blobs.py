"""offline_cache.blobs: round trips, dedupe, binding to the hash, tampering and truncation, no
plaintext on disk, the free-space guard, and SIGKILL at random moments while large blobs are
written (real files in tmp_path, a real child process)."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from counter_client.domain.errors import Cancelled, StoreError
from offline_cache.blobs import TEMP_SUFFIX, BlobRef, BlobStore
from offline_cache.crypto import ALGORITHMS, STREAM_HEADER, TAG_BYTES, Cipher
from offline_cache.keys import DataKeys

ROOT = Path(__file__).resolve().parents[2]
MARKER = b"PII-MARKER-11010519491231002X-\xe5\xbc\xa0\xe4\xb8\x89"
SMALL_CHUNK = 4096


@pytest.fixture(params=ALGORITHMS)
def cipher(request):
    return Cipher(DataKeys.generate(), request.param)


@pytest.fixture
def store(tmp_path, cipher):
    return BlobStore(tmp_path / "blobs", cipher, min_free_bytes=0, chunk_size=SMALL_CHUNK)


def all_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def temp_files(root: Path) -> list[Path]:
    return [p for p in all_files(root) if p.name.endswith(TEMP_SUFFIX)]


# -- round trips --------------------------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, SMALL_CHUNK - 1, SMALL_CHUNK, SMALL_CHUNK + 1, 5 * SMALL_CHUNK + 17])
def test_round_trip(store, size):
    data = os.urandom(size)
    ref = store.put(data)
    sha = hashlib.sha256(data).hexdigest()
    assert ref == BlobRef(sha, size)
    assert store.exists(sha) and store.size(sha) == size
    assert store.get(sha) == data
    assert b"".join(store.iter_chunks(sha)) == data
    with store.open_stream(sha) as stream:
        assert stream.read() == data
    path = store.path_for(sha)
    assert path == store.root / sha[:2] / sha[2:4] / f"{sha}.blob"
    chunks = max(1, -(-size // SMALL_CHUNK))
    assert path.stat().st_size == STREAM_HEADER.size + size + TAG_BYTES * chunks


def test_put_file_streams_and_matches_put(store, tmp_path):
    source = tmp_path / "scan.tiff"
    data = os.urandom(7 * SMALL_CHUNK + 3)
    source.write_bytes(data)
    seen = []
    ref = store.put_file(source, progress=lambda done, total: seen.append((done, total)))
    assert ref == BlobRef(hashlib.sha256(data).hexdigest(), len(data))
    assert store.get(ref.sha256) == data
    assert seen[-1] == (len(data), len(data)) and len(seen) == 8
    assert store.put(data) == ref


def test_put_file_cancelled_leaves_nothing(store, tmp_path):
    source = tmp_path / "scan.tiff"
    source.write_bytes(os.urandom(10 * SMALL_CHUNK))

    def cancel(done, total):
        if done > 3 * SMALL_CHUNK:
            raise Cancelled()

    with pytest.raises(Cancelled):
        store.put_file(source, progress=cancel)
    assert all_files(store.root) == []


def test_put_file_changed_while_stored(store, tmp_path):
    source = tmp_path / "scan.tiff"
    source.write_bytes(os.urandom(10 * SMALL_CHUNK))

    def rewrite(done, total):
        if done == SMALL_CHUNK:
            source.write_bytes(os.urandom(10 * SMALL_CHUNK))

    with pytest.raises(StoreError) as info:
        store.put_file(source, progress=rewrite)
    assert "被修改" in info.value.message
    assert all_files(store.root) == []


def test_missing_source_file(store, tmp_path):
    with pytest.raises(StoreError) as info:
        store.put_file(tmp_path / "gone.jpg")
    assert "gone.jpg" in info.value.message


def test_same_content_is_written_once(store):
    data = os.urandom(3 * SMALL_CHUNK)
    ref = store.put(data)
    before = store.path_for(ref.sha256).stat()
    assert store.put(bytearray(data)) == ref
    after = store.path_for(ref.sha256).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert len(all_files(store.root)) == 1


def test_damaged_existing_blob_is_rewritten_by_put(store):
    data = os.urandom(2 * SMALL_CHUNK)
    ref = store.put(data)
    path = store.path_for(ref.sha256)
    path.write_bytes(path.read_bytes()[:-5])
    assert store.put(data) == ref
    assert store.get(ref.sha256) == data


def test_delete(store):
    ref = store.put(b"scan")
    assert list(store.hashes()) == [ref.sha256]
    assert store.delete(ref.sha256) is True
    assert store.delete(ref.sha256) is False
    assert not store.exists(ref.sha256)
    with pytest.raises(StoreError) as info:
        store.get(ref.sha256)
    assert "找不到" in info.value.message


def test_bad_hash_is_a_bug(store):
    with pytest.raises(ValueError):
        store.get("../../etc/passwd")


def test_blobs_from_one_algorithm_read_with_the_other(tmp_path):
    data_keys = DataKeys.generate()
    sm4 = BlobStore(tmp_path, Cipher(data_keys, "sm4-gcm"), min_free_bytes=0, chunk_size=SMALL_CHUNK)
    aes = BlobStore(tmp_path, Cipher(data_keys, "aes-256-gcm"), min_free_bytes=0, chunk_size=SMALL_CHUNK)
    data = os.urandom(3 * SMALL_CHUNK)
    assert aes.get(sm4.put(data).sha256) == data


# -- confidentiality and integrity -----------------------------------------------------------
def test_no_plaintext_under_the_store_root(store, tmp_path):
    data = MARKER * 5000 + os.urandom(100) + MARKER
    ref = store.put(data)
    source = tmp_path / "scan.bin"
    source.write_bytes(MARKER * 3 + os.urandom(50_000))
    store.put_file(source)
    for path in all_files(store.root):
        content = path.read_bytes()
        assert MARKER not in content and MARKER[:16] not in content
        assert bytes.fromhex(ref.sha256) not in content
    assert os.stat(store.path_for(ref.sha256)).st_mode & 0o077 == 0


def test_swapped_blob_files_fail(store):
    a, b = store.put(os.urandom(100)), store.put(os.urandom(100))
    pa, pb = store.path_for(a.sha256), store.path_for(b.sha256)
    content_a, content_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(content_b)
    pb.write_bytes(content_a)
    for ref in (a, b):
        with pytest.raises(StoreError) as info:
            store.get(ref.sha256)
        assert info.value.message.startswith("数据校验失败")
        assert ref.sha256 in info.value.log


@pytest.mark.parametrize("where", ["header", "first chunk", "tag", "last byte"])
def test_a_flipped_byte_fails(store, where):
    ref = store.put(MARKER + os.urandom(3 * SMALL_CHUNK))
    path = store.path_for(ref.sha256)
    data = bytearray(path.read_bytes())
    index = {"header": 1, "first chunk": STREAM_HEADER.size + 10,
             "tag": STREAM_HEADER.size + SMALL_CHUNK + 3, "last byte": len(data) - 1}[where]
    if where == "header":
        data[index] ^= 0x03  # algorithm id 1 <-> 2
    else:
        data[index] ^= 0x40
    path.write_bytes(bytes(data))
    with pytest.raises(StoreError) as info:
        store.get(ref.sha256)
    assert "MARKER" not in info.value.log


def test_every_header_byte_is_authenticated(store):
    ref = store.put(os.urandom(2 * SMALL_CHUNK + 5))
    path = store.path_for(ref.sha256)
    good = path.read_bytes()
    for i in range(STREAM_HEADER.size):
        bad = bytearray(good)
        bad[i] ^= 0x01
        path.write_bytes(bytes(bad))
        with pytest.raises(StoreError):
            store.get(ref.sha256)
    path.write_bytes(good)
    store.verify(ref.sha256)


def test_truncated_chunked_blob_is_detected(store):
    data = os.urandom(4 * SMALL_CHUNK)
    ref = store.put(data)
    path = store.path_for(ref.sha256)
    whole = path.read_bytes()
    sealed = SMALL_CHUNK + TAG_BYTES
    for cut in (len(whole) - sealed, len(whole) - 1, STREAM_HEADER.size + sealed, 10, 0):
        path.write_bytes(whole[:cut])
        with pytest.raises(StoreError):
            store.get(ref.sha256)
    # the truncation is caught before any plaintext is handed out
    path.write_bytes(whole[:-sealed])
    with pytest.raises(StoreError):
        next(store.iter_chunks(ref.sha256))


def test_truncation_with_a_forged_size_is_detected(store):
    """Cut the last chunk and rewrite the size in the header: every chunk's AAD covers the
    header and the final flag, so the shortened stream still does not authenticate."""
    data = os.urandom(4 * SMALL_CHUNK)
    ref = store.put(data)
    path = store.path_for(ref.sha256)
    whole = bytearray(path.read_bytes())
    header = bytearray(whole[:STREAM_HEADER.size])
    header[-8:] = (3 * SMALL_CHUNK).to_bytes(8, "big")
    path.write_bytes(bytes(header) + bytes(whole[STREAM_HEADER.size:STREAM_HEADER.size + 3 * (SMALL_CHUNK + TAG_BYTES)]))
    with pytest.raises(StoreError):
        store.get(ref.sha256)


def test_reordered_chunks_are_detected(store):
    ref = store.put(os.urandom(4 * SMALL_CHUNK))
    path = store.path_for(ref.sha256)
    whole = path.read_bytes()
    h, n = STREAM_HEADER.size, SMALL_CHUNK + TAG_BYTES
    chunks = [whole[h + i * n:h + (i + 1) * n] for i in range(4)]
    path.write_bytes(whole[:h] + chunks[1] + chunks[0] + chunks[2] + chunks[3])
    with pytest.raises(StoreError):
        store.get(ref.sha256)


def test_blob_from_another_installation_is_refused(tmp_path):
    data = os.urandom(100)
    ref = BlobStore(tmp_path, Cipher(DataKeys.generate()), min_free_bytes=0).put(data)
    with pytest.raises(StoreError) as info:
        BlobStore(tmp_path, Cipher(DataKeys.generate()), min_free_bytes=0).get(ref.sha256)
    assert "其他密钥" in info.value.message


# -- disk space ---------------------------------------------------------------------------
def test_free_space_guard_refuses_and_leaves_nothing(store, monkeypatch):
    usage = shutil.disk_usage(store.root)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=10 * 1024 * 1024))
    store.min_free_bytes = 9 * 1024 * 1024
    store.put(os.urandom(1000))  # fits above the reserve
    with pytest.raises(StoreError) as info:
        store.put(os.urandom(2 * 1024 * 1024))
    assert info.value.message.startswith("磁盘空间不足")
    assert len(all_files(store.root)) == 1 and not temp_files(store.root)


def test_free_space_guard_with_a_real_disk(tmp_path, cipher):
    free = shutil.disk_usage(tmp_path).free
    store = BlobStore(tmp_path, cipher, min_free_bytes=free + 1024 ** 3)
    with pytest.raises(StoreError) as info:
        store.put(b"x")
    assert "磁盘空间不足" in info.value.message
    assert all_files(tmp_path) == []


def test_disk_full_while_writing_cleans_up(store, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(StoreError) as info:
        store.put(os.urandom(3 * SMALL_CHUNK))
    assert info.value.message.startswith("磁盘空间不足")
    monkeypatch.undo()
    assert all_files(store.root) == []


# -- stray temporary files ----------------------------------------------------------------
def test_stray_temp_file_is_removed_on_open(store):
    ref = store.put(os.urandom(3 * SMALL_CHUNK))
    path = store.path_for(ref.sha256)
    stray = path.parent / f".{ref.sha256[:16]}-deadbeef0000{TEMP_SUFFIX}"
    stray.write_bytes(path.read_bytes()[:100])
    BlobStore(store.root, store._cipher, min_free_bytes=0)
    assert not stray.exists() and path.exists()


@pytest.mark.skipif(os.name != "posix", reason="POSIX file locks")
def test_live_writers_temp_file_is_left_alone(store):
    ref = store.put(b"first")
    directory = store.path_for(ref.sha256).parent
    tmp, fd = store._create_temp(directory, ref.sha256)  # a writer in progress (this thread holds the lock)
    try:
        BlobStore(store.root, store._cipher, min_free_bytes=0)
        assert tmp.exists()
    finally:
        os.close(fd)
    BlobStore(store.root, store._cipher, min_free_bytes=0)
    assert not tmp.exists()


# -- properties ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3 * 64 + 5), algorithm=st.sampled_from(ALGORITHMS))
def test_blob_round_trip_property(tmp_path, data, algorithm):
    store = BlobStore(tmp_path / algorithm, Cipher(_PROPERTY_KEYS, algorithm), min_free_bytes=0, chunk_size=64)
    ref = store.put(data)
    assert ref.size == len(data)
    assert store.get(ref.sha256) == data
    assert store.put(data) == ref


_PROPERTY_KEYS = DataKeys.generate()


# -- crash safety -------------------------------------------------------------------------
CHILD = textwrap.dedent("""
    import os, random, signal, sys, threading
    from pathlib import Path
    from offline_cache.blobs import BlobStore
    from offline_cache.crypto import Cipher
    from offline_cache.keys import DataKeys

    root, master, algorithm, seed, delay = sys.argv[1:6]
    store = BlobStore(Path(root), Cipher(DataKeys(bytes.fromhex(master)), algorithm), min_free_bytes=0,
                      chunk_size=256 * 1024)
    rng = random.Random(int(seed))
    source = Path(root).parent / f"source-{seed}.bin"
    print("ready", flush=True)
    threading.Timer(float(delay), lambda: os.kill(os.getpid(), signal.SIGKILL)).start()
    n = 0
    while True:
        data = rng.randbytes(rng.randint(1, 6 * 1024 * 1024))
        if n % 2:
            source.write_bytes(data)
            ref = store.put_file(source)
        else:
            ref = store.put(data)
        print(ref.sha256, flush=True)
        n += 1
""")
MAX_KILLS = 20
WANTED_MID_WRITE = 3


@pytest.mark.faults
@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_sigkill_while_writing_leaves_only_whole_blobs(tmp_path, algorithm):
    import random

    rng = random.Random(20240607)
    data_keys_hex = os.urandom(32).hex()
    root = tmp_path / "blobs"
    cipher = Cipher(DataKeys(bytes.fromhex(data_keys_hex)), algorithm)
    completed: set[str] = set()
    mid_write = 0
    for run in range(MAX_KILLS):
        proc = subprocess.run([sys.executable, "-c", CHILD, str(root), data_keys_hex, algorithm, str(run),
                               str(rng.uniform(0.05, 0.6))], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              check=False)
        assert proc.returncode == -signal.SIGKILL, proc.stderr
        lines = proc.stdout.split()
        assert lines[0] == "ready"
        completed.update(lines[1:])
        if temp_files(root):
            mid_write += 1
        store = BlobStore(root, cipher, min_free_bytes=0)
        assert not temp_files(root)
        present = set(store.hashes())
        assert completed <= present  # every put that returned survived the kill
        for sha in present:
            assert store.verify(sha).sha256 == sha
        if mid_write >= WANTED_MID_WRITE and run >= 4:
            break
    assert mid_write >= WANTED_MID_WRITE, "no kill landed inside a write"
