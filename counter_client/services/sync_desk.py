"""The clerk's side of delivery, Qt-free: the queue as the 同步 page shows it, what was delivered
today, retry and hold, login and logout, end-of-day reconciliation, and what the platform said
about a case (its timeline, 补正, 不予受理) for the case list and the case detail.

The sync engine sends; this desk only reads the outbox and the status feed and makes the few
changes a clerk or supervisor decides (retry now, hold, resume, resend after reconciliation,
mark a 补正 seen). Every method may block on SQLite or HTTP: the GUI calls them on the task
runner. A desk holds no connection of its own — the stores give each thread its own — so one
desk serves every runner thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from counter_client.errors import UserError
from counter_client.platform_api.delivery import DeliveryClient
from counter_client.services.intake import IntakeService
from counter_client.services.login import Profile
from counter_client.services.reconcile import Reconciliation, reconcile, resend
from offline_cache.outbox import STATE_LABELS, Outbox, OutboxItem
from offline_cache.statuses import (
    MAILED,
    NEEDS_CLERK,
    RANK,
    REFUSED,
    SUPPLEMENT,
    Event,
    Statuses,
    Supplement,
)

log = logging.getLogger(__name__)

UNSENT_STATES = ("queued", "sending", "in_doubt", "retry_wait", "held")
QUEUE_LIMIT = 500
KIND_LABELS = {"case": "办件", "supplement": "补正材料", "parcel": "包裹", "leg": "寄出结果"}
# most urgent first: what the case list shows when a case's items stand differently
URGENCY = (REFUSED, SUPPLEMENT)
NOT_SUPERVISOR = "只有值班主管账号可以暂停或恢复上传。"


@dataclass(frozen=True)
class QueueEntry:
    """One outbox item as the clerk sees it."""

    id: int
    kind: str  # case | supplement
    key: str  # receipt number, or the supplement's id
    receipt_no: str
    case_id: str
    state: str
    label: str  # 待上传, 上传中, 待确认, 等待重试, 被退回, 暂停, 已送达
    attempts: int
    created_at: float
    next_attempt_at: float
    last_error: str
    acked_at: float | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)


@dataclass(frozen=True)
class QueueSummary:
    """Counts by state and the oldest unsent item, as read at ``read_at`` (epoch seconds)."""

    counts: dict[str, int]
    oldest_unsent_at: float | None
    read_at: float

    @property
    def unsent(self) -> int:
        return sum(self.counts.get(s, 0) for s in UNSENT_STATES)

    @property
    def rejected(self) -> int:
        return self.counts.get("rejected", 0)

    @property
    def acked(self) -> int:
        return self.counts.get("acked", 0)

    def oldest_age(self, now: float | None = None) -> float | None:
        if self.oldest_unsent_at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - self.oldest_unsent_at)


@dataclass(frozen=True)
class QueueView:
    """What the 同步 page shows: the queue (not yet delivered, rejected included), today's
    deliveries, and who is logged in."""

    summary: QueueSummary
    entries: list[QueueEntry]
    delivered_today: list[QueueEntry]
    profile: Profile | None
    logged_in: bool
    training: bool
    labels: dict[str, str] = field(default_factory=lambda: dict(STATE_LABELS))  # state -> the clerk's word

    @property
    def supervisor(self) -> bool:
        return bool(self.profile and self.profile.supervisor and self.logged_in)


@dataclass(frozen=True)
class CaseDelivery:
    """One line of the case list: delivery state and the platform's latest word."""

    state: str  # the outbox state ('' when never queued)
    label: str
    platform_status: str  # e.g. 受理, 补正; several items: the most urgent first, joined by 、


@dataclass(frozen=True)
class CasePlatform:
    """What the case detail shows beside the local events."""

    receipt_no: str
    delivery: QueueEntry | None
    events: list[Event]  # the status feed for this case, oldest first
    item_statuses: dict[str, str]  # item code -> current status
    supplements: list[Supplement]
    supplement_entries: dict[str, QueueEntry]  # supplement id -> its outbox line
    unseen: list[Event]  # 补正 / 不予受理 the clerk has not opened yet

    def current(self, status: str) -> list[Event]:
        """The event that put each item into ``status``, for items that are in it now."""
        latest: dict[str, Event] = {}
        for e in self.events:
            if e.applied:
                latest[e.item_code] = e
        return [e for code, e in latest.items() if self.item_statuses.get(code) == status and e.status == status]

    @property
    def supplement_needed(self) -> list[Event]:
        return self.current(SUPPLEMENT)

    @property
    def refused(self) -> list[Event]:
        return self.current(REFUSED)

    @property
    def needed_materials(self) -> list[str]:
        """Every material asked for by the items in 补正, once each, in the order asked."""
        names: dict[str, None] = {}
        for e in self.supplement_needed:
            for name in e.needed:
                names.setdefault(name, None)
        return list(names)


def platform_summary(statuses: dict[str, str]) -> str:
    """The statuses of a case's items in one short text: the urgent ones first."""
    distinct = sorted(set(statuses.values()), key=lambda s: (s not in URGENCY, URGENCY.index(s) if s in URGENCY
                                                             else RANK.get(s, 99)))
    return "、".join(distinct)


@dataclass
class SyncDesk:
    """The queue and the platform's statuses of one terminal's cases, for the GUI."""

    intake: IntakeService
    login_service: Callable[[], Any]  # -> LoginService (its platform address may change)
    make_client: Callable[[], DeliveryClient]
    training: bool = False
    clock: Callable[[], float] = time.time
    outbox: Outbox = field(init=False)
    statuses: Statuses = field(init=False)

    def __post_init__(self) -> None:
        cases = self.intake.cases
        self.outbox = Outbox(cases.store, cases.cipher, clock=self.clock)
        self.statuses = Statuses(cases.store, clock=self.clock)

    # -- the queue ----------------------------------------------------------------------------------
    def summary(self) -> QueueSummary:
        now = self.clock()
        age = self.outbox.oldest_unsent_age()
        return QueueSummary(self.outbox.counts(), None if age is None else now - age, now)

    def queue(self, day: dt.date | None = None) -> QueueView:
        """The undelivered items (newest first), and what was delivered on ``day`` (today)."""
        summary = self.summary()
        pending = self.outbox.items(tuple(s for s in STATE_LABELS if s != "acked"), limit=QUEUE_LIMIT)
        day = day or dt.date.fromtimestamp(summary.read_at)
        start = dt.datetime.combine(day, dt.time()).timestamp()
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time()).timestamp()
        delivered = list(reversed(self.outbox.acked_between(start, end)))
        profile, logged_in = self._who()
        return QueueView(summary, self._entries(pending), self._entries(delivered), profile, logged_in,
                         self.training)

    def _entries(self, items: Iterable[OutboxItem]) -> list[QueueEntry]:
        receipts: dict[str, str] = {}
        out = []
        for item in items:
            receipt = "" if item.kind in ("parcel", "leg") else item.key  # shown by their own key (id, number)
            if item.kind == "supplement":
                if item.key not in receipts:
                    supplement = self.statuses.supplement(item.key)
                    receipts[item.key] = supplement.receipt_no if supplement else ""
                receipt = receipts[item.key]
            out.append(_entry(item, receipt))
        return out

    def retry_now(self, item_id: int) -> None:
        """Due at the next pass (the caller then asks for one)."""
        self.outbox.retry_now(item_id)
        log.info("outbox item %s: retry now (clerk)", item_id)

    def hold(self, item_id: int) -> None:
        """Put an item aside (supervisor only; an in-doubt item must be settled, not held)."""
        profile = self._supervisor()
        self.outbox.hold(item_id, profile.name or profile.account)
        log.info("outbox item %s held by %s", item_id, profile.account)

    def resume(self, item_id: int) -> None:
        profile = self._supervisor()
        self.outbox.retry_now(item_id)
        log.info("outbox item %s resumed by %s", item_id, profile.account)

    def _supervisor(self) -> Profile:
        profile, logged_in = self._who()
        if not (profile and logged_in and profile.supervisor):
            raise UserError(NOT_SUPERVISOR, "hold/resume without a supervisor login")
        return profile

    # -- login ---------------------------------------------------------------------------------------
    def _who(self) -> tuple[Profile | None, bool]:
        try:
            login = self.login_service()
        except UserError:  # no platform address yet (training platform still starting)
            return None, False
        try:
            return login.profile(), login.logged_in()
        except UserError as exc:  # the keyring is unavailable
            log.info("login state unknown: %s", exc.log)
            return login.profile(), False

    def profile(self) -> Profile | None:
        return self._who()[0]

    def login(self, account: str, password: str) -> Profile:
        client = self.make_client()
        try:
            return self.login_service().login(client, account.strip(), password)
        finally:
            client.close()

    def logout(self) -> None:
        client = self.make_client()
        try:
            self.login_service().logout(client)
        finally:
            client.close()

    # -- reconciliation ----------------------------------------------------------------------------
    def reconcile(self, day: dt.date) -> Reconciliation:
        """Compare ``day``'s acknowledged cases with what the platform holds (settles what it can)."""
        client = self.make_client()
        try:
            self.login_service().authorise(client)
            return reconcile(client, self.outbox, day)
        finally:
            client.close()

    def resend(self, report: Reconciliation) -> list[str]:
        """Queue again what the platform turned out not to hold (same body); the caller syncs."""
        return resend(self.outbox, report)

    # -- what the platform said ------------------------------------------------------------------------
    def deliveries(self, receipts: list[str]) -> dict[str, CaseDelivery]:
        """For the case list: each receipt's delivery state and platform status."""
        receipts = [r for r in receipts if r]
        statuses = self.statuses.case_statuses(receipts)
        out = {}
        for receipt in receipts:
            item = self.outbox.item(receipt)
            out[receipt] = CaseDelivery(item.state if item else "", item.label if item else "",
                                        platform_summary(statuses.get(receipt, {})))
        return out

    def case_platform(self, receipt_no: str) -> CasePlatform | None:
        if not receipt_no:
            return None
        item = self.outbox.item(receipt_no)
        supplements = self.statuses.supplements(receipt_no)
        lines = {}
        for s in supplements:
            outbox_item = self.outbox.item(s.id)
            if outbox_item is not None:
                lines[s.id] = _entry(outbox_item, receipt_no)
        unseen = [e for e in self.statuses.needing_clerk() if e.receipt_no == receipt_no]
        return CasePlatform(receipt_no, _entry(item, receipt_no) if item else None,
                            self.statuses.timeline(receipt_no), self.statuses.item_statuses(receipt_no),
                            supplements, lines, unseen)

    def needing_clerk(self) -> list[Event]:
        return self.statuses.needing_clerk()

    def mark_seen(self, receipt_no: str) -> None:
        self.statuses.mark_seen(receipt_no)


def _entry(item: OutboxItem, receipt_no: str) -> QueueEntry:
    return QueueEntry(item.id, item.kind, item.key, receipt_no, item.case_id, item.state, item.label, item.attempts,
                      item.created_at, item.next_attempt_at, item.last_error, item.acked_at)


__all__ = [
    "KIND_LABELS",
    "MAILED",
    "NEEDS_CLERK",
    "CaseDelivery",
    "CasePlatform",
    "QueueEntry",
    "QueueSummary",
    "QueueView",
    "SyncDesk",
    "platform_summary",
]
