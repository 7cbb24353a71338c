"""The simulated 办理地 of the training platform: it moves received cases along, item by item.

One ``advance`` step moves every item that can move by one status:

    已接收 -> 受理 | 补正 (needed: some of the case's materials) | 不予受理 (with a reason)
    补正   -> (waits for a supplement; the supplement moves it to 受理)
    受理   -> 办结
    办结   -> 结果已寄出 (with an S10 tracking number) when the result is mailed, else it stays

Which way an item goes is decided by the SHA-256 of ``receipt_no/item_code`` (``outcome``), so a
class sees the same story every time and tests can pick receipt numbers for each path. The
simulator runs on a timer in the server (``serve --simulate-every``) and on command
(``counter-platform simulate``, ``POST /training/advance``); the status rules of ``cases`` apply
to it like to anyone: it never moves an item backwards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from pathlib import Path
from typing import Any

from counter_client.refplatform import cases
from counter_client.refplatform.store import PlatformStore

log = logging.getLogger(__name__)

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
TRACKING_PREFIX = "EA"  # EMS service indicator
TRACKING_COUNTRY = "CN"
OUTCOME_BUCKETS = 10  # of ten: 1 refused, 2 asked to supplement, 7 accepted
REFUSAL_REASONS = (
    "经审查，申请人不符合该事项的办理条件，依据《中华人民共和国行政许可法》第三十八条决定不予受理。",
    "申请事项依法不属于本机关职权范围，请向有权机关申请。",
    "申请人提交的材料与实际情况不符，决定不予受理。",
)
SUPPLEMENT_REASON = "申请材料不齐全或不符合法定形式，请一次性补正以下材料："


def s10_check_digit(serial: str) -> str:
    """UPU S10 check digit of an 8-digit serial: 11 - (weighted sum mod 11); 10 -> 0, 11 -> 5."""
    if len(serial) != 8 or not serial.isdigit():
        raise ValueError(f"S10 serial must be 8 digits: {serial!r}")
    check = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS)) % 11
    return {10: "0", 11: "5"}.get(check, str(check))


def s10_number(serial: int, prefix: str = TRACKING_PREFIX, country: str = TRACKING_COUNTRY) -> str:
    digits = f"{serial % 100_000_000:08d}"
    return f"{prefix}{digits}{s10_check_digit(digits)}{country}"


def _digest(receipt_no: str, item_code: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{receipt_no}/{item_code}".encode("utf-8")).digest()[:8], "big")


def outcome(receipt_no: str, item_code: str) -> str:
    """The first status the simulated 办理地 gives this item: 受理, 补正 or 不予受理."""
    bucket = _digest(receipt_no, item_code) % OUTCOME_BUCKETS
    if bucket == 0:
        return cases.REFUSED
    if bucket in (1, 2):
        return cases.SUPPLEMENT
    return cases.ACCEPTED


def tracking_number(receipt_no: str, item_code: str) -> str:
    return s10_number(_digest(receipt_no, item_code + "#mail"))


def _needed(materials: list[str], receipt_no: str, item_code: str) -> list[str]:
    digest = _digest(receipt_no, item_code + "#needed")
    count = 1 + digest % min(2, len(materials))
    start = (digest >> 8) % len(materials)
    return [materials[(start + i) % len(materials)] for i in range(count)]


def _material_names(body: str) -> list[str]:
    payload = json.loads(body).get("payload", {})
    names = [m.get("name", "") for m in payload.get("materials", []) if isinstance(m, dict)]
    return [n for n in dict.fromkeys(names) if n]


def _next(store: PlatformStore, receipt_no: str, item_code: str, status: str, body: str, mailed: bool,
          ) -> dict[str, Any] | None:
    if status == cases.RECEIVED:
        first = outcome(receipt_no, item_code)
        materials = _material_names(body)
        if first == cases.SUPPLEMENT and materials:
            needed = _needed(materials, receipt_no, item_code)
            return cases.set_status(store, receipt_no, item_code, first,
                                    reason=SUPPLEMENT_REASON + "、".join(needed), needed=needed)
        if first == cases.REFUSED:
            reason = REFUSAL_REASONS[_digest(receipt_no, item_code + "#reason") % len(REFUSAL_REASONS)]
            return cases.set_status(store, receipt_no, item_code, first, reason=reason)
        return cases.set_status(store, receipt_no, item_code, cases.ACCEPTED)
    if status == cases.ACCEPTED:
        return cases.set_status(store, receipt_no, item_code, cases.DONE)
    if status == cases.DONE and mailed:
        return cases.set_status(store, receipt_no, item_code, cases.MAILED,
                                tracking_no=tracking_number(receipt_no, item_code))
    return None  # 补正 waits for a supplement; the rest is final


def advance(store: PlatformStore, steps: int = 1) -> list[dict[str, Any]]:
    """Run ``steps`` rounds; each moves every movable item one status. Returns the new events."""
    events: list[dict[str, Any]] = []
    for _ in range(steps):
        with store.write():
            rows = store.conn.execute(
                "SELECT i.receipt_no, i.item_code, i.status, c.body, c.mode, c.delivery_method"
                " FROM case_items i JOIN cases c ON c.receipt_no = i.receipt_no"
                " WHERE i.status IN (?, ?, ?) ORDER BY i.receipt_no, i.position",
                (cases.RECEIVED, cases.ACCEPTED, cases.DONE),
            ).fetchall()
            round_events = []
            for receipt_no, item_code, status, body, mode, method in rows:
                mailed = method in cases.MAILING_METHODS and mode not in cases.NO_MAIL_MODES
                event = _next(store, receipt_no, item_code, status, body, mailed)
                if event is not None:
                    round_events.append(event)
        events += round_events
        if not round_events:
            break
    return events


class Simulator:
    """``advance`` every ``interval`` seconds on a thread with its own connection."""

    def __init__(self, data_dir: Path, interval: float):
        self._data_dir = Path(data_dir)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulated-handling-region", daemon=True)

    def start(self) -> None:
        log.info("simulated 办理地 advances cases every %.1f s", self._interval)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        store = PlatformStore(self._data_dir, create=False)
        try:
            while not self._stop.wait(self._interval):
                try:
                    moved = advance(store)
                except Exception:  # keep simulating; a busy database or a bug is logged
                    log.exception("simulation step failed")
                    continue
                if moved:
                    log.info("simulation step: %d status change(s)", len(moved))
        finally:
            store.close()
