"""The extent of one URL in mail text: bracketed or bare, joined across the lines mail
clients and archives wrapped it onto, with pipermail's " at " obfuscation undone.

Reading a continuation line is a judgement (URL piece or prose?), made from what the URL
ends with and what the next line starts with, with bounded look-ahead so that no input makes
it slow.
"""
from __future__ import annotations

import re

from .context import Context, PREFIX, PREFIX_CHARS
from .trim import CLOSERS, PARTIAL_ESCAPE, TRAILING, trim
from .urls import OBFUSCATED_AT

# The body of a URL on one line: anything but whitespace and characters that never occur
# unescaped in a URL written in prose (angle brackets, quotes, CJK punctuation).
# The whitespace is spelled out (every character str.isspace() accepts, which is what "\s"
# means; a test checks): a set of single characters compiles to one bitmap test per
# character, where "\s" costs a category lookup, then a comparison with each other character.
STOPS = (r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
         r"\u3000<>\"`“”«»‹›「」『』【】〈〉《》，。、；：！？（）")
# A comma and "&" belong to a URL, except a comma before the next URL's scheme (two URLs glued
# together) and the HTML entities a badly converted text kept around a URL ("...&gt;"). The
# two alternatives cannot both match, so the token never backtracks.
TOKEN = re.compile(rf"[^{STOPS},&]*(?:(?:,(?!(?:https?|ftp)://)|&(?!(?:gt|lt|quot|#62|#34);))"
                   rf"[^{STOPS},&]*)*")

_HEX = "0123456789abcdefABCDEF"
_DIGITS = frozenset("0123456789")
_LIST_MARKER = re.compile(r"\d{1,3}[.)]$")
_HOSTISH = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?(?:[/:?#]|$)")
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


def read_bracketed(text: str, s: int) -> tuple[str, int] | None:
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
        nxt = PREFIX.match(text, le + 1).end()
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
            if PARTIAL_ESCAPE.search(head) or not spaced:
                content = head + piece.strip()
            else:
                content = head + " " + piece.strip()
    content = OBFUSCATED_AT.sub("@", content.strip())
    if " " in content or "\t" in content:
        filler = "_" if ("/wiki/" in content or "title=" in content) else "%20"
        content = filler.join(content.split())
    return content, close


def read_bare(ctx: Context, s: int, line_start: int, m: re.Match[str]) -> tuple[str, int]:
    """A URL without brackets: its token (`m`, matched at `s`), then continuation lines when
    they look like URL."""
    text = ctx.text
    n = len(text)
    end = m.end()
    pieces = [m.group()]
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
        if (last in TRAILING and last != ".") or last in CLOSERS:
            break  # complete, then punctuation: a sentence went on, not the URL
        cont = PREFIX.match(text, nl).end() if text[nl] in PREFIX_CHARS else nl
        if depth < 0:  # (a line that starts with no prefix has depth 0)
            depth = ctx.depth(line_start) if text[line_start] in PREFIX_CHARS else 0
        if cont >= n or (text.count(">", nl, cont) if cont > nl else 0) != depth:
            break
        tm = TOKEN.match(text, cont)
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
    kept = trim(url)
    return kept, end - (len(url) - len(kept))


def _obfuscated_at(text: str, end: int, cur: str) -> tuple[str, int] | None:
    """`... at host...` right after a URL token: the archive's rewrite of an `@`."""
    if text[end:end + 4] != " at ":
        return None
    tm = TOKEN.match(text, end + 4)
    piece = tm.group()
    if not piece or cur[-1] in TRAILING:
        return None
    hostish = _HOSTISH.match(piece) is not None and "." in piece.split("/")[0].rstrip(".")
    if hostish or (cur.endswith("/") and piece[:1].isalnum()) or cur.lower().startswith("mailto:"):
        return "@" + piece, tm.end()
    return None


def _continues(cur: str, piece: str, line_len: int) -> bool:
    """Decide from what the next line starts with whether a URL was wrapped onto it."""
    if cur.endswith(("…", "...")):
        return False
    if "%" in cur[-2:] and PARTIAL_ESCAPE.search(cur):
        return piece[0] in _HEX
    last = cur[-1]
    core = piece.rstrip(".,;:!?'\")]»*")
    if not core or not (core[0].isalnum() or any(c.isalnum() for c in core)):
        return False  # a rule line ("____", "-- ") or stray punctuation
    lower = core.lower()
    if last in TRAILING or last in CLOSERS:
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
    """A host name ("ia.org/..."), with a last label of two letters or more (not "e.g.")."""
    labels = piece.split("/", 1)[0].split(".")
    return (len(labels) >= 2 and len(labels[-1]) >= 2 and all(labels)
            and _HOSTISH.match(piece) is not None)
