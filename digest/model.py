"""The vocabulary every stage speaks: plain frozen dataclasses, no I/O, nothing of ours imported.

Stages meet only through these types and the store (docs/architecture.md), so a field added here
is a contract change: keep the docstrings true.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class LinkKind(StrEnum):
    """What a URL points at, for labels and grouping in digests."""

    WIKI = "wiki"                # a page on a Wikimedia wiki (project + decoded title)
    BLOG = "blog"                # diff.wikimedia.org, blog.wikimedia.org, affiliate blogs
    PHABRICATOR = "phabricator"  # a task or other Phabricator object
    MAILING_LIST = "mailing-list"  # pipermail / HyperKitty / Postorius pages
    SOCIAL = "social"            # Twitter/X, Facebook, Mastodon, YouTube, ...
    DOCUMENT = "document"        # PDF, office files, Google Docs, Etherpad
    CONTACT = "contact"          # mailto: kept as a contact, never a reference
    OTHER = "other"


class BodyPart(StrEnum):
    """Where in a message a piece of text stands; classification weighs them differently."""

    NEW = "new"
    QUOTED = "quoted"
    SIGNATURE = "signature"
    FOOTER = "footer"
    SUBJECT = "subject"


@dataclass(frozen=True)
class Attachment:
    """A non-text part, or a part an archive scrubbed into a link."""

    filename: str | None
    content_type: str
    size: int
    url: str | None = None  # pipermail/HyperKitty scrubbed-attachment URL, when that is all we have


@dataclass(frozen=True)
class Defect:
    """Something wrong with the input that was survived and recorded, never raised.

    `str(defect)` is the one-line report the CLI prints.
    """

    kind: str                      # short code: "bad-date", "no-message-id", "truncated-gzip", ...
    detail: str
    source: str = ""               # file or URL
    offset: int | None = None      # byte offset in the source, when known
    index: int | None = None       # message number in the source (1-based), when known
    message_id: str | None = None

    def __str__(self) -> str:
        where = [self.source or "<input>"]
        if self.index is not None:
            where.append(f"message {self.index}")
        if self.offset is not None:
            where.append(f"byte {self.offset}")
        if self.message_id:
            where.append(f"<{self.message_id}>")
        return f"{': '.join(where)}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class SourceHints:
    """What a source knows about raw bytes that the bytes may not say themselves."""

    source: str = ""               # file path or URL, for defects
    index: int | None = None       # 1-based position within the source
    offset: int | None = None      # byte offset within the (decompressed) source
    list_name: str | None = None   # e.g. "wikimedia-l", when the archive says which list
    archive_format: str = "mbox"   # "mbox", "maildir", "eml", "pipermail", "hyperkitty"
    archive_url: str | None = None  # permalink of this message, when the source knows it
    obfuscated: bool = False       # pipermail wrote addresses as "user at example.org"


@dataclass(frozen=True)
class Message:
    """One mail, cleaned. `key` is its identity in the store (normalised Message-ID, or a
    synthetic `sha1-...@digest.invalid` when it had none)."""

    key: str
    message_id: str                # normalised, without <>; "" when the mail had none
    msgid_hash: str                # HyperKitty Message-ID-Hash of `key` (base32 SHA-1)
    subject: str                   # decoded, as sent (tags and Re: kept)
    subject_norm: str              # list tags and Re:/Fwd:/AW:/SV: prefixes stripped
    from_name: str
    from_addr: str                 # pipermail "user at host" restored to "user@host"
    date: datetime | None          # timezone-aware UTC; None when unparseable (a defect says so)
    in_reply_to: str | None        # normalised Message-ID
    references: tuple[str, ...]    # normalised Message-IDs, oldest first
    lists: tuple[str, ...]         # short list names, lowercase: ("wikimediaannounce-l",)
    text: str                      # the whole decoded body as text (HTML converted when no plain part)
    new_text: str                  # what the sender wrote in this mail
    quoted_text: str               # reply quotes ("> ..." lines and attributions)
    signature: str                 # after "-- " or a recognised sign-off block
    footer: str                    # mailing-list footer(s)
    html: str | None = None        # the HTML part as sent (for link targets and anchor text)
    attachments: tuple[Attachment, ...] = ()
    archive_url: str | None = None  # permalink (pipermail page or HyperKitty message URL)
    content_hash: str = ""         # hash of the content ignoring transport headers and footers
    obfuscated: bool = False       # addresses were obfuscated in this copy
    defects: tuple[Defect, ...] = ()

    @property
    def is_reply(self) -> bool:
        return bool(self.in_reply_to or self.references) or _has_reply_prefix(self.subject)


def _has_reply_prefix(subject: str) -> bool:
    s = subject.lstrip()
    while s.startswith("["):
        end = s.find("]")
        if end < 0:
            break
        s = s[end + 1:].lstrip()
    head = s[:6].lower().replace(" ", "")
    return head.startswith(("re:", "aw:", "sv:", "vs:", "odp:", "r:", "antw:"))


@dataclass(frozen=True)
class Link:
    """One URL found in a message, as it should be fetched and as it was written."""

    url: str                       # repaired, unwrapped, tracking parameters dropped
    raw: str                       # exactly as written (may span lines)
    display: str                   # human readable: scheme dropped, percent escapes decoded
    label: str = ""                # anchor text, or the text that introduces the URL
    ref: int | None = None         # the footnote number the message itself gave it
    position: int = 0              # character offset in Message.text (HTML links: after the text)
    kind: LinkKind = LinkKind.OTHER
    boilerplate: bool = False      # list footer, listinfo, guidelines, unsubscribe, scrubbed attachment
    quoted: bool = False           # found inside quoted reply text
    truncated: bool = False        # the archive cut it off (e.g. ends in "%")
    project: str | None = None     # wiki links: "meta.wikimedia", "en.wikipedia", ...
    title: str | None = None       # wiki links: decoded page title


@dataclass(frozen=True)
class Reason:
    """One piece of evidence behind a verdict, with the weight it contributed."""

    rule: str                      # rule name from the rules file
    weight: float
    evidence: str                  # the phrase, sender, list or link that matched
    where: str = ""                # BodyPart value, "sender", "list", "links", "thread"

    def __str__(self) -> str:
        place = f" in {self.where}" if self.where else ""
        return f"{self.weight:+.2f} {self.rule}: {self.evidence!r}{place}"


@dataclass(frozen=True)
class Verdict:
    partnership: bool
    score: float                   # 0..1
    reasons: tuple[Reason, ...] = ()
    partners: tuple[str, ...] = ()  # outside organisations named as partners, as written
    rules: str = ""                # fingerprint of the rules that made it (Rules.fingerprint)


@dataclass(frozen=True)
class Record:
    """A stored message with what the pipeline derived from it: what the store hands back."""

    message: Message
    links: tuple[Link, ...] = ()
    verdict: Verdict | None = None
    thread_id: str = ""            # msgid_hash of the thread's first known message
    replies: int = 0               # messages in the thread after this one
    archive_urls: tuple[str, ...] = ()  # every known permalink (pipermail and HyperKitty)


@dataclass(frozen=True)
class Reference:
    """One numbered line of a digest's reference list."""

    number: int
    url: str
    label: str = ""
    display: str = ""
    kind: LinkKind = LinkKind.OTHER


@dataclass(frozen=True)
class Entry:
    """One announcement in a digest (cross-posts merged)."""

    key: str
    subject: str                   # tags stripped
    from_name: str
    date: datetime
    lists: tuple[str, ...]
    summary: str
    partners: tuple[str, ...] = ()
    replies: int = 0
    permalink: str | None = None
    refs: tuple[int, ...] = ()     # numbers in Digest.references, in order of appearance
    permalink_ref: int | None = None
    score: float = 0.0
    message_id: str = ""
    msgid_hash: str = ""


@dataclass(frozen=True)
class Digest:
    """A period's digest: deterministic given the store and the period."""

    period: str                    # "2017-W22", or "2017-05-01..2017-05-14" for --from/--to
    start: datetime                # inclusive, aware, in `timezone`
    end: datetime                  # exclusive
    timezone: str
    lists: tuple[str, ...]
    entries: tuple[Entry, ...] = ()
    references: tuple[Reference, ...] = ()
    also: tuple[str, ...] = field(default=())  # "also on the lists": other new threads' titles
    title: str = "Partnership announcements"
