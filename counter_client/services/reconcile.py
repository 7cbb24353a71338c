"""End-of-shift reconciliation (sync rule 8): what this terminal believes the platform holds for a
day, against what the platform says it holds (receipt numbers and payload hashes).

Gaps, loudest first:

* ``missing_there`` — acknowledged here, not on the platform: resend (the same body);
* ``hash_differs`` — on the platform under our number with another body: needs the platform's
  operators, nothing is sent;
* ``unknown_here`` — on the platform under this terminal's number, unknown here: another computer
  uses this terminal's number, or this one was restored from an old copy;
* ``not_acked_here`` — on the platform with our hash but not yet acknowledged here (an in-doubt
  send that got through): settled here at once, not a gap.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass, field

from counter_client.platform_api.delivery import DeliveryClient
from offline_cache.outbox import Outbox

log = logging.getLogger(__name__)

MESSAGES = {
    "missing_there": "本机记录已送达，但平台没有这件办件。可重新发送（内容不变）。",
    "hash_differs": "平台上同一收件编号的办件内容与本机不一致。请联系平台运维核对，切勿重复收件。",
    "unknown_here": "平台上有本终端编号的办件，本机却没有记录。请核查是否有其他电脑使用了相同的终端号。",
}


@dataclass(frozen=True)
class Gap:
    receipt_no: str
    kind: str
    local_state: str  # "" when unknown here
    local_hash: str
    platform_hash: str
    message: str


@dataclass
class Reconciliation:
    day: str
    acked_here: int = 0
    held_there: int = 0
    matched: int = 0
    settled: list[str] = field(default_factory=list)  # in-doubt sends found on the platform: acknowledged now
    pending_here: int = 0  # not yet delivered (queued, waiting): not gaps, but not done either
    gaps: list[Gap] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.gaps

    def as_dict(self) -> dict:
        data = asdict(self)
        data["clean"] = self.clean
        return data


def reconcile(client: DeliveryClient, outbox: Outbox, day: dt.date) -> Reconciliation:
    """Compare, settle what can be settled, and list the gaps (nothing is resent here)."""
    answer = client.reconciliation(day.isoformat())
    there = {c.receipt_no: c for c in answer.cases}
    here = {item.key: item for item in outbox.cases_of_day(f"{day:%y%m%d}")}
    report = Reconciliation(day.isoformat(), held_there=len(there))
    for receipt, item in here.items():
        held = there.get(receipt)
        if item.state == "acked":
            report.acked_here += 1
            if held is None:
                report.gaps.append(Gap(receipt, "missing_there", item.state, item.payload_hash, "",
                                       MESSAGES["missing_there"]))
            elif held.payload_hash != item.payload_hash:
                report.gaps.append(Gap(receipt, "hash_differs", item.state, item.payload_hash, held.payload_hash,
                                       MESSAGES["hash_differs"]))
            else:
                report.matched += 1
        elif held is not None:
            if item.payload_hash and held.payload_hash == item.payload_hash:
                outbox.mark_acked(item.id, {"receipt_no": receipt, "payload_hash": held.payload_hash,
                                            "accepted_at": held.accepted_at, "confirmed": "reconciliation"})
                report.settled.append(receipt)
                report.matched += 1
            else:
                report.gaps.append(Gap(receipt, "hash_differs", item.state, item.payload_hash, held.payload_hash,
                                       MESSAGES["hash_differs"]))
        else:
            report.pending_here += 1
    for receipt, held in there.items():
        if receipt not in here:
            report.gaps.append(Gap(receipt, "unknown_here", "", "", held.payload_hash, MESSAGES["unknown_here"]))
    if report.gaps:
        log.error("reconciliation %s: %d gap(s): %s", report.day, len(report.gaps),
                  ", ".join(f"{g.receipt_no}:{g.kind}" for g in report.gaps))
    else:
        log.info("reconciliation %s: %d acknowledged here, %d held there, all match", report.day,
                 report.acked_here, report.held_there)
    return report


def resend(outbox: Outbox, report: Reconciliation) -> list[str]:
    """Queue again every case acknowledged here that the platform does not hold (same body)."""
    again = []
    for gap in report.gaps:
        if gap.kind == "missing_there":
            item = outbox.item(gap.receipt_no)
            if item is not None:
                outbox.requeue(item.id, "对账发现平台缺少此办件，已重新排队发送。")
                again.append(gap.receipt_no)
    return again
