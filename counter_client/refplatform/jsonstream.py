"""Streaming reader for a JSON object whose members are arrays: ``{"guides": [...], ...}``.

A generated catalogue of 200,000 guides is close to a gigabyte of JSON; ``json.load`` would need
several times that in memory. This reader walks the top-level object itself and decodes one array
element at a time with the C-accelerated ``json`` decoder, holding only a window of the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, TextIO

CHUNK_CHARS = 1 << 20
MAX_ELEMENT_CHARS = 16 << 20  # one element larger than this is a broken file, not a guide
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class JSONStreamError(ValueError):
    """The file is not a JSON object of arrays, or an element is malformed or too large."""


class _Window:
    def __init__(self, fp: TextIO):
        self._fp = fp
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        data = self._fp.read(CHUNK_CHARS)
        if not data:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + data
        self.pos = 0
        return True

    def peek(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            self.pos = _WS.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or not self.fill():
                return self.buf[self.pos : self.pos + 1]

    def take(self, expected: str) -> str:
        found = self.peek()
        if found not in expected or not found:
            raise JSONStreamError(f"expected one of {expected!r}, found {found!r}")
        self.pos += 1
        return found

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_ELEMENT_CHARS:
                    raise JSONStreamError(f"malformed or oversized JSON element: {exc.msg}") from None
                if not self.fill():
                    raise JSONStreamError(f"malformed JSON: {exc.msg}") from None
                continue
            if end == len(self.buf) and self.fill():
                continue  # a number or literal cut at the window's edge: decode again with more text
            self.pos = end
            return obj


def iter_object_arrays(fp: TextIO) -> Iterator[tuple[str, Any]]:
    """Yield ``(member name, element)`` for each element of each array member, in file order.

    Members that are not arrays are decoded and skipped.
    """
    window = _Window(fp)
    window.take("{")
    if window.peek() == "}":
        window.take("}")
    else:
        while True:
            key = window.value()
            if not isinstance(key, str):
                raise JSONStreamError("object key expected")
            window.take(":")
            if window.peek() == "[":
                window.take("[")
                if window.peek() == "]":
                    window.take("]")
                else:
                    while True:
                        yield key, window.value()
                        if window.take(",]") == "]":
                            break
            else:
                window.value()
            if window.take(",}") == "}":
                break
    if window.peek():
        raise JSONStreamError("extra data after the top-level object")
