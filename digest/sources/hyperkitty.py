"""Mailman 3 (HyperKitty) archives over HTTP: mbox.gz exports by date window, and the REST API.

HyperKitty holds the lists' whole history, so it is the primary source. Syncs are incremental at
day granularity: each asks again from the day of the last message it has. Real servers sometimes
answer an export with a near-empty file for a range that has mail; every export is counted and
compared with what the API (or the previous sync) says, and a short window is split in halves
down to one day, the range that stays broken being reported as a defect.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from ..config import ListSource
from ..errors import ConfigError
from ..model import Defect, SourceHints
from ..parse import message_id_hash, normalise_message_id
from .http import BadAnswerError, HttpClient, HttpStatusError
from .headers import header_value, message_id
from .remote import Item, Part, Tally, json_cursor, parse_since, read_cached

PAGE = 100          # the API is always asked with an explicit limit
MAX_PAGES = 20      # how far back the API is paged to validate exports
LATE_DAYS = 31      # a quiet list is re-asked at most this far back


@dataclass(frozen=True)
class HyperKittyList:
    """Where one list lives on a HyperKitty site."""

    url: str           # https://host/hyperkitty/list/NAME@DOMAIN/
    address: str       # NAME@DOMAIN
    root: str          # https://host/hyperkitty/

    def export_url(self, start: date, end: date) -> str:
        name = quote(f"{self.address}-{start.isoformat()}", safe="@-.")
        return f"{self.url}export/{name}.mbox.gz?start={start.isoformat()}&end={end.isoformat()}"

    @property
    def api_emails(self) -> str:
        return f"{self.root}api/list/{quote(self.address, safe='@')}/emails/"

    def permalink(self, msgid_hash: str) -> str:
        return f"{self.url}message/{msgid_hash}/"


def locate(url: str) -> HyperKittyList:
    """Split a configured list URL (`.../hyperkitty/list/NAME@DOMAIN/...`) into its parts."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")]
    if "list" not in segments or segments.index("list") + 1 >= len(segments) \
            or "@" not in segments[segments.index("list") + 1]:
        raise ConfigError(f"{url}: not a HyperKitty list URL (expected "
                          f".../hyperkitty/list/NAME@DOMAIN/)")
    i = segments.index("list")
    prefix = "/".join(segments[:i])
    root = f"{parts.scheme}://{parts.netloc}{prefix}/"
    address = segments[i + 1]
    return HyperKittyList(url=f"{root}list/{address}/", address=address, root=root)


def windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end) cut at month boundaries: the first window runs from `start` to the next 1st."""
    out = []
    cur = start
    while cur < end:
        nxt = date(cur.year + (cur.month == 12), cur.month % 12 + 1, 1)
        out.append((cur, min(nxt, end)))
        cur = nxt
    return out


def deobfuscate(address: str) -> str:
    """The API writes sender addresses as `user (a) example.org`."""
    return address.replace(" (a) ", "@").strip()


@dataclass(frozen=True)
class ApiEmail:
    """One email as the REST API lists it."""

    message_id: str
    msgid_hash: str
    date: datetime | None
    sender: str
    sender_name: str
    subject: str
    url: str


def api_page_items(data: Any) -> tuple[list[dict], str | None]:
    """A page in either shape: a bare list, or {"count", "next", "results"}."""
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)], None
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        nxt = data.get("next")
        return [d for d in data["results"] if isinstance(d, dict)], nxt if isinstance(nxt, str) else None
    raise BadAnswerError("the API answered neither a list nor a paginated object")


def _api_email(item: dict) -> ApiEmail:
    sender = item.get("sender") or {}
    when = None
    if isinstance(item.get("date"), str):
        try:
            when = datetime.fromisoformat(item["date"].replace("Z", "+00:00"))
            when = when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
        except ValueError:
            when = None
    return ApiEmail(message_id=normalise_message_id(str(item.get("message_id") or "")),
                    msgid_hash=str(item.get("message_id_hash") or ""), date=when,
                    sender=deobfuscate(str(sender.get("address") or "")) if isinstance(sender, dict) else "",
                    sender_name=str(item.get("sender_name") or ""),
                    subject=str(item.get("subject") or ""), url=str(item.get("url") or ""))


def api_emails(client: HttpClient, hk: HyperKittyList, *, since: date | None = None,
               limit: int = PAGE, max_pages: int = MAX_PAGES) -> Iterator[ApiEmail]:
    """The list's emails, newest first, until a whole page is older than `since`.

    Always sends `limit` (without it DRF may answer everything as one bare list) and asks for
    `-date` ordering; servers that ignore it order by archive date, hence the whole-page test.
    """
    url: str | None = hk.api_emails
    params: dict[str, Any] | None = {"limit": limit, "offset": 0, "ordering": "-date"}
    for _ in range(max_pages):
        if url is None:
            return
        data = client.get_json(url, params)
        items, nxt = api_page_items(data)
        emails = [_api_email(i) for i in items]
        yield from emails
        if not emails:
            return
        if since is not None and all(e.date and e.date.date() < since for e in emails):
            return
        if nxt:
            url, params = nxt, None
        elif isinstance(data, dict) and len(items) == limit and params is not None:
            params = {**params, "offset": params["offset"] + limit}
        else:
            return


def api_day_counts(client: HttpClient, hk: HyperKittyList, since: date
                   ) -> tuple[Counter[date], date | None]:
    """Messages per day from the API, and the first day the counts are complete from
    (None when the API is not available: then exports are checked against the cursor alone)."""
    counts: Counter[date] = Counter()
    oldest: date | None = None
    exhausted = False
    try:
        seen = 0
        for email in api_emails(client, hk, since=since):
            seen += 1
            if email.date is not None:
                counts[email.date.date()] += 1
                oldest = email.date.date() if oldest is None else min(oldest, email.date.date())
        exhausted = seen < PAGE * MAX_PAGES
    except (HttpStatusError, BadAnswerError):   # no API here; a dead host fails the list
        return Counter(), None
    complete_from = since if exhausted else (oldest + timedelta(days=1) if oldest else None)
    return counts, complete_from


def load_cursor(value: str | None) -> dict[str, str]:
    """The cursor holds the last message's time (`last`) and the last day asked (`through`)."""
    return {k: str(v) for k, v in json_cursor(value).items()}


def start_day(cursor: dict[str, str], since: date | None, today: date) -> date | None:
    """Where a sync starts: the day of the last message it has (a quiet list: at most
    LATE_DAYS before the end of what was last asked), else `since`."""
    try:
        last = date.fromisoformat(cursor["last"][:10]) if cursor.get("last") else None
        through = date.fromisoformat(cursor["through"]) if cursor.get("through") else None
    except ValueError:
        last = through = None
    if through is not None:
        floor = through - timedelta(days=LATE_DAYS)
        start = max(last, floor) if last else floor
        return min(start, today)
    if last is not None:
        return min(last, today)
    return since


def _message_date(raw: bytes) -> datetime | None:
    value = header_value(raw, "Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)


def _annotate(hk: HyperKittyList):
    def annotate(raw: bytes, hints: SourceHints) -> SourceHints:
        norm = message_id(raw)
        return replace(hints, archive_url=hk.permalink(message_id_hash(norm))) if norm else hints
    return annotate


@dataclass
class _Window:
    start: date
    end: date
    path: Path
    url: str
    count: int
    last: datetime | None


def _fetch_window(client: HttpClient, hk: HyperKittyList, cache: Path, name: str,
                  start: date, end: date, tally: Tally) -> _Window:
    url = hk.export_url(start, end)
    path = cache / f"{start.isoformat()}_{end.isoformat()}.mbox.gz"
    tally.checked += 1
    got = client.download(url, path)
    if got.changed:
        tally.downloaded += 1
    count, last = 0, None
    for item in read_cached(path, url, name):
        if isinstance(item, Defect):
            continue
        count += 1
        when = _message_date(item[0])
        if when is not None and (last is None or when > last):
            last = when
    return _Window(start, end, path, url, count, last)


def _expected(counts: Counter[date], complete_from: date | None, start: date, end: date,
              cursor_last: date | None) -> int:
    n = 0
    if complete_from is not None:
        n = sum(c for d, c in counts.items() if start <= d < end and d >= complete_from)
    if cursor_last is not None and start <= cursor_last < end:
        n = max(n, 1)   # the previous sync had a message on that day
    return n


def _checked_windows(client: HttpClient, hk: HyperKittyList, cache: Path, name: str,
                     start: date, end: date, tally: Tally, counts: Counter[date],
                     complete_from: date | None, cursor_last: date | None
                     ) -> Iterator[tuple[_Window, Defect | None]]:
    """Windows in order; a short one is split in halves down to a day, and a day that stays
    short comes with a defect."""
    window = _fetch_window(client, hk, cache, name, start, end, tally)
    expected = _expected(counts, complete_from, start, end, cursor_last)
    if window.count >= expected:
        yield window, None
        return
    days = (end - start).days
    if days <= 1:
        defect = Defect("broken-export",
                        f"{start.isoformat()}..{end.isoformat()}: the export has "
                        f"{window.count} messages, {expected} expected", source=window.url)
        yield window, defect
        return
    middle = start + timedelta(days=days // 2)
    window.path.unlink(missing_ok=True)   # superseded by the halves
    Path(str(window.path) + ".meta.json").unlink(missing_ok=True)
    for a, b in ((start, middle), (middle, end)):
        yield from _checked_windows(client, hk, cache, name, a, b, tally, counts, complete_from,
                                    cursor_last)


def cached_windows(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*_*.mbox.gz") if p.is_file())


def parts(client: HttpClient | None, source: ListSource, cache: Path, cursor: str | None,
          tally: Tally, *, today: date) -> Iterator[Part]:
    """Date windows to ingest, from the cursor's day to today; `client` None means offline."""
    hk = locate(source.url)
    annotate = _annotate(hk)
    if client is None:
        for path in cached_windows(cache):
            label = path.name.removesuffix(".mbox.gz").replace("_", "..")
            yield Part(label, str(path), lambda p=path: read_cached(p, str(p), source.name, annotate))
        return
    state = load_cursor(cursor)
    start = start_day(state, parse_since(source), today)
    if start is None:
        start = _first_day(client, hk)
    if start is None:
        raise ConfigError(f"lists[{source.name}]: set `since` (the API does not say where "
                          f"the archive starts)")
    end = today + timedelta(days=1)
    counts, complete_from = api_day_counts(client, hk, start)
    cursor_last = date.fromisoformat(state["last"][:10]) if state.get("last") else None
    last = datetime.fromisoformat(state["last"]) if state.get("last") else None
    broken = False
    for a, b in windows(start, end):
        for window, defect in _checked_windows(client, hk, cache, source.name, a, b, tally,
                                               counts, complete_from, cursor_last):
            if defect is not None:
                tally.defects.append(defect)
                broken = True   # the cursor stays before the broken range: retried next sync
            if window.last is not None:
                capped = min(window.last, datetime.combine(today + timedelta(days=1),
                                                           datetime.min.time(), timezone.utc))
                last = capped if last is None else max(last, capped)
            new_state = {"through": min(window.end, today).isoformat()}
            if last is not None:
                new_state["last"] = last.isoformat()
            yield Part(f"{window.start.isoformat()}..{window.end.isoformat()}", window.url,
                       lambda w=window, d=defect: _window_items(w, source.name, annotate, d),
                       cursor=None if broken else json.dumps(new_state, sort_keys=True))


def _window_items(window: _Window, name: str, annotate, defect: Defect | None) -> Iterator[Item]:
    yield from read_cached(window.path, window.url, name, annotate)
    if defect is not None:
        yield defect


def _first_day(client: HttpClient, hk: HyperKittyList) -> date | None:
    """The oldest message's day, when the API sorts by date; None otherwise."""
    try:
        items, _ = api_page_items(client.get_json(hk.api_emails,
                                                  {"limit": 1, "offset": 0, "ordering": "date"}))
    except (HttpStatusError, BadAnswerError):
        return None
    first = _api_email(items[0]).date if items else None
    return first.date() if first else None
