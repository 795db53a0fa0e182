"""Mailman 2 (pipermail) archives over HTTP: index page -> months -> monthly text archives.

Pipermail is the fallback source (HyperKitty holds the whole history) and the way to map old
`/pipermail/LIST/YYYY-Month/NNNNNN.html` URLs to messages, which `--with-html` does by reading
each article page's `In-Reply-To=` parameter (the page's own Message-ID).
"""
from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

from bs4 import BeautifulSoup

from ..config import ListSource
from ..errors import FetchError
from ..model import Defect, SourceHints
from ..parse import normalise_message_id
from .http import HttpClient, HttpStatusError, read_meta
from .headers import message_id
from .remote import Item, Part, Tally, json_cursor, parse_since, read_cached

MONTHS = {name.lower(): n for n, name in enumerate(calendar.month_name) if name}
_ARCHIVE = re.compile(r"^(\d{4}-[A-Za-z0-9]+)\.txt(\.gz)?$")
_ARTICLE = re.compile(r"^(\d+)\.html$")
RECHECK = 2   # the newest months are always asked again: mail keeps arriving in them
HTML = "+html"  # cursor mark: the month was ingested with its article pages (--with-html)


@dataclass(frozen=True)
class Month:
    """One archive volume as the index names it; `month` is None for names we cannot read."""

    name: str              # "2021-June", as the archive spells it
    url: str               # absolute URL of its .txt.gz (or .txt)
    year: int
    month: int | None

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.year, self.month or 0, self.name)

    @property
    def filename(self) -> str:
        return urlsplit(self.url).path.rsplit("/", 1)[-1]


def month_of(name: str) -> tuple[int, int | None]:
    """("2021-June") -> (2021, 6); unknown month words give (year, None), never an error."""
    year, _, word = name.partition("-")
    return int(year), MONTHS.get(word.lower())


def parse_index(html: str, base_url: str) -> list[Month]:
    """Every month with a downloadable text archive, oldest first.

    A month offering both `.txt.gz` and `.txt` is taken as `.txt.gz`; months whose names are
    bogus (1945-February from a wrong Date header, unknown words) are kept, not guessed at.
    """
    soup = BeautifulSoup(html, "html.parser")
    found: dict[str, Month] = {}
    for a in soup.find_all("a", href=True):
        href = a["href"].strip()
        m = _ARCHIVE.match(href.rsplit("/", 1)[-1])
        if not m:
            continue
        name, gz = m.group(1), bool(m.group(2))
        year, month = month_of(name)
        if name in found and not gz:
            continue
        found[name] = Month(name=name, url=urljoin(base_url, href), year=year, month=month)
    return sorted(found.values(), key=lambda m: m.key)


def wanted(month: Month, since: date | None) -> bool:
    if since is None:
        return True
    if month.month is None:
        return month.year >= since.year
    return (month.year, month.month) >= (since.year, since.month)


def base_url(source: ListSource) -> str:
    """The list's archive folder: the configured URL, without index.html, with a slash."""
    url = source.url
    if url.endswith(".html"):
        url = url.rsplit("/", 1)[0]
    return url if url.endswith("/") else url + "/"


def load_cursor(value: str | None) -> dict[str, str]:
    """The cursor maps each ingested month to the hash of the file that was ingested."""
    months = json_cursor(value).get("months")
    return {str(k): str(v) for k, v in months.items()} if isinstance(months, dict) else {}


def dump_cursor(months: dict[str, str]) -> str:
    return json.dumps({"months": dict(sorted(months.items()))}, sort_keys=True)


def cached_months(folder: Path, base: str) -> list[Month]:
    """The month archives in the cache (offline), newest copy of each month, oldest first."""
    found: dict[str, tuple[float, Month]] = {}
    if not folder.is_dir():
        return []
    for path in folder.iterdir():
        m = _ARCHIVE.match(path.name)
        if not m or not path.is_file():
            continue
        year, month = month_of(m.group(1))
        item = Month(m.group(1), urljoin(base, path.name), year, month)
        mtime = path.stat().st_mtime
        if m.group(1) not in found or found[m.group(1)][0] < mtime:
            found[m.group(1)] = (mtime, item)
    return sorted((m for _, m in found.values()), key=lambda m: m.key)


def parts(client: HttpClient | None, source: ListSource, cache: Path, cursor: str | None,
          tally: Tally, *, with_html: bool = False) -> Iterator[Part]:
    """The months to ingest, downloading what is new; `client` None means offline."""
    base = base_url(source)
    done = load_cursor(cursor)
    since = parse_since(source)
    if client is None:
        months = [m for m in cached_months(cache, base) if wanted(m, since)]
    else:
        listed = parse_index(client.get_text(base), base)
        if not listed:
            raise FetchError(f"{base}: no monthly text archives (YYYY-Month.txt.gz) on this "
                             f"page; is it a pipermail archive index?")
        months = [m for m in listed if wanted(m, since)]
    recheck = {m.name for m in sorted(months, key=lambda m: m.key)[-RECHECK:]}
    for month in months:
        path = cache / month.filename
        if client is not None and (month.name in recheck or not path.is_file()):
            tally.checked += 1
            try:
                got = client.download(month.url, path)
            except HttpStatusError as exc:
                defect = Defect("fetch-failed", f"month {month.name}: HTTP {exc.status}",
                                source=month.url)
                tally.defects.append(defect)
                yield Part(month.name, month.url, lambda d=defect: [d], cursor=None)
                continue
            if got.changed:
                tally.downloaded += 1
                _drop_other_forms(path)
            sha = got.sha256
        else:
            sha = read_meta(path).get("sha256") or ""
            if not path.is_file():
                continue
        mapped = with_html and client is not None
        # a month ingested without its article pages is ingested again once they are asked for
        if client is not None and done.get(month.name) in ({sha + HTML} if mapped
                                                             else {sha, sha + HTML}):
            continue
        pages = _article_map(client, base, month, cache) if mapped else {}
        done = {**done, month.name: sha + (HTML if mapped else "")}
        yield Part(month.name, month.url,
                   lambda p=path, u=month.url, pg=pages: _items(p, u, source.name, pg),
                   cursor=dump_cursor(done))


def _drop_other_forms(path: Path) -> None:
    """A month served as .txt while current and as .txt.gz once closed: keep one copy."""
    name = path.name
    other = name[:-3] if name.endswith(".gz") else name + ".gz"
    for stale in (path.with_name(other), path.with_name(other + ".meta.json")):
        stale.unlink(missing_ok=True)


def _items(path: Path, url: str, list_name: str, pages: dict[str, str]) -> Iterator[Item]:
    def annotate(raw: bytes, hints: SourceHints) -> SourceHints:
        page = pages.get(message_id(raw))
        return replace(hints, archive_url=page) if page else hints

    return read_cached(path, url, list_name, annotate if pages else None)


# --- article pages (--with-html) ---------------------------------------------------------

def article_message_id(html: str) -> str | None:
    """The Message-ID a pipermail article page carries in its mailto link's In-Reply-To=."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup.find_all(["link", "a"], href=True):
        href = tag["href"]
        if not href.lower().startswith("mailto:") or "?" not in href:
            continue
        query = {k.lower(): v for k, v in parse_qs(href.split("?", 1)[1]).items()}
        if query.get("in-reply-to"):
            value = normalise_message_id(query["in-reply-to"][0])
            if value:
                return value
    return None


def article_links(html: str, month_url: str) -> list[str]:
    """Absolute URLs of the article pages a month index (date.html) links to."""
    soup = BeautifulSoup(html, "html.parser")
    urls = []
    for a in soup.find_all("a", href=True):
        if _ARTICLE.match(a["href"].strip()):
            url = urljoin(month_url, a["href"].strip())
            if url not in urls:
                urls.append(url)
    return urls


def _article_map(client: HttpClient, base: str, month: Month, cache: Path) -> dict[str, str]:
    """Message-ID -> article page URL for one month; pages are cached, as they never change."""
    folder = urljoin(base, month.name + "/")
    try:
        index = client.get_text(folder + "date.html")
    except FetchError:
        return {}
    found: dict[str, str] = {}
    for url in article_links(index, folder):
        page = cache / month.name / url.rsplit("/", 1)[-1]
        try:
            if not page.is_file():
                client.download(url, page, conditional=False)
        except FetchError:
            continue
        msgid = article_message_id(page.read_text(encoding="utf-8", errors="replace"))
        if msgid:
            found.setdefault(msgid, url)
    return found
