"""Archives on disk -> raw messages with source hints: mbox (mboxo/mboxrd, CRLF), Maildir, .eml,
pipermail monthly text (.txt/.txt.gz) and HyperKitty .mbox.gz exports, gzip anywhere.

Streams in blocks, looking line by line only at lines that start with `From ` (an archive is
never held in memory), and never parses mail: it only finds where each message starts, from
the content, not the file name. Problems with one message or
with the end of a file become `Defect`s so the rest of the input still gets through; only a
path that cannot be read at all raises `InputError`.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import InputError
from ..model import Defect, SourceHints
from .headers import message_id

__all__ = ["read_path", "sniff", "list_name_from_path", "MAX_MESSAGE_BYTES"]

# A single message beyond this is skipped with a defect. No mail the lists carried comes near
# it (Mailman caps a post far lower); a bigger one is damage, and ingesting it would cost
# about 25 times its size in memory across the reader and a worker.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024
_SNIFF_BYTES = 64 * 1024
_GZIP_MAGIC = b"\x1f\x8b"

_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# `From SENDER DATE`: SENDER may be obfuscated ("user at host") or non-ASCII; DATE is ctime-like
# (an optional zone before or after the year), as written by mbox tools, Mailman 2 and HyperKitty.
_SEPARATOR_RE = re.compile(
    rb"^From (?:\S+ at \S+|\S*) +" + _DAY + rb"[a-z]*,? +" + _MON + rb"[a-z]* +\d{1,2},? +"
    rb"\d{1,2}:\d\d(?::\d\d)?(?: +[A-Za-z+\-0-9]{1,6})? +\d{4}(?: +[+-]?\d{4}| +[A-Z]{1,5})?\s*$")
# Thunderbird & co. write `From - Mon Jan 01 00:00:00 2001`; some tools `From addr  date-ish`
_LOOSE_SEPARATOR_RE = re.compile(rb"^From \S+.* \d{1,2}:\d\d(?::\d\d)?.* \d{4}\b")
_PIPERMAIL_SEPARATOR_RE = re.compile(
    rb"^From \S+(?: at \S+)? {1,2}" + _DAY + rb" " + _MON + rb" [ \d]\d \d\d:\d\d:\d\d \d{4}\s*$")
_PIPERMAIL_TWO_SPACES_RE = re.compile(rb"^From \S+  " + _DAY)   # Mailman 2: "From %s  %s"
_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+:")
_CONFIRM_HEADER_RE = re.compile(rb"^[A-Za-z][A-Za-z0-9_.-]*:(?:[ \t]|\r?\n)")
_MBOXRD_FROM_RE = re.compile(rb"^>(?=>*From )", re.MULTILINE)   # the `>` to take off
_READ_BYTES = 1 << 20
_PIPERMAIL_HEADERS = {b"from", b"date", b"subject", b"in-reply-to", b"references", b"message-id"}

_MONTH_NAMES = ("January|February|March|April|May|June|July|August|September|October|"
                "November|December")
_NAME_PATTERNS = (
    re.compile(rf"^(?P<list>[A-Za-z0-9][\w.+-]*?)-\d{{4}}-(?:{_MONTH_NAMES})\.txt(?:\.gz)?$"),
    re.compile(r"^(?P<list>[A-Za-z0-9][\w.+-]*?)@lists\.[\w.-]+?-.*\.mbox(?:\.gz)?$"),
    re.compile(r"^(?P<list>[A-Za-z0-9][\w.+-]*?)@[\w.-]+?\.mbox(?:\.gz)?$"),
    re.compile(r"^(?P<list>[A-Za-z0-9][\w.+-]*?)-\d{4}-\d{2}(?:-\d{2})?\.mbox(?:\.gz)?$"),
)
_MONTH_FILE_RE = re.compile(rf"^\d{{4}}-(?:{_MONTH_NAMES})\.txt(?:\.gz)?$")


def list_name_from_path(path: str | os.PathLike[str]) -> str | None:
    """The list an archive file belongs to when its name says so (lower-case), else None.

    Recognised: `LIST-YYYY-Month.txt(.gz)`, `LIST/YYYY-Month.txt(.gz)`,
    `LIST@lists.host-....mbox(.gz)`, `LIST-YYYY-MM.mbox(.gz)`.
    """
    p = Path(path)
    for pattern in _NAME_PATTERNS:
        m = pattern.match(p.name)
        if m:
            return m.group("list").lower()
    if _MONTH_FILE_RE.match(p.name) and p.parent.name not in ("", ".", ".."):
        return p.parent.name.lower()
    return None


# --- opening ---------------------------------------------------------------------------------

def _check_path(path: Path) -> None:
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _open(path: Path) -> BinaryIO:
    """The decompressed byte stream of a file (gzip detected by magic bytes)."""
    try:
        raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        magic = raw.peek(2)[:2]
    except OSError as exc:
        raw.close()
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if magic == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _head(path: Path) -> tuple[bytes, str | None]:
    """First bytes of the decompressed content, and a problem reading them (or None)."""
    stream = _open(path)
    chunks: list[bytes] = []
    size = 0
    try:
        while size < _SNIFF_BYTES:
            chunk = stream.read(min(8192, _SNIFF_BYTES - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks), None
    except (EOFError, OSError, zlib.error) as exc:
        return b"".join(chunks), f"{type(exc).__name__}: {exc}"
    finally:
        stream.close()


def _first_line(head: bytes) -> bytes:
    head = head.lstrip(b"\r\n")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.split(b"\n", 1)[0]


def _header_names(head: bytes) -> set[bytes]:
    """Lower-case header names of the first message in `head` (after a separator line)."""
    lines = head.lstrip(b"\r\n").split(b"\n")
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    names = set()
    for line in lines[:200]:
        if not line.strip():
            break
        if line[:1] in (b" ", b"\t"):
            continue
        name = line.split(b":", 1)[0].strip().lower()
        if name:
            names.add(name)
    return names


def _kind_of_head(head: bytes) -> str:
    first = _first_line(head)
    if not head.strip():
        return "empty"
    if first.startswith(b"From "):
        names = _header_names(head)
        if b" at " in first.split(b"  ", 1)[0] or (
                _PIPERMAIL_TWO_SPACES_RE.match(first) and _PIPERMAIL_SEPARATOR_RE.match(first)
                and names and names <= _PIPERMAIL_HEADERS):
            return "pipermail"
        to_line = re.search(rb"^To: *(.*)$", head.split(b"\n\n", 1)[0], re.MULTILINE | re.IGNORECASE)
        if (b"received" not in names and to_line and b"@lists." in to_line.group(1).lower()
                and not any(n.startswith(b"list-") for n in names)):
            return "hyperkitty"
        return "mbox"
    if _HEADER_LINE_RE.match(first):
        return "eml"
    return "unknown"


def sniff(path: str | os.PathLike[str]) -> str:
    """The archive format from the content: "mbox", "pipermail", "hyperkitty", "maildir", "eml";
    also "empty" (no bytes) and "unknown" (not mail). Raises InputError for unreadable paths."""
    p = Path(path)
    _check_path(p)
    if p.is_dir():
        if _is_maildir(p):
            return "maildir"
        raise InputError(f"{p}: a directory that is not a Maildir (no cur/ and new/)")
    head, _ = _head(p)
    return _kind_of_head(head)


# --- reading ---------------------------------------------------------------------------------

Item = tuple[bytes, SourceHints] | Defect


def read_path(path: str | os.PathLike[str], list_name: str | None = None, *,
              max_message_bytes: int = MAX_MESSAGE_BYTES) -> Iterator[Item]:
    """Each raw message of an archive with its hints, or a Defect for what could not be read.

    Raises InputError for a missing path, a directory that is not a Maildir, or an unreadable
    file; everything else (empty file, broken gzip, oversized message) is a Defect. The raw
    bytes keep the mbox `From ` line (parse uses it for a missing date or sender).
    """
    p = Path(path)
    _check_path(p)
    name = list_name.lower() if list_name else None
    if p.is_dir():
        if not _is_maildir(p):
            raise InputError(f"{p}: a directory that is not a Maildir (no cur/ and new/)")
        return _read_maildir(p, name, max_message_bytes)
    head, problem = _head(p)   # opens the file: raises InputError when unreadable
    return _read_file(p, name or list_name_from_path(p), head, problem, max_message_bytes)


def _read_file(p: Path, list_name: str | None, head: bytes, problem: str | None,
               cap: int) -> Iterator[Item]:
    kind = _kind_of_head(head)
    source = str(p)
    if kind == "empty":
        if problem:
            yield Defect("broken-gzip", problem, source=source, offset=0)
        else:
            yield Defect("empty", "empty file", source=source, offset=0)
        return
    if kind == "unknown":
        yield Defect("not-mail", "neither an mbox nor a mail message (no `From ` separator, "
                     "no header lines at the start)", source=source, offset=0)
        return
    if kind == "eml":
        yield from _read_single(p, list_name, cap)
        return
    yield from _split_mbox(p, kind, list_name, cap)


_HEAD_BYTES = 64 * 1024   # where a skipped message's Message-ID is looked for


def _message_id_in(data: bytes | bytearray) -> str | None:
    """The Message-ID a message's first bytes give, for a defect about a message not passed on
    whole (too large, or cut off)."""
    return message_id(bytes(data[:_HEAD_BYTES])) or None


def _too_large(cap: int, source: str, offset: int, index: int, head: bytes) -> Defect:
    return Defect("too-large", f"message larger than {cap:,} bytes skipped", source=source,
                  offset=offset, index=index, message_id=_message_id_in(head))


def _read_single(p: Path, list_name: str | None, cap: int) -> Iterator[Item]:
    source = str(p)
    hints = SourceHints(source=source, index=1, offset=0, list_name=list_name,
                        archive_format="eml")
    buf = bytearray()
    stream = _open(p)
    try:
        while True:
            chunk = stream.read(1 << 16)   # small reads: a cut gzip loses at most one
            if not chunk:
                break
            buf += chunk
            if len(buf) > cap:
                yield _too_large(cap, source, 0, 1, buf)
                return
    except (EOFError, OSError, zlib.error) as exc:
        if buf:
            yield bytes(buf), hints
        yield _read_error(stream, exc, source, len(buf), 1)
        return
    finally:
        stream.close()
    yield bytes(buf), hints


def _pieces(stream: BinaryIO) -> Iterator[tuple[bytes, bool]]:
    """The stream as (line, True) for each line that starts with `From ` and (run, False) for
    the whole lines between them: the splitter looks at those lines alone and takes the rest
    in bulk, instead of running Python for every line of an archive."""
    read = getattr(stream, "read1", stream.read)   # one raw read: a cut gzip loses the least
    carry = b""
    while True:
        chunk = read(_READ_BYTES)
        final = not chunk
        data = carry + chunk if carry else chunk
        cut = len(data) if final else data.rfind(b"\n") + 1
        if not cut and not final:
            carry = data     # no whole line yet
            continue
        region, carry = (data, b"") if cut == len(data) else (data[:cut], data[cut:])
        pos, n = 0, len(region)
        while pos < n:
            if region.startswith(b"From ", pos):
                end = region.find(b"\n", pos) + 1 or n
                yield region[pos:end], True
            else:
                found = region.find(b"\nFrom ", pos)
                end = n if found < 0 else found + 1
                yield region[pos:end] if pos or end < n else region, False
            pos = end
        if final:
            return


def _split_mbox(p: Path, kind: str, list_name: str | None, cap: int) -> Iterator[Item]:
    """Split on `From ` separator lines that follow a blank line (or the start) and precede a
    header line; unescape mboxo/mboxrd `>From ` except in pipermail text, which never escaped."""
    source = str(p)
    pipermail = kind == "pipermail"
    strict = _PIPERMAIL_SEPARATOR_RE if pipermail else _SEPARATOR_RE
    unescape = not pipermail
    base = SourceHints(source=source, list_name=list_name, archive_format=kind,
                       obfuscated=pipermail)
    buf = bytearray()
    start = 0            # offset of the current message's separator line
    index = 0
    offset = 0
    prev_blank = True    # the start of the file counts as a blank line
    pending: bytes | None = None   # a candidate separator waiting for the next line
    pending_offset = 0
    pending_needs_from = False     # confirmed only by a `From:` line, else any header line
    skipping = False     # the current message passed the size cap
    skipped_head = b""   # the start of that message, for its Message-ID
    tail = b"\n"         # the file's last byte so far
    stream = _open(p)

    def finish() -> Iterator[Item]:
        if index == 0:
            return
        if skipping:
            yield _too_large(cap, source, start, index, skipped_head)
        elif buf:
            yield bytes(buf), _hints(base, index, start, kind, buf)

    try:
        for piece, from_line in _pieces(stream):
            tail = piece[-1:] or tail
            while piece:
                if not from_line and pending is None and index:
                    # whole lines, none of them a separator: straight into the message
                    offset += len(piece)
                    last = piece.rfind(b"\n", 0, len(piece) - 1) + 1
                    prev_blank = piece[last:] in (b"\n", b"\r\n")
                    if not skipping:
                        _append(buf, piece, unescape)
                        if len(buf) > cap:
                            skipping, skipped_head = True, bytes(buf[:_HEAD_BYTES])
                            buf = bytearray()
                    break
                # one line at a time: a `From ` line, the line after one, or the file's start
                end = piece.find(b"\n") + 1 or len(piece)
                line, piece = (piece, b"") if end == len(piece) else (piece[:end], piece[end:])
                if pending is not None:
                    sep, pending = pending, None
                    if (line[:5] == b"From:" if pending_needs_from
                            else _CONFIRM_HEADER_RE.match(line)):
                        yield from finish()
                        index += 1
                        start = pending_offset
                        buf = bytearray(sep)
                        skipping = False
                    elif not skipping:
                        _append(buf, sep, unescape)
                # pipermail does not always leave a blank line before a separator (after a
                # scrubbed-attachment notice); there the full pattern plus a `From:` line decides
                if from_line and (prev_blank or pipermail) and len(line) < 1000 and (
                        strict.match(line) or (not pipermail and _LOOSE_SEPARATOR_RE.match(line))):
                    if index == 0 and not buf:
                        index, start, buf, skipping = 1, offset, bytearray(line), False
                    else:
                        pending, pending_offset = line, offset
                        pending_needs_from = pipermail   # Mailman 2 always writes From: first
                    offset += len(line)
                    prev_blank = False
                    continue
                from_line = False
                if index == 0:
                    # bytes before the first separator (blank lines, a BOM): not a message
                    if line.strip(b"\r\n\xef\xbb\xbf \t"):
                        index, start = 1, offset
                        buf = bytearray()
                        _append(buf, line, unescape)
                    offset += len(line)
                    prev_blank = line in (b"\n", b"\r\n")
                    continue
                offset += len(line)
                prev_blank = line in (b"\n", b"\r\n")
                if skipping:
                    continue
                _append(buf, line, unescape)
                if len(buf) > cap:
                    skipping, skipped_head = True, bytes(buf[:_HEAD_BYTES])
                    buf = bytearray()
        if pending is not None:
            _append(buf, pending, unescape)
        # a complete mbox ends with a newline, and its last message has a blank line after its
        # headers (true of every real archive seen): else the file was cut
        cut = index > 0 and not skipping and (tail != b"\n" or (
            b"\n\n" not in buf and b"\r\n\r\n" not in buf))
        yield from finish()
        if cut:
            yield Defect("truncated", "the file ends in the middle of this message, which is "
                         "kept as far as it goes", source=source, offset=start, index=index,
                         message_id=_message_id_in(buf))
    except (EOFError, OSError, zlib.error) as exc:
        if pending is not None:
            _append(buf, pending, unescape)
        yield from finish()
        yield _read_error(stream, exc, source, offset, index + 1)
        return
    finally:
        stream.close()
    if index == 0:
        yield Defect("empty", "no messages in file", source=source, offset=0)


def _read_error(stream: BinaryIO, exc: BaseException, source: str, offset: int,
                index: int) -> Defect:
    """The defect for a stream that broke off: a cut or corrupt gzip, or an I/O error."""
    if isinstance(stream, gzip.GzipFile):
        kind = "truncated-gzip" if isinstance(exc, EOFError) else "broken-gzip"
    else:
        kind = "read-error"
    return Defect(kind, f"{type(exc).__name__}: {exc}; the rest of the file is lost",
                  source=source, offset=offset, index=index)


def _append(buf: bytearray, lines: bytes, unescape: bool) -> None:
    """Whole lines into a message, mboxo/mboxrd `>From ` unescaped."""
    if unescape and b">From " in lines:
        lines = _MBOXRD_FROM_RE.sub(b"", lines)
    buf += lines


def _hints(base: SourceHints, index: int, offset: int, kind: str, buf: bytearray) -> SourceHints:
    obfuscated = base.obfuscated
    if kind == "pipermail":
        first = bytes(buf[:200]).split(b"\n", 1)[0]
        obfuscated = b" at " in first
    return SourceHints(source=base.source, index=index, offset=offset, list_name=base.list_name,
                       archive_format=kind, obfuscated=obfuscated)


def _read_maildir(p: Path, list_name: str | None, cap: int) -> Iterator[Item]:
    source_dir = str(p)
    index = 0
    for sub in ("new", "cur"):
        try:
            names = sorted(n for n in os.listdir(p / sub) if not n.startswith("."))
        except OSError as exc:
            yield Defect("unreadable", f"{sub}/: {exc.strerror or exc}", source=source_dir)
            continue
        for name in names:
            f = p / sub / name
            if not f.is_file():
                continue
            index += 1
            source = str(f)
            try:
                size = f.stat().st_size
                if size > cap:
                    with open(f, "rb") as head:
                        yield _too_large(cap, source, 0, index, head.read(_HEAD_BYTES))
                    continue
                data = f.read_bytes()
            except OSError as exc:
                yield Defect("unreadable", exc.strerror or str(exc), source=source, index=index)
                continue
            if not data.strip():
                yield Defect("empty", "empty message file", source=source, index=index, offset=0)
                continue
            yield data, SourceHints(source=source, index=index, offset=0, list_name=list_name,
                                    archive_format="maildir")
