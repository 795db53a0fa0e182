"""Links of an HTML part: `<a href>` targets with their anchor text, and whether they sit
in a blockquote.

Mail clients write well-formed anchors, read by one bounded regex scan at ingest pace; a
part with an anchor that scan cannot read goes through beautifulsoup4 instead.
"""
from __future__ import annotations

import re
from bisect import bisect_left
from html import unescape

from ..model import Link
from .build import link
from .kinds import url_info
from .labels import clean
from .trim import TRIM_END, is_truncated, trim

# An opening <a> tag with its href (quoted or not). Every repetition is bounded, so a broken
# tag costs at most a few thousand characters of look-ahead.
_A_TAG = re.compile(r"""<a\s[^>]{0,2000}?\bhref\s*=\s*(?:"([^"]{0,8000})"|'([^']{0,8000})'"""
                    r"""|([^\s>"']{1,8000}))[^>]{0,2000}>""", re.IGNORECASE)
_A_OPEN = re.compile(r"<a\s[^>]{0,2000}?\bhref\s*=", re.IGNORECASE)
_A_CLOSE = re.compile(r"</a\s*>", re.IGNORECASE)
_BLOCKQUOTE = re.compile(r"<(/?)blockquote\b", re.IGNORECASE)
_TAG = re.compile(r"<[^>]{0,2000}>")
_WEB = ("http://", "https://", "mailto:", "www.", "ftp://")


def html_links(html: str, base: int, known: frozenset[str] = frozenset(),
               limit: int | None = None) -> list[Link]:
    """`<a href>` targets with their anchor text; positions follow the text's.

    Well-formed anchors (what mail clients write) are read by one bounded scan, which is
    what lets ingest keep its pace; when some `<a` tag does not read that way, the whole
    part goes through beautifulsoup4 instead. An anchor whose URL is `known` (found in the
    text already) and whose text is the URL itself adds nothing and is skipped. At most `limit` links.
    """
    anchors = _scan_anchors(html)
    if anchors is None:
        anchors = _soup_anchors(html)
    out: list[Link] = []
    for i, (href, anchor, quoted) in enumerate(anchors):
        if " " in href or not href.isprintable():  # (no whitespace else)
            href = " ".join(href.split())
        if href[-1:] in TRIM_END:
            href = trim(href)  # sloppy linkifiers take a closing ">" along
        low = href.lower()
        if not low.startswith(_WEB):
            continue
        if " " in href and not low.startswith("mailto:"):
            href = href.replace(" ", "%20")
        info = url_info(href)
        if info is None:
            continue
        url, display, kind, project, title, boiler = info
        anchor = clean(anchor)
        if anchor and (anchor in (href, display, url) or anchor.lower().startswith(_WEB)
                       and url_info(trim(anchor)) is not None):
            anchor = ""
        if not anchor and url in known:
            continue
        out.append(link(url, href, display, anchor, None, base + i, kind, boiler, quoted,
                        is_truncated(href), project, title))
        if len(out) == limit:
            break
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
