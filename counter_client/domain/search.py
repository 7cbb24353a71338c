"""Search keys and query types for the catalogue.

A clerk types Chinese substrings (``身份证``), pinyin initials (``sfz``), pinyin (``shenfen``),
or an item code prefix; the same normalisation is applied to what is indexed and to what is
typed, so full-width letters, upper case and stray spaces never make a search miss.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache


_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_CHAR_TOKENS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_PUNCT = re.compile(r"[\s\u3000、，,。.；;：:（）()\[\]【】《》<>“”\"'‘’·\-—_/\\|!?！？]+")


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), lower case, whitespace collapsed, trimmed."""
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(text.split())


def compact(text: str) -> str:
    """Normalised text without punctuation and spaces: what substring search compares."""
    return _PUNCT.sub("", normalize(text))


def is_ascii_query(query: str) -> bool:
    return query.isascii()


@lru_cache(maxsize=1)
def _pypinyin():
    """pypinyin without its 50 MB phrase table, with the phrases that matter to us instead.

    Loaded on first use (writing a catalogue), not at start-up. The environment switches are
    pypinyin's own, read when it is first imported; ``pinyin_phrases`` holds every phrase of the
    full table that contains a character with several readings and occurs in region names, item
    names or guide wording (``tests/tools/build_pinyin_phrases.py``), so those read as before.

    Returns ``lazy_pinyin`` for one run of Chinese characters, exactly as
    ``pypinyin.lazy_pinyin(run)`` reads it: the run is segmented the same way, and each segment
    (a phrase or a single character) is converted once and remembered. Names differ mostly by
    their region prefix (``北京市房山区…``), so a catalogue has thousands of distinct names but
    only a few thousand distinct segments, and converting a segment costs most of the time.
    """
    os.environ.setdefault("PYPINYIN_NO_PHRASES", "true")
    os.environ.setdefault("PYPINYIN_NO_DICT_COPY", "true")
    import pypinyin
    from pypinyin.converter import UltimateConverter
    from pypinyin.core import Pinyin

    from counter_client.domain.pinyin_phrases import PHRASES

    pypinyin.load_phrases_dict(PHRASES)
    # what pypinyin.lazy_pinyin(run) does: Pinyin(UltimateConverter()).lazy_pinyin(run, Style.NORMAL)
    converter = UltimateConverter(v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False)
    segment = Pinyin(converter).seg
    normal = pypinyin.Style.NORMAL

    @lru_cache(maxsize=1 << 15)
    def word_syllables(word: str) -> tuple[str, ...]:
        return tuple(s for readings in converter.convert(word, normal, False, "default", strict=True)
                     for s in readings)

    def lazy_pinyin(run: str) -> list[str]:
        return [s for word in segment(run) for s in word_syllables(word)]

    return lazy_pinyin


@lru_cache(maxsize=1 << 16)
def pinyin_keys(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of ``text``, both lower case without separators.

    Non-Chinese runs (``C1``, ``A4``) are kept whole in both keys. Memoised: a real catalogue
    repeats the same item names across thousands of counties.
    """
    lazy_pinyin = _pypinyin()
    full: list[str] = []
    initials: list[str] = []
    for run in _RUNS.findall(compact(text)):
        if _CJK_CHAR.match(run):
            syllables = lazy_pinyin(run)
            full.extend(syllables)
            initials.extend(s[0] for s in syllables if s)
        else:
            full.append(run)
            initials.append(run)
    return "".join(full), "".join(initials)


def char_tokens(text: str) -> str:
    """Text for the short-query index: every Chinese character its own token, other runs words.

    ``居民身份证 C1`` -> ``居 民 身 份 证 c1``. A two-character query becomes the phrase
    ``"身 份"``, which the index answers without scanning.
    """
    return " ".join(_CHAR_TOKENS.findall(compact(text)))


def suffixes(word: str, min_len: int = 1) -> str:
    """All suffixes of ``word`` as space-separated tokens: prefix queries on them are substring
    queries on the word (``sfz`` is a prefix of the suffix ``sfzhl`` of ``jmsfzhl``)."""
    return " ".join(word[i:] for i in range(len(word) - min_len + 1)) if word else ""


def fts_phrase(text: str) -> str:
    """Quote ``text`` as one FTS5 string (double quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


@dataclass(frozen=True)
class SearchFilters:
    """Filters of the catalogue search; ``None`` means no restriction.

    ``region`` restricts the 办理地 to a province/prefecture/county (any 6-digit code; its
    significant prefix is used). ``collectable_at`` is the hall's own region: with it, only items
    this hall may collect for are kept (national-list items everywhere, others by agreement).
    """

    department_code: str | None = None
    region: str | None = None
    mode: str | None = None
    item_type: str | None = None
    collectable_at: str | None = None

    def active(self) -> bool:
        return any(v is not None for v in (self.department_code, self.region, self.mode,
                                           self.item_type, self.collectable_at))


@dataclass(frozen=True)
class SearchHit:
    """One line of the result list."""

    code: str
    name: str
    version: int
    basic_code: str
    department_code: str
    department: str
    handling_region: str
    handling_region_name: str
    modes: tuple[str, ...]
    national_list: bool
    item_type: str
    match: str  # exact | prefix | substring | browse
    agreements: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "version": self.version,
            "basic_code": self.basic_code,
            "department_code": self.department_code,
            "department": self.department,
            "handling_region": self.handling_region,
            "handling_region_name": self.handling_region_name,
            "modes": list(self.modes),
            "national_list": self.national_list,
            "item_type": self.item_type,
            "agreements": list(self.agreements),
            "match": self.match,
        }
