"""Per-message facts a link may need (quote depth, Outlook-quoted lines), computed at most
once, and whether a link sits in quoted text.

Shared by the scan, the wrapped-URL reader and the labels, which all look at the same
message: keeping these facts in one object spares recomputing them per link.
"""
from __future__ import annotations

import re

# A line's quote prefix and indentation ("> > ", "  ", ">>"), and the characters it may
# start with (a line starting with none of them has no prefix: quote depth 0).
PREFIX = re.compile(r"[ \t]*(?:>+[ \t]*)*")
PREFIX_CHARS = frozenset(" \t>")


class Context:
    """Per-message facts computed at most once, only when a link needs them."""

    __slots__ = ("text", "quoted_text", "_depth_at", "_depth", "_quoted_lines")

    def __init__(self, text: str, quoted_text: str) -> None:
        self.text = text
        self.quoted_text = quoted_text
        self._depth_at = -1
        self._depth = 0
        self._quoted_lines: frozenset[str] | None = None

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


def _quote_depth(text: str, line_start: int) -> int:
    """How many ">" the line's prefix holds."""
    if line_start >= len(text) or text[line_start] not in " \t>":
        return 0
    prefix = PREFIX.match(text, line_start).group()
    return prefix.count(">")


def is_quoted(ctx: Context, s: int, ls: int) -> bool:
    """Whether the URL at `s` (line starting at `ls`) is quoted: by ">" marks, or by sitting
    on a line of the message's quoted text (Outlook quotes without marks)."""
    text = ctx.text
    if text[ls] in PREFIX_CHARS and ctx.depth(ls) > 0:  # (no prefix, depth 0)
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

