"""SIGKILL a process that fills the waybill pool and makes parcels, at random moments: after every
kill the cases file opens, every acknowledged parcel is there, every used number belongs to
exactly one parcel and every parcel to its number, each parcel has its cases, legs, case events
and outbox item (all or nothing), and an allocation asked for before the kill is asked again
under the same request id (never a second block).

The child works on the store (``offline_cache.mail``) exactly as the service does; the numbers it
"receives" are valid S10 numbers made from a counter, as the platform would hand them out.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults

KILLS = int(os.environ.get("MAIL_KILLS", "10"))
ROOT = Path(__file__).resolve().parents[2]


def child(path: str, seed: int) -> None:
    """Refill and make parcels until killed; acknowledge each completed call on stdout."""
    from counter_client.domain.waybill import s10_check_digit
    from offline_cache.cases import open_store
    from offline_cache.mail import MailStore, ParcelCase, PoolEmpty, SentMaterial

    rng = random.Random(seed)
    mail = MailStore(open_store(path))

    def ack(*parts) -> None:
        sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
        sys.stdout.flush()

    ack("READY")
    n = 0
    while True:
        if mail.pool_state().free < 3:
            request_id, count, _kind = mail.pool_request(4, "s10")
            ack("ASKED", request_id)
            base = int(request_id[:6], 16)  # the "platform" answers a request id with the same block
            numbers = [f"EM{base + i:08d}{s10_check_digit(f'{base + i:08d}')}CN" for i in range(count)]
            mail.add_numbers(request_id, numbers, "2026-11-26T00:00:00.000Z")
            ack("FILLED", request_id)
        n += 1
        cases = [ParcelCase(f"case-{seed}-{n}-{k}", f"R{seed:04d}{n:06d}{k}", ("ITEM",),
                            (SentMaterial("申请表", "原件核验", 2),)) for k in range(rng.randint(1, 3))]
        try:
            parcel = mail.create_parcel("D1", "某部门", cases, "王窗口")
        except PoolEmpty:
            continue
        ack("PARCEL", parcel.id, parcel.waybill_no)


def check(path: Path, acked: dict[str, str], asked: list[str], filled: set[str]) -> None:
    from offline_cache.cases import open_store
    from offline_cache.mail import MailStore

    store = open_store(path)
    try:
        db = store.db
        mail = MailStore(store)
        parcels = {p.id: p for p in mail.parcels(limit=100_000)}
        for parcel_id, number in acked.items():
            assert parcels[parcel_id].waybill_no == number
        used = {n: p for n, state, _at, p in mail.numbers() if state == "used"}
        assert used == {p.waybill_no: p.id for p in parcels.values()}
        legs = dict(db.execute("SELECT parcel_id, count(*) FROM mail_leg GROUP BY parcel_id").fetchall())
        events = dict(db.execute("SELECT json_extract(detail, '$.parcel_id'), count(*) FROM case_event"
                                 " WHERE action = '材料装包寄出' GROUP BY 1").fetchall())
        queued = dict(db.execute("SELECT key, count(*) FROM outbox WHERE kind = 'parcel' GROUP BY key").fetchall())
        expected = {p.id: len(p.cases) for p in parcels.values()}
        assert all(expected.values())  # no parcel without its cases
        assert legs == expected and events == expected and queued == {p: 1 for p in parcels}
        pending = mail.pool_state().pending_request
        if asked and asked[-1] not in filled:  # killed between asking and keeping the answer
            done = db.execute("SELECT done_at FROM pool_request WHERE request_id = ?", [asked[-1]]).fetchone()
            assert done is not None  # ASKED is printed after the request is committed
            if done[0] is None:  # its answer was not kept: the next refill asks under the same id
                assert pending == asked[-1] and mail.pool_request(4, "s10")[0] == asked[-1]
    finally:
        store.close()


def test_parcels_survive_sigkill(tmp_path):
    path = tmp_path / "cases.sqlite3"
    acked: dict[str, str] = {}
    asked: list[str] = []
    filled: set[str] = set()
    rng = random.Random(20261126)
    for round_ in range(KILLS):
        process = subprocess.Popen(
            [sys.executable, "-c", f"from tests.faults.test_mail_kill import child; child({str(path)!r}, {round_})"],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        assert process.stdout.readline().strip() == "READY"
        time.sleep(rng.uniform(0.05, 0.5))  # the child's output waits in the pipe meanwhile
        process.send_signal(signal.SIGKILL)
        process.wait()
        lines = process.stdout.read().splitlines()
        process.stdout.close()
        for line in lines:
            kind, *rest = line.split()
            if kind == "PARCEL":
                acked[rest[0]] = rest[1]
            elif kind == "ASKED":
                asked.append(rest[0])
            elif kind == "FILLED":
                filled.add(rest[0])
        check(path, acked, asked, filled)
    assert len(acked) > KILLS  # the children did real work between the kills
