"""Message -> links: the stage's entry points, wiring the other roles together.

The text is scanned (scan), a list footer is read once per distinct footer and flagged as
boilerplate, links of the HTML part (anchors) are added and complete what the text cut off
(repair), and every URL is kept once (repair.merge).
"""
from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from ..model import Link, Message
from .anchors import html_links
from .build import copy_with
from .kinds import url_info
from .repair import merge, repair_truncated
from .scan import scan
from .trim import trim


# A message keeps at most this many links, text and HTML part together (a real announcement
# has a few dozen): past it, a pathological message would cost a link object per URL, hundreds
# of megabytes.
MAX_LINKS = 10_000


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
        found = scan(text[:start], quoted_text, MAX_LINKS)
        found += _moved(_footer_links(footer), start)
        if end < len(text) and len(found) < MAX_LINKS:
            found += _moved(scan(text[end:], quoted_text, MAX_LINKS - len(found)), end, None)
    else:
        found = scan(text, quoted_text, MAX_LINKS)
        if has_links:  # the footer was kept apart from the text: its links are boilerplate
            found += _moved(_footer_links(footer), len(text) + 1)
    if html and len(found) < MAX_LINKS:
        truncated = any(lk.truncated for lk in found)
        known = frozenset() if truncated else frozenset(lk.url for lk in found)
        from_html = html_links(html, len(text) + len(footer) + 2, known,
                               MAX_LINKS - len(found))
        if from_html and any("\n" in lk.raw for lk in found):
            # an HTML part made from wrapped text links only the first line of a wrapped URL
            cut = {_first_line_url(lk.raw) for lk in found if "\n" in lk.raw}
            from_html = [h for h in from_html if h.url not in cut]
        if from_html:
            found = list(repair_truncated(found, from_html)) + from_html
    return merge(found)


def _first_line_url(raw: str) -> str | None:
    """The URL of a wrapped link's first line alone (what an HTML part made from the
    wrapped text links)."""
    info = url_info(trim(raw.split("\n", 1)[0].strip()))
    return info[0] if info else None


@lru_cache(maxsize=64)
def _footer_links(footer: str) -> tuple[Link, ...]:
    """A list footer's links, read once per distinct footer."""
    return tuple(scan(footer, ""))


def _moved(links: Iterable[Link], offset: int, boilerplate: bool | None = True) -> list[Link]:
    """The links `offset` characters further on, flagged boilerplate (None: as they were)."""
    if boilerplate is None:
        return [copy_with(lk, {"position": lk.position + offset}) for lk in links]
    return [copy_with(lk, {"position": lk.position + offset, "boilerplate": boilerplate})
            for lk in links]
