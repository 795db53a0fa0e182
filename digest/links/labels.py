"""What a reader would call a link: its footnote number and label, from the text around it.

Footnote lists ("[1] https://..." with "[1]" markers in the prose), numbered reference
lists, markdown and wikitext links, "text: URL", "Name (URL)", "anchor <URL>" and a line
ending with ":" above the URL. Labels recur in every quoted copy of a message, so the
cleaning steps are memoised.
"""
from __future__ import annotations

import re
from functools import lru_cache

from .context import Context, PREFIX_CHARS

# A footnote marker before a URL on its line: "[1] ", "[1]: ", "[1] Some title: ".
_FOOTNOTE = re.compile(r"[ \t>]*\[(\d{1,3})\][:.]?[ \t]*(.*?)[ \t<]*$")
# A numbered list item before a URL: "1. ", "2) " (a footnote only if "[n]" occurs in the text).
_NUMBERED = re.compile(r"[ \t>]*(\d{1,3})[.)][ \t]+(.*?)[ \t<]*$")
_LINE_BREAK = re.compile(r"\n[ \t>]*")
_MARKER_ALONE = re.compile(r"\[(\d{1,3})\]:?")
_PRE_END_CHARS = frozenset(" \t<*_")
_BULLET_CHARS = frozenset("*•-– \t")
ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
ASCII_ALNUM = ASCII_LETTERS | frozenset("0123456789")


def ref_and_label(ctx: Context, s: int, ls: int, end: int,
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
    pre = before.lstrip(" \t>") if before[:1] in PREFIX_CHARS else before
    lead = pre[:1]
    fm = None
    if lead == "[" and not far:
        fm = _FOOTNOTE.match(before)
    elif lead not in ASCII_LETTERS and lead.isdigit() and not far:
        nm = _NUMBERED.match(before)
        if nm is not None and f"[{nm.group(1)}]" in text:
            fm = nm
    if fm is not None:
        ref = int(fm.group(1))
        own = fm.group(2)
        own = clean(own) if own else ""
        return ref, own or _marker_label(text, ref)
    # markdown [text](url)
    if s >= 2 and text[s - 2:s] == "](":
        open_at = text.rfind("[", max(0, s - 300), s - 2)
        if open_at >= 0:
            return None, clean(text[open_at + 1:s - 2])
    # wikitext [url text]
    if s >= 1 and text[s - 1] == "[":
        le = text.find("\n", end)
        close = text.find("]", end, le if le >= 0 else len(text))
        if close > end:
            return None, clean(text[end:close])
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
    """The last words of the clause that ends at `pos`, across line breaks."""
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
    return clean(" ".join(words[-limit:]))


@lru_cache(maxsize=1024)
def _last_clause(line: str) -> str:
    """The clause that ends a line (what "text: URL" calls the URL); list footers repeat it."""
    words = line[_last_boundary(line):].split()
    return clean(" ".join(words[-14:]))


# Words that join a label to the sentence rather than name the page: "and the blog post here".
_LEAD_FILLER = re.compile(r"^(?:(?:and|or|but|plus|also|see|et|und|y)\s+)+", re.I)
_TAIL_FILLER = re.compile(r"(?:\s+(?:is|are|can be (?:found|read|seen)|is available|are available))?"
                          r"\s+(?:here|below|at|on|in|via|from)$", re.I)
_TAIL_FILLER_LAST = frozenset("ewtnamEWTNAM")  # last letters of "here", "below", "at", ...
_CLEAN_ENDS = frozenset(" _-–—:,;(\"'.")


@lru_cache(maxsize=4096)
def clean(label: str) -> str:
    """A label as a reader would quote it: spaces collapsed, markup and joining words
    ("and ... here") dropped, empty if it says nothing ("here", "link"). Anchors too."""
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
