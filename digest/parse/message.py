"""Raw RFC 5322 bytes (+ source hints) -> one clean `Message`: the other modules' results assembled,
every problem recorded as a `Defect`, identity and content hash computed; never raises."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import datetime

from ..model import Attachment, Defect, Message, SourceHints
from .addresses import deobfuscate, list_from_id, lists_from_recipients, parse_from
from .body import split_body
from .dates import parse_date
from .headers import decode_bytes, decode_header_value, raw_header_text
from .htmltext import html_to_text
from .identifiers import ids_in, message_id_hash, normalise_message_id, normalise_subject
from .mime import first_value, leaves, split_head, unflow


def _content_hash(subject_norm: str, date: datetime | None, body: str) -> str:
    """What two copies of one mail share whatever the archive did to them.

    Footers, transport headers, whitespace, quote marks and pipermail's " at " are left out, and
    so is the sender: Mailman's DMARC mitigation rewrites From to the list address in some
    copies only.
    """
    body = deobfuscate(body).replace(">", " ")   # quote marks: flowed or not
    return _sha1(f"{subject_norm.lower()}\x00{date.isoformat() if date else ''}\x00", body)


def _sha1(prefix: str, text: str) -> str:
    """SHA-1 of `prefix` + `" ".join(text.split())`, the text taken a piece at a time."""
    digest = hashlib.sha1(prefix.encode("utf-8", "surrogatepass"))
    for piece in _squeezed(text):
        digest.update(piece.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


_PIECE = 1 << 20
_SPACE = re.compile(r"\s")


def _squeezed(text: str) -> Iterator[str]:
    """`" ".join(text.split())` in pieces of about a megabyte, each cut where the text has
    whitespace: a 50 MB body split at once would be millions of word objects (ten times its
    size in memory)."""
    if len(text) <= _PIECE:
        yield " ".join(text.split())
        return
    start, first = 0, True
    while start < len(text):
        space = _SPACE.search(text, min(len(text), start + _PIECE))
        end = space.start() if space else len(text)
        piece = " ".join(text[start:end].split())
        if piece:
            yield piece if first else " " + piece
            first = False
        start = end


def parse_message(raw: bytes, hints: SourceHints = SourceHints()) -> Message:
    """One raw mail (optionally with its mbox `From ` line) -> Message; never raises."""
    defects: list[Defect] = []
    try:
        return _parse(raw, hints, defects)
    except Exception as exc:  # noqa: BLE001 - the contract: bad mail is a defect, not a crash
        text, _ = decode_bytes(raw[:1_000_000])
        key = _synthetic_key("", "", text)
        defects.append(_defect(hints, "unparseable", f"{type(exc).__name__}: {exc}", key))
        return Message(key=key, message_id="", msgid_hash=message_id_hash(key), subject="",
                       subject_norm="", from_name="", from_addr="", date=None, in_reply_to=None,
                       references=(), lists=((hints.list_name or "").lower(),) if hints.list_name else (),
                       text=text, new_text=text, quoted_text="", signature="", footer="",
                       archive_url=hints.archive_url, defects=tuple(defects))


def _defect(hints: SourceHints, kind: str, detail: str, message_id: str | None = None) -> Defect:
    """A defect naming where the message was found, so `digest stats --defects` can point at it."""
    return Defect(kind=kind, detail=detail, source=hints.source, offset=hints.offset,
                  index=hints.index, message_id=message_id)


def _synthetic_key(date: str, sender: str, body: str) -> str:
    """A stable key for mail without a Message-ID: the same mail re-ingested gets the same key."""
    digest = _sha1(date + "\x00" + sender.lower() + "\x00", body)
    return f"sha1-{digest}@digest.invalid"


_UNIXFROM_DATE_RE = re.compile(r"^From \S+(?: at \S+)?\s+(.*\d{4})\s*$")


def _parse(raw: bytes, hints: SourceHints, defects: list[Defect]) -> Message:
    """parse_message's work; may raise on mail broken beyond the rules, which it catches."""
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
    headers, body_bytes = split_head(raw)

    # identity
    ids = [normalise_message_id(raw_header_text(v)) for v in headers.get("message-id", [])]
    ids = [i for i in ids if i]
    message_id = ids[0] if ids else ""
    if len(set(ids)) > 1:
        problems.append(("duplicate-message-id", f"{len(ids)} different Message-ID headers; "
                                                 f"kept the first"))

    subject = decode_header_value(first_value(headers, "subject"))
    from_value = decode_header_value(first_value(headers, "from"))
    from_name, from_addr, obfuscated = parse_from(from_value) if from_value else ("", "", False)
    if not from_addr and unixfrom:
        m = re.match(r"^From (\S+(?: at \S+)?)", unixfrom)
        if m:
            from_addr = deobfuscate(m.group(1)) if " at " in m.group(1) else m.group(1)
            obfuscated = obfuscated or " at " in m.group(1)
    if not from_value:
        problems.append(("no-from", "no From header"))

    # date: Date, then Resent-Date, then the mbox separator line
    date_value = raw_header_text(first_value(headers, "date"))
    date, problem = parse_date(date_value)
    if date is None:
        fallback = raw_header_text(first_value(headers, "resent-date"))
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

    in_reply = ids_in(raw_header_text(first_value(headers, "in-reply-to")))
    references = tuple(ids_in(raw_header_text(" ".join(headers.get("references", [])))))
    in_reply_to = in_reply[0] if in_reply else None

    # lists
    lists: list[str] = []
    list_id = raw_header_text(first_value(headers, "list-id"))
    if list_id:
        name = list_from_id(list_id)
        if name:
            lists.append(name)
    # the archive the copy came from is a membership too (foundation-l mail in wikimedia-l)
    if hints.list_name and hints.list_name.lower() not in lists:
        lists.append(hints.list_name.lower())
    if not lists:
        lists = lists_from_recipients([raw_header_text(v) for v in
                                       headers.get("to", []) + headers.get("cc", [])])

    # body
    plain: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    bad_charsets: set[str] = set()
    for ctype, params, disposition, filename, data in leaves(headers, body_bytes):
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
        raw_header_text(first_value(headers, "archived-at"))) or None)
    if archive_url and not archive_url.startswith(("http://", "https://")):
        archive_url = hints.archive_url
    for kind, detail in problems:
        if kind:  # named by the key it is stored under (a synthetic one when it had no ID)
            defects.append(_defect(hints, kind, detail, key))
    subject_norm = normalise_subject(subject)
    return Message(
        key=key, message_id=message_id, msgid_hash=message_id_hash(key), subject=subject,
        subject_norm=subject_norm, from_name=from_name, from_addr=from_addr, date=date,
        in_reply_to=in_reply_to, references=references, lists=tuple(lists), text=body,
        new_text=new_text, quoted_text=quoted_text, signature=signature, footer=footer,
        html=html, attachments=tuple(attachments), archive_url=archive_url,
        content_hash=_content_hash(subject_norm, date, new_text + "\n" + quoted_text),
        obfuscated=obfuscated or hints.obfuscated, defects=tuple(defects))
