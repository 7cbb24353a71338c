"""The platform's waybill pools on a real SQLite file, without a server: blocks that pass the
client's own check, one number to one terminal however the requests interleave, the same block
for the same request id, and an exhausted range refused with nothing written."""

from __future__ import annotations

import threading

import pytest

from counter_client.domain.waybill import parse as parse_tracking
from counter_client.refplatform import mail
from counter_client.refplatform.store import PlatformStore

HALL = "511324102"


def test_blocks_are_valid_unique_and_idempotent(tmp_path):
    PlatformStore(tmp_path).close()
    seen: dict[str, int] = {}
    errors: list[BaseException] = []

    def terminal(n: int) -> None:
        store = PlatformStore(tmp_path)
        try:
            for r in range(5):
                kind = "s10" if r % 2 == 0 else "domestic"
                created, block = mail.allocate(store, mail.Terminal(HALL, n, "clerk"), f"req-{r}", 7, kind)
                again = mail.allocate(store, mail.Terminal(HALL, n, "clerk"), f"req-{r}", 7, kind)
                assert created and again == (False, block)
                for number in block["numbers"]:
                    assert parse_tracking(number).kind == kind
                    assert seen.setdefault(number, n) == n
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            store.close()

    threads = [threading.Thread(target=terminal, args=(n,)) for n in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(seen) == 3 * 5 * 7


def test_conflicting_request_and_exhausted_range(tmp_path):
    store = PlatformStore(tmp_path)
    who = mail.Terminal(HALL, 1, "clerk")
    mail.allocate(store, who, "req", 3, "s10")
    with pytest.raises(mail.AllocationConflict):
        mail.allocate(store, who, "req", 4, "s10")
    store.set_meta(waybill_next_domestic=10 ** 11 - 2)
    with pytest.raises(mail.PoolExhausted):
        mail.allocate(store, who, "other", 5, "domestic")
    count = store.conn.execute("SELECT count(*) FROM waybill_numbers").fetchone()[0]
    assert count == 3
    store.close()
