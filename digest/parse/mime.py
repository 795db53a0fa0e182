"""A small MIME reader instead of email.feedparser: head split (one regex match per field),
Content-Type parameters (RFC 2231), transfer decoding, multipart splitting, leaf parts and
format=flowed. The stdlib parser walks every body line in Python and compiles a regex per
boundary, which alone capped parsing near 1,000 msg/s. Headers stay compat32-style strings
(8-bit bytes as surrogates) for decode_header_value."""
from __future__ import annotations

import binascii
import re
from urllib.parse import unquote_to_bytes

from .headers import decode_bytes, decode_header_value

# (content type, params, disposition, filename, decoded payload) of one leaf part
Leaf = tuple[str, dict[str, str], str, str, bytes]

_BLANK_LINE_RE = re.compile(rb"\r?\n\r?\n")
_MAX_DEPTH = 20


_FIELD_RE = re.compile(r"([!-9;-~]+)[ \t]*:([^\n]*)((?:\n[ \t][^\n]*)*)(?:\n|\Z)")


def split_head(data: bytes) -> tuple[dict[str, list[str]], bytes]:
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


def leaves(headers: dict[str, list[str]], body: bytes, depth: int = 0,
           default_type: str = "text/plain") -> list[Leaf]:
    """(content type, params, disposition, filename, decoded payload) of every leaf part."""
    ctype_raw = first_value(headers, "content-type")
    ctype, params = _params(ctype_raw) if ctype_raw else (default_type, {})
    if "/" not in ctype:
        ctype = "text/plain" if not ctype or ctype == "text" else default_type
    if ctype.startswith("multipart/") and depth < _MAX_DEPTH:
        parts = _split_multipart(body, params.get("boundary", "")) if params.get("boundary") else None
        if parts is not None:
            child_default = "message/rfc822" if ctype == "multipart/digest" else "text/plain"
            found: list[Leaf] = []
            for part in parts:
                h, b = split_head(part)
                found.extend(leaves(h, b, depth + 1, child_default))
            return found
        ctype = "text/plain"  # a multipart without its boundary: read it as text, like compat32
    encoding = first_value(headers, "content-transfer-encoding").strip().lower()
    if ctype == "message/rfc822" and depth < _MAX_DEPTH and encoding not in ("base64",
                                                                             "quoted-printable"):
        h, b = split_head(body.lstrip(b"\r\n"))
        return leaves(h, b, depth + 1)
    disp_raw = first_value(headers, "content-disposition")
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


def first_value(headers: dict[str, list[str]], name: str) -> str:
    """The first value of a header field, or "": repeated fields keep the first, like compat32."""
    values = headers.get(name)
    return values[0] if values else ""
