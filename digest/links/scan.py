"""Mail text -> links: every URL candidate read, labelled, flagged, in text order.

Speed matters (it runs inside ingest): candidates are found by substring searches for a few
fixed anchors, every later step looks only at the characters around a candidate (with bounded
look-ahead), and nothing depending on the URL alone is computed twice (kinds.url_info), so
the work is linear in the text and no regex can backtrack over a long line.
"""
from __future__ import annotations

import re

from ..model import Link
from .build import link
from .context import Context, is_quoted
from .kinds import url_info
from .labels import ASCII_ALNUM, ref_and_label
from .trim import TRIM_END, is_truncated, trim
from .wrap import TOKEN, read_bare, read_bracketed

# Where a URL may start: a scheme before "://", "mailto:", or "www." (which must not be the
# tail of a longer name and must be followed by a host).
_WWW_HOST = re.compile(r"[\w-]+\.\w")
_WORD_CHARS = ASCII_ALNUM | {"_"}
# The last characters that make is_truncated worth calling.
_CUT_END = frozenset("….%")
_BLANK_LINE_NEXT = frozenset(("\n", "\n\n", "\n\r"))
def scan(text: str, quoted_text: str, limit: int | None = None) -> list[Link]:
    """Read the URL at each candidate, in text order (the first `limit` links, if given).

    The common case, a URL on one line followed by a space (not " at ") or by the end of
    the text, is read here without further calls; wrapped, bracketed and obfuscated URLs go
    through read_bracketed and read_bare.
    """
    out: list[Link] = []
    starts = _candidates(text) if text else []
    if not starts:
        return out
    ctx = Context(text, quoted_text)
    seen: set[str] = set()  # URLs read so far
    blocks: list[tuple[int, int]] | None = None  # list footers, found at the first URL
    has_quoted = quoted_text != ""
    skip_to = 0
    at = ls = 0  # candidates come in order: line starts are found incrementally, so a
    #              megabyte-long line is searched once, not once per URL
    for s in starts:
        if s < skip_to:
            continue
        if len(out) == limit:
            break
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
            got = read_bracketed(text, s)
            if got is not None:
                joined, end = got
                raw = text[s:end]
        cut_off = False
        if joined is None:
            m = TOKEN.match(text, s)
            end = m.end()  # type: ignore[union-attr]
            after = text[end:end + 2]
            if (not after or after[0] not in " \t\r\n" or after in _BLANK_LINE_NEXT
                    or after[0] == " " and after[1:] not in " \t\r\n"
                    and text[end:end + 4] != " at "):
                # the token is the whole URL (what read_bare would find): no line follows
                # it, or a blank one, nor " at host"
                raw = m.group()  # type: ignore[union-attr]
                if raw[-1] in TRIM_END:
                    raw = trim(raw)
                    end = s + len(raw)
                joined = raw
            else:
                joined, end = read_bare(ctx, s, ls, m)  # type: ignore[arg-type]
                raw = text[s:end]
            # "<url" never closed before a blank line or the end: the copy was cut there
            cut_off = bracketed and text[end:end + 2] in ("", "\n", "\n\n")
            bracketed = False
        skip_to = end if end > s else s + 1
        truncated = cut_off or ((joined[-1:] in _CUT_END or "%" in joined[-2:])
                                and is_truncated(joined))
        if truncated and joined.endswith("..."):
            joined = joined.rstrip(".")
        info = url_info(joined)
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
        ref, label = ref_and_label(ctx, s, ls, end, bracketed)
        quoted = (has_quoted or text[ls] in " \t>") and is_quoted(ctx, s, ls)
        out.append(link(url, raw, display, label, ref, s, kind, boiler, quoted, truncated,
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
