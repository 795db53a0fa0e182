"""Raw RFC 5322 bytes (+ source hints) -> one clean `Message`.

Pure and forgiving: whatever the archive did to a mail (pipermail obfuscation, wrong charsets,
ctime dates, scrubbed parts, missing Message-IDs) becomes a field or a `Defect`, never an
exception. MIME structure is read by a small splitter here and headers are decoded by hand:
`email.policy.default` is several times slower and raises on headers real archives are full
of, and even the compat32 feed parser (a Python loop over every body line plus a regex compiled
per boundary) capped parsing near 1,000 msg/s on 10 KB mails; this reaches about 3,000.
"""
from __future__ import annotations

import base64
import binascii
import codecs
import hashlib
import re
from datetime import datetime, timedelta, timezone
from email.utils import getaddresses, parseaddr, parsedate_tz
from functools import lru_cache
from urllib.parse import unquote_to_bytes

from .model import Attachment, Defect, Message, SourceHints

__all__ = ["parse_message", "normalise_message_id", "message_id_hash", "normalise_subject",
           "decode_header_value", "decode_bytes", "html_to_text", "split_body"]

_UTC = timezone.utc
_MAX_OFFSET = 14 * 3600 + 59 * 60   # real zones stay within +-14:00


# --- identifiers -----------------------------------------------------------------------------

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


def _ids_in(value: str | None) -> list[str]:
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


# --- charsets and headers --------------------------------------------------------------------

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


def _raw_header_text(value: str) -> str:
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
    text = _raw_header_text(str(value))
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


# --- dates -----------------------------------------------------------------------------------

_CTIME_RE = re.compile(
    r"^\s*(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d\d)(?::(\d\d))?"
    r"(?:\s+([A-Za-z]{1,5}|[+-]\d{4}))?\s+(\d{4})")
_ZONE_RE = re.compile(r"^[+-]\d{4}$")
_USUAL_DATE_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov"
    r"|Dec) (\d{4}) (\d\d):(\d\d)(?::(\d\d))? ([+-])(\d\d)(\d\d)(?: \([^()]*\))?\Z")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES = {"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5,
          "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2, "MET": 1, "MEST": 2,
          "BST": 1, "IST": 5.5, "JST": 9, "EET": 2, "EEST": 3, "WET": 0, "WEST": 1}


def parse_date(value: str | None) -> tuple[datetime | None, str]:
    """(aware UTC datetime, problem) for a Date header in any form seen in archives.

    problem is "" when all was well, else a short reason (the date may still be usable).
    """
    if not value or not value.strip():
        return None, "missing"
    value = value.strip()
    problem = ""
    usual = _USUAL_DATE_RE.match(value)
    if usual:   # what parsedate_tz gives for RFC 5322 dates, without its Python tokenizer
        day, month, year, hour, minute, second, sign, zh, zm = usual.groups()
        offset = (int(zh) * 3600 + int(zm) * 60) * (-1 if sign == "-" else 1)
        if abs(offset) <= _MAX_OFFSET:
            try:
                return datetime(int(year), _MONTHS[month.lower()], int(day), int(hour),
                                int(minute), min(int(second or 0), 59),
                                tzinfo=_UTC) - timedelta(seconds=offset), problem
            except ValueError:
                pass
    parts = None
    try:
        parts = parsedate_tz(value)
    except (ValueError, IndexError, TypeError, OverflowError):
        parts = None
    if parts is not None:
        offset = parts[9] or 0
        tokens = _COMMENT_RE.sub(" ", value).split()
        zone = tokens[-1] if tokens else ""
        if abs(offset) > _MAX_OFFSET or (zone[:1] in "+-" and not _ZONE_RE.match(zone)):
            problem, offset = f"impossible time zone offset in {value!r}, read as UTC", 0
        try:
            year = parts[0]
            when = datetime(year, parts[1], parts[2], parts[3], parts[4], min(parts[5], 59),
                            tzinfo=_UTC) - timedelta(seconds=offset)
            return when, problem
        except (ValueError, OverflowError, TypeError):
            pass
    m = _CTIME_RE.match(value)
    if m and m.group(1).lower() in _MONTHS:
        zone = m.group(6) or ""
        hours: float = 0
        if zone[:1] in "+-" and zone[1:].isdigit():
            hours = (-1 if zone[0] == "-" else 1) * (int(zone[1:3]) + int(zone[3:5]) / 60)
        else:
            hours = _ZONES.get(zone.upper(), 0)
        try:
            when = datetime(int(m.group(7)), _MONTHS[m.group(1).lower()], int(m.group(2)),
                            int(m.group(3)), int(m.group(4)), min(int(m.group(5) or 0), 59),
                            tzinfo=_UTC) - timedelta(hours=hours)
            return when, problem
        except (ValueError, OverflowError):
            pass
    try:
        iso = datetime.fromisoformat(value.replace("Z", "+00:00"))
        if iso.tzinfo is None:
            iso = iso.replace(tzinfo=_UTC)
        return iso.astimezone(_UTC), problem
    except ValueError:
        pass
    return None, f"unparseable date {value[:80]!r}"


# --- addresses -------------------------------------------------------------------------------

_OBFUSCATED_RE = re.compile(r" at (?=[-+\w]+(?:\.[-+\w]+)+)")


def _at_sign(m: re.Match[str]) -> str:
    """An "@" when a local part (letters, digits, `-+,._`) ends right before " at "."""
    before = m.string[m.start() - 1:m.start()]
    return "@" if before and (before.isalnum() or before in "-+,._") else m.group(0)


def deobfuscate(text: str) -> str:
    """Undo pipermail's `user at example.org` (only between a word and a dotted domain)."""
    return _OBFUSCATED_RE.sub(_at_sign, text) if " at " in text else text


_ATOM = r"[^()<>@,:;.\"\[\]\s\\]+"
# `Plain Name <local@example.org>` or `local@example.org`: most senders
_SIMPLE_FROM_RE = re.compile(
    rf"(?:({_ATOM}(?:[ \t]+{_ATOM})*)[ \t]*<({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*)>"
    rf"|({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*))\Z")


def parse_from(value: str) -> tuple[str, str, bool]:
    """(display name, address, was obfuscated) from a decoded From header."""
    value = value.strip()
    obfuscated = False
    if " at " in value:
        # only the address part: a display name may legitimately contain " at "
        if "<" in value:
            head, _, rest = value.partition("<")
            addr_part, _, tail = rest.partition(">")
            if "@" not in addr_part and " at " in addr_part:
                value, obfuscated = head + "<" + deobfuscate(addr_part) + ">" + tail, True
        elif "(" in value:
            head, _, rest = value.partition("(")
            if "@" not in head and " at " in head:
                value, obfuscated = deobfuscate(head) + "(" + rest, True
        elif "@" not in value:
            value = deobfuscate(value)
            obfuscated = "@" in value
    simple = _SIMPLE_FROM_RE.match(value)
    if simple:   # what parseaddr gives for these, without its character-by-character walk
        phrase, addr = simple.group(1), simple.group(2) or simple.group(3)
        name = " ".join(phrase.split()) if phrase else ""
    else:
        name, addr = parseaddr(value)
    if not addr and value:
        # parseaddr gives up on odd quoting: keep what looks like an address
        m = re.search(r"[^\s<>()\"']+@[^\s<>()\"']+", value)
        addr = m.group(0) if m else ""
        name = name or value.replace(addr, "").strip(" <>()\"")
    name = name.strip().strip('"').strip()
    if obfuscated and name:
        name = deobfuscate(name) if " at " in name else name
    if name and addr and name.lower() == addr.lower():
        name = ""
    return name, addr.strip(), obfuscated


# --- lists -----------------------------------------------------------------------------------

def _list_from_id(value: str) -> str:
    found = _ANGLE_RE.search(value)
    ident = (found.group(1) if found else value).strip().lower()
    if not ident:
        return ""
    if ".lists." in ident:
        return ident.split(".lists.", 1)[0]
    return ident.split(".", 1)[0]


def _lists_from_recipients(values: list[str]) -> list[str]:
    names: list[str] = []
    for _, addr in getaddresses(values):
        local, _, domain = addr.lower().partition("@")
        if local and domain.startswith("lists.") and local not in names:
            names.append(local)
    return names


# --- body ------------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset({"p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                         "pre", "table", "ul", "ol", "dl", "dt", "dd", "section", "article",
                         "header", "footer", "hr", "center", "address"})
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template"})


def html_to_text(html: str) -> str:
    """Readable text from HTML, keeping link targets as `text <URL>` (when text != URL).

    One walk over the beautifulsoup4 tree, without modifying it: half the cost of rewriting.
    """
    from bs4 import BeautifulSoup  # imported late: only HTML mail pays for it
    from bs4.element import NavigableString, Tag

    out: list[str] = []

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if type(child) is NavigableString:   # not a Comment, Doctype, CData...
                    out.append(str(child))
                continue
            if not isinstance(child, Tag):
                continue
            name = child.name
            if name in _SKIP_TAGS:
                continue
            if name == "br":
                out.append("\n")
            elif name == "a":
                href = (child.get("href") or "")
                href = (href if isinstance(href, str) else " ".join(href)).strip()
                label = " ".join(child.get_text(" ").split())
                bare = href.split(":", 1)[-1].lstrip("/")
                out.append(label)
                if href and not href.startswith("#") and label not in (href, bare,
                                                                      bare.rstrip("/")):
                    out.append(f" <{href}>" if label else f"<{href}>")
            elif name == "li":
                out.append("\n* ")
                walk(child)
            elif name == "td" or name == "th":
                walk(child)
                out.append(" ")
            elif name in _BLOCK_TAGS:
                out.append("\n")
                walk(child)
                out.append("\n")
            else:
                walk(child)

    walk(BeautifulSoup(html, "html.parser"))
    text = "".join(out).replace("\xa0", " ")
    lines = [" ".join(ln.split()) if ln.strip() else "" for ln in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


_NEXT_PART = "-------------- next part --------------"
_SCRUB_START_RE = re.compile(
    r"^(?:An? (?:HTML|non-text|embedded|embedded and charset-unspecified) (?:attachment|message|text)"
    r" was scrubbed\.\.\.|HTML attachment scrubbed and removed|Skipped content of type .*)\s*$")
_SCRUB_FIELD_RE = re.compile(r"^(Name|Type|Size|Desc|URL|From|Subject|Date)\s*:\s*(.*)$",
                             re.IGNORECASE)


def _scrubbed_notice(lines: list[str], start: int) -> tuple[Attachment, int]:
    """Parse a pipermail scrubbing notice from lines[start]; return it and the next index."""
    head = lines[start].strip()
    fields: dict[str, str] = {}
    i = start + 1
    while i < len(lines):
        m = _SCRUB_FIELD_RE.match(lines[i].strip())
        if not m:
            break
        key, val = m.group(1).capitalize(), m.group(2).strip()
        key = "URL" if key == "Url" else key
        if key == "URL" and val in ("", "<"):
            # older Mailman: URL on the following line(s), possibly inside <...>
            j = i + 1
            while j < len(lines) and lines[j].strip() and lines[j].strip() != ">" and not val.endswith(">"):
                val += lines[j].strip()
                j += 1
            if j < len(lines) and lines[j].strip() == ">":
                j += 1
            i = j
        else:
            i += 1
        fields.setdefault(key, val)
    url = fields.get("URL", "").strip().strip("<>").strip() or None
    if "HTML" in head:
        ctype = "text/html"
    elif "embedded message" in head:
        ctype = "message/rfc822"
    elif "charset-unspecified" in head:
        ctype = "text/plain"
    else:
        ctype = fields.get("Type", "application/octet-stream").lower() or "application/octet-stream"
    size_m = re.match(r"(\d+)", fields.get("Size", ""))
    name = fields.get("Name") or (url.rsplit("/", 1)[-1] if url else None)
    return Attachment(name, ctype, int(size_m.group(1)) if size_m else 0, url), i


_ATTRIBUTION_RE = re.compile(
    r"(?:\bwrote|\bwrites|a écrit|schrieb|escribió|escreveu|ha scritto|schreef|skrev|kirjoitti|"
    r"napisał|написал\w*|написа|yazdı|írta|napsal|έγραψε|כתב|كتب|写道)\s*:\s*$"
    r"|\b(?:schrieb|skrev|schreef)\b.{0,100}:\s*$", re.IGNORECASE)
_ATTRIBUTION_START_RE = re.compile(
    r"^\s*(?:On|Le|Am|El|Em|Il|Op|Den|Dnia|W dniu|Quoting|Citando|Zitat|В|Dne)\b", re.IGNORECASE)
_ORIGINAL_RE = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Original-Nachricht|Message d'origine|Mensaje original|"
    r"Messaggio originale|Oorspronkelijk bericht|Ursprüngliche Nachricht|Opprinnelig melding|"
    r"Alkuperäinen viesti|Wiadomość oryginalna)\s*-{2,}|_{20,}\s*)$", re.IGNORECASE)
_OUTLOOK_FROM_RE = re.compile(r"^\s*(?:\*?From|\*?Von|\*?De|\*?Da|\*?Van|\*?Fra)\*?:\s+\S")
# Outlook's reply header says "Sent:"; forwards from other clients say "Date:" and stay new text
_OUTLOOK_SENT_RE = re.compile(
    r"^\s*\*?(?:Sent|Gesendet|Envoyé|Enviado|Inviato|Verzonden|Skickat|Sendt)\*?:")
_FOOTER_WORDS_RE = re.compile(
    r"mailing list|listinfo|unsubscribe|postorius|list information|lists\.|guidelines at|"
    r"new messages to|mailman", re.IGNORECASE)


def _is_quote(line: str) -> bool:
    return line.lstrip()[:1] == ">"


def _is_footer_start(lines: list[str], i: int) -> bool:
    s = lines[i].strip().lstrip("> ").strip()
    if len(s) < 20 or s.strip("_"):
        return False
    for j in range(i + 1, min(i + 5, len(lines))):
        if _FOOTER_WORDS_RE.search(lines[j]):
            return True
    return False


def _is_attribution(lines: list[str], i: int) -> tuple[int, bool]:
    """(number of lines 1-3 of an attribution like "On ... wrote:" starting at i, or 0;
    whether quoted lines follow it).

    A wrapped attribution must start with a known opening word, so prose ending in "wrote:"
    stays new text.
    """
    n = len(lines)
    for span in (1, 2, 3):
        end = i + span
        if end > n:
            return 0, False
        last = lines[end - 1]
        if span > 1 and (not last.strip() or _is_quote(last)):
            return 0, False
        if len(last) < 400 and _ATTRIBUTION_RE.search(last):
            if span > 1 and not _ATTRIBUTION_START_RE.match(lines[i]):
                return 0, False
            k = end
            while k < n and not lines[k].strip():
                k += 1
            return span, k >= n or _is_quote(lines[k])
    return 0, False


def _is_strong_attribution(lines: list[str]) -> bool:
    """"On 15 April 2014 20:50, Erik <e@x> wrote:": an opening word plus a date or address,
    enough to take what follows as an unmarked quote (archives that dropped the ">")."""
    text = " ".join(lines)
    return bool(_ATTRIBUTION_START_RE.match(text)) and (
        any(c.isdigit() for c in text) or "@" in text or " at " in text)


# A superset of the lines split_body's rules look at: quote marks, dashes and underscores
# (signatures, footers, "Original Message"), scrubbing notices, Outlook reply headers, and lines
# ending in ":" (attributions, which may start two lines earlier). Every other line goes where
# the line before it went, and a run of quoted lines goes to the quote whatever came before,
# so the rules run on a few lines per message instead of on all of them. Each alternative starts
# with one of three characters, which lets the regex skip the rest of the text quickly.
_MARK_RE = re.compile(
    r"\n(?:(?P<q>[^\S\n]*>[^\n]*(?:\n[^\S\n]*>[^\n]*)*)"
    r"|[^\S\n]*(?:[-_]|(?=\*?(?:From|Von|De|Da|Van|Fra)\*?:))|An? |HTML attachment|Skipped content)"
    r"|:[^\S\n]*(?=\n|\Z)|" + re.escape(_NEXT_PART))


def _marked_lines(text: str) -> tuple[list[int], dict[int, int]]:
    """(sorted numbers of the lines split_body must look at, {first: end} of runs of quoted
    lines). A colon in a quoted line never matters: an attribution cannot end in a quote."""
    text = "\n" + text  # every line, the first too, starts after a newline
    marked: list[int] = []
    runs: dict[int, int] = {}
    newlines, pos = 0, 0   # newlines before pos
    count = text.count
    for m in _MARK_RE.finditer(text):
        start = m.start()
        newlines += count("\n", pos, start)
        pos = start
        first = text[start]
        if m.lastgroup == "q":
            end = m.end()
            lines = count("\n", start, end)
            marked.append(newlines)
            if _NEXT_PART in text[start:end]:   # a quoted "next part" line: look at each one
                marked.extend(range(newlines + 1, newlines + lines))
            else:
                runs[newlines] = newlines + lines
        elif first == "\n":
            marked.append(newlines)
        elif first == ":":
            marked.extend(range(max(0, newlines - 3), newlines))
        else:
            marked.append(newlines - 1)
    if len(marked) > 1:
        marked = sorted(set(marked))
    return marked, runs


def split_body(text: str) -> tuple[str, str, str, str, list[Attachment]]:
    """(new, quoted, signature, footer, scrubbed attachments) of a decoded body.

    Footers are Mailman list footers (also quoted ones go to quoted); pipermail scrubbing
    notices go to footer too, as archive boilerplate, and are returned as attachments.
    """
    lines = text.split("\n")
    new: list[str] = []
    quoted: list[str] = []
    sig: list[str] = []
    footer: list[str] = []
    scrubbed: list[Attachment] = []
    in_sig = False
    rest_quoted = False
    n = len(lines)
    i = 0
    marked, runs = _marked_lines(text)
    k = 0
    while i < n:
        # lines no rule below could act on go, in one run, where the last blank line would
        while k < len(marked) and marked[k] < i:
            k += 1
        stop = marked[k] if k < len(marked) else n
        if stop > i:
            (quoted if rest_quoted else sig if in_sig else new).extend(lines[i:stop])
            i = stop
            continue
        if i in runs:
            quoted.extend(lines[i:runs[i]])
            i = runs[i]
            continue
        line = lines[i]
        first = line[:1]
        stripped = line.strip()
        if not stripped:
            (quoted if rest_quoted else sig if in_sig else new).append(line)
            i += 1
            continue
        if _NEXT_PART in line and (first == "-" or stripped.endswith(_NEXT_PART)):
            # "Skipped content of type ...-------------- next part ---..." shares one line
            in_sig = False
            footer.append(line)
            i += 1
            if i < n and _SCRUB_START_RE.match(lines[i].strip()):
                start = i
                att, i = _scrubbed_notice(lines, i)
                scrubbed.append(att)
                footer.extend(lines[start:i])
            # text after a next-part line is another (scrubbed) part: keep reading normally
            in_sig = False
            continue
        if (first == "A" or first == "H" or first == "S") and _SCRUB_START_RE.match(stripped):
            start = i
            att, i = _scrubbed_notice(lines, i)
            if att.url or i > start + 1:
                scrubbed.append(att)
                footer.extend(lines[start:i])
                continue
            i = start
        if stripped[0] == ">":
            quoted.append(line)
            i += 1
            continue
        if stripped[:1] in "-_" and _ORIGINAL_RE.match(line) and not rest_quoted and (
                stripped[0] == "-" or (i + 1 < n and _OUTLOOK_FROM_RE.match(lines[i + 1]))):
            # top-posted reply: the original below is quoted
            rest_quoted = True
            quoted.append(line)
            i += 1
            continue
        if stripped[:1] == "_" and _is_footer_start(lines, i):
            while i < n and lines[i].strip():
                footer.append(lines[i])
                i += 1
            continue
        if rest_quoted:
            quoted.append(line)
            i += 1
            continue
        if _OUTLOOK_FROM_RE.match(line) and i + 1 < n and _OUTLOOK_SENT_RE.match(lines[i + 1]):
            rest_quoted = True
            quoted.append(line)
            i += 1
            continue
        span, quotes_follow = _is_attribution(lines, i) if (stripped[-1:] == ":" or (
            i + 1 < n and lines[i + 1].rstrip()[-1:] == ":") or (
            i + 2 < n and lines[i + 2].rstrip()[-1:] == ":")) else (0, False)
        if span and (quotes_follow or _is_strong_attribution(lines[i:i + span])):
            # followed by "> " lines: a quote; else a top-posted reply whose quote lost its ">"
            rest_quoted = rest_quoted or not quotes_follow
            quoted.extend(lines[i:i + span])
            i += span
            continue
        if first == "-" and (stripped == "--" and line.rstrip("\r") in ("--", "-- ")):
            in_sig = True
            sig.append(line)
            i += 1
            continue
        (sig if in_sig else new).append(line)
        i += 1
    return ("\n".join(new).strip("\n"), "\n".join(quoted).strip("\n"), "\n".join(sig).strip("\n"),
            "\n".join(footer).strip("\n"), scrubbed)


# --- MIME ------------------------------------------------------------------------------------
# A small MIME reader instead of email.feedparser: the stdlib parser walks every body line in
# Python and compiles a regex per boundary, which alone capped parsing near 1,000 msg/s.
# Headers stay compat32-style strings (8-bit bytes as surrogates) for decode_header_value.

_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_MAX_DEPTH = 20


_FIELD_RE = re.compile(r"([!-9;-~]+)[ \t]*:([^\n]*)((?:\n[ \t][^\n]*)*)(?:\n|\Z)")


def _split_head(data: bytes) -> tuple[dict[str, list[str]], bytes]:
    """Header fields (lower-case name -> raw values, unfolded) and the body bytes. One regex
    match per field, folded lines included: a Python loop per line was a tenth of parsing."""
    if data[:1] in (b"\n", b"\r"):
        return {}, data.lstrip(b"\r").removeprefix(b"\n")
    m = _BLANK_LINE_RE.search(data)
    head, body = (data[:m.start()], data[m.end():]) if m else (data, b"")
    text = head.decode("ascii", "surrogateescape")
    if "\r" in text:
        text = text.replace("\r\n", "\n").removesuffix("\r")
    headers: dict[str, list[str]] = {}
    pos, n = 0, len(text)
    while pos < n and text[pos] in " \t":       # folded lines before any field: dropped
        nl = text.find("\n", pos)
        pos = n if nl < 0 else nl + 1
    match = _FIELD_RE.match
    while pos < n:
        fm = match(text, pos)
        if fm is None:
            # not a header: the body starts here (a missing blank line, as compat32 reads it)
            rest = text[pos:].encode("ascii", "surrogateescape")
            return headers, rest + (b"\n\n" + body if m else b"")
        name, value, folded = fm.groups()
        value = value.strip(" \t")
        if folded:
            value += folded.replace("\n", "")
        headers.setdefault(name.lower(), []).append(value)
        pos = fm.end()
    return headers, body


def _params(value: str) -> tuple[str, dict[str, str]]:
    """`type/sub; a=b; c="d"` -> ("type/sub", {"a": "b", "c": "d"}), with RFC 2231 values."""
    if '"' in value and any(";" in inside for inside in value.split('"')[1::2]):
        pieces = []
        buf: list[str] = []
        quoted = False
        for ch in value:
            if ch == '"':
                quoted = not quoted
            if ch == ";" and not quoted:
                pieces.append("".join(buf))
                buf = []
            else:
                buf.append(ch)
        pieces.append("".join(buf))
    else:
        pieces = value.split(";")
    main = pieces[0].strip().lower()
    params: dict[str, str] = {}
    continued: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        key, eq, val = piece.partition("=")
        if not eq:
            continue
        key = key.strip().lower()
        val = val.strip()
        if len(val) >= 2 and val[0] == '"' and val[-1] == '"':
            val = val[1:-1].replace('\\"', '"')
        m = re.match(r"^(.*?)\*(\d+)?(\*)?$", key) if "*" in key else None
        if m and (m.group(2) is not None or m.group(3) or key.endswith("*")):
            continued.setdefault(m.group(1), {})[int(m.group(2) or 0)] = (
                val, bool(m.group(3)) or (m.group(2) is None))
        else:
            params.setdefault(key, val)
    for key, chunks in continued.items():
        ordered = [chunks[i] for i in sorted(chunks)]
        charset = "utf-8"
        text_parts: list[bytes] = []
        for n, (val, encoded) in enumerate(ordered):
            if encoded:
                if n == 0 and val.count("'") >= 2:
                    charset, _, val = val.split("'", 2)
                text_parts.append(_percent_decode(val))
            else:
                text_parts.append(val.encode("utf-8", "surrogateescape"))
        params[key] = decode_bytes(b"".join(text_parts), charset or "utf-8")[0]
    return main, params


def _percent_decode(value: str) -> bytes:
    return unquote_to_bytes(value.encode("utf-8", "surrogateescape"))


def _transfer_decode(body: bytes, encoding: str) -> bytes:
    """Undo Content-Transfer-Encoding leniently (broken base64 keeps what decodes)."""
    if encoding == "base64":
        try:
            return binascii.a2b_base64(body)
        except binascii.Error:
            clean = re.sub(rb"[^A-Za-z0-9+/]", b"", body)
            clean = clean[: len(clean) - len(clean) % 4]
            try:
                return binascii.a2b_base64(clean)
            except binascii.Error:
                return body
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body)
    return body


def _find_delimiter(body: bytes, delim: bytes, frm: int) -> int:
    """Start of the next line at or after `frm` that is exactly `delim` (or its closing form),
    or -1; a longer boundary that merely starts with `delim` does not count."""
    pos = frm
    while True:
        if pos == 0 and body.startswith(delim):
            i = 0
        else:
            i = body.find(b"\n" + delim, max(pos - 1, 0))
            if i < 0:
                return -1
            i += 1
        tail = i + len(delim)
        if body.startswith(b"--", tail):
            return i
        eol = body.find(b"\n", tail)
        if not body[tail:eol if eol >= 0 else len(body)].strip():
            return i
        pos = i + 1


def _split_multipart(body: bytes, boundary: str) -> list[bytes] | None:
    """The parts between `--boundary` lines (None when the boundary never occurs)."""
    delim = b"--" + boundary.encode("ascii", "surrogateescape")
    pos = _find_delimiter(body, delim, 0)
    if pos < 0:
        return None
    parts: list[bytes] = []
    while True:
        after = pos + len(delim)
        if body.startswith(b"--", after):
            break  # closing delimiter
        line_end = body.find(b"\n", after)
        if line_end < 0:
            break
        start = line_end + 1
        nxt = _find_delimiter(body, delim, start)
        if nxt < 0:
            parts.append(body[start:])  # no closing delimiter: the rest is the last part
            break
        end = nxt - 1                   # the line break before the delimiter belongs to it
        if end > start and body[end - 1:end] == b"\r":
            end -= 1
        parts.append(body[start:max(start, end)])
        pos = nxt
    return parts


def _leaves(headers: dict[str, list[str]], body: bytes, depth: int = 0,
            default_type: str = "text/plain") -> list[tuple[str, dict[str, str], str, str, bytes]]:
    """(content type, params, disposition, filename, decoded payload) of every leaf part."""
    ctype_raw = _first(headers, "content-type")
    ctype, params = _params(ctype_raw) if ctype_raw else (default_type, {})
    if "/" not in ctype:
        ctype = "text/plain" if not ctype or ctype == "text" else default_type
    if ctype.startswith("multipart/") and depth < _MAX_DEPTH:
        parts = _split_multipart(body, params.get("boundary", "")) if params.get("boundary") else None
        if parts is not None:
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            leaves = []
            for part in parts:
                h, b = _split_head(part)
                leaves.extend(_leaves(h, b, depth + 1, child_default))
            return leaves
        ctype = "text/plain"  # a multipart without its boundary: read it as text, like compat32
    encoding = _first(headers, "content-transfer-encoding").strip().lower()
    if ctype == "message/rfc822" and depth < _MAX_DEPTH and encoding not in ("base64",
                                                                             "quoted-printable"):
        h, b = _split_head(body.lstrip(b"\r\n"))
        return _leaves(h, b, depth + 1)
    disp_raw = _first(headers, "content-disposition")
    disposition, disp_params = _params(disp_raw) if disp_raw else ("", {})
    filename = disp_params.get("filename") or params.get("name") or ""
    if filename:
        filename = decode_header_value(filename)
    return [(ctype, params, disposition, filename, _transfer_decode(body, encoding))]


def unflow(text: str, delsp: bool = False) -> str:
    """Join format=flowed soft line breaks (RFC 3676) so wrapped sentences and URLs are whole."""
    out: list[str] = []
    current: str | None = None
    depth = 0
    for line in text.replace("\r\n", "\n").split("\n"):
        d = len(line) - len(line.lstrip(">"))
        content = line[d:]
        if content.startswith(" "):
            content = content[1:]          # space-stuffing
        if current is not None and d == depth:
            current += content
        else:
            if current is not None:
                out.append(current)
            current, depth = (">" * d + (" " if d else "") + content), d
        if content.endswith(" ") and content != "-- ":
            if delsp:
                current = current[:-1]
            continue
        out.append(current)
        current = None
    if current is not None:
        out.append(current)
    return "\n".join(out)


def _first(headers: dict[str, list[str]], name: str) -> str:
    values = headers.get(name)
    return values[0] if values else ""


# --- the message -----------------------------------------------------------------------------

def _content_hash(subject_norm: str, date: datetime | None, body: str) -> str:
    """What two copies of one mail share whatever the archive did to them.

    Footers, transport headers, whitespace, quote marks and pipermail's " at " are left out, and
    so is the sender: Mailman's DMARC mitigation rewrites From to the list address in some
    copies only.
    """
    body = " ".join(deobfuscate(body).replace(">", " ").split())   # quote marks: flowed or not
    parts = [subject_norm.lower(), date.isoformat() if date else "", body]
    return hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def parse_message(raw: bytes, hints: SourceHints = SourceHints()) -> Message:
    """One raw mail (optionally with its mbox `From ` line) -> Message; never raises."""
    defects: list[Defect] = []
    try:
        return _parse(raw, hints, defects)
    except Exception as exc:  # noqa: BLE001 - the contract: bad mail is a defect, not a crash
        defects.append(_defect(hints, "unparseable", f"{type(exc).__name__}: {exc}"))
        text, _ = decode_bytes(raw[:1_000_000])
        key = _synthetic_key("", "", text)
        return Message(key=key, message_id="", msgid_hash=message_id_hash(key), subject="",
                       subject_norm="", from_name="", from_addr="", date=None, in_reply_to=None,
                       references=(), lists=((hints.list_name or "").lower(),) if hints.list_name else (),
                       text=text, new_text=text, quoted_text="", signature="", footer="",
                       archive_url=hints.archive_url, defects=tuple(defects))


def _defect(hints: SourceHints, kind: str, detail: str, message_id: str | None = None) -> Defect:
    return Defect(kind=kind, detail=detail, source=hints.source, offset=hints.offset,
                  index=hints.index, message_id=message_id)


def _synthetic_key(date: str, sender: str, body: str) -> str:
    basis = "\x00".join([date, sender.lower(), " ".join(body.split())])
    return f"sha1-{hashlib.sha1(basis.encode('utf-8', 'surrogatepass')).hexdigest()}@digest.invalid"


_UNIXFROM_DATE_RE = re.compile(r"^From \S+(?: at \S+)?\s+(.*\d{4})\s*$")


def _parse(raw: bytes, hints: SourceHints, defects: list[Defect]) -> Message:
    problems: list[tuple[str, str]] = []
    if b"\x00" in raw:
        raw = raw.replace(b"\x00", b"")
        problems.append(("nul-bytes", "NUL bytes removed"))
    if raw[:3] == b"\xef\xbb\xbf":
        raw = raw[3:]
    unixfrom = ""
    if raw[:5] == b"From ":
        nl = raw.find(b"\n")
        unixfrom = raw[:nl if nl >= 0 else len(raw)].decode("utf-8", "replace").rstrip("\r")
        raw = raw[nl + 1:] if nl >= 0 else b""
    headers, body_bytes = _split_head(raw)

    # identity
    ids = [normalise_message_id(_raw_header_text(v)) for v in headers.get("message-id", [])]
    ids = [i for i in ids if i]
    message_id = ids[0] if ids else ""
    if len(set(ids)) > 1:
        problems.append(("duplicate-message-id", f"{len(ids)} different Message-ID headers; "
                                                 f"kept the first"))

    subject = decode_header_value(_first(headers, "subject"))
    from_value = decode_header_value(_first(headers, "from"))
    from_name, from_addr, obfuscated = parse_from(from_value) if from_value else ("", "", False)
    if not from_addr and unixfrom:
        m = re.match(r"^From (\S+(?: at \S+)?)", unixfrom)
        if m:
            from_addr = deobfuscate(m.group(1)) if " at " in m.group(1) else m.group(1)
            obfuscated = obfuscated or " at " in m.group(1)
    if not from_value:
        problems.append(("no-from", "no From header"))

    # date: Date, then Resent-Date, then the mbox separator line
    date_value = _raw_header_text(_first(headers, "date"))
    date, problem = parse_date(date_value)
    if date is None:
        fallback = _raw_header_text(_first(headers, "resent-date"))
        if not fallback and unixfrom:
            m = _UNIXFROM_DATE_RE.match(unixfrom)
            fallback = m.group(1) if m else ""
        if fallback:
            date, _ = parse_date(fallback)
        if problem != "missing":
            problems.append(("bad-date", problem + ("; used the Resent-Date or mbox separator date"
                                                    if date else "")))
        elif date is None:
            problems.append(("no-date", "no Date header"))
    elif problem:
        problems.append(("bad-date", problem))

    in_reply = _ids_in(_raw_header_text(_first(headers, "in-reply-to")))
    references = tuple(_ids_in(_raw_header_text(" ".join(headers.get("references", [])))))
    in_reply_to = in_reply[0] if in_reply else None

    # lists
    lists: list[str] = []
    list_id = _raw_header_text(_first(headers, "list-id"))
    if list_id:
        name = _list_from_id(list_id)
        if name:
            lists.append(name)
    # the archive the copy came from is a membership too (foundation-l mail in wikimedia-l)
    if hints.list_name and hints.list_name.lower() not in lists:
        lists.append(hints.list_name.lower())
    if not lists:
        lists = _lists_from_recipients([_raw_header_text(v) for v in
                                        headers.get("to", []) + headers.get("cc", [])])

    # body
    plain: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    bad_charsets: set[str] = set()
    for ctype, params, disposition, filename, data in _leaves(headers, body_bytes):
        if ctype == "text/plain" or ctype == "text/html":
            charset = params.get("charset")
            text, ok = decode_bytes(data, charset)
            if not ok:
                bad_charsets.add(charset or "undeclared")
            if ctype == "text/html":
                html_parts.append(text)
                if disposition == "attachment" or filename:
                    attachments.append(Attachment(filename or None, ctype, len(data)))
            elif disposition == "attachment" and filename:
                attachments.append(Attachment(filename, ctype, len(data)))
            else:
                if params.get("format", "").lower() == "flowed":
                    text = unflow(text, params.get("delsp", "").lower() == "yes")
                plain.append(text)
        else:
            attachments.append(Attachment(filename or None, ctype, len(data)))
    if bad_charsets:
        problems.append(("bad-charset", "undecodable with declared charset "
                         + ", ".join(sorted(bad_charsets)) + "; read as windows-1252"))
    html = "\n".join(html_parts) if html_parts else None
    body = "\n".join(plain).replace("\r\n", "\n").replace("\r", "\n").rstrip().lstrip("\n")
    if "\x00" in body:
        body = body.replace("\x00", "")
    if html is not None and len(body.strip()) < 40:
        try:
            html_text = html_to_text(html)
        except Exception as exc:  # noqa: BLE001 - a broken HTML part must not lose the message
            html_text = ""
            problems.append(("bad-html", f"{type(exc).__name__}: {exc}"))
        if len(html_text) > len(body.strip()):
            body = (body.strip() + "\n\n" + html_text).strip() if body.strip() else html_text
    new_text, quoted_text, signature, footer, scrubbed = split_body(body)
    attachments.extend(scrubbed)

    if not message_id:
        key = _synthetic_key(date.isoformat() if date else date_value, from_addr, body)
        problems.append(("no-message-id", "no or empty Message-ID; synthetic key " + key))
    else:
        key = message_id
    archive_url = hints.archive_url or (normalise_message_id(
        _raw_header_text(_first(headers, "archived-at"))) or None)
    if archive_url and not archive_url.startswith(("http://", "https://")):
        archive_url = hints.archive_url
    for kind, detail in problems:
        if kind:
            defects.append(_defect(hints, kind, detail, message_id or None))
    subject_norm = normalise_subject(subject)
    return Message(
        key=key, message_id=message_id, msgid_hash=message_id_hash(key), subject=subject,
        subject_norm=subject_norm, from_name=from_name, from_addr=from_addr, date=date,
        in_reply_to=in_reply_to, references=references, lists=tuple(lists), text=body,
        new_text=new_text, quoted_text=quoted_text, signature=signature, footer=footer,
        html=html, attachments=tuple(attachments), archive_url=archive_url,
        content_hash=_content_hash(subject_norm, date, new_text + "\n" + quoted_text),
        obfuscated=obfuscated or hints.obfuscated, defects=tuple(defects))
