"""Store + period -> Digest: the week's partnership announcements with one global reference list.

Composition decides *what* a digest says (entries, summaries, numbering); render.py decides how
it looks. Everything here is deterministic: the same store and period give the same Digest.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .config import DigestSettings
from .errors import DigestError
from .model import Digest, Entry, Link, LinkKind, Message, Record, Reference
from .store.base import Store

SUMMARY_WORDS = 60
MIN_WORDS = 12          # a shorter paragraph is an aside ("Big news today:"), unless it is all
CROSSPOST_WINDOW = timedelta(days=2)
HYPERKITTY = ("https://lists.wikimedia.org/hyperkitty/list/{list}@lists.wikimedia.org"
              "/message/{hash}/")


@dataclass(frozen=True)
class Period:
    """A half-open span [start, end) of local days, named like the digest it gives."""

    label: str          # "2017-W22" or "2017-05-01..2017-05-14"
    start: datetime     # inclusive, aware, in `tz`
    end: datetime       # exclusive, aware, in `tz`
    tz: str


# --- periods ------------------------------------------------------------------------------------

_WEEK = re.compile(r"^\s*(\d{4})-?[Ww](\d{1,2})\s*$")


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestError(f"time zone {tz!r} is not known") from None


def week_period(year: int, week: int, tz: str) -> Period:
    """The ISO week (Monday 00:00 to next Monday 00:00, local time) as a Period."""
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise DigestError(f"week {year}-W{week:02d} does not exist") from None
    zone = _zone(tz)
    start = datetime.combine(monday, time(), zone)
    end = datetime.combine(monday + timedelta(days=7), time(), zone)
    return Period(f"{year}-W{week:02d}", start, end, tz)


def _day(value: str, flag: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise DigestError(f"{flag} {value!r}: expected a date like 2017-05-01") from None


def parse_period(week: str | None, date_from: str | None, date_to: str | None, tz: str,
                 store: Store | None = None, now: datetime | None = None,
                 lists: Sequence[str] | None = None) -> Period:
    """The period the user asked for: an ISO week, "latest", --from/--to days (inclusive), or by
    default the last complete ISO week in `tz`."""
    zone = _zone(tz)
    if week and (date_from or date_to):
        raise DigestError(f"--week {week!r} cannot be combined with --from/--to")
    if date_from or date_to:
        if not date_from:
            raise DigestError(f"--to {date_to!r} needs --from")
        first = _day(date_from, "--from")
        today = (now or datetime.now(zone)).astimezone(zone).date()
        last = _day(date_to, "--to") if date_to else today
        if last < first:
            raise DigestError(f"--to {date_to!r} is before --from {date_from!r}")
        return Period(f"{first.isoformat()}..{last.isoformat()}",
                      datetime.combine(first, time(), zone),
                      datetime.combine(last + timedelta(days=1), time(), zone), tz)
    if week is None or not week.strip():
        local = (now or datetime.now(zone)).astimezone(zone)
        year, num, _ = (local.date() - timedelta(days=7)).isocalendar()
        return week_period(year, num, tz)
    if week.strip().lower() == "latest":
        if store is None:
            raise DigestError("--week latest needs a store")
        latest = store.latest_partnership_date(list(lists) if lists else None)
        if latest is None:
            raise DigestError(
                f"--week latest: no partnership announcement in the store {store.url}")
        year, num, _ = latest.astimezone(zone).date().isocalendar()
        return week_period(year, num, tz)
    match = _WEEK.match(week)
    if not match:
        raise DigestError(f"--week {week!r}: expected an ISO week like 2017-W22, or 'latest'")
    return week_period(int(match.group(1)), int(match.group(2)), tz)


def digest_key(digest: Digest, fmt: str = "eml") -> str:
    """The identity deliveries are recorded under: (list set, period, time zone, format)."""
    return f"{','.join(digest.lists)}|{digest.period}|{digest.timezone}|{fmt}"


# --- composing ----------------------------------------------------------------------------------

def compose(store: Store, period: Period, settings: DigestSettings) -> Digest:
    """The period's partnership announcements, merged, summarised and cross-referenced."""
    lists = tuple(settings.lists)
    zone = _zone(period.tz)
    found = [r for r in store.records_between(period.start, period.end, lists or None,
                                              partnership=True)
             if r.message.date is not None and r.verdict is not None and r.verdict.partnership]
    groups = merge_crossposts(found)
    numbering = _Numbering()
    entries = [_entry(group, numbering, zone, lists) for group in groups]
    also: tuple[str, ...] = ()
    if settings.also_on_lists:
        also = _also_on_lists(store, period, lists, groups)
    return Digest(period=period.label, start=period.start, end=period.end, timezone=period.tz,
                  lists=lists, entries=tuple(entries), references=numbering.references(),
                  also=also)


def entry_messages(store: Store, digest: Digest) -> dict[str, Message]:
    """The stored messages behind a digest's entries (what a MIME digest re-sends)."""
    out: dict[str, Message] = {}
    for entry in digest.entries:
        record = store.get(entry.key)
        if record is None:
            raise DigestError(
                f"message {entry.key!r} of digest {digest.period} is not in the store")
        out[entry.key] = record.message
    return out


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", text).split())


def _sender(message: Message) -> str:
    return (message.from_addr or message.from_name).strip().casefold()


def merge_crossposts(records: Iterable[Record]) -> list[list[Record]]:
    """Group one announcement's copies: one group per thread, and messages with the same
    normalised subject and sender within two days on different lists. Groups keep date order,
    the earliest copy first."""
    ordered = sorted(records, key=lambda r: (r.message.date, r.message.key))
    groups: list[list[Record]] = []
    by_thread: dict[str, list[Record]] = {}
    for record in ordered:
        msg = record.message
        if record.thread_id and record.thread_id in by_thread:
            by_thread[record.thread_id].append(record)
            continue
        home = None
        for group in groups:
            first = group[0].message
            if (_fold(first.subject_norm or first.subject) == _fold(msg.subject_norm or msg.subject)
                    and _sender(first) == _sender(msg)
                    and abs(msg.date - first.date) <= CROSSPOST_WINDOW
                    and not set(first.lists) & set(msg.lists)):
                home = group
                break
        if home is None:
            home = []
            groups.append(home)
        home.append(record)
        if record.thread_id:
            by_thread.setdefault(record.thread_id, home)
    return groups


class _Numbering:
    """The digest's one reference list: each URL numbered once, in order of first appearance."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._refs: list[Reference] = []

    def number(self, url: str, label: str = "", display: str = "",
               kind: LinkKind = LinkKind.OTHER) -> int:
        if url not in self._numbers:
            self._numbers[url] = len(self._refs) + 1
            self._refs.append(Reference(len(self._refs) + 1, url, label, display, kind))
        return self._numbers[url]

    def references(self) -> tuple[Reference, ...]:
        return tuple(self._refs)


def citable(link: Link, message: Message) -> bool:
    """A link worth a reference number: written by the sender, not list or signature furniture."""
    if link.boilerplate or link.quoted or link.truncated or link.kind == LinkKind.CONTACT:
        return False
    if not link.url.lower().startswith(("http://", "https://")):
        return False
    raw = link.raw or link.url
    in_signature = raw in message.signature or link.url in message.signature
    in_body = raw in message.new_text or link.url in message.new_text
    return not (in_signature and not in_body)


def _label(link: Link) -> str:
    label = " ".join((link.label or "").split())
    if not label and link.kind == LinkKind.WIKI and link.title:
        label = link.title
    if label.rstrip("/") in (link.url.rstrip("/"), link.display.rstrip("/")):
        return ""
    return label


def permalink(record: Record) -> str | None:
    """The message's archive page: as stored, else the HyperKitty permalink from its hash."""
    msg = record.message
    if msg.archive_url:
        return msg.archive_url
    if record.archive_urls:
        return record.archive_urls[0]
    if msg.lists and msg.msgid_hash:
        return HYPERKITTY.format(list=msg.lists[0], hash=msg.msgid_hash)
    return None


def _entry(group: list[Record], numbering: _Numbering, zone: ZoneInfo,
           lists: Sequence[str]) -> Entry:
    first = group[0]
    msg = first.message
    seen: set[str] = set()
    links: list[Link] = []
    for record in group:
        for link in sorted(record.links, key=lambda lk: lk.position):
            if link.url not in seen and citable(link, record.message):
                seen.add(link.url)
                links.append(link)
    local: dict[str, int] = {}
    for link in links:
        local[link.url] = numbering.number(link.url, _label(link), link.display, link.kind)
    refs = tuple(dict.fromkeys(local.values()))
    link_permalink = permalink(first)
    permalink_ref = numbering.number(link_permalink, "", "", LinkKind.MAILING_LIST) \
        if link_permalink else None
    entry_lists = sorted(dict.fromkeys(name for r in group for name in r.message.lists),
                         key=lambda n: (lists.index(n) if n in lists else len(lists), n))
    partners = dict.fromkeys(p for r in group if r.verdict for p in r.verdict.partners)
    return Entry(key=msg.key, subject=clean_subject(msg), from_name=msg.from_name or msg.from_addr,
                 date=msg.date.astimezone(zone), lists=tuple(entry_lists),
                 summary=summarise(msg.new_text or msg.text, first.links, local),
                 partners=tuple(partners),
                 replies=_replies(group), permalink=link_permalink, refs=refs,
                 permalink_ref=permalink_ref,
                 score=max(r.verdict.score for r in group if r.verdict),
                 message_id=msg.message_id, msgid_hash=msg.msgid_hash)


def _replies(group: list[Record]) -> int:
    """Replies in the entry's threads, not counting its own copies threaded as replies."""
    first = group[0]
    copies_in_thread = sum(1 for r in group[1:] if r.thread_id == first.thread_id)
    elsewhere = sum(r.replies for r in group[1:] if r.thread_id != first.thread_id)
    return max(0, first.replies - copies_in_thread) + elsewhere


_TAGS = re.compile(r"^\s*(\[[^\]]{1,40}\]\s*)+")


def clean_subject(message: Message) -> str:
    """The subject without list tags; the normalised one when the parser made it."""
    subject = " ".join(_TAGS.sub("", message.subject_norm or message.subject).split())
    return subject or "(no subject)"


def _also_on_lists(store: Store, period: Period, lists: Sequence[str],
                   groups: list[list[Record]]) -> tuple[str, ...]:
    taken = {r.message.key for g in groups for r in g} | {r.thread_id for g in groups for r in g}
    titles: list[str] = []
    seen: set[str] = set()
    for record in store.records_between(period.start, period.end, lists or None):
        msg = record.message
        if msg.key in taken or (record.thread_id and record.thread_id in taken) or msg.is_reply:
            continue
        title = clean_subject(msg)
        if _fold(title) not in seen:
            seen.add(_fold(title))
            titles.append(title)
    return tuple(titles)


# --- summaries ----------------------------------------------------------------------------------

_GREETING = re.compile(
    r"^(hi|hello|hallo|hey|hola|ciao|salut|bonjour|bonsoir|buongiorno|dear|greetings|"
    r"good (morning|afternoon|evening)|liebe|sehr geehrte|olá|ola|cher|chère|chers|"
    r"queridos|queridas|estimados|estimadas)\b", re.I)
_GREETING_LEAD = re.compile(_GREETING.pattern + r"[^,.!:;\n]{0,60}[,!:]\s*", re.I)
_CREDIT = re.compile(r"^(photo|image|picture|foto|bild|illustration|video)s?\s*(by|:|credit|©)|"
                     r"^(credits?\b|©)", re.I)
_CROSSPOST = re.compile(r"(apolog|sorry|excuse|pardon).{0,30}cross[- ]?post|cross[- ]?post", re.I)
_TRANSLATE = re.compile(
    r"(read|view|find|see) (this|it|the message|the announcement)?\s*(message |post |email )?"
    r"in (other|another|more|your) languages?|translations? (is |are )?(available|below)|"
    r"please help (us )?translate|^\W*translations?\W*$", re.I)
_FOOTNOTE = re.compile(r"^\s*\[\d{1,3}\]:?\s*(<?https?://\S+>?|\S+\.\S+/\S*)\s*$")
_URL_ONLY = re.compile(r"^\s*<?(https?://\S+|www\.\S+)>?\s*$")
_HEADERISH = re.compile(r"^\s*(from|to|cc|date|sent|subject|reply-to)\s*:\s", re.I)
_FORWARD = re.compile(r"^\W*(-+\s*)?(forwarded|original) message|^\W*begin forwarded message",
                      re.I)
_RULE = re.compile(r"^\W*$")
_ATTRIBUTION = re.compile(r"^\s*(on .{5,120} wrote:|le .{5,120} a écrit\s*:)\s*$", re.I)
_MARKER = re.compile(r"\[(\d{1,3})\]")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]”’]*\s+")


def _skip_line(line: str, opening: bool = True) -> bool:
    """Lines that are not the sender's message; greetings and notices only where a paragraph
    opens (a wrapped line starting with "dear" mid-paragraph is prose)."""
    plain = line.strip().strip("*_ ").strip()
    if not plain:
        return True
    if line.lstrip().startswith(">") or _ATTRIBUTION.match(plain):
        return True
    if _FOOTNOTE.match(plain) or _URL_ONLY.match(plain) or _RULE.match(plain):
        return True
    if _HEADERISH.match(plain) or _FORWARD.match(plain):
        return True
    if not opening:
        return False
    if len(plain) <= 80 and (_CROSSPOST.search(plain) or _TRANSLATE.search(plain)):
        return True                      # "(Apologies for cross-posting)", "Read this in ..."
    if _CREDIT.search(plain) and len(plain.split()) <= 15:
        return True                      # "Photo by A. Person, CC BY-SA 3.0."
    words = len(plain.split())
    return bool(_GREETING.match(plain)) and (words <= 4 or (words <= 10 and plain[-1] in ",!:"))


def _paragraphs(text: str) -> list[list[str]]:
    paras: list[list[str]] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip():
            current.append(line)
        elif current:
            paras.append(current)
            current = []
    if current:
        paras.append(current)
    return paras


def _words(text: str) -> int:
    return len([w for w in text.split() if not _MARKER.fullmatch(w.strip(".,;:"))])


def summarise(new_text: str, links: Sequence[Link] = (), numbers: Mapping[str, int] | None = None,
              limit: int = SUMMARY_WORDS) -> str:
    """The first meaningful paragraph of what the sender wrote, cut to about `limit` words.

    Greetings, cross-posting apologies, translation notices, forwarded headers, footnote lines and
    quotes are skipped; URLs and the message's own [n] markers become the digest's numbers
    (`numbers` maps URL -> global number), so a summary cites what the reference list holds.
    """
    numbers = numbers or {}
    by_ref = {lk.ref: lk for lk in links if lk.ref is not None and not lk.quoted}
    chosen = ""
    fallback = ""
    for para in _paragraphs(new_text):
        kept: list[str] = []
        for line in para:
            if not _skip_line(line, opening=not kept):
                kept.append(line)
        if not kept:
            continue
        kept[0] = _GREETING_LEAD.sub("", kept[0].strip().lstrip("*_ "), count=1) \
            if _GREETING.match(kept[0].strip().lstrip("*_ ")) else kept[0]
        text = _cite_urls("\n".join(kept), links, numbers)
        text = " ".join(text.split())
        text = _renumber(text, by_ref, numbers)
        text = " ".join(text.split())
        if not text or not re.search(r"\w{2,}", _MARKER.sub("", text)):
            continue
        if _words(text) < MIN_WORDS:
            fallback = fallback or text
            continue
        chosen = text
        break
    return _cut(chosen or fallback, limit)


def _cite_urls(text: str, links: Sequence[Link], numbers: Mapping[str, int]) -> str:
    """Replace URLs written in the text by their digest number (or nothing, when not cited)."""
    for link in sorted(links, key=lambda lk: -len(lk.raw or lk.url)):
        number = numbers.get(link.url)
        mark = f"\x02{number}\x03" if number else ""
        for written in sorted({link.raw, link.url} - {""}, key=len, reverse=True):
            if written in text:
                text = text.replace(f"<{written}>", mark).replace(written, mark)
    # a URL without a stored link stays readable: only its angle brackets go
    return re.sub(r"<(https?://[^>\s]+)>", r"\1", text)


def _renumber(text: str, by_ref: Mapping[int, Link], numbers: Mapping[str, int]) -> str:
    """The message's own footnote markers [n] -> the digest's numbers; unknown ones dropped."""
    def swap(match: re.Match[str]) -> str:
        link = by_ref.get(int(match.group(1)))
        number = numbers.get(link.url) if link else None
        return f"[{number}]" if number else ""

    text = _MARKER.sub(swap, text)
    text = re.sub("\x02(\\d+)\x03", r"[\1]", text)
    text = re.sub(r"(\[\d+\])(?:\s*\1)+", r"\1", text)       # the same number twice in a row
    return re.sub(r"\s+([.,;:!?)])", r"\1", text)                # no space left before punctuation


def _cut(text: str, limit: int) -> str:
    """At most `limit` words (markers not counted): whole sentences when they fill at least half
    of it, else a word boundary; "…" says something was left out."""
    if _words(text) <= limit:
        return text
    kept = ""
    for match in _SENTENCE_END.finditer(text):
        if _words(text[:match.end()]) > limit:
            break
        kept = text[:match.end()].rstrip()
    if kept and _words(kept) >= limit // 2:
        return kept + " …"
    out: list[str] = []
    count = 0
    for word in text.split():
        if not _MARKER.fullmatch(word.strip(".,;:")):
            if count >= limit:
                break
            count += 1
        out.append(word)
    return " ".join(out).rstrip(",;:-–—") + "…"
