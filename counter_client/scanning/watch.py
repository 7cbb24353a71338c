"""A watched folder for scanners that drop files (scan-to-folder, network scanners, 高拍仪 software).

``FolderWatch.poll()`` is called by the GUI from a timer; it returns the files that are new and
*stable*: seen with the same size and modification time on two consecutive polls, so a file the
scanner is still writing is never taken half-written. Temporary and hidden names are ignored.
Files present when the watch starts are not taken unless asked for: they may belong to the
previous applicant. Qt-free.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from counter_client.scanning.errors import ScanError
from counter_client.scanning.importer import SUPPORTED_SUFFIXES

log = logging.getLogger(__name__)

DONE_DIRNAME = "done"
# names scanners, browsers and office programs use while writing, or that are not documents
IGNORED_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".download", ".!ut", ".lock", "~")
IGNORED_PREFIXES = (".", "~$", "~")
IGNORED_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store"})
MAX_RENAME_ATTEMPTS = 1000   # "scan (1).pdf" … in done/ before we give up on a free name


@dataclass(frozen=True)
class _Seen:
    size: int
    mtime_ns: int


def is_ignored_name(name: str) -> bool:
    """True for hidden, temporary and partial-download names (``.scan.pdf``, ``x.part``, ``~x``)."""
    lowered = name.lower()
    return (lowered in IGNORED_NAMES or lowered.startswith(IGNORED_PREFIXES)
            or lowered.endswith(IGNORED_SUFFIXES))


class FolderWatch:
    """Polls one folder (not its subfolders) for new, stable files.

    ``suffixes`` limits what is taken (default: the types the importer reads; None takes every
    name), so a scanner's sidecar files (.xml, .ini) are not offered as pages. With
    ``move_done`` each taken file is moved into ``done/`` at once and poll() returns its new path:
    the folder then shows what is still to do, and a restart does not take a file twice. On
    Windows the move also fails while the scanner still holds the file open; such a file is
    simply taken on a later poll.
    """

    def __init__(self, folder: str | os.PathLike[str], *, move_done: bool = False, take_existing: bool = False,
                 suffixes: frozenset[str] | None = SUPPORTED_SUFFIXES, done_dirname: str = DONE_DIRNAME):
        self.folder = Path(folder)
        self.move_done = move_done
        self.suffixes = None if suffixes is None else frozenset(s.lower() for s in suffixes)
        self.done_dir = self.folder / done_dirname
        self._pending: dict[str, _Seen] = {}   # seen once, waiting to be seen unchanged
        self._taken: dict[str, _Seen] = {}     # taken (or present at start) in this state
        current = self._scan()
        if not take_existing:
            self._taken.update(current)

    def poll(self) -> list[Path]:
        """The files that became stable since the last poll, oldest first; raises ``ScanError``
        when the folder is gone or unreadable (a network share that dropped, say)."""
        current = self._scan()
        stable: list[tuple[int, str]] = []
        for name, seen in current.items():
            if self._taken.get(name) == seen:
                continue
            if self._pending.get(name) == seen and seen.size > 0:
                stable.append((seen.mtime_ns, name))
        # forget what disappeared; what changed waits for its next stable reading
        self._taken = {n: s for n, s in self._taken.items() if n in current}
        self._pending = {n: s for n, s in current.items() if self._taken.get(n) != s}
        taken: list[Path] = []
        for _, name in sorted(stable):
            path = self.folder / name
            if self.move_done:
                moved = self._move_to_done(path)
                if moved is None:
                    continue  # still locked by the writer: try again next time
                path = moved
            self._taken[name] = current[name]
            self._pending.pop(name, None)
            taken.append(path)
        if taken:
            log.info("watched folder %s: took %s", self.folder, [p.name for p in taken])
        return taken

    def _scan(self) -> dict[str, _Seen]:
        found: dict[str, _Seen] = {}
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            raise ScanError(f"监视的文件夹“{self.folder}”不存在，可能已被删除或网络共享已断开。请检查扫描仪的保存位置。",
                            f"watch {self.folder}: folder missing") from None
        except OSError as exc:
            raise ScanError(f"无法读取监视的文件夹“{self.folder}”：没有访问权限或网络共享已断开。",
                            f"watch {self.folder}: cannot list: {exc}") from None
        for entry in entries:
            if is_ignored_name(entry.name):
                continue
            if self.suffixes is not None and Path(entry.name).suffix.lower() not in self.suffixes:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished or locked between listing and stat: next poll
            if stat.S_ISREG(info.st_mode):
                found[entry.name] = _Seen(info.st_size, info.st_mtime_ns)
        return found

    def _move_to_done(self, path: Path) -> Path | None:
        try:
            self.done_dir.mkdir(exist_ok=True)
        except OSError as exc:
            raise ScanError(f"无法在监视的文件夹中创建“{self.done_dir.name}”子文件夹：没有写入权限。",
                            f"watch {self.folder}: cannot create {self.done_dir}: {exc}") from None
        for attempt in range(MAX_RENAME_ATTEMPTS):
            target = self.done_dir / (path.name if attempt == 0 else f"{path.stem} ({attempt}){path.suffix}")
            if target.exists():
                continue
            try:
                os.rename(path, target)   # same folder tree: atomic, never a half-copied file
            except FileNotFoundError:
                return None
            except PermissionError:
                log.info("watched folder: %s still locked, retrying later", path.name)
                return None
            except FileExistsError:
                continue  # created by someone else meanwhile (Windows)
            return target
        raise ScanError(f"“{self.done_dir.name}”子文件夹中同名文件过多，请清理后再试。",
                        f"watch {self.folder}: no free name for {path.name} in {self.done_dir}")
