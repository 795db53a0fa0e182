"""Invented announcements for the digest tests (compose, render, deliver): one ISO week, 2017-W19.

Built as the pipeline would store them (Message + Link + Verdict), so the tests exercise the real
SQLite store without depending on the parser's or the classifier's heuristics.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timezone

from digest.compose import compose, parse_period
from digest.config import DigestSettings
from digest.model import Digest, Link, LinkKind, Message, Verdict
from digest.store import open_store
from digest.store.base import Ingested, Store

FOOTER = ("_______________________________________________\n"
          "Wikimedia-l mailing list -- wikimedia-l@lists.wikimedia.org\n"
          "Unsubscribe: "
          "https://lists.wikimedia.org/postorius/lists/wikimedia-l.lists.wikimedia.org/\n")


def msgid_hash(message_id: str) -> str:
    return base64.b32encode(hashlib.sha1(message_id.encode()).digest()).decode()


def when(day: int, hour: int = 12, minute: int = 0, month: int = 5) -> datetime:
    return datetime(2017, month, day, hour, minute, tzinfo=timezone.utc)


def message(mid: str, subject: str, body: str, date: datetime, lists: tuple[str, ...], *,
            sender: tuple[str, str] = ("Ada Example", "ada@example.org"), signature: str = "",
            reply_to: str | None = None, archive_url: str | None = None) -> Message:
    tag = "[Wikimedia-l] " if lists[0] == "wikimedia-l" else ""
    prefix = "Re: " if reply_to else ""
    text = body + ("\n-- \n" + signature if signature else "") + "\n" + FOOTER
    return Message(key=mid, message_id=mid, msgid_hash=msgid_hash(mid),
                   subject=f"{prefix}{tag}{subject}", subject_norm=subject, from_name=sender[0],
                   from_addr=sender[1], date=date, in_reply_to=reply_to,
                   references=(reply_to,) if reply_to else (), lists=lists, text=text,
                   new_text=body, quoted_text="", signature=signature, footer=FOOTER,
                   archive_url=archive_url)


def link(msg: Message, url: str, label: str = "", *, ref: int | None = None,
         kind: LinkKind = LinkKind.OTHER, boilerplate: bool = False,
         raw: str | None = None) -> Link:
    raw = raw or url
    return Link(url=url, raw=raw, display=url.split("://", 1)[-1], label=label, ref=ref,
                position=max(msg.text.find(raw), 0), kind=kind, boilerplate=boilerplate)


def footer_link(msg: Message) -> Link:
    return link(msg, "https://lists.wikimedia.org/postorius/lists/wikimedia-l.lists.wikimedia.org/",
                "Unsubscribe", kind=LinkKind.MAILING_LIST, boilerplate=True)


def partnership(score: float = 0.9, *partners: str) -> Verdict:
    return Verdict(partnership=True, score=score, partners=tuple(partners))


OTHER = Verdict(partnership=False, score=0.1)

LIBRARY_BODY = """Hi all,

(Apologies for cross-posting)

*Read this in other languages*

The Wikimedia Foundation and the Example National Library have signed a memorandum of
understanding [1] to open the library's map collection to Wikimedia Commons. Comments are
welcome on the talk page [2].

Volunteers can sign up for the first upload sprint on Meta.

[1] https://meta.wikimedia.org/wiki/Example_Library_partnership
[2] https://meta.wikimedia.org/wiki/Talk:Example_Library_partnership

Best,
Ada"""

CHAPTER_BODY = """Dear colleagues,

Wikimedia Examplia is happy to announce a three-year agreement with the Examplia Broadcasting
Corporation: the broadcaster will release ten thousand archive photographs under a free licence,
and our volunteers will describe them on Wikidata and use them in articles in every language of
the country. The full text of the agreement is on our blog
(https://blog.example.org/2017/05/agreement) and the project page
https://meta.wikimedia.org/wiki/Example_Library_partnership explains how to help. We will also run training sessions for the broadcaster's archivists during the summer.

Cheers,
Bo"""


def week_items() -> list[Ingested]:
    """2017-W19 (Mon 8 May - Sun 14 May 2017 UTC) and its neighbours."""
    items: list[Ingested] = []
    # 1. One announcement, same Message-ID on both lists (one record, two lists).
    m1 = message("library-1@example.org", "Foundation and Example National Library sign an MoU",
                 LIBRARY_BODY, when(10, 14), ("wikimediaannounce-l", "wikimedia-l"),
                 signature="Ada Example\nPartnerships, https://example.org/ada\nada@example.org",
                 archive_url="https://lists.wikimedia.org/hyperkitty/list/"
                             "wikimediaannounce-l@lists.wikimedia.org/message/"
                             f"{msgid_hash('library-1@example.org')}/")
    items.append(Ingested(m1, (
        link(m1, "https://meta.wikimedia.org/wiki/Example_Library_partnership",
             "Example Library partnership", ref=1, kind=LinkKind.WIKI),
        link(m1, "https://meta.wikimedia.org/wiki/Talk:Example_Library_partnership", "Talk page",
             ref=2, kind=LinkKind.WIKI),
        link(m1, "https://example.org/ada", "Partnerships"),
        link(m1, "mailto:ada@example.org", kind=LinkKind.CONTACT),
        footer_link(m1)), partnership(0.92, "Example National Library")))
    # 2. A reply in that thread: not an entry; counts as a reply.
    r1 = message("reply-1@example.org", "Foundation and Example National Library sign an MoU",
                 "Wonderful news, congratulations!", when(11, 9), ("wikimedia-l",),
                 sender=("Cy Reader", "cy@example.net"), reply_to="library-1@example.org")
    items.append(Ingested(r1, (footer_link(r1),), OTHER))
    # 3. The chapter's announcement, sent separately to each list (two Message-IDs): one entry.
    for n, (lst, hour) in enumerate((("wikimedia-l", 8), ("wikimediaannounce-l", 10)), 1):
        m = message(f"chapter-{n}@example.org", "Wikimedia Examplia signs an agreement with EBC",
                    CHAPTER_BODY, when(12, hour), (lst,), sender=("Bo Chapter", "bo@example.net"))
        items.append(Ingested(m, (
            link(m, "https://blog.example.org/2017/05/agreement", "full text of the agreement",
                 kind=LinkKind.BLOG),
            link(m, "https://meta.wikimedia.org/wiki/Example_Library_partnership",
                 "project page", kind=LinkKind.WIKI),
            footer_link(m)), partnership(0.8, "Examplia Broadcasting Corporation")))
    # 4. A new thread that is not a partnership ("also on the lists").
    o = message("board-1@example.org", "Board meeting minutes published", "The minutes are up.",
                when(9, 16), ("wikimedia-l",), sender=("Di Board", "di@example.org"))
    items.append(Ingested(o, (footer_link(o),), OTHER))
    # 5. Sunday 23:30 UTC: in W19 in UTC, but Monday of W20 in Europe/Berlin.
    late = message("late-1@example.org", "Late Sunday partnership with a museum",
                   "The Example Museum joins the GLAM programme with 200 paintings.",
                   when(14, 23, 30), ("wikimediaannounce-l",))
    items.append(Ingested(late, (), partnership(0.7, "Example Museum")))
    # 6. The week before (W18).
    early = message("early-1@example.org", "An earlier partnership with a university",
                    "The Example University will host an edit-a-thon series with the chapter.",
                    when(3, 10), ("wikimedia-l",))
    items.append(Ingested(early, (), partnership(0.75, "Example University")))
    return items


def week_store(path) -> Store:
    """A SQLite store at `path` holding week_items()."""
    store = open_store(str(path))
    store.add(week_items())
    return store


def week19(store: Store, tz: str = "UTC", settings: DigestSettings = DigestSettings()) -> Digest:
    """The digest of 2017-W19 composed from `store`."""
    return compose(store, parse_period("2017-W19", None, None, tz, store), settings)
