"""Stored messages -> classify -> store: the verdicts brought up to date after the rules change.

Verdicts are computed at ingest and kept with each message, so a tuned rules file would
otherwise only reach new mail. The stored message and its stored links are what ingest
classified (the same verdict for the same rules), plus every list a copy was posted to.
Each verdict carries the fingerprint of the rules that made it, so only stale ones are read
again (a second run reads nothing). Messages are read in batches and their verdicts written one
batch a transaction, so memory stays flat and an interrupted run leaves every batch either done
or untouched, and goes on where it stopped when run again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from .classify import Rules, classify
from .model import Verdict

if TYPE_CHECKING:
    from .store import Store


@dataclass(frozen=True)
class Flip:
    """A message whose partnership verdict the new rules turn around."""

    key: str
    subject: str
    date: datetime | None
    before: Verdict | None
    after: Verdict

    def line(self) -> str:
        when = self.date.strftime("%Y-%m-%d") if self.date else "undated   "
        sign = "+" if self.after.partnership else "-"
        was = f"{self.before.score:.2f}" if self.before else " -- "
        return (f"{sign} {was} -> {self.after.score:.2f}  {when}  "
                f"{self.subject or '(no subject)'}  <{self.key}>")


@dataclass
class ReclassifySummary:
    checked: int = 0               # messages read: those whose verdict other rules made
    changed: int = 0               # verdicts that now say something else (score, reasons, ...)
    flips: list[Flip] = field(default_factory=list)
    seconds: float = 0.0
    dry_run: bool = False

    def line(self) -> str:
        gained = sum(1 for f in self.flips if f.after.partnership)
        lost = len(self.flips) - gained
        tail = " (dry run: nothing written)" if self.dry_run else ""
        if not self.checked:
            return ("reclassified 0 messages: every stored verdict was made by the current "
                    "rules (--all classifies them all again)")
        return (f"reclassified {self.checked} messages in {self.seconds:.1f} s: "
                f"{self.changed} verdicts changed, {gained} now partnership, "
                f"{lost} no longer{tail}")


def reclassify(store: Store, rules: Rules, *, everything: bool = False, dry_run: bool = False,
               batch: int = 500, progress: Callable[[int], None] | None = None
               ) -> ReclassifySummary:
    """Classify again, with `rules`, the stored messages whose verdict other rules made (with
    `everything`, all of them) and store what changed. Verdicts carry the fingerprint of the
    rules that made them, so a second run, or a run after an ingest with the same rules,
    reads nothing."""
    summary = ReclassifySummary(dry_run=dry_run)
    started = time.perf_counter()
    pending: list[tuple[str, Verdict]] = []

    def flush() -> None:
        if pending and not dry_run:
            store.set_verdicts(pending)
        pending.clear()

    stale_for = None if everything else rules.fingerprint
    for record in store.iter_records(batch, stale_for=stale_for):
        summary.checked += 1
        message = record.message
        verdict = classify(message, record.links, rules)
        if verdict != record.verdict:  # if only in its fingerprint, it is still written
            pending.append((message.key, verdict))
            if record.verdict is None or replace(verdict, rules="") != replace(
                    record.verdict, rules=""):
                summary.changed += 1
            before = record.verdict.partnership if record.verdict else False
            if verdict.partnership != before:
                summary.flips.append(Flip(message.key, message.subject, message.date,
                                          record.verdict, verdict))
        if summary.checked % batch == 0:
            flush()
            if progress is not None:
                progress(summary.checked)
    flush()
    if progress is not None:
        progress(summary.checked)
    summary.seconds = time.perf_counter() - started
    return summary
