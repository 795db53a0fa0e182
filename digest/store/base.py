"""The Store protocol: what every backend (SQLite now, PostgreSQL later) must answer.

Stages talk to storage only through this interface; only `store/` speaks SQL.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from ..model import Defect, Link, Message, Record, Verdict


@dataclass(frozen=True)
class Ingested:
    """One message ready to store, with what the pure stages derived from it."""

    message: Message
    links: tuple[Link, ...] = ()
    verdict: Verdict | None = None


@dataclass
class AddResult:
    """What one `Store.add` batch did: the ingest summary adds these up."""

    new: int = 0            # messages not seen before
    duplicates: int = 0     # already stored (same key and content); memberships may still be added
    merged: int = 0         # already stored, and this copy completed the stored one
    conflicts: int = 0      # same Message-ID, different message: both kept, reported
    conflict_keys: list[str] = field(default_factory=list)


class DeliveryState(StrEnum):
    CLAIMED = "claimed"     # recorded before sending: a crash leaves it visible, never resent blindly
    SENT = "sent"
    FAILED = "failed"       # permanent failure for this recipient


@dataclass(frozen=True)
class Delivery:
    digest_key: str         # (list set, period, time zone, format) as one string
    recipient: str
    state: DeliveryState
    updated: datetime
    detail: str = ""


class Store(Protocol):
    """An archive of messages with links, verdicts, threads, cursors and delivery records."""

    url: str

    # --- ingest -------------------------------------------------------------------------
    def add(self, batch: Sequence[Ingested]) -> AddResult:
        """Store a batch in one transaction. Idempotent: re-adding a message adds nothing but
        missing list memberships, archive URLs, and fields a more complete copy brings."""

    def add_defects(self, defects: Iterable[Defect]) -> None:
        """Record input defects (idempotent on (source, index, kind))."""

    def set_verdicts(self, verdicts: Sequence[tuple[str, Verdict]]) -> int:
        """Replace the verdicts of these messages (by key) in one transaction, whatever they
        were (unlike `add`, which keeps the better of two copies'); how many rows changed."""

    # --- reading ------------------------------------------------------------------------
    def get(self, ident: str) -> Record | None:
        """A message by Message-ID (with or without <>), Message-ID-Hash, or archive URL."""

    def records_between(self, start: datetime, end: datetime,
                        lists: Sequence[str] | None = None,
                        partnership: bool | None = None) -> Iterator[Record]:
        """Messages with start <= date < end, ordered by (date, key); optional filters."""

    def iter_records(self, batch: int = 500, *, stale_for: str | None = None
                     ) -> Iterator[Record]:
        """Every stored message, oldest stored first, read `batch` at a time so that memory
        stays flat; writes between batches (`set_verdicts`) are allowed. With `stale_for`
        (a Rules.fingerprint), only those whose verdict those rules did not make."""

    def stale_verdicts(self, rules: str) -> int:
        """How many messages have no verdict made by these rules (Rules.fingerprint)."""

    def thread(self, thread_id: str) -> list[Record]:
        """All messages of a thread, ordered by date."""

    def latest_partnership_date(self, lists: Sequence[str] | None = None) -> datetime | None:
        """Date of the most recent partnership announcement (for `--week latest`)."""

    def stats(self) -> dict:
        """{"messages", "threads", "lists": {name: {"messages", "threads", "months":
        {YYYY-MM: n}, "defects", "defect_months": {YYYY-MM: n}}}, "defects": n,
        "defects_unplaced": n (defects of no stored message), "links": n, "partnership": n}"""

    def defects(self) -> list[Defect]:
        """Every recorded defect, in the order found."""

    # --- cursors (sync) -----------------------------------------------------------------
    def get_cursor(self, source: str) -> str | None: ...

    def set_cursor(self, source: str, value: str) -> None: ...

    # --- deliveries (exactly once) ------------------------------------------------------
    def claim_delivery(self, digest_key: str, recipient: str) -> bool:
        """Record the intent to send under a unique key; False when a record already exists
        (sent, claimed by another run, or failed), so nothing is ever sent twice."""

    def finish_delivery(self, digest_key: str, recipient: str, state: DeliveryState,
                        detail: str = "") -> None: ...

    def release_delivery(self, digest_key: str, recipient: str) -> None:
        """Drop a claim whose send certainly did not happen (transient failure), so a later
        run may retry it."""

    def deliveries(self, digest_key: str | None = None) -> list[Delivery]: ...

    def close(self) -> None: ...
