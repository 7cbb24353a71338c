"""Resumable, content-addressed blob uploads (tus 1.0 core, PATCH creates) against a real
platform process: one request, chunks, a restart (and a kill) mid-upload, the refusals."""

from __future__ import annotations

import hashlib
import os
import time

import pytest
import requests

from tests.integration.conftest import start_platform
from tests.integration.test_refplatform_support import (
    TUS,
    Caller,
    add_account,
    assert_problem,
    token_for,
)

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
MAX_REQUEST = ["--max-request-mb", "1"]


def blob(size: int, seed: int) -> bytes:
    return hashlib.sha256(str(seed).encode()).digest() * (size // 32) + b"x" * (size % 32)


@pytest.fixture(scope="module")
def server(platform_server_module, small_catalogue):
    server = platform_server_module(catalogue=small_catalogue, extra_args=MAX_REQUEST)
    assert add_account(server, "clerk-blobs").returncode == 0
    return server


@pytest.fixture(scope="module")
def caller(server):
    return Caller(server, token_for(server, "clerk-blobs"))


def head(caller, sha: str) -> requests.Response:
    return caller.request("HEAD", f"/blobs/{sha}")


def test_upload_in_one_patch_is_one_request_and_then_held(caller, server):
    data = blob(300_000, 1)
    sha = hashlib.sha256(data).hexdigest()
    response = caller.patch_blob(data, 0, len(data))
    assert response.status_code == 204, response.text
    assert response.headers["Upload-Offset"] == str(len(data))
    assert response.headers["Tus-Resumable"] == "1.0.0"
    found = head(caller, sha)
    assert found.status_code == 200
    assert (found.headers["Upload-Offset"], found.headers["Upload-Length"]) == (str(len(data)), str(len(data)))
    assert found.headers["Tus-Resumable"] == "1.0.0"
    assert (server.data_dir / "blobs" / sha[:2] / sha).read_bytes() == data
    unknown = hashlib.sha256(b"never sent").hexdigest()
    checked = caller.request("POST", "/blobs/check", json={"sha256": [sha, unknown]}).json()
    assert checked == {"held": [sha], "partial": {}}
    assert head(caller, unknown).status_code == 404


def test_upload_in_chunks_reports_progress_and_completes(caller):
    data = blob(250_000, 2)
    sha = hashlib.sha256(data).hexdigest()
    offset = 0
    for size in (100_000, 100_000, 50_000):
        response = caller.patch_blob(data[offset:offset + size], offset, len(data) if offset == 0 else None, sha)
        assert response.status_code == 204, response.text
        offset += size
        assert response.headers["Upload-Offset"] == str(offset)
        if offset < len(data):
            assert head(caller, sha).headers["Upload-Offset"] == str(offset)
            assert caller.request("POST", "/blobs/check", json={"sha256": [sha]}).json() == {
                "held": [], "partial": {sha: offset}}
    assert caller.request("POST", "/blobs/check", json={"sha256": [sha]}).json()["held"] == [sha]


def test_a_complete_blob_patched_again_is_204_and_stores_nothing(caller, server):
    data = blob(10_000, 3)
    sha = caller.upload(data)
    again = caller.patch_blob(data, 0, len(data), sha)
    assert again.status_code == 204 and again.headers["Upload-Offset"] == str(len(data))
    late = caller.patch_blob(b"whatever", 5, None, sha)
    assert late.status_code == 204 and late.headers["Upload-Offset"] == str(len(data))
    assert (server.data_dir / "blobs" / sha[:2] / sha).read_bytes() == data


def test_empty_blob(caller):
    sha = hashlib.sha256(b"").hexdigest()
    response = caller.patch_blob(b"", 0, 0, sha)
    assert response.status_code == 204 and response.headers["Upload-Offset"] == "0"
    assert head(caller, sha).headers["Upload-Length"] == "0"


def test_wrong_offset_is_409_with_the_servers_offset(caller):
    data = blob(30_000, 4)
    sha = hashlib.sha256(data).hexdigest()
    assert caller.patch_blob(data[:10_000], 0, len(data), sha).status_code == 204
    for wrong in (0, 5_000, 20_000):
        response = caller.patch_blob(data[wrong:wrong + 1000], wrong, None, sha)
        body = assert_problem(response, 409, "offset_mismatch")
        assert body["offset"] == 10_000 and response.headers["Upload-Offset"] == "10000"
    fresh = hashlib.sha256(b"fresh").hexdigest()
    assert assert_problem(caller.patch_blob(b"sh", 3, 5, fresh), 409, "offset_mismatch")["offset"] == 0
    assert caller.patch_blob(data[10_000:], 10_000, None, sha).status_code == 204


def test_hash_mismatch_is_460_and_discards_the_upload(caller, server):
    claimed = hashlib.sha256(b"the real content").hexdigest()
    wrong = b"something else entirely"
    assert caller.patch_blob(wrong[:10], 0, len(wrong), claimed).status_code == 204
    response = caller.patch_blob(wrong[10:], 10, None, claimed)
    body = assert_problem(response, 460, "hash_mismatch")
    assert body["actual_sha256"] == hashlib.sha256(wrong).hexdigest()
    assert head(caller, claimed).status_code == 404
    assert caller.request("POST", "/blobs/check", json={"sha256": [claimed]}).json() == {"held": [], "partial": {}}
    assert not (server.data_dir / "blobs" / "partial" / claimed).exists()
    assert caller.patch_blob(b"the real content", 0, 16, claimed).status_code == 204  # a clean new start


def test_request_over_the_limit_is_413_before_it_is_read(caller):
    data = blob(MIB + 1, 5)
    response = caller.patch_blob(data, 0, len(data))
    assert assert_problem(response, 413, "request_too_large")["max_bytes"] == MIB
    sha = hashlib.sha256(data).hexdigest()
    assert head(caller, sha).status_code == 404
    assert caller.patch_blob(data[:MIB], 0, len(data), sha).status_code == 204  # chunks of the limit pass
    assert caller.patch_blob(data[MIB:], MIB, None, sha).status_code == 204


def test_chunked_body_over_the_limit_is_413_and_stores_nothing(caller):
    data = blob(3 * MIB, 6)
    sha = hashlib.sha256(data).hexdigest()
    assert caller.patch_blob(data[:1000], 0, len(data), sha).status_code == 204

    def pieces():
        for start in range(1000, len(data), 256 * 1024):
            yield data[start:start + 256 * 1024]

    try:
        response = caller.patch_blob(pieces(), 1000, None, sha)  # no Content-Length: counted as read
    except requests.ConnectionError:
        response = None  # the server may close while the rest is still being sent
    if response is not None:
        assert assert_problem(response, 413, "request_too_large")["max_bytes"] == MIB
    assert head(caller, sha).headers["Upload-Offset"] == "1000"


def test_refusals_of_malformed_patches(caller):
    data = b"0123456789"
    sha = hashlib.sha256(data).hexdigest()
    assert_problem(caller.patch_blob(data, 0, None, sha), 400, "upload_length_required")
    no_tus = caller.patch_blob(data, 0, 10, sha, headers={"Tus-Resumable": "0.2.2"})
    assert_problem(no_tus, 412, "tus_version_unsupported")
    assert no_tus.headers["Tus-Version"] == "1.0.0"
    assert_problem(caller.patch_blob(data, 0, 10, sha, headers={"Content-Type": "application/json"}),
                   415, "unsupported_media_type")
    assert_problem(caller.patch_blob(data, 0, 5, sha), 413, "length_exceeded")
    assert head(caller, sha).status_code == 404  # refused PATCHes create nothing
    assert caller.patch_blob(data[:4], 0, 10, sha).status_code == 204
    assert_problem(caller.patch_blob(data[4:], 4, 11, sha), 409, "length_mismatch")
    assert_problem(caller.patch_blob(data[4:], 4, 5, sha), 413, "length_exceeded")
    assert_problem(caller.patch_blob(data, 0, 10, "ABC"), 422, "validation_failed")
    missing_offset = caller.request("PATCH", f"/blobs/{sha}", data=data, headers={**TUS, "Upload-Length": "10"})
    assert assert_problem(missing_offset, 422, "validation_failed")["errors"][0]["field"] == "upload-offset"
    assert caller.patch_blob(data[4:], 4, 10, sha).status_code == 204


def test_blob_check_limits_and_validates(caller):
    many = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(1001)]
    assert assert_problem(caller.request("POST", "/blobs/check", json={"sha256": many}), 413,
                          "batch_too_large")["max_items"] == 1000
    assert caller.request("POST", "/blobs/check", json={"sha256": many[:1000]}).status_code == 200
    assert_problem(caller.request("POST", "/blobs/check", json={"sha256": ["xyz"]}), 422, "validation_failed")


def test_partial_upload_survives_a_restart_between_chunks(platform_server, small_catalogue, tmp_path):
    first = platform_server(catalogue=small_catalogue)
    assert add_account(first, "clerk-restart").returncode == 0
    data = blob(200_000, 7)
    sha = hashlib.sha256(data).hexdigest()
    caller = Caller(first, token_for(first, "clerk-restart"))
    assert caller.patch_blob(data[:120_000], 0, len(data), sha).status_code == 204
    assert first.stop() == 0

    second = platform_server(data_dir=first.data_dir)
    caller = Caller(second, token_for(second, "clerk-restart"))  # tokens survive too, but log in anew
    assert head(caller, sha).headers["Upload-Offset"] == "120000"
    assert caller.patch_blob(data[120_000:], 120_000, None, sha).status_code == 204
    assert head(caller, sha).headers["Upload-Offset"] == str(len(data))


def test_partial_upload_survives_a_kill_mid_request(platform_server, small_catalogue, tmp_path):
    data_dir = tmp_path / "killed"
    victim = start_platform(data_dir, catalogue=small_catalogue, extra_args=["--max-request-mb", "16"])
    try:
        assert add_account(victim, "clerk-kill").returncode == 0
        token = token_for(victim, "clerk-kill")
        data = blob(8 * MIB, 8)
        sha = hashlib.sha256(data).hexdigest()
        sent = 0

        def pieces():
            nonlocal sent
            for start in range(0, 4 * MIB, 512 * 1024):
                sent += 512 * 1024
                yield data[start:start + 512 * 1024]
            time.sleep(0.5)  # let the server write what it has
            victim.process.kill()
            yield data[4 * MIB:4 * MIB + 1]

        with pytest.raises(requests.RequestException):
            Caller(victim, token).patch_blob(pieces(), 0, len(data), sha)
        victim.process.wait(timeout=10)
    finally:
        if victim.process.poll() is None:
            victim.process.kill()
            victim.process.wait()
        for stream in (victim.process.stdin, victim.process.stdout):
            stream.close()

    again = platform_server(data_dir=data_dir, extra_args=["--max-request-mb", "16"])
    caller = Caller(again, token_for(again, "clerk-kill"))
    offset = int(head(caller, sha).headers["Upload-Offset"])
    assert 0 < offset <= sent, "what reached the disk before the kill is kept and resumed from"
    assert caller.patch_blob(data[offset:], offset, None, sha).status_code == 204
    assert head(caller, sha).headers["Upload-Offset"] == str(len(data))
    assert hashlib.sha256((again.data_dir / "blobs" / sha[:2] / sha).read_bytes()).hexdigest() == sha
    assert not os.path.exists(again.data_dir / "blobs" / "partial" / sha)
