"""Bytes and header values to text: declared (often wrong) charsets, RFC 2047 encoded words, raw
8-bit headers. Never raises: a wrong charset falls back to utf-8, then windows-1252."""
from __future__ import annotations

import base64
import binascii
import codecs
import re
from functools import lru_cache

_WS_RE = re.compile(r"\s+")


_CHARSET_ALIASES = {"unknown-8bit": "", "x-unknown": "", "unknown": "", "charset": "",
                    "iso-8859-8-i": "iso-8859-8", "ks_c_5601-1987": "cp949", "x-user-defined": "",
                    "ansi_x3.4-1968": "ascii", "us-ascii": "ascii", "gb2312": "gb18030",
                    "gbk": "gb18030", "iso-8859-1": "cp1252", "latin1": "cp1252",
                    "latin-1": "cp1252", "windows-874": "cp874"}
_LATIN_CODECS = frozenset({"cp1252", "iso8859-15", "latin-1", "iso8859-2", "cp1250"})


def _codec(charset: str | None) -> str | None:
    """A Python codec name for a declared charset, or None when unknown."""
    if not charset:
        return None
    return _lookup_codec(charset.strip().strip("\"'").lower())


@lru_cache(maxsize=256)
def _lookup_codec(name: str) -> str | None:
    alias = _CHARSET_ALIASES.get(name, name)
    try:
        return codecs.lookup(alias).name if alias else None
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None = None) -> tuple[str, bool]:
    """Decode with the declared charset, else utf-8, else windows-1252; never raises.

    Returns (text, ok) where ok is False when the declared charset was unknown or wrong.
    """
    codec = _codec(charset)
    if codec in _LATIN_CODECS and not data.isascii():
        # UTF-8 sent under a Latin-1 label is common, and valid UTF-8 is almost never
        # accidental in single-byte text: prefer it (recovered for sure, so not a defect)
        try:
            return data.decode("utf-8"), True
        except UnicodeDecodeError:
            pass
    if codec and codec not in ("ascii", "utf-8"):
        try:
            return data.decode(codec), True
        except (UnicodeDecodeError, LookupError):
            pass
    declared_unknown = bool(charset) and codec is None and bool(
        _CHARSET_ALIASES.get(charset.strip().strip("\"'").lower(), "x"))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # ascii/utf-8 declared (or nothing) but the bytes say otherwise: the usual cp1252 mail
        return data.decode("cp1252", errors="replace"), False
    return text, not declared_unknown and (codec in (None, "ascii", "utf-8") or data.isascii())


_ENCODED_WORD_RE = re.compile(r"=\?([^?\s]+)\?([QqBb])\?([^?]*)\?=")
_BETWEEN_WORDS_RE = re.compile(r"\?=\s+=\?")


def _word_bytes(enc: str, payload: str) -> bytes:
    if enc in "Bb":
        clean = re.sub(r"[^A-Za-z0-9+/]", "", payload)
        clean += "=" * (-len(clean) % 4)
        try:
            return base64.b64decode(clean)
        except (binascii.Error, ValueError):
            return payload.encode("ascii", "replace")
    return binascii.a2b_qp(payload.encode("ascii", "surrogateescape"), header=True)


def raw_header_text(value: str) -> str:
    """A compat32 header value (8-bit bytes smuggled as surrogates) as real text."""
    if value.isascii():
        return value
    try:
        data = value.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return value  # already real text
    return decode_bytes(data)[0]


def decode_header_value(value: str | None) -> str:
    """RFC 2047 words in any (also wrong) charset, raw 8-bit bytes, folding: all to one line."""
    if not value:
        return ""
    text = raw_header_text(str(value))
    if "\n" in text or "\r" in text:
        text = re.sub(r"\r?\n[ \t]*|\r", " ", text)
    if "=?" not in text:
        return _WS_RE.sub(" ", text).strip()
    # whitespace between adjacent encoded words is not part of the text (RFC 2047 6.2)
    text = _BETWEEN_WORDS_RE.sub("?==?", text)
    out: list[str] = []
    pending: list[bytes] = []
    pending_cs: str | None = None
    pos = 0

    def flush() -> None:
        nonlocal pending, pending_cs
        if pending:
            out.append(decode_bytes(b"".join(pending), pending_cs)[0])
        pending, pending_cs = [], None

    for m in _ENCODED_WORD_RE.finditer(text):
        if m.start() > pos:
            flush()
            out.append(text[pos:m.start()])
        charset = m.group(1).split("*", 1)[0]   # RFC 2231 language suffix
        if pending and charset.lower() != (pending_cs or "").lower():
            flush()
        pending_cs = charset
        pending.append(_word_bytes(m.group(2), m.group(3)))  # joined: words may split a character
        pos = m.end()
    flush()
    out.append(text[pos:])
    return _WS_RE.sub(" ", "".join(out)).strip()
