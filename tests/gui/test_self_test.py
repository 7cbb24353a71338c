"""``--self-test`` end to end: a real process, the real training platform, the real window
(offscreen), screenshots. Needs the reference platform, hence also marked integration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.gui, pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def test_self_test_passes_and_saves_a_screenshot_per_page(tmp_path):
    shots = tmp_path / "shots"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "counter_client", "--data-dir", str(tmp_path / "data"), "--self-test",
         "--screenshots", str(shots)],
        cwd=ROOT, env=env, capture_output=True, text=True, encoding="utf-8", timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "自检通过" in proc.stdout
    names = sorted(p.name for p in shots.glob("*.png"))
    assert "catalogue-guide.png" in names and "page-01-catalogue.png" in names
    assert {"intake-filled.png", "intake-review.png", "intake-receipt.png", "cases-detail.png",
            "page-02-intake.png", "page-03-cases.png"} <= set(names)  # intake through to the case list
    assert all((shots / n).stat().st_size > 10_000 for n in names)
