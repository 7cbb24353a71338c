"""The client's trimmed pypinyin (its own phrase list instead of the 50 MB table) reads the whole
corpus — region names, item names, guide wording — as the full table does, and is up to date
with the training data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from counter_client.domain.search import compact, pinyin_keys
from tests.tools.build_pinyin_phrases import corpus

ROOT = Path(__file__).resolve().parents[2]
FULL_TABLE = """
import json, sys
from tests.tools.build_pinyin_phrases import build, corpus
from pypinyin import lazy_pinyin
texts = corpus()
print(json.dumps({"keys": ["".join(lazy_pinyin(t)) for t in texts], "phrases": build()}, ensure_ascii=False))
"""


def test_trimmed_table_reads_the_corpus_like_the_full_one():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYPINYIN_")}
    out = subprocess.run([sys.executable, "-c", FULL_TABLE], cwd=ROOT, env=env, capture_output=True,
                         text=True, encoding="utf-8", timeout=300)
    assert out.returncode == 0, out.stderr
    full = json.loads(out.stdout)
    texts = corpus()
    ours = [pinyin_keys(t)[0] for t in texts]
    expected = [compact(k) for k in full["keys"]]
    differ = [(t, e, o) for t, e, o in zip(texts, expected, ours) if e != o]
    assert len(differ) <= 3, differ[:10]
    from counter_client.domain.pinyin_phrases import PHRASES

    missing = sorted(set(full["phrases"]) - set(PHRASES))
    assert not missing, f"regenerate with python -m tests.tools.build_pinyin_phrases: {missing[:10]}"


def test_trimmed_pypinyin_is_what_the_client_loads():
    import pypinyin.constants

    pinyin_keys("重庆")
    assert os.environ.get("PYPINYIN_NO_PHRASES") == "true"
    assert len(pypinyin.constants.PHRASES_DICT) < 10_000
    assert pinyin_keys("重庆市长寿区") == ("chongqingshichangshouqu", "cqscsq")


def test_segments_converted_once_read_like_lazy_pinyin():
    """The client converts each segment of a name once and remembers it; what it reads must be
    what ``pypinyin.lazy_pinyin`` reads for the whole run (same trimmed phrase table)."""
    from pypinyin import lazy_pinyin

    from counter_client.domain.search import _CJK_CHAR, _RUNS, _pypinyin

    ours = _pypinyin()
    runs = sorted({run for t in corpus() for run in _RUNS.findall(compact(t)) if _CJK_CHAR.match(run)})
    runs += ["重庆市长寿区", "银行行长", "长春市朝阳区", "音乐乐器", "𠀀𠀁", "㐀", "豈更車"]
    assert len(runs) > 10_000
    differ = [(run, ours(run), lazy_pinyin(run)) for run in runs if ours(run) != lazy_pinyin(run)]
    assert not differ, differ[:10]
