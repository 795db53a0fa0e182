"""Message -> links: every URL a mail carries, repaired, labelled, numbered and classified.

Digests are built around their reference lists, so this stage must read URLs the way the
lists' real mail writes them: wrapped by mail clients and archives, bracketed, footnoted,
obfuscated by pipermail, cut off by archives, wrapped in tracking redirects. Pure: text in,
`Link`s out; no files, no network.

Speed matters (it runs inside ingest): candidates are found by substring searches for a few
fixed anchors, every later step looks only at the characters around a candidate (with bounded
look-ahead), and nothing depending on the URL alone is computed twice, so the work is linear
in the text and no regex can backtrack over a long line.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from functools import lru_cache
from html import unescape
from urllib.parse import parse_qsl, unquote

from .model import Link, LinkKind, Message

__all__ = ["extract_links", "extract_from_text", "repair_truncated", "normalise_url",
           "link_kind", "is_boilerplate_url"]

# --- scanning -------------------------------------------------------------------------------

# Where a URL may start: a scheme before "://", "mailto:", or "www." (which must not be the
# tail of a longer name and must be followed by a host).
_SCHEMES = frozenset(("http", "https", "ftp", "ftps"))
_WWW_HOST = re.compile(r"[\w-]+\.\w")
# The body of a URL on one line: anything but whitespace and characters that never occur
# unescaped in a URL written in prose (angle brackets, quotes, CJK punctuation).
# The whitespace is spelled out (every character str.isspace() accepts, which is what "\s"
# means; a test checks): a set of single characters compiles to one bitmap test per
# character, where "\s" costs a category lookup, then a comparison with each other character.
_TOKEN = re.compile(r"[^\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
                    r"\u3000<>\"`“”«»‹›「」『』【】〈〉《》，。、；：！？（）]*")
# A line's quote prefix and indentation ("> > ", "  ", ">>").
_PREFIX = re.compile(r"[ \t]*(?:>+[ \t]*)*")
# A footnote marker before a URL on its line: "[1] ", "[1]: ", "[1] Some title: ".
_FOOTNOTE = re.compile(r"[ \t>]*\[(\d{1,3})\][:.]?[ \t]*(.*?)[ \t<]*$")
# A numbered list item before a URL: "1. ", "2) " (a footnote only if "[n]" occurs in the text).
_NUMBERED = re.compile(r"[ \t>]*(\d{1,3})[.)][ \t]+(.*?)[ \t<]*$")
_HEX = "0123456789abcdefABCDEF"
_DIGITS = frozenset("0123456789")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_HOST_OK = re.compile(r"[a-z0-9.\-_\[\]:]+")
_LIST_MARKER = re.compile(r"\d{1,3}[.)]$")
_PARTIAL_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")
_HYPERKITTY_AT = re.compile(r"\(a\)(?=[\w.-])")
_OBFUSCATED_AT = re.compile(r"[ \t]+at[ \t]+(?=[\w-]+(?:\.[\w-]+)+)")
_HOSTISH = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?(?:[/:?#]|$)")

_TRAILING = set(".,;:!?'\"»›’”*")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
# Characters whose presence makes a continuation line look like a piece of URL, not prose.
_URLISH = set("/_%=&?#~+")
_STRONG_INCOMPLETE = set("_=&?%+~-")
_WEAK_INCOMPLETE = set("/#:@")
# A line at least this long may have been cut at a mail client's wrap column (72-80
# characters); clients that cut at a "/" leave somewhat shorter lines.
_WRAP_COLUMN = 60
_MAX_JOINS = 24
_MAX_BRACKET = 4096
_FILE_ENDINGS = frozenset(("html", "htm", "php", "pdf", "aspx", "asp", "jsp", "cgi", "txt",
                           "org", "com", "net", "edu", "gov", "info", "de", "fr", "uk", "io"))
# Ordinary words that follow a URL at the end of a line and must never be glued onto it.
_STOPWORDS = frozenset("""
a an and are as at be been but by can could did do does for from had has have he her here his
how i if in into is it its may me might more my no not now of on or our please see she should
so than that the their them then there these they this those to too us was we were what when
where which while who why will with would you your also about after again all any before
because both each few just most must only other over same some such thanks thank best regards
cheers hi hello dear yes very via und der die das ein eine ist et le la les des du en un une
est el los las por para con y o och att som er og det na w z je se il di che per""".split())


def extract_links(message: Message) -> tuple[Link, ...]:
    """Every link of a message, in text order; HTML-only links follow the text's."""
    links = extract_from_text(message.text, html=message.html, footer=message.footer,
                              quoted_text=message.quoted_text)
    return tuple(links)


def extract_from_text(text: str, *, html: str | None = None, footer: str = "",
                      quoted_text: str = "") -> list[Link]:
    """The links of a body given as strings (what the dev corpus and tests have)."""
    has_links = bool(footer) and ("://" in footer or "www." in footer or "ailto:" in footer)
    start = text.rfind(footer) if has_links else -1
    if start >= 0:
        # The list footer is the same in thousands of messages: read it once, and the text
        # around it as usual.
        end = start + len(footer)
        found = _scan(text[:start], quoted_text)
        found += _moved(_footer_links(footer), start)
        if end < len(text):
            found += _moved(_scan(text[end:], quoted_text), end, None)
    else:
        found = _scan(text, quoted_text)
        if has_links:  # the footer was kept apart from the text: its links are boilerplate
            found += _moved(_footer_links(footer), len(text) + 1)
    if html:
        truncated = any(lk.truncated for lk in found)
        known = frozenset() if truncated else frozenset(lk.url for lk in found)
        from_html = _html_links(html, len(text) + len(footer) + 2, known)
        if from_html and any("\n" in lk.raw for lk in found):
            # an HTML part made from wrapped text links only the first line of a wrapped URL
            cut = {_first_line_url(lk.raw) for lk in found if "\n" in lk.raw}
            from_html = [h for h in from_html if h.url not in cut]
        if from_html:
            found = list(repair_truncated(found, from_html)) + from_html
    return _merge(found)


def _first_line_url(raw: str) -> str | None:
    info = _url_info(_trim(raw.split("\n", 1)[0].strip()))
    return info[0] if info else None


@lru_cache(maxsize=64)
def _footer_links(footer: str) -> tuple[Link, ...]:
    return tuple(_scan(footer, ""))


def _moved(links: Iterable[Link], offset: int, boilerplate: bool | None = True) -> list[Link]:
    """The links `offset` characters further on, flagged boilerplate (None: as they were)."""
    if boilerplate is None:
        return [_with(lk, {"position": lk.position + offset}) for lk in links]
    return [_with(lk, {"position": lk.position + offset, "boilerplate": boilerplate})
            for lk in links]


def _with(lk: Link, changes: dict[str, object]) -> Link:
    """replace(lk, **changes), without __init__'s overhead where _FAST_LINK allows."""
    if not _FAST_LINK:
        return replace(lk, **changes)  # type: ignore[arg-type]
    new = object.__new__(Link)
    object.__setattr__(new, "__dict__", {**lk.__dict__, **changes})
    return new


_LINK_FIELDS = tuple(f.name for f in fields(Link))
# A frozen dataclass's __init__ sets each field through object.__setattr__, a sizeable part
# of extraction's cost at tens of thousands of links; filling the instance dict directly
# gives the same object. Only while Link stays a plain frozen dataclass (no slots, no
# __post_init__, fields in this order).
_FAST_LINK = (not hasattr(Link, "__slots__") and not hasattr(Link, "__post_init__")
              and _LINK_FIELDS == ("url", "raw", "display", "label", "ref", "position", "kind",
                                   "boilerplate", "quoted", "truncated", "project", "title"))


def _link(url: str, raw: str, display: str, label: str, ref: int | None, position: int,
          kind: LinkKind, boilerplate: bool, quoted: bool, truncated: bool,
          project: str | None, title: str | None) -> Link:
    """Link(...) with every field given positionally, built without __init__'s overhead."""
    if not _FAST_LINK:
        return Link(url, raw, display, label, ref, position, kind, boilerplate, quoted,
                    truncated, project, title)
    lk = object.__new__(Link)
    object.__setattr__(lk, "__dict__", {
        "url": url, "raw": raw, "display": display, "label": label, "ref": ref,
        "position": position, "kind": kind, "boilerplate": boilerplate, "quoted": quoted,
        "truncated": truncated, "project": project, "title": title})
    return lk


# --- the scan ---------------------------------------------------------------------------------

# The last characters that make _trim or _is_truncated worth calling: most URLs end in a
# letter, a digit or "/", and skip both calls.
_TRIM_END = frozenset(_TRAILING) | frozenset(_CLOSERS) | {">"}
_CUT_END = frozenset("….%")
_BLANK_LINE_NEXT = frozenset(("\n", "\n\n", "\n\r"))


def _scan(text: str, quoted_text: str) -> list[Link]:
    """Read the URL at each candidate, in text order.

    The common case, a URL on one line followed by a space (not " at ") or by the end of
    the text, is read here without further calls; wrapped, bracketed and obfuscated URLs go
    through _read_bracketed and _read_bare.
    """
    out: list[Link] = []
    starts = _candidates(text) if text else []
    if not starts:
        return out
    ctx = _Context(text, quoted_text)
    seen = ctx.seen  # URLs read so far
    blocks: list[tuple[int, int]] | None = None  # list footers, found at the first URL
    fast_link, new_link, set_dict = _FAST_LINK, object.__new__, object.__setattr__  # see _link
    has_quoted = quoted_text != ""
    skip_to = 0
    at = ls = 0  # candidates come in order: line starts are found incrementally, so a
    #              megabyte-long line is searched once, not once per URL
    for s in starts:
        if s < skip_to:
            continue
        nl = text.rfind("\n", at, s)
        if nl >= 0:
            ls = nl + 1
        at = s
        before = text[s - 1] if s else ""
        bracketed = before == "<" or before == ":" and text[max(0, s - 5):s].upper() == "<URL:"
        joined: str | None = None
        raw = ""
        end = s
        if bracketed:
            got = _read_bracketed(text, s)
            if got is not None:
                joined, end = got
                raw = text[s:end]
        cut_off = False
        if joined is None:
            m = _TOKEN.match(text, s)
            end = m.end()  # type: ignore[union-attr]
            after = text[end:end + 2]
            if (not after or after[0] not in " \t\r\n" or after in _BLANK_LINE_NEXT
                    or after[0] == " " and after[1:] not in " \t\r\n"
                    and text[end:end + 4] != " at "):
                # the token is the whole URL (what _read_bare would find): no line follows
                # it, or a blank one, nor " at host"
                raw = m.group()  # type: ignore[union-attr]
                if raw[-1] in _TRIM_END:
                    raw = _trim(raw)
                    end = s + len(raw)
                joined = raw
            else:
                joined, end = _read_bare(ctx, s, ls, m)  # type: ignore[arg-type]
                raw = text[s:end]
            # "<url" never closed before a blank line or the end: the copy was cut there
            cut_off = bracketed and text[end:end + 2] in ("", "\n", "\n\n")
            bracketed = False
        skip_to = end if end > s else s + 1
        truncated = cut_off or ((joined[-1:] in _CUT_END or "%" in joined[-2:])
                                and _is_truncated(joined))
        if truncated and joined.endswith("..."):
            joined = joined.rstrip(".")
        info = _url_info(joined)
        if info is None:
            continue
        url, display, kind, project, title, boiler = info
        if blocks is None:
            blocks = _footer_blocks(text)
        if blocks:
            in_footer = False
            for a, b in blocks:  # (a loop: any() over a generator costs more than the test)
                if a <= s < b:
                    in_footer = True
                    break
            if in_footer and url in seen:
                continue  # a quoted footer repeating one seen before
            boiler = boiler or in_footer
        seen.add(url)
        if (before == " " and s - 2 >= ls and text[s - 2] in _ASCII_ALNUM
                and text[ls] in _ASCII_LETTERS):
            # "Some words https://...": what _ref_and_label would say, as the line starts
            # with a letter (no footnote), no markdown or wikitext, and the words end in
            # neither ":" nor "(": no label
            ref, label = None, ""
        else:
            ref, label = _ref_and_label(ctx, s, ls, end, bracketed)
        quoted = (has_quoted or text[ls] in " \t>") and _is_quoted(ctx, s, ls)
        if fast_link:
            lk = new_link(Link)
            set_dict(lk, "__dict__", {
                "url": url, "raw": raw, "display": display, "label": label, "ref": ref,
                "position": s, "kind": kind, "boilerplate": boiler, "quoted": quoted,
                "truncated": truncated, "project": project, "title": title})
            out.append(lk)
        else:
            out.append(Link(url, raw, display, label, ref, s, kind, boiler, quoted, truncated,
                            project, title))
    return out


def _candidates(text: str) -> list[int]:
    """Start offsets of possible URLs, in order.

    Plain substring searches for the few fixed anchors ("://", "www.", "mailto:") run at C
    speed; the word-boundary checks then look only at the characters around each hit.
    """
    starts: list[int] = []
    find = text.find
    pos = find("://")
    while pos >= 0:
        # the common cases, already lower-case, first (every call counts at this rate)
        if pos >= 4 and text[pos - 4:pos] == "http":
            j = pos - 4
        elif pos >= 5 and text[pos - 5:pos] == "https":
            j = pos - 5
        else:
            head = text[max(0, pos - 5):pos].lower()
            size = (5 if head == "https" else 4 if head.endswith(("http", "ftps")) else
                    3 if head.endswith("ftp") else 0)
            j = pos - size if size else -1
        if j >= 0 and (j == 0 or text[j - 1] not in _WORD_CHARS):
            starts.append(j)
        pos = find("://", pos + 3)
    # upper-case "WWW." without a scheme is too rare to scan for
    pos = find("www.")
    while pos >= 0:
        # not the tail of a longer name (ASCII word characters only: CJK text runs straight
        # into URLs without a space)
        if ((pos == 0 or (text[pos - 1] not in _WORD_CHARS and text[pos - 1] not in "@./-"))
                and _WWW_HOST.match(text, pos + 4)):
            starts.append(pos)
        pos = find("www.", pos + 4)
    for anchor in ("mailto:", "Mailto:", "MAILTO:") if "ailto:" in text else ():
        pos = find(anchor)
        while pos >= 0:
            if pos == 0 or text[pos - 1] not in _WORD_CHARS:
                starts.append(pos)
            pos = find(anchor, pos + 7)
    starts.sort()
    return starts


class _Context:
    """Per-message facts computed at most once, only when a link needs them."""

    __slots__ = ("text", "quoted_text", "_depth_at", "_depth", "_quoted_lines", "seen")

    def __init__(self, text: str, quoted_text: str) -> None:
        self.text = text
        self.quoted_text = quoted_text
        self._depth_at = -1
        self._depth = 0
        self._quoted_lines: frozenset[str] | None = None
        self.seen: set[str] = set()  # URLs read so far

    def quoted_lines(self) -> frozenset[str]:
        """Lines of the quoted text that carry a URL but no ">" (Outlook-style quotes)."""
        if self._quoted_lines is None:
            q = self.quoted_text
            lines = set()
            for anchor in ("://", "www."):
                pos = q.find(anchor)
                while pos >= 0:
                    ls = q.rfind("\n", 0, pos) + 1
                    le = q.find("\n", pos)
                    le = len(q) if le < 0 else le
                    line = q[ls:le].strip()
                    if not line.startswith(">"):
                        lines.add(line)
                    pos = q.find(anchor, le)
            self._quoted_lines = frozenset(lines)
        return self._quoted_lines

    def depth(self, line_start: int) -> int:
        """Quote depth of the line starting there (remembered for the line's other URLs)."""
        if line_start != self._depth_at:
            self._depth_at = line_start
            self._depth = _quote_depth(self.text, line_start)
        return self._depth


def _footer_blocks(text: str) -> list[tuple[int, int]]:
    """List footers: a rule of underscores followed by "... mailing list" (quoted or not)."""
    blocks: list[tuple[int, int]] = []
    pos = text.find("___")
    while pos >= 0:
        ls = text.rfind("\n", 0, pos) + 1
        le = text.find("\n", pos)
        le = len(text) if le < 0 else le
        rule = text[ls:le].strip(" \t>\r")
        if rule and set(rule) == {"_"}:
            window = text[le:le + 400]
            if "mailing list" in window.lower():
                stop = window.find("\n\n")
                blocks.append((ls, le + (stop if stop >= 0 else len(window))))
        pos = text.find("___", le)
    return blocks


def _is_truncated(url: str) -> bool:
    if url[-1:] in ("…", ".") and url.endswith(("…", "...")):
        return True
    return "%" in url[-2:] and _PARTIAL_ESCAPE.search(url) is not None


@lru_cache(maxsize=8192)
def _url_info(written: str) -> tuple[str, str, LinkKind, str | None, str | None, bool] | None:
    """Everything that depends on the URL alone, computed once per distinct URL.

    List footers repeat the same few URLs in thousands of messages, so this cache carries
    much of the load at ingest.
    """
    parts = _normalise(written)
    if parts is None:
        return None
    url, display, host, path, query = parts
    kind, project, title = _AS_CONTACT if not host else _kind_of(host, path, query)
    return url, display, kind, project, title, is_boilerplate_url(url)


def _read_bracketed(text: str, s: int) -> tuple[str, int] | None:
    """`<url>` possibly spread over lines: join the pieces, spaces become `_`/`%20`.

    Gives up (None) at a blank line, another `<`, or after a few lines, so a stray `<`
    never swallows prose.
    """
    pieces: list[str] = []
    pos = s
    n = len(text)
    while True:
        le = text.find("\n", pos, pos + _MAX_BRACKET)
        if le < 0:
            le = min(n, pos + _MAX_BRACKET)
        gt = text.find(">", pos, le)
        lt = text.find("<", pos, le)
        if gt >= 0 and (lt < 0 or gt < lt):
            pieces.append(text[pos:gt])
            close = gt
            break
        if lt >= 0 or le >= n or text[le] != "\n" or len(pieces) >= 8 or le - s > _MAX_BRACKET:
            return None
        pieces.append(text[pos:le].rstrip("\r"))
        nxt = _PREFIX.match(text, le + 1).end()
        if nxt >= n or text[nxt] in "\r\n":
            return None
        pos = nxt
    if len(pieces) == 1:
        content = pieces[0]
    else:
        spaced = any(" " in p.strip() for p in pieces)
        content = pieces[0]
        for piece in pieces[1:]:
            head = content.rstrip()
            if _PARTIAL_ESCAPE.search(head) or not spaced:
                content = head + piece.strip()
            else:
                content = head + " " + piece.strip()
    content = _OBFUSCATED_AT.sub("@", content.strip())
    if " " in content or "\t" in content:
        filler = "_" if ("/wiki/" in content or "title=" in content) else "%20"
        content = filler.join(content.split())
    return content, close


def _read_bare(ctx: _Context, s: int, line_start: int, m: re.Match[str]) -> tuple[str, int]:
    """A URL without brackets: its token (`m`, matched at `s`), then continuation lines when
    they look like URL."""
    text = ctx.text
    n = len(text)
    end = m.end()
    pieces = [m.group()]
    if end < n and text[end] not in " \t\r\n":
        return _trim(pieces[0]), end - (len(pieces[0]) - len(_trim(pieces[0])))
    depth = -1  # the URL line's quote depth, found when a continuation needs comparing
    for _ in range(_MAX_JOINS):
        if end >= n:
            break
        cur = pieces[-1] if len(pieces) == 1 else "".join(pieces)
        j = end
        while j < n and text[j] in " \t":
            j += 1
        if j < n and text[j] == "\r":
            j += 1
        if j < n and text[j] != "\n":
            # "user at host": pipermail's address obfuscation inside a URL
            at = _obfuscated_at(text, end, cur)
            if at is None:
                break
            pieces.append(at[0])
            end = at[1]
            continue
        nl = j + 1
        if nl >= n or text[nl] in "\r\n":
            break  # the end, or a blank line
        last = cur[-1]
        if (last in _TRAILING and last != ".") or last in _CLOSERS:
            break  # complete, then punctuation: a sentence went on, not the URL
        cont = _PREFIX.match(text, nl).end() if text[nl] in _PREFIX_CHARS else nl
        if depth < 0:  # (a line that starts with no prefix has depth 0)
            depth = ctx.depth(line_start) if text[line_start] in _PREFIX_CHARS else 0
        if cont >= n or (text.count(">", nl, cont) if cont > nl else 0) != depth:
            break
        tm = _TOKEN.match(text, cont)
        piece = tm.group()
        if (not piece or piece[0] in "[(*•" or piece == "-" or "://" in piece[:8]
                or piece.startswith(("www.", "mailto:"))):
            break
        if len(piece) <= 4 and _LIST_MARKER.match(piece):
            break  # "4. https://..." is the next list item, not the rest of this URL
        if not _continues(cur, piece, end - line_start):
            break
        pieces.append(piece)
        end = tm.end()
        line_start = nl
    url = "".join(pieces)
    kept = _trim(url)
    return kept, end - (len(url) - len(kept))


def _obfuscated_at(text: str, end: int, cur: str) -> tuple[str, int] | None:
    """`... at host...` right after a URL token: the archive's rewrite of an `@`."""
    if text[end:end + 4] != " at ":
        return None
    tm = _TOKEN.match(text, end + 4)
    piece = tm.group()
    if not piece or cur[-1] in _TRAILING:
        return None
    hostish = _HOSTISH.match(piece) is not None and "." in piece.split("/")[0].rstrip(".")
    if hostish or (cur.endswith("/") and piece[:1].isalnum()) or cur.lower().startswith("mailto:"):
        return "@" + piece, tm.end()
    return None


def _continues(cur: str, piece: str, line_len: int) -> bool:
    """Decide from what the next line starts with whether a URL was wrapped onto it."""
    if cur.endswith(("…", "...")):
        return False
    if "%" in cur[-2:] and _PARTIAL_ESCAPE.search(cur):
        return piece[0] in _HEX
    last = cur[-1]
    core = piece.rstrip(".,;:!?'\")]»*")
    if not core or not (core[0].isalnum() or any(c.isalnum() for c in core)):
        return False  # a rule line ("____", "-- ") or stray punctuation
    lower = core.lower()
    if last in _TRAILING or last in _CLOSERS:
        if last == "." and not cur.endswith(".."):
            # a host broken right after a dot, or a file ending on the next line
            rest = cur.split("://", 1)[-1]
            if "/" not in rest and _HOSTISH.match(piece) and ("." in core or "/" in core):
                return True
            if lower.split("/")[0].split("?")[0] in _FILE_ENDINGS and core[0].islower():
                return True
        return False
    if lower in _STOPWORDS:
        return False
    if last in _STRONG_INCOMPLETE:
        return True
    near_wrap = line_len >= _WRAP_COLUMN
    if last in _WEAK_INCOMPLETE:
        if _urlish(core, last) or ("-" in core.strip("-") and core.islower()):
            return True
        # a wiki subpage ("/wiki/Programme/" + "Reports"); prose words are lower case
        return near_wrap and "/wiki/" in cur and core[0].isupper() and core.isalnum()
    # the URL ended in a letter or digit: only a clear piece of URL at the wrap column
    if near_wrap and _urlish(core, last):
        return True
    if line_len >= 72 and core.isalpha() and core.islower() and "_" in cur.rsplit("/", 1)[-1]:
        # a wiki title cut mid-word ("..._partnership_refle" + "ctions")
        return True
    return False


def _urlish(core: str, last: str) -> bool:
    """A piece of URL: URL punctuation, an identifier mixing letters and digits (not "2nd",
    "10am"), a host name ("ia.org/...", not "e.g."), or digits after "/", "#", ":", "@"."""
    only_digits = core.isascii() and core.isdigit()
    if only_digits and last in _WEAK_INCOMPLETE:
        return True
    digits = not _DIGITS.isdisjoint(core)
    return (not _URLISH.isdisjoint(core) or (digits and not only_digits and len(core) >= 6)
            or _looks_like_host(core))


def _looks_like_host(piece: str) -> bool:
    labels = piece.split("/", 1)[0].split(".")
    return (len(labels) >= 2 and len(labels[-1]) >= 2 and all(labels)
            and _HOSTISH.match(piece) is not None)


def _trim(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets (balanced ones stay).

    Works a run at a time from the end (punctuation, or one kind of bracket), so a URL
    followed by thousands of ")" costs a few C-speed steps rather than a Python step each.
    """
    if not url or url[-1] not in _TRIM_END:
        return url
    if url[-1] in _ALWAYS_TRIMMED and url[-2:-1] not in _TRIM_END:
        return url[:-1]  # the common case: one mark ("...,", "...).")
    end = len(url)
    excess: dict[str, int] | None = None  # closing brackets without an opening one
    while end > 0:
        c = url[end - 1]
        if c in _ALWAYS_TRIMMED:
            if end > 1 and url[end - 2] in _ALWAYS_TRIMMED:
                end -= _run_length(url, end, _ALWAYS_TRIMMED_CHARS)
            else:
                end -= 1
        elif c in _CLOSERS:
            if excess is None:
                excess = {k: url.count(k) - url.count(o) for k, o in _CLOSERS.items()}
            left = excess[c]
            if left <= 0:
                break
            if end > 1 and url[end - 2] == c:
                run = _run_length(url, end, c)
                if run > left:
                    end -= left
                    break  # the rest of the run is balanced
                excess[c] = left - run
                end -= run
            else:
                excess[c] = left - 1
                end -= 1
        else:
            break
    if end > 0 and url.startswith("...", end):
        # keep an archive's "..." cut marker: the caller flags the link as truncated
        return url[:end] + "..."
    return url[:end]


_ALWAYS_TRIMMED = frozenset(_TRAILING) | {">"}
_ALWAYS_TRIMMED_CHARS = "".join(sorted(_ALWAYS_TRIMMED))


def _run_length(s: str, end: int, chars: str) -> int:
    """How many characters of `chars` end s[:end], found by C-speed rstrip over windows
    that grow geometrically (linear in the run, whatever its length)."""
    size = 16
    while True:
        lo = max(0, end - size)
        kept = len(s[lo:end].rstrip(chars))
        if kept or not lo:
            return end - lo - kept
        size *= 8


def _quote_depth(text: str, line_start: int) -> int:
    if line_start >= len(text) or text[line_start] not in " \t>":
        return 0
    prefix = _PREFIX.match(text, line_start).group()
    return prefix.count(">")


def _is_quoted(ctx: _Context, s: int, ls: int) -> bool:
    text = ctx.text
    if text[ls] in _PREFIX_CHARS and ctx.depth(ls) > 0:  # (no prefix, depth 0)
        return True
    if not ctx.quoted_text:
        return False
    le = text.find("\n", s, s + 2000)
    if le < 0 and len(text) - s >= 2000:
        return False  # no quoted line of the message is that long
    quoted = ctx.quoted_lines()
    if not quoted:
        return False
    return text[ls:le if le >= 0 else len(text)].strip() in quoted


# --- labels and footnotes ---------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\n[ \t>]*")
_MARKER_ALONE = re.compile(r"\[(\d{1,3})\]:?")


_PREFIX_CHARS = frozenset(" \t>")
_PRE_END_CHARS = frozenset(" \t<*_")
_BULLET_CHARS = frozenset("*•-– \t")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ASCII_ALNUM = _ASCII_LETTERS | frozenset("0123456789")


def _ref_and_label(ctx: _Context, s: int, ls: int, end: int,
                   bracketed: bool) -> tuple[int | None, str]:
    """(footnote number, label): what a reader of the mail would call this link.

    In order: a footnote line's own title or the words before its inline marker; markdown
    or wikitext link text; "text: URL" on the line; "Name (URL)"; "anchor text <URL>"
    (how mail clients flatten HTML links); a line ending with ":" just above.
    """
    text = ctx.text
    far = s - ls > 300  # a long line: only its last words can introduce the URL
    before = text[s - 300:s] if far else text[ls:s]
    if before[-5:] == "<URL:":
        before = before[:-5]
    # (slices, comparisons and set lookups here rather than method calls where they say the
    # same: this runs for every link)
    pre = before.lstrip(" \t>") if before[:1] in _PREFIX_CHARS else before
    lead = pre[:1]
    fm = None
    if lead == "[" and not far:
        fm = _FOOTNOTE.match(before)
    elif lead not in _ASCII_LETTERS and lead.isdigit() and not far:
        nm = _NUMBERED.match(before)
        if nm is not None and f"[{nm.group(1)}]" in text:
            fm = nm
    if fm is not None:
        ref = int(fm.group(1))
        own = fm.group(2)
        own = _clean(own) if own else ""
        return ref, own or _marker_label(text, ref)
    # markdown [text](url)
    if s >= 2 and text[s - 2:s] == "](":
        open_at = text.rfind("[", max(0, s - 300), s - 2)
        if open_at >= 0:
            return None, _clean(text[open_at + 1:s - 2])
    # wikitext [url text]
    if s >= 1 and text[s - 1] == "[":
        le = text.find("\n", end)
        close = text.find("]", end, le if le >= 0 else len(text))
        if close > end:
            return None, _clean(text[end:close])
    if pre[-1:] in _PRE_END_CHARS:
        pre = pre.rstrip(" \t<*_")
    if pre[-4:] == "URL:":
        pre = pre[:-4].rstrip()
    if pre[:1] in _BULLET_CHARS:
        pre = pre.lstrip("*•-– \t")
    if pre:
        last = pre[-1]
        if last == ":":
            return None, _last_clause(pre[-400:-1])
        if last == "(":
            return None, _tail_words(pre[:-1], 6)
        if bracketed:
            return None, _tail_words(pre, 8)
        return None, ""
    # the URL starts its line: a footnote marker alone on the line above ("[3]" and the URL
    # wrapped below it), or a line ending with ":", introduces it
    prev = _previous_line(text, ls)
    if prev[:1] == "[" and (alone := _MARKER_ALONE.fullmatch(prev)) is not None:
        ref = int(alone.group(1))
        return ref, _marker_label(text, ref)
    if prev.endswith(":"):
        return None, _last_clause(prev[-400:-1])
    if bracketed and prev:
        return None, _tail_words(prev, 4)
    return None, ""


def _previous_line(text: str, ls: int) -> str:
    """The nearest non-blank line above (at most one blank line between), prefix removed."""
    pos = ls - 1
    for _ in range(2):
        if pos <= 0:
            return ""
        start = text.rfind("\n", 0, pos) + 1
        line = text[start:pos].lstrip(" \t>").strip()
        if line:
            return line.strip("*_ \t")
        pos = start - 1
    return ""


def _marker_label(text: str, ref: int) -> str:
    """The words just before the inline marker `[ref]` that points at a footnote (a marker
    that starts its line is the footnote itself, not a marker in the prose)."""
    marker = f"[{ref}]"
    pos = text.find(marker)
    while pos >= 0:
        ls = text.rfind("\n", 0, pos) + 1
        if text[ls:pos].strip(" \t>") != "":
            return _words_before(text, pos)
        pos = text.find(marker, pos + 1)
    return ""


def _words_before(text: str, pos: int) -> str:
    seg = text[max(0, pos - 200):pos]
    seg = seg[_last_boundary(seg):]
    if "\n" in seg:
        seg = _LINE_BREAK.sub(" ", seg)
    return _tail_words(seg, 8)


# Searched in the reversed text, so the first match is the last one: one C-speed search
# instead of a search per mark (the clause end, or the word separator, nearest the link).
_BOUNDARY_REVERSED = re.compile(r"[ \n][.!?;:]|\n\n|\]")
_WORD_SEP_REVERSED = re.compile(r"[•|·>]|\s(?=[.!?;,])")


def _last_boundary(seg: str) -> int:
    """Just after the last clause end (". ", ";", ":" before a space, "]", a blank line)."""
    m = _BOUNDARY_REVERSED.search(seg[::-1])
    return 0 if m is None else len(seg) - m.end() + 1


@lru_cache(maxsize=4096)
def _tail_words(seg: str, limit: int) -> str:
    """The last words of a segment (at most `limit`), cleaned: the phrases before footnote
    markers and URLs recur in every quoted copy of a message, so results are remembered."""
    m = _WORD_SEP_REVERSED.search(seg[::-1])  # after the last "•", "|", ">", ". "
    if m is not None:
        seg = seg[len(seg) - m.start():]
    words = seg.split()
    if "://" in seg or "www." in seg:
        for i in range(len(words) - 1, -1, -1):
            if "://" in words[i] or words[i].startswith("www."):
                words = words[i + 1:]  # text after an earlier URL on the line, not before it
                break
    return _clean(" ".join(words[-limit:]))


@lru_cache(maxsize=1024)
def _last_clause(line: str) -> str:
    """The clause that ends a line (what "text: URL" calls the URL); list footers repeat it."""
    words = line[_last_boundary(line):].split()
    return _clean(" ".join(words[-14:]))


# Words that join a label to the sentence rather than name the page: "and the blog post here".
_LEAD_FILLER = re.compile(r"^(?:(?:and|or|but|plus|also|see|et|und|y)\s+)+", re.I)
_TAIL_FILLER = re.compile(r"(?:\s+(?:is|are|can be (?:found|read|seen)|is available|are available))?"
                          r"\s+(?:here|below|at|on|in|via|from)$", re.I)
_TAIL_FILLER_LAST = frozenset("ewtnamEWTNAM")  # last letters of "here", "below", "at", ...


_CLEAN_ENDS = frozenset(" _-–—:,;(\"'.")


@lru_cache(maxsize=4096)
def _clean(label: str) -> str:
    if (" " not in label and "*" not in label and label.isprintable()
            and 3 <= len(label) <= 200 and label[0] not in _CLEAN_ENDS
            and label[-1] not in _CLEAN_ENDS):
        # one word (a URL as an anchor text): nothing to collapse, strip or drop (the fillers
        # need a space), only a word that says nothing
        return "" if label.lower() in ("here", "below", "this", "link") else label
    label = " ".join(label.replace("*", " ").split())
    label = label.strip(" _-–—:,;(\"'").rstrip(".")
    trimmed = _LEAD_FILLER.sub("", label)
    if trimmed[-1:] in _TAIL_FILLER_LAST:  # the filler regex searches at every position
        trimmed = _TAIL_FILLER.sub("", trimmed)
    if trimmed.lower() in ("here", "below", "this", "link"):
        return ""
    return (trimmed if len(trimmed) >= 3 else label)[:200]


# --- normalisation ----------------------------------------------------------------------------

_TRACKING = frozenset(("fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
                       "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi", "mkt_tok", "_ga", "_gl"))


# What follows "://": netloc, path, query, fragment in one C-speed match (each part is a single
# run of excluded characters, so nothing can backtrack).
_URL_REST = re.compile(r"([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?", re.DOTALL)


def _split(u: str) -> tuple[str, str, str, str, str]:
    """(scheme, netloc, path, query, fragment) of "scheme://..." without urlsplit's overhead."""
    i = u.find("://")
    netloc, path, query, fragment = _URL_REST.match(u, i + 3).groups("")  # type: ignore[union-attr]
    return u[:i], netloc, path, query, fragment


def _host_of(netloc: str) -> tuple[str, str, str]:
    """(userinfo, host, ":port") of a netloc."""
    userinfo, _, hostport = netloc.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        return userinfo, hostport[:close + 1], hostport[close + 1:]
    host, colon, port = hostport.partition(":")
    return userinfo, host, (colon + port if port.isdigit() else "")


def normalise_url(written: str) -> tuple[str, str] | None:
    """(url to fetch, display) for a URL as joined from the text; None if it is no URL.

    Redirect wrappers are unwrapped, tracking parameters dropped, the host lower-cased and
    IDN-encoded (unicode in the display), `www.` given a scheme.
    """
    parts = _normalise(written)
    return None if parts is None else (parts[0], parts[1])


@lru_cache(maxsize=2048)
def _netloc_facts(netloc: str) -> tuple[str, str, str, bool, tuple[str, str] | None]:
    """(userinfo, host, ":port", may redirect, (ASCII host, unicode host) or None if no resolver
    would accept the host) of a netloc: a few hundred hosts carry all the URLs of a list."""
    if "@" in netloc or ":" in netloc or netloc[:1] == "[":
        userinfo, host, port = _host_of(netloc)
    else:
        userinfo, host, port = "", netloc, ""
    host = host.lower().rstrip(".")
    redirect = host.endswith("safelinks.protection.outlook.com") or host in _GOOGLE_HOSTS
    if not host or not (host[0].isalnum() or any(c.isalnum() for c in host)):
        return userinfo, host, port, redirect, None
    ascii_host, unicode_host = _idn(host)
    if _HOST_OK.fullmatch(ascii_host) is None:
        return userinfo, host, port, redirect, None  # prose glued to a scheme
    return userinfo, host, port, redirect, (ascii_host, unicode_host)


def _normalise(written: str) -> tuple[str, str, str, str, str] | None:
    """(url, display, host, path, query); host is "" for mailto:."""
    u = written.strip()
    first = u[:1]  # (only "m"/"M" and "w"/"W" lower-case to the first letter of each prefix)
    if (first == "m" or first == "M") and u[:7].lower() == "mailto:":
        addr = _OBFUSCATED_AT.sub("@", u[7:]).replace(" ", "")
        if "@" not in addr.split("?", 1)[0]:
            return None
        return "mailto:" + addr, unquote(addr.split("?", 1)[0]), "", "", ""
    if (first == "w" or first == "W") and u[:4].lower() == "www.":
        u = "http://" + u
    if "://" not in u:
        return None
    if "(a)" in u:  # HyperKitty writes an "@" as "(a)" in message bodies, URLs included
        u = _HYPERKITTY_AT.sub("@", u)
    for _ in range(3):
        i = u.find("://")
        scheme = u[:i]
        netloc, path, query, fragment = _URL_REST.match(u, i + 3).groups("")  # type: ignore
        userinfo, host, port, redirect, hosts = _netloc_facts(netloc)
        if not redirect:
            break
        target = _redirect_target(host, path, query)
        if target is None:
            break
        u = target
    if hosts is None or scheme.lower() not in _SCHEMES:
        return None
    scheme = scheme.lower()
    ascii_host, unicode_host = hosts
    auth = userinfo + "@" if userinfo else ""
    if query:
        query = _drop_tracking(query)
    url = f"{scheme}://{auth}{ascii_host}{port}{path}"
    display = unicode_host + port + ("" if path == "/" else _unquote(path))
    if query:
        url += "?" + query
        display += "?" + _unquote(query)
    if fragment:
        url += "#" + fragment
        display += "#" + _unquote(fragment)
    return url, display, ascii_host, path, query


def _unquote(s: str) -> str:
    return unquote(s, errors="replace") if "%" in s else s


def _idn(host: str) -> tuple[str, str]:
    """(ASCII host for fetching, unicode host for reading)."""
    if host.isascii():
        if "xn--" not in host:
            return host, host
        try:
            return host, host.encode("ascii").decode("idna")
        except UnicodeError:
            return host, host
    try:
        return host.encode("idna").decode("ascii"), host
    except UnicodeError:
        return host, host


_GOOGLE_HOSTS = frozenset(("www.google.com", "google.com"))


def _redirect_target(host: str, path: str, query: str) -> str | None:
    """The real URL inside an Outlook safelinks or Google redirect, if this is one."""
    if host.endswith("safelinks.protection.outlook.com"):
        keys: tuple[str, ...] = ("url",)
    elif host in _GOOGLE_HOSTS and path == "/url":
        keys = ("q", "url")
    else:
        return None
    params = dict(parse_qsl(query, keep_blank_values=True))
    for key in keys:
        target = params.get(key, "")
        if target.lower().startswith(("http://", "https://")):
            return target
    return None


# Every key _drop_tracking drops contains one of these once lower-cased: most queries have none,
# and are kept as they are without splitting them.
_TRACKING_HINT = re.compile(r"utm_|clid|clkid|braid|mc_|igshid|_hs|mkt_tok|_g[al]")


def _drop_tracking(query: str) -> str:
    if not query or ("utm_" not in query and "=" not in query):
        return query
    if _TRACKING_HINT.search(query.lower()) is None:
        return query
    kept = []
    for pair in query.split("&"):
        key = pair.split("=", 1)[0].lower()
        if key.startswith("utm_") or key in _TRACKING:
            continue
        kept.append(pair)
    return "&".join(kept)


# --- kinds and boilerplate --------------------------------------------------------------------

_WIKI_FAMILIES = frozenset((
    "wikipedia.org", "wiktionary.org", "wikibooks.org", "wikinews.org", "wikiquote.org",
    "wikisource.org", "wikiversity.org", "wikivoyage.org", "wikimedia.org", "wikidata.org",
    "mediawiki.org", "wikimediafoundation.org", "wikispecies.org", "wikifunctions.org"))
_SOCIAL = frozenset((
    "twitter.com", "x.com", "facebook.com", "fb.com", "fb.me", "instagram.com", "youtube.com",
    "youtu.be", "linkedin.com", "mastodon.social", "wikimedia.social", "t.me", "telegram.me",
    "tiktok.com", "vimeo.com", "reddit.com", "flickr.com", "threads.net", "bsky.app", "t.co",
    "meetup.com", "vk.com", "weibo.com"))
_DOC_HOSTS = frozenset(("docs.google.com", "drive.google.com", "dropbox.com", "box.com",
                        "onedrive.live.com", "1drv.ms", "slideshare.net", "scribd.com"))
_DOC_EXT = (".pdf", ".doc", ".docx", ".odt", ".ods", ".odp", ".xls", ".xlsx", ".ppt", ".pptx",
            ".rtf", ".csv", ".epub")
_BLOG_HOSTS = frozenset(("diff.wikimedia.org", "blog.wikimedia.org", "medium.com",
                         "wordpress.com", "blogspot.com", "substack.com"))
_LIST_HOSTS = frozenset(("mail-archive.com", "marc.info", "groups.google.com", "gmane.org"))


def link_kind(url: str) -> tuple[LinkKind, str | None, str | None]:
    """(kind, wiki project, decoded wiki title) of a normalised URL."""
    if url.startswith("mailto:"):
        return LinkKind.CONTACT, None, None
    if "://" not in url:
        return LinkKind.OTHER, None, None
    _, netloc, path, query, _ = _split(url)
    return _kind_of(_host_of(netloc)[1].lower(), path, query)


_AS_BLOG = (LinkKind.BLOG, None, None)
_AS_PHABRICATOR = (LinkKind.PHABRICATOR, None, None)
_AS_LIST = (LinkKind.MAILING_LIST, None, None)
_AS_SOCIAL = (LinkKind.SOCIAL, None, None)
_AS_DOCUMENT = (LinkKind.DOCUMENT, None, None)
_AS_OTHER = (LinkKind.OTHER, None, None)
_AS_CONTACT = (LinkKind.CONTACT, None, None)


@lru_cache(maxsize=2048)
def _host_kind(host: str) -> tuple[str | None, tuple[LinkKind, None, None] | None]:
    """(wiki project if the host is a wiki's, the first kind the host alone decides): what
    _kind_of needs of a host, worked out once per host rather than once per URL."""
    labels = host.split(".")
    # the host and what follows each of its dots but the last ("a.b.org" -> a.b.org, b.org)
    suffixes: set[str] = set()
    last = host.rfind(".")
    if last >= 0:
        suffixes.add(host)
        dot = host.find(".")
        while dot < last:
            suffixes.add(host[dot + 1:])
            dot = host.find(".", dot + 1)
    wiki = (not suffixes.isdisjoint(_WIKI_FAMILIES)
            and not host.startswith(("lists.", "phabricator.")))
    # in _kind_of's order, each kind it would pick on the host alone
    if not suffixes.isdisjoint(_BLOG_HOSTS) or host.startswith("blog."):
        kind = _AS_BLOG
    elif host.startswith(("phabricator.", "phab.", "bugzilla.")):
        kind = _AS_PHABRICATOR
    elif host.startswith("lists.") or not suffixes.isdisjoint(_LIST_HOSTS):
        kind = _AS_LIST
    elif not suffixes.isdisjoint(_SOCIAL) or host.startswith(("mastodon.", "social.")):
        kind = _AS_SOCIAL
    elif (not suffixes.isdisjoint(_DOC_HOSTS) or "etherpad" in host
          or host.startswith("pad.")):
        kind = _AS_DOCUMENT
    else:
        kind = None
    return (_project(labels) if wiki else None), kind


def _kind_of(host: str, path: str, query: str) -> tuple[LinkKind, str | None, str | None]:
    project, kind = _host_kind(host)
    lpath = path.lower()
    if project is not None:
        title = None
        if path.startswith("/wiki/"):
            title = path[6:]
        elif lpath.startswith("/w/index.php"):
            title = dict(parse_qsl(query)).get("title")
        if title:
            if "%" in title:
                title = unquote(title, errors="replace")
            title = title.replace("_", " ").strip()
            return LinkKind.WIKI, project, title or None
    # blog, phabricator, mailing list, social, document: by host or path, in this order
    if kind is _AS_BLOG or "/blog/" in lpath:
        return _AS_BLOG
    if kind is _AS_PHABRICATOR or kind is _AS_LIST:
        return kind
    if ("/pipermail/" in lpath or "/mailman/" in lpath or "/hyperkitty/" in lpath
            or "/postorius/" in lpath):
        return _AS_LIST
    if kind is not None:
        return kind
    if lpath.endswith(_DOC_EXT):
        return _AS_DOCUMENT
    return _AS_OTHER


def _project(labels: list[str]) -> str:
    """"en.m.wikipedia.org" -> "en.wikipedia", "www.wikidata.org" -> "wikidata"."""
    kept = [x for x in labels if x not in ("www", "m")]
    if kept and kept[-1] == "org":
        kept = kept[:-1]
    return ".".join(kept)


def is_boilerplate_url(url: str) -> bool:
    """List machinery: listinfo/Postorius pages, guidelines, unsubscribe, scrubbed attachments."""
    low = url.lower()
    if low.startswith("mailto:"):
        addr = low[7:]
        return ("unsubscribe" in addr or "-request@" in addr or "-leave@" in addr
                or "-owner@" in addr)
    if ("/mailman/listinfo/" in low or "/mailman/options/" in low or "/postorius/lists/" in low
            or "mailing_lists/guidelines" in low or "unsubscribe" in low):
        return True
    if "/pipermail/" in low and "/attachments/" in low:
        return True
    # HyperKitty: /hyperkitty/list/L/message/H/attachment/N/name
    return "/hyperkitty/" in low and "/attachment/" in low


# --- HTML parts -------------------------------------------------------------------------------

# An opening <a> tag with its href (quoted or not). Every repetition is bounded, so a broken
# tag costs at most a few thousand characters of look-ahead.
_A_TAG = re.compile(r"""<a\s[^>]{0,2000}?\bhref\s*=\s*(?:"([^"]{0,8000})"|'([^']{0,8000})'"""
                    r"""|([^\s>"']{1,8000}))[^>]{0,2000}>""", re.IGNORECASE)
_A_OPEN = re.compile(r"<a\s[^>]{0,2000}?\bhref\s*=", re.IGNORECASE)
_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_BLOCKQUOTE = re.compile(r"<(/?)blockquote\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
_WEB = ("http://", "https://", "mailto:", "www.", "ftp://")


def _html_links(html: str, base: int, known: frozenset[str] = frozenset()) -> list[Link]:
    """`<a href>` targets with their anchor text; positions follow the text's.

    Well-formed anchors (what mail clients write) are read by one bounded scan, which is
    what lets ingest keep its pace; when some `<a` tag does not read that way, the whole
    part goes through beautifulsoup4 instead. An anchor whose URL is `known` (found in the
    text already) and whose text is the URL itself adds nothing and is skipped.
    """
    anchors = _scan_anchors(html)
    if anchors is None:
        anchors = _soup_anchors(html)
    out: list[Link] = []
    for i, (href, anchor, quoted) in enumerate(anchors):
        if " " in href or not href.isprintable():  # (no whitespace else)
            href = " ".join(href.split())
        if href[-1:] in _TRIM_END:
            href = _trim(href)  # sloppy linkifiers take a closing ">" along
        low = href.lower()
        if not low.startswith(_WEB):
            continue
        if " " in href and not low.startswith("mailto:"):
            href = href.replace(" ", "%20")
        info = _url_info(href)
        if info is None:
            continue
        url, display, kind, project, title, boiler = info
        anchor = _clean(anchor)
        if anchor and (anchor in (href, display, url) or anchor.lower().startswith(_WEB)
                       and _url_info(_trim(anchor)) is not None):
            anchor = ""
        if not anchor and url in known:
            continue
        out.append(_link(url, href, display, anchor, None, base + i, kind, boiler, quoted,
                         _is_truncated(href), project, title))
    return out


def _scan_anchors(html: str) -> list[tuple[str, str, bool]] | None:
    """(href, anchor text, inside a blockquote) of each anchor; None if some tag defeats it."""
    opened = _A_OPEN.findall(html)
    if not opened:
        return []
    tags = list(_A_TAG.finditer(html))
    if len(tags) != len(opened):
        return None
    opens: list[int] = []
    closes: list[int] = []
    for q in _BLOCKQUOTE.finditer(html):
        (closes if q.group(1) else opens).append(q.start())
    out = []
    for m in tags:
        double, single, bare = m.groups()
        href = double or single or bare or ""
        if "&" in href:
            href = unescape(href)
        end = m.end()
        close = _A_CLOSE.search(html, end, end + 4000)
        inner = html[end:close.start()] if close else ""
        text = unescape(_TAG.sub(" ", inner)) if "<" in inner or "&" in inner else inner
        depth = bisect_left(opens, m.start()) - bisect_left(closes, m.start()) if opens else 0
        out.append((href, text, depth > 0))
    return out


def _soup_anchors(html: str) -> list[tuple[str, str, bool]]:
    from bs4 import BeautifulSoup  # only malformed HTML parts pay for the tree

    soup = BeautifulSoup(html, "html.parser")
    return [(str(a.get("href", "")), a.get_text(" ", strip=True),
             a.find_parent("blockquote") is not None)
            for a in soup.find_all("a", href=True)]


# --- merging and repair -----------------------------------------------------------------------

def _merge(links: list[Link]) -> list[Link]:
    """One link per URL: first position wins, labels combined, flags from every sighting."""
    by_url: dict[str, int] = {}
    out: list[Link] = []
    for lk in links:  # already in position order: extra sources come after the text
        key = lk.url
        if key[:7] == "mailto:":
            key = key.lower()
        at = by_url.get(key)
        if at is None:
            by_url[key] = len(out)
            out.append(lk)
            continue
        first = out[at]
        label = first.label
        if lk.label and lk.label not in label:
            label = f"{label} / {lk.label}" if label else lk.label
        ref = first.ref if first.ref is not None else lk.ref
        boiler = first.boilerplate and lk.boilerplate
        quoted = first.quoted and lk.quoted
        if (label, ref, boiler, quoted) != (first.label, first.ref, first.boilerplate,
                                            first.quoted):
            out[at] = _with(first, {"label": label, "ref": ref, "boilerplate": boiler,
                                    "quoted": quoted})
    return out


def truncation_stem(url: str) -> str:
    """A truncated URL without its cut marker: what a complete copy must start with (the store
    uses it to fetch only the candidates that could complete a link)."""
    if url.endswith("…"):
        return url[:-1]
    if url.endswith("..."):
        return url[:-3]
    return _PARTIAL_ESCAPE.sub("", url)


def repair_truncated(links: Sequence[Link], others: Iterable[Link]) -> tuple[Link, ...]:
    """Replace each truncated link by the one complete link among `others` that extends it.

    `others` are links from another copy of the message or thread. A stem that several
    different complete URLs extend is ambiguous and stays flagged, unless one of them carries
    the same footnote number.
    """
    if not any(lk.truncated for lk in links):
        return tuple(links)
    complete = sorted({o.url: o for o in others if not o.truncated}.items())
    keys = [k for k, _ in complete]
    out: list[Link] = []
    for lk in links:
        if not lk.truncated:
            out.append(lk)
            continue
        stem = truncation_stem(lk.url)
        i = bisect_left(keys, stem)
        cands = []
        while i < len(keys) and keys[i].startswith(stem) and len(cands) < 50:
            if len(keys[i]) > len(stem):
                cands.append(complete[i][1])
            i += 1
        if len(cands) > 1 and lk.ref is not None:
            same = [c for c in cands if c.ref == lk.ref]
            cands = same if len(same) == 1 else cands
        if len(cands) != 1 or len(stem) < 10:
            out.append(lk)
            continue
        best = cands[0]
        out.append(replace(lk, url=best.url, display=best.display, truncated=False,
                           kind=best.kind, project=best.project, title=best.title,
                           label=lk.label or best.label))
    return tuple(out)
