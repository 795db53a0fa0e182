"""Deciding what two stored copies of one Message-ID are, and merging them without loss.

Pure functions (no SQL): every backend needs the same answers. The same mail reaches us
several times — cross-posted to two lists, as a pipermail text month with obfuscated addresses
and stripped attachments, as a HyperKitty export — and the archive must keep the most complete
copy, while two *different* mails that happen to share a Message-ID must both be kept.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from ..links import repair_truncated
from ..model import Link, Message, Verdict

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_SAME_DATE = timedelta(hours=26)  # one copy may carry a wrong or missing time zone


def same_message(stored: Message, incoming: Message) -> bool:
    """True when two copies under one key are the same mail (possibly mangled by an archive).

    Equal content hashes settle it. Otherwise the headers a reader would recognise the mail by
    must agree, and either an archive obfuscated one copy (which also mangles its body: `at`
    for `@`, `?` for non-ASCII, scrubbed parts), or the new text must read the same once
    reduced to its ASCII letters and digits.
    """
    if stored.content_hash and stored.content_hash == incoming.content_hash:
        return True
    if not _headers_agree(stored, incoming):
        return False
    if stored.obfuscated or incoming.obfuscated:
        return True
    return _fingerprint(stored.new_text) == _fingerprint(incoming.new_text)


def merge_message(stored: Message, incoming: Message) -> Message:
    """The union of two copies of one mail: the better copy's content, gaps filled from the other.

    The base is the copy with real addresses (not obfuscated); on a tie the stored copy stays,
    so re-adding an identical copy changes nothing.
    """
    base, other = stored, incoming
    if stored.obfuscated and not incoming.obfuscated:
        base, other = incoming, stored
    defects = stored.defects + tuple(d for d in incoming.defects if d not in stored.defects)
    lists = stored.lists + tuple(x for x in incoming.lists if x not in stored.lists)
    return replace(
        base,
        key=stored.key,
        message_id=stored.message_id or incoming.message_id,
        msgid_hash=stored.msgid_hash or incoming.msgid_hash,
        subject=base.subject or other.subject,
        subject_norm=base.subject_norm or other.subject_norm,
        from_name=base.from_name or other.from_name,
        from_addr=_better_address(base.from_addr, other.from_addr),
        date=base.date if base.date is not None else other.date,
        in_reply_to=base.in_reply_to or other.in_reply_to,
        references=max(base.references, other.references, key=len),
        lists=lists,
        text=base.text or other.text,
        new_text=base.new_text or other.new_text,
        quoted_text=base.quoted_text or other.quoted_text,
        signature=base.signature or other.signature,
        footer=base.footer or other.footer,
        html=base.html if base.html is not None else other.html,
        attachments=max(base.attachments, other.attachments, key=_attachment_score),
        archive_url=stored.archive_url or incoming.archive_url,
        content_hash=base.content_hash or other.content_hash,
        obfuscated=stored.obfuscated and incoming.obfuscated,
        defects=defects,
    )


def better_links(stored: Sequence[Link], incoming: Sequence[Link]) -> tuple[Link, ...]:
    """The more complete link list (more intact links, then more links), with any truncated
    link repaired from the other list when it has the complete version."""
    stored, incoming = tuple(stored), tuple(incoming)
    best, other = stored, incoming
    if _links_score(incoming) > _links_score(stored):
        best, other = incoming, stored
    return repair_links(best, other)


def repair_links(links: tuple[Link, ...], others: Sequence[Link]) -> tuple[Link, ...]:
    """`links.repair_truncated`, skipped when there is nothing to repair."""
    if not others or not any(link.truncated for link in links):
        return links
    return tuple(repair_truncated(links, others))


def better_verdict(stored: Verdict | None, incoming: Verdict | None) -> Verdict | None:
    """The stronger verdict: evidence found in any copy (e.g. the announce-list copy of a
    cross-post) is evidence about the mail. Made by other rules, the incoming one wins: it
    is the rules in use now."""
    if stored is None or incoming is None:
        return stored if incoming is None else incoming
    if incoming.rules != stored.rules:
        return incoming
    if (incoming.partnership, incoming.score) > (stored.partnership, stored.score):
        return incoming
    return stored


def _headers_agree(a: Message, b: Message) -> bool:
    if _fingerprint(a.subject_norm) != _fingerprint(b.subject_norm):
        return False
    local_a, local_b = _local_part(a.from_addr), _local_part(b.from_addr)
    if local_a and local_b and local_a != local_b:
        return False
    if a.date is not None and b.date is not None and abs(a.date - b.date) > _SAME_DATE:
        return False
    return True


def _fingerprint(text: str) -> str:
    """ASCII letters and digits only: what survives every archive's mangling."""
    return _NOT_ALNUM.sub("", text.lower())


def _local_part(address: str) -> str:
    address = address.strip().lower().replace(" at ", "@")
    return address.split("@", 1)[0].strip()


def _better_address(base: str, other: str) -> str:
    if "@" in base or "@" not in other:
        return base or other
    return other


def _attachment_score(attachments: tuple) -> tuple[int, int]:
    return len(attachments), sum(1 for a in attachments if a.size)


def _links_score(links: Sequence[Link]) -> tuple[int, int]:
    return sum(1 for link in links if not link.truncated), len(links)
