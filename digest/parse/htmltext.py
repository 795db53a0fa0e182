"""HTML parts -> readable text for HTML-only mail, keeping link targets as `text <URL>` so links
and classification see them."""
from __future__ import annotations

import re

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
