"""The editable page list: moves and rotations never lose or duplicate a page; undo of a delete."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from PIL import Image

from counter_client.scanning.normalize import normalize_image
from counter_client.scanning.pagelist import PageList
from counter_client.scanning.pages import JPEG, Page


def fake_page(n: int) -> Page:
    """A page with unique bytes; its content is never decoded in these tests."""
    return Page(f"page-{n}".encode(), JPEG, 100 + n, 200 + n, source="t.pdf", index=n)


class RecordingRotate:
    def __init__(self):
        self.calls: list[tuple[Page, int]] = []

    def __call__(self, page: Page, degrees: int) -> Page:
        self.calls.append((page, degrees))
        return page


operations = st.lists(
    st.one_of(
        st.tuples(st.just("move"), st.integers(0, 50), st.integers(0, 50)),
        st.tuples(st.just("rotate"), st.integers(0, 50), st.sampled_from([-270, -180, -90, 90, 180, 270, 360])),
    ),
    max_size=40,
)


@given(st.integers(1, 12), operations)
def test_moves_and_rotations_keep_the_same_pages(count, ops):
    pages = [fake_page(n) for n in range(count)]
    plist = PageList(pages, rotate=RecordingRotate())
    for op, a, b in ops:
        if op == "move":
            plist.move(a % count, b % count)
        else:
            plist.rotate(a % count, b)
    assert Counter(item.page for item in plist) == Counter(pages)
    assert len({item.key for item in plist}) == count
    assert all(item.rotation in (0, 90, 180, 270) for item in plist)


@given(st.integers(1, 8), st.integers(0, 7))
def test_four_quarter_turns_are_the_identity(count, index):
    index %= count
    rotate = RecordingRotate()
    plist = PageList([fake_page(n) for n in range(count)], rotate=rotate)
    before = plist.pages()
    for _ in range(4):
        plist.rotate(index, 90)
    assert plist[index].rotation == 0
    assert plist.pages() == before
    assert rotate.calls == []


def test_turns_add_up_and_are_applied_once():
    rotate = RecordingRotate()
    plist = PageList([fake_page(0)], rotate=rotate)
    for _ in range(3):
        plist.rotate(0, 90)
    plist.pages()
    assert rotate.calls == [(fake_page(0), 270)]
    assert (plist[0].width, plist[0].height) == (200, 100)


def test_rotate_back_and_forth_gives_the_same_bytes_with_the_real_rotation():
    buffer = io.BytesIO()
    Image.effect_noise((120, 80), 30).convert("RGB").save(buffer, "JPEG")
    page = normalize_image(Image.open(io.BytesIO(buffer.getvalue())))
    plist = PageList([page])
    plist.rotate(0, 90)
    plist.rotate(0, -90)
    assert plist.pages()[0].data == page.data
    plist.rotate(0, 90)
    [turned] = plist.pages()
    assert (turned.width, turned.height) == (page.height, page.width)


@given(st.integers(1, 10), st.data())
def test_delete_then_undo_restores_the_order(count, data):
    pages = [fake_page(n) for n in range(count)]
    plist = PageList(pages, rotate=RecordingRotate())
    index = data.draw(st.integers(0, count - 1))
    plist.rotate(index, 90)
    removed = plist.delete(index)
    assert removed.page == pages[index] and len(plist) == count - 1
    assert plist.can_undo_delete
    assert plist.undo_delete() == index
    assert [item.page for item in plist] == pages
    assert plist[index].rotation == 90 and plist[index].key == removed.key
    assert not plist.can_undo_delete


def test_undo_only_the_last_delete_and_only_once():
    plist = PageList([fake_page(n) for n in range(4)], rotate=RecordingRotate())
    with pytest.raises(LookupError):
        plist.undo_delete()
    plist.delete(0)
    plist.delete(0)
    plist.undo_delete()
    assert [item.page.index for item in plist] == [1, 2, 3]
    with pytest.raises(LookupError):
        plist.undo_delete()


def test_undo_after_the_list_got_shorter_appends():
    plist = PageList([fake_page(n) for n in range(3)], rotate=RecordingRotate())
    plist.delete(2)
    plist.add(fake_page(9), at=0)
    plist.delete(0)            # the last delete is now page 9 at 0
    plist.undo_delete()
    assert [item.page.index for item in plist] == [9, 0, 1]


def test_add_at_position_and_keys_follow_moves():
    plist = PageList([fake_page(0), fake_page(1)], rotate=RecordingRotate())
    [key] = plist.add(fake_page(5), at=1)
    assert [item.page.index for item in plist] == [0, 5, 1]
    plist.move(1, 2)
    assert plist.index_of(key) == 2
    with pytest.raises(IndexError):
        plist.add(fake_page(6), at=9)
    with pytest.raises(IndexError):
        plist.move(0, 3)
    with pytest.raises(ValueError):
        plist.rotate(0, 45)
    with pytest.raises(KeyError):
        plist.index_of(999)


class PageListMachine(RuleBasedStateMachine):
    """The list against a plain Python model of (page, rotation)."""

    def __init__(self):
        super().__init__()
        self.plist = PageList(rotate=RecordingRotate())
        self.model: list[tuple[Page, int]] = []
        self.deleted: tuple[int, tuple[Page, int]] | None = None
        self.counter = 0

    @rule(at_end=st.booleans(), pos=st.integers(0, 20))
    def add(self, at_end, pos):
        page = fake_page(self.counter)
        self.counter += 1
        at = None if at_end or not self.model else pos % (len(self.model) + 1)
        self.plist.add(page, at=at)
        self.model.insert(len(self.model) if at is None else at, (page, 0))

    @precondition(lambda self: self.model)
    @rule(a=st.integers(0, 20), b=st.integers(0, 20))
    def move(self, a, b):
        a, b = a % len(self.model), b % len(self.model)
        self.plist.move(a, b)
        self.model.insert(b, self.model.pop(a))

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 20), turns=st.integers(-3, 3))
    def rotate(self, i, turns):
        i %= len(self.model)
        self.plist.rotate(i, turns * 90)
        page, rotation = self.model[i]
        self.model[i] = (page, (rotation + turns * 90) % 360)

    @precondition(lambda self: self.model)
    @rule(i=st.integers(0, 20))
    def delete(self, i):
        i %= len(self.model)
        self.plist.delete(i)
        self.deleted = (i, self.model.pop(i))

    @rule()
    def undo(self):
        if self.deleted is None:
            assert not self.plist.can_undo_delete
            return
        i, entry = self.deleted
        self.deleted = None
        i = min(i, len(self.model))
        assert self.plist.undo_delete() == i
        self.model.insert(i, entry)

    @invariant()
    def same_as_model(self):
        assert [(item.page, item.rotation) for item in self.plist] == self.model


TestPageListMachine = PageListMachine.TestCase
