"""The pages of one material as the clerk edits them: add, move, rotate, delete, undo a delete.

Pure Python, no Qt: the UI's list model wraps it. Rotations are kept as pending quarter turns
and applied once, in ``pages()``: turning a page back and forth costs nothing, four quarter turns
give back the very same bytes, and a JPEG is re-encoded at most once however often it is turned.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from counter_client.scanning import normalize
from counter_client.scanning.pages import Page

FULL_TURN = 360
QUARTER_TURN = 90

RotateFn = Callable[[Page, int], Page]


@dataclass(frozen=True)
class PageItem:
    """A page in the list: ``key`` stays the same while the item moves (for selections in the UI);
    ``rotation`` is the pending clockwise turn in degrees (0, 90, 180 or 270)."""

    key: int
    page: Page
    rotation: int = 0

    @property
    def width(self) -> int:
        """Width as it will be once rotated (for thumbnails and layout)."""
        return self.page.height if self.rotation % 180 else self.page.width

    @property
    def height(self) -> int:
        return self.page.width if self.rotation % 180 else self.page.height


class PageList:
    """An ordered, editable list of pages with undo of the last delete.

    Indexes are positions (0-based); a bad index raises ``IndexError`` (a UI bug, not user input).
    """

    def __init__(self, pages: Iterable[Page] = (), rotate: RotateFn = normalize.rotate):
        self._keys = itertools.count(1)
        self._items: list[PageItem] = []
        self._deleted: tuple[int, PageItem] | None = None
        self._rotate = rotate
        self.add(pages)

    # reading

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, index: int) -> PageItem:
        return self._items[index]

    def __iter__(self) -> Iterator[PageItem]:
        return iter(tuple(self._items))

    @property
    def items(self) -> tuple[PageItem, ...]:
        return tuple(self._items)

    def index_of(self, key: int) -> int:
        for index, item in enumerate(self._items):
            if item.key == key:
                return index
        raise KeyError(key)

    # editing

    def add(self, pages: Page | Iterable[Page], at: int | None = None) -> list[int]:
        """Insert pages (at the end, or before position ``at``); returns their keys."""
        new = [PageItem(next(self._keys), page) for page in ([pages] if isinstance(pages, Page) else pages)]
        if at is None:
            at = len(self._items)
        if not 0 <= at <= len(self._items):
            raise IndexError(f"insert position {at} outside 0..{len(self._items)}")
        self._items[at:at] = new
        return [item.key for item in new]

    def move(self, source: int, target: int) -> None:
        """Move the page at ``source`` so that it ends up at position ``target``."""
        self._check(source)
        self._check(target)
        item = self._items.pop(source)
        self._items.insert(target, item)

    def rotate(self, index: int, degrees: int = QUARTER_TURN) -> PageItem:
        """Turn a page clockwise (negative: anticlockwise) by a multiple of 90 degrees."""
        self._check(index)
        if degrees % QUARTER_TURN:
            raise ValueError(f"pages rotate by multiples of 90 degrees, not {degrees}")
        item = self._items[index]
        item = replace(item, rotation=(item.rotation + degrees) % FULL_TURN)
        self._items[index] = item
        return item

    def delete(self, index: int) -> PageItem:
        """Remove a page; ``undo_delete`` brings back the last one removed."""
        self._check(index)
        item = self._items.pop(index)
        self._deleted = (index, item)
        return item

    @property
    def can_undo_delete(self) -> bool:
        return self._deleted is not None

    def undo_delete(self) -> int:
        """Put the last deleted page back where it was (or at the end if the list got shorter);
        returns its position."""
        if self._deleted is None:
            raise LookupError("nothing to undo")
        index, item = self._deleted
        self._deleted = None
        index = min(index, len(self._items))
        self._items.insert(index, item)
        return index

    # result

    def pages(self) -> list[Page]:
        """The pages in order with their rotations applied (a rotated page is re-encoded once)."""
        return [self._rotate(item.page, item.rotation) if item.rotation else item.page for item in self._items]

    def _check(self, index: int) -> None:
        if not 0 <= index < len(self._items):
            raise IndexError(f"page position {index} outside 0..{len(self._items) - 1}")
