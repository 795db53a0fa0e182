"""Keep the store current with the configured remote archives: fetch new parts, ingest them.

Each list is synced part by part (month, date window, file). A part's messages are committed by
ingest before its cursor is stored, so a sync killed at any point resumes where the last
committed part ended: nothing is lost, and what is asked again is only added once (the store is
idempotent).
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from .config import ListSource, Settings, default_data_dir
from .errors import ConfigError, DigestError
from .sources.remote import Part, Tally, mbox_parts

# label -> a callable given the list's running count of messages done (closed, if it has
# close(), when the list is done): the CLI hangs a tqdm bar on it.
ProgressFactory = Callable[[str], Callable[[int], Any]]


@dataclass
class SyncSummary:
    """What one sync did for one configured list."""

    name: str
    kind: str
    unit: str                      # "month", "window", "file"
    label: str = ""                # name, with the kind when two sources share a name
    checked: int = 0               # parts asked of the server
    downloaded: int = 0            # parts that came back changed
    ingested_parts: int = 0
    messages: int = 0
    new: int = 0
    duplicates: int = 0
    defects: int = 0
    offline: bool = False
    error: str | None = None

    def line(self) -> str:
        """`wikimedia-l: 3 months checked, 1 downloaded, 41 new messages`."""
        who = self.label or self.name
        if self.offline:
            head = f"{who}: {_count(self.ingested_parts, self.unit)} re-ingested from the cache"
        else:
            head = f"{who}: {_count(self.checked, self.unit)} checked, {self.downloaded} downloaded"
        text = f"{head}, {_count(self.new, 'new message')}"
        if self.defects:
            text += f", {_count(self.defects, 'defect')}"
        if self.error:
            text += f"; failed: {self.error}"
        return text


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def cache_root(settings: Settings) -> Path:
    """settings.http.cache_dir, else `cache/` beside a SQLite store file, else the data dir."""
    if settings.http.cache_dir:
        return Path(settings.http.cache_dir).expanduser()
    store = settings.store
    if store and "://" not in store:
        return Path(store).expanduser().resolve().parent / "cache"
    if store.startswith("sqlite:///"):
        return Path(store[len("sqlite:///") - 1:]).parent / "cache"
    return default_data_dir(os.environ) / "cache"


def cursor_key(source: ListSource) -> str:
    """One cursor per source: `hyperkitty:wikimedia-l`."""
    return f"{source.kind}:{source.name}"


def cache_dir(root: Path, source: ListSource) -> Path:
    safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", source.name) or "list"
    return root / source.kind / safe


def selected(settings: Settings, list_name: str | None) -> list[ListSource]:
    lists = [s for s in settings.lists if s.enabled]
    if list_name:
        named = [s for s in settings.lists if s.name.lower() == list_name.lower()]
        lists = [s for s in named if s.enabled] or named   # naming a disabled one enables it
        if not lists:
            names = ", ".join(sorted({s.name for s in settings.lists})) or "none"
            raise ConfigError(f"--list {list_name}: no such list in the configuration "
                              f"(configured: {names})")
    if not lists:
        raise ConfigError(f"{settings.config_path or 'no configuration file'}: no [[lists]] to "
                          f"sync (see digest.example.toml; --config FILE or ./digest.toml)")
    return lists


def sync(settings: Settings, store: Any, *, list_name: str | None = None, offline: bool = False,
         with_html: bool = False, progress_factory: ProgressFactory | None = None,
         client: Any = None, today: date | None = None,
         workers: int | None = None) -> list[SyncSummary]:
    """Sync every configured (or the named) list; one summary per list, failures included.

    `client` (an HttpClient) and `today` are injectable for tests; without a client one is
    made from settings.http, which refuses to exist without a contact (ConfigError).
    """
    from .ingest import default_rules, ingest_stream
    from .sources.http import HttpClient

    sources = selected(settings, list_name)
    rules = default_rules(settings.classify.rules or None, settings.classify.threshold)
    names = [s.name.lower() for s in sources]
    own_client = None
    if not offline and client is None:
        client = own_client = HttpClient(settings.http)
    if offline:
        client = None
    today = today or datetime.now(timezone.utc).date()
    root = cache_root(settings)
    summaries = []
    try:
        for source in sources:
            tally = Tally(unit=_unit(source.kind))
            summary = SyncSummary(name=source.name, kind=source.kind, unit=tally.unit,
                                  offline=offline,
                                  label=source.name if names.count(source.name.lower()) == 1
                                  else f"{source.name} ({source.kind})")
            report = progress_factory(summary.label) if progress_factory else None
            try:
                for part in _parts(client, source, root, store, tally, with_html=with_html,
                                   today=today):
                    base = summary.messages
                    result = ingest_stream(
                        part.items(), store, workers=workers, source=part.source, rules=rules,
                        progress=(lambda n, b=base: report(b + n)) if report else None)
                    if part.cursor is not None:
                        store.set_cursor(cursor_key(source), part.cursor)
                    summary.ingested_parts += 1
                    summary.messages += result.messages
                    summary.new += result.new + result.conflicts
                    summary.duplicates += result.duplicates + result.merged
                    summary.defects += len(result.defects)
            except DigestError as exc:
                summary.error = str(exc)
            finally:
                summary.checked, summary.downloaded = tally.checked, tally.downloaded
                if report is not None and hasattr(report, "close"):
                    report.close()
            summaries.append(summary)
    finally:
        if own_client is not None:
            own_client.close()
    return summaries


def _unit(kind: str) -> str:
    return {"pipermail": "month", "hyperkitty": "window"}.get(kind, "file")


def _parts(client: Any, source: ListSource, root: Path, store: Any, tally: Tally, *,
           with_html: bool, today: date) -> Iterator[Part]:
    cache = cache_dir(root, source)
    cursor = store.get_cursor(cursor_key(source))
    if source.kind == "pipermail":
        from .sources import pipermail

        return pipermail.parts(client, source, cache, cursor, tally, with_html=with_html)
    if source.kind == "hyperkitty":
        from .sources import hyperkitty

        return hyperkitty.parts(client, source, cache, cursor, tally, today=today)
    if source.kind == "mbox-url":
        return mbox_parts(client, source, cache, cursor, tally)
    raise ConfigError(f"lists[{source.name}].kind {source.kind!r} is not a known kind")
