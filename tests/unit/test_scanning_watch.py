"""The watched folder: only new, stable, real files are taken, each once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from counter_client.scanning.errors import ScanError
from counter_client.scanning.watch import FolderWatch, is_ignored_name


def _touch(path: Path, data: bytes = b"%PDF-1.4 scan") -> Path:
    path.write_bytes(data)
    return path


def _bump_mtime(path: Path, seconds: int = 5) -> None:
    info = path.stat()
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns + seconds * 1_000_000_000))


def test_a_file_still_growing_is_not_taken_until_stable(tmp_path):
    watch = FolderWatch(tmp_path)
    scan = _touch(tmp_path / "scan001.pdf", b"%PDF-1.4 part one")
    assert watch.poll() == []                 # first sighting
    with open(scan, "ab") as file:
        file.write(b" part two")
    assert watch.poll() == []                 # grew since: still being written
    _bump_mtime(scan)
    assert watch.poll() == []                 # same size, but touched: still not stable
    assert watch.poll() == [scan]             # unchanged over two polls
    assert watch.poll() == []                 # taken once only


def test_temporary_hidden_and_partial_names_are_ignored(tmp_path):
    watch = FolderWatch(tmp_path)
    names = [".scan.pdf", "scan.pdf.part", "scan.tmp", "~scan.pdf", "scan.pdf~", "~$report.pdf",
             "scan.jpg.crdownload", "Thumbs.db", "desktop.ini", "scan.PART"]
    for name in names:
        _touch(tmp_path / name)
    assert watch.poll() == [] and watch.poll() == [] and watch.poll() == []
    assert all(is_ignored_name(n) for n in names)
    assert not is_ignored_name("扫描件 001.pdf")


def test_a_partial_name_renamed_when_done_is_taken(tmp_path):
    watch = FolderWatch(tmp_path)
    partial = _touch(tmp_path / "scan.pdf.part")
    watch.poll()
    final = partial.rename(tmp_path / "scan.pdf")
    assert watch.poll() == []
    assert watch.poll() == [final]


def test_files_present_at_start_are_left_alone_unless_asked(tmp_path):
    old = _touch(tmp_path / "previous-applicant.pdf")
    watch = FolderWatch(tmp_path)
    watch.poll()
    assert watch.poll() == []
    eager = FolderWatch(tmp_path, take_existing=True)
    eager.poll()
    assert eager.poll() == [old]


def test_a_rewritten_file_is_taken_again(tmp_path):
    watch = FolderWatch(tmp_path)
    scan = _touch(tmp_path / "scan.jpg", b"\xff\xd8\xff first")
    watch.poll()
    assert watch.poll() == [scan]
    _touch(scan, b"\xff\xd8\xff second scan, longer")
    assert watch.poll() == []
    assert watch.poll() == [scan]


def test_empty_files_wait_for_content(tmp_path):
    watch = FolderWatch(tmp_path)
    scan = _touch(tmp_path / "scan.tif", b"")
    assert watch.poll() == [] and watch.poll() == [] and watch.poll() == []
    _touch(scan, b"II*\x00 data")
    watch.poll()
    assert watch.poll() == [scan]


def test_only_supported_types_by_default(tmp_path):
    watch = FolderWatch(tmp_path)
    _touch(tmp_path / "scan.xml", b"<job/>")
    (tmp_path / "sub").mkdir()
    pdf = _touch(tmp_path / "scan.PDF")
    watch.poll()
    assert watch.poll() == [pdf]
    everything = FolderWatch(tmp_path, suffixes=None, take_existing=True)
    everything.poll()
    assert sorted(p.name for p in everything.poll()) == ["scan.PDF", "scan.xml"]


def test_taken_files_move_to_done(tmp_path):
    watch = FolderWatch(tmp_path, move_done=True)
    first = _touch(tmp_path / "scan.pdf")
    watch.poll()
    [moved] = watch.poll()
    assert moved == tmp_path / "done" / "scan.pdf" and moved.exists() and not first.exists()
    _touch(tmp_path / "scan.pdf", b"%PDF-1.4 another")
    watch.poll()
    [again] = watch.poll()
    assert again == tmp_path / "done" / "scan (1).pdf"
    assert watch.poll() == []


def test_several_files_come_oldest_first(tmp_path):
    watch = FolderWatch(tmp_path)
    b = _touch(tmp_path / "b.jpg")
    a = _touch(tmp_path / "a.jpg")
    _bump_mtime(a, 10)
    watch.poll()
    assert watch.poll() == [b, a]


def test_missing_or_vanished_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ScanError) as info:
        FolderWatch(tmp_path / "nowhere")
    assert "不存在" in info.value.message
    folder = tmp_path / "scans"
    folder.mkdir()
    watch = FolderWatch(folder)
    shutil.rmtree(folder)
    with pytest.raises(ScanError):
        watch.poll()
