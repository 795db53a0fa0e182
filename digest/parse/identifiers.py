"""The keys a message and its thread are found by: Message-ID as HyperKitty normalises and hashes
it, the Message-IDs in In-Reply-To/References, and the subject without tags and reply chains."""
from __future__ import annotations

import base64
import hashlib
import re

_ANGLE_RE = re.compile(r"<([^<>]*)>")
_COMMENT_RE = re.compile(r"\([^()]*\)")
_WS_RE = re.compile(r"\s+")


def normalise_message_id(value: str) -> str:
    """The Message-ID as HyperKitty keys it: no <>, no whitespace, comments dropped."""
    if not value:
        return ""
    found = _ANGLE_RE.search(value)
    if found and found.group(1).strip():
        value = found.group(1)
    else:
        value = _COMMENT_RE.sub(" ", value).strip().strip("<>")
    return _WS_RE.sub("", value)


def message_id_hash(message_id: str) -> str:
    """HyperKitty's Message-ID-Hash (permalink key on lists.wikimedia.org, both eras)."""
    msgid = "".join(message_id.split())  # str.split's whitespace is \s's
    if msgid.startswith("<") and msgid.endswith(">"):
        msgid = msgid[1:-1]
    digest = hashlib.sha1(msgid[:254].encode("utf-8", "surrogatepass")).digest()
    return base64.b32encode(digest).decode("ascii")


def ids_in(value: str | None) -> list[str]:
    """Message-IDs in In-Reply-To/References, tolerating prose and missing brackets."""
    if not value:
        return []
    found = [_WS_RE.sub("", m) for m in _ANGLE_RE.findall(value)]
    found = [m for m in found if m]
    if found:
        return found
    return [tok.strip("<>,;") for tok in value.split() if "@" in tok and len(tok) > 3]


# --- subjects --------------------------------------------------------------------------------

_SUBJECT_PREFIX_RE = re.compile(
    r"^\s*(?:\[[^\]]*\]|(?:re|fwd?|aw|sv|odp|vs|tr|wg|antw|r|rif|enc|res)\s*(?:\[\d+\]|\(\d+\))?\s*:)\s*",
    re.IGNORECASE)


def normalise_subject(subject: str) -> str:
    """Subject without list tags and reply/forward chains, for threading and display."""
    s = _WS_RE.sub(" ", subject or "").strip()
    while True:
        stripped = _SUBJECT_PREFIX_RE.sub("", s, count=1)
        if stripped == s:
            return s
        s = stripped
