"""The one thing sources read inside a mail: a header line, unfolded, never decoded further.

Sources never parse mail (docs/architecture.md). A few facts must be known before a message
reaches parse, though: the Message-ID that names a permalink (pipermail pages, HyperKitty)
or a message too large to pass on, and the Date that sets a remote part's cursor.
"""
from __future__ import annotations

import re

from ..parse import normalise_message_id

_HEADER_END = re.compile(rb"\r?\n\r?\n")


def header_value(raw: bytes, name: str) -> str | None:
    """One header of a raw message, unfolded, without parsing the mail. Lines before the
    header block (an mbox "From " line) are skipped."""
    end = _HEADER_END.search(raw)
    head = raw[: end.start()] if end else raw
    pattern = re.compile(rb"^" + re.escape(name.encode()) + rb":[ \t]*(.*(?:\r?\n[ \t].*)*)",
                         re.IGNORECASE | re.MULTILINE)
    found = pattern.search(head)
    if not found:
        return None
    value = re.sub(rb"\r?\n[ \t]+", b" ", found.group(1)).strip()
    return value.decode("utf-8", errors="replace")


def message_id(raw: bytes) -> str:
    """A raw message's Message-ID, normalised as parse keys the message ("" when none), so
    that what a source names (a permalink, a defect) matches the stored message."""
    value = header_value(raw, "Message-ID")
    return normalise_message_id(value) if value else ""
