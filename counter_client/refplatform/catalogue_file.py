"""Catalogue sources the platform loads: a catalogue file or the shipped training directory.

A catalogue file is one JSON object ``{"guides": [...], "departments": [...], "agreements": [...]}``
(what ``generate-catalogue`` writes), read as a stream. The training directory holds
``guides.json``, ``departments.json`` and ``agreements.json``, each a JSON list (an object wrapping
the list under the file's own name is accepted too), small enough to read whole.

Every element is validated with the domain models. ``strict`` sources stop at the first invalid or
duplicate element (``catalogue import`` then changes nothing); tolerant ones log it and skip it, so
a training file with one bad guide still gives a working training platform.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar


from counter_client.domain.catalogue import (
    MAX_GUIDE_JSON_BYTES,
    Agreement,
    Department,
    Guide,
    ValidationError,
    _Model,
)
from counter_client.refplatform.jsonstream import JSONStreamError, iter_object_arrays

log = logging.getLogger(__name__)

MEMBERS = ("guides", "departments", "agreements")
MAX_REPORTED_SKIPS = 20  # warnings logged one by one; the rest only counted

M = TypeVar("M", bound=_Model)


class CatalogueFileError(ValueError):
    """A catalogue file or training directory that cannot be loaded as asked."""


def _describe(exc: ValidationError) -> str:
    return str(exc)


class _Validating:
    """Validation, duplicate detection and the strict/tolerant policy shared by both sources."""

    def __init__(self, origin: str, strict: bool):
        self.origin = origin
        self.strict = strict
        self.skipped = 0
        self.departments: list[Department] = []
        self.agreements: list[Agreement] = []
        self._keys: dict[str, set[str]] = {m: set() for m in MEMBERS}

    def _reject(self, member: str, index: int, why: str) -> None:
        message = f"{self.origin}: {member}[{index}] {why}"
        if self.strict:
            raise CatalogueFileError(message)
        self.skipped += 1
        if self.skipped <= MAX_REPORTED_SKIPS:
            log.warning("skipped %s", message)

    def _model(self, member: str, index: int, data: Any, model: type[M], key: str) -> M | None:
        try:
            item = model.from_dict(data)
        except ValidationError as exc:
            ident = data.get(key) if isinstance(data, dict) else None
            named = f" ({key} {ident!r})" if isinstance(ident, str) else ""
            self._reject(member, index, f"invalid{named}: " + _describe(exc))
            return None
        ident = getattr(item, key)
        if isinstance(item, Guide) and len(item.to_json()) > MAX_GUIDE_JSON_BYTES:
            # the client refuses such a guide at its border: serving it would stall every sync
            self._reject(member, index, f"{key} {ident!r} is larger than {MAX_GUIDE_JSON_BYTES} bytes")
            return None
        if ident in self._keys[member]:
            self._reject(member, index, f"duplicate {key} {ident!r}")
            return None
        self._keys[member].add(ident)
        return item

    def _accept(self, member: str, index: int, data: Any) -> Guide | None:
        """Validate one element; departments and agreements are kept, a guide is returned."""
        if member == "guides":
            return self._model(member, index, data, Guide, "code")
        if member == "departments":
            department = self._model(member, index, data, Department, "code")
            if department:
                self.departments.append(department)
        elif member == "agreements":
            agreement = self._model(member, index, data, Agreement, "id")
            if agreement:
                self.agreements.append(agreement)
        return None

    def _finish(self) -> None:
        if self.skipped:
            log.warning("%s: %d invalid or duplicate element(s) skipped", self.origin, self.skipped)


class CatalogueFile(_Validating):
    """A generate-catalogue style file, streamed: guides are yielded as they are read."""

    def __init__(self, path: Path, *, strict: bool = True):
        super().__init__(str(path), strict)
        self.path = Path(path)
        if not self.path.is_file():
            raise CatalogueFileError(f"no catalogue file at {self.path}")

    def guides(self) -> Iterator[Guide]:
        counters = {m: 0 for m in MEMBERS}
        seen_members: set[str] = set()
        try:
            with open(self.path, encoding="utf-8-sig") as fh:
                for member, data in iter_object_arrays(fh):
                    seen_members.add(member)
                    if member not in counters:
                        continue
                    index = counters[member]
                    counters[member] += 1
                    guide = self._accept(member, index, data)
                    if guide is not None:
                        yield guide
        except (JSONStreamError, UnicodeDecodeError) as exc:
            raise CatalogueFileError(f"{self.path}: not a catalogue file: {exc}") from None
        if "guides" not in seen_members:
            raise CatalogueFileError(f"{self.path}: no \"guides\" list")
        self._finish()


class TrainingDirectory(_Validating):
    """``guides.json`` / ``departments.json`` / ``agreements.json``; a missing file is an empty list."""

    def __init__(self, folder: Path, *, strict: bool = False):
        super().__init__(str(folder), strict)
        self.folder = Path(folder)
        self._lists = {member: self._read(member) for member in MEMBERS}
        for member in ("departments", "agreements"):
            for index, data in enumerate(self._lists[member]):
                self._accept(member, index, data)

    def _read(self, member: str) -> list[Any]:
        path = self.folder / f"{member}.json"
        if not path.exists():
            log.warning("training data: %s missing, using an empty list", path)
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8-sig"))
        except (ValueError, UnicodeDecodeError) as exc:
            if self.strict:
                raise CatalogueFileError(f"{path}: not JSON: {exc}") from None
            log.warning("training data: %s is not JSON (%s), using an empty list", path, exc)
            return []
        if isinstance(data, dict) and isinstance(data.get(member), list):
            data = data[member]
        if not isinstance(data, list):
            if self.strict:
                raise CatalogueFileError(f"{path}: expected a JSON list")
            log.warning("training data: %s is not a JSON list, using an empty list", path)
            return []
        return data

    def guides(self) -> Iterator[Guide]:
        for index, data in enumerate(self._lists["guides"]):
            guide = self._accept("guides", index, data)
            if guide is not None:
                yield guide
        self._finish()
