"""Mailman archive sites served by tests/localweb.py: a pipermail folder and a HyperKitty list.

The HyperKitty side answers like HyperKitty 1.3 (FORMATS.md §2.2, §2.4): the export filters on
the Date header (start inclusive, end exclusive, UTC) and streams a gzip without Content-Length;
the REST API pages with limit/offset and obfuscates senders as `user (a) host`. `poison` days
reproduce the known failure of real servers: any export window containing one comes back as an
empty file although the range has mail.
"""
from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from localweb import LocalWeb, Reply, Seen

from digest.config import HttpSettings
from digest.parse import message_id_hash
from digest.sources.http import HttpClient

MODIFIED = 1623840000.0


def client() -> HttpClient:
    """A client for loopback tests: a contact, no rate limit to speak of, no real sleeping."""
    return HttpClient(HttpSettings(contact="tests@example.org", requests_per_second=1000,
                                   retries=1, read_timeout=2), sleep=lambda s: None)


def collect(parts) -> tuple[list, list]:
    """(parts, items) of a whole run, reading each part like sync does."""
    got, items = [], []
    for part in parts:
        got.append(part)
        items.extend(part.items())
    return got, items


def etag(body: bytes) -> str:
    return '"' + hashlib.sha1(body).hexdigest()[:16] + '"'


def publish_pipermail(web: LocalWeb, folder: Path, prefix: str) -> None:
    """Serve a pipermail folder: pages as they are, each month text both plain and gzipped
    (as Mailman's nightly gzip leaves them), with validators like a static file server."""
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        body = path.read_bytes()
        if rel.endswith(".txt.gz"):
            body = gzip.decompress(body)
            rel = rel[:-3]
        web.file(f"{prefix}/{rel}", body, etag=etag(body), modified=MODIFIED)
        if rel == "index.html":   # the folder itself, as a web server answers it
            web.file(f"{prefix}/", body, etag=etag(body), modified=MODIFIED)
        if rel.endswith(".txt"):
            packed = gzip.compress(body, mtime=0)
            web.file(f"{prefix}/{rel}.gz", packed, etag=etag(packed), modified=MODIFIED)


@dataclass(frozen=True)
class Mail:
    """One archived message, as HyperKitty would regenerate it in an export."""

    message_id: str
    when: datetime
    sender: str
    name: str
    subject: str
    body: str

    def as_mbox(self, address: str) -> bytes:
        stamp = self.when.strftime("%a %b %d %H:%M:%S %Y")
        text = (f"From {self.sender} {stamp}\n"
                f"From: {self.name} <{self.sender}>\n"
                f"To: {address}\n"
                f"Subject: {self.subject}\n"
                f"Date: {format_datetime(self.when)}\n"
                f"Message-ID: <{self.message_id}>\n"
                f"MIME-Version: 1.0\n"
                f"Content-Type: text/plain; charset=\"utf-8\"\n"
                f"Content-Transfer-Encoding: 8bit\n\n"
                f"{self.body}\n\n")
        return text.encode()


def mail(n: int, when: datetime, subject: str = "", body: str = "") -> Mail:
    """An invented message number `n` sent at `when`."""
    return Mail(message_id=f"msg-{n}@mail.example.org", when=when,
                sender=f"person{n % 5}@example.org", name=f"Person {n % 5}",
                subject=subject or f"[Wikimedia-l] Partnership update {n}",
                body=body or f"Update number {n} on the partnership with Example Org {n}.\n"
                             f"https://meta.example.org/wiki/Partnership_{n}")


def at(day: str, hour: int = 12) -> datetime:
    """Noon (or `hour`) UTC on an ISO day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


# the sample HyperKitty list's nine messages: two in April, three in May, four in June 2021
SAMPLE_DAYS = ["2021-04-03", "2021-04-28", "2021-05-02", "2021-05-17", "2021-05-31",
               "2021-06-01", "2021-06-09", "2021-06-09", "2021-06-15"]


def sample_hyperkitty(web: LocalWeb) -> HyperKittySite:
    """The sample list: message n is sent on SAMPLE_DAYS[n - 1] at 8 + n o'clock UTC."""
    return HyperKittySite(web, mails=[mail(n, at(d, 8 + n)) for n, d in enumerate(SAMPLE_DAYS, 1)])


def grown_june(folder: Path) -> bytes:
    """The pipermail folder's 2021-June.txt with a third message appended, as a month that
    keeps receiving mail is served again."""
    return (folder / "2021-June.txt").read_bytes() + (
        b"From fay.ng at example.org  Wed Jun 30 12:00:00 2021\n"
        b"From: fay.ng at example.org (Fay Ng)\n"
        b"Date: Wed, 30 Jun 2021 12:00:00 +0000\n"
        b"Subject: [Wikimedia-l] Re: Museum partnership: photographs released\n"
        b"Message-ID: <jun-3@mail.example.org>\n\nWell done.\n\n")


@dataclass
class HyperKittySite:
    """A HyperKitty list at `web.url + /hyperkitty/list/ADDRESS/` with its export and API."""

    web: LocalWeb
    address: str = "wikimedia-l@lists.example.org"
    mails: list[Mail] = field(default_factory=list)
    poison: set[date] = field(default_factory=set)
    bare_list_api: bool = False      # answer the API as a bare JSON list (no PAGE_SIZE, no limit)
    api_enabled: bool = True

    def __post_init__(self) -> None:
        self.web.routes[f"/hyperkitty/list/{self.address}/export/*"] = self._export
        self.web.routes[f"/hyperkitty/api/list/{self.address}/emails/"] = self._emails

    @property
    def url(self) -> str:
        return f"{self.web.url}/hyperkitty/list/{self.address}/"

    def permalink(self, m: Mail) -> str:
        return f"{self.url}message/{message_id_hash(m.message_id)}/"

    def exports(self) -> list[tuple[str, str]]:
        """(start, end) of every export asked, in order."""
        return [(s.query.get("start", ""), s.query.get("end", "")) for s in self.web.seen
                if "/export/" in s.path]

    def _export(self, seen: Seen) -> Reply:
        try:
            start = date.fromisoformat(seen.query["start"])
            end = date.fromisoformat(seen.query["end"])
        except (KeyError, ValueError):
            return Reply(status=400, body=b"Invalid dates")
        if any(start <= d < end for d in self.poison):
            chosen: list[Mail] = []
        else:
            chosen = [m for m in sorted(self.mails, key=lambda m: m.when)
                      if start <= m.when.astimezone(timezone.utc).date() < end]
        body = gzip.compress(b"".join(m.as_mbox(self.address) for m in chosen), mtime=0)
        return Reply(body=body, send_length=False,
                     headers={"Content-Type": "application/gzip",
                              "Content-Disposition": 'attachment; filename="x.mbox.gz"'})

    def _emails(self, seen: Seen) -> Reply:
        import json

        if not self.api_enabled:
            return Reply(status=404)
        ordered = sorted(self.mails, key=lambda m: m.when,
                         reverse=seen.query.get("ordering", "-date").startswith("-"))
        items = [self._item(m) for m in ordered]
        if self.bare_list_api:
            return Reply(body=json.dumps(items).encode(),
                         headers={"Content-Type": "application/json"})
        limit = int(seen.query.get("limit", "10"))
        offset = int(seen.query.get("offset", "0"))
        page = items[offset:offset + limit]
        base = f"{self.web.url}/hyperkitty/api/list/{quote(self.address, safe='@')}/emails/"
        nxt = (f"{base}?limit={limit}&offset={offset + limit}&ordering="
               f"{seen.query.get('ordering', '-date')}" if offset + limit < len(items) else None)
        data = {"count": len(items), "next": nxt, "previous": None, "results": page}
        return Reply(body=json.dumps(data).encode(), headers={"Content-Type": "application/json"})

    def _item(self, m: Mail) -> dict:
        h = message_id_hash(m.message_id)
        return {"url": f"{self.web.url}/hyperkitty/api/list/{self.address}/email/{h}/",
                "message_id": m.message_id, "message_id_hash": h,
                "sender": {"address": m.sender.replace("@", " (a) "), "mailman_id": "x"},
                "sender_name": m.name, "subject": m.subject,
                "date": m.when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                "parent": None, "children": []}
