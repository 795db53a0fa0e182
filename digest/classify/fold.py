"""Text folding: lowercase, accent-free, one character for one, so that offsets in the folded
text are offsets in the original and evidence is quoted as written. Patterns are folded the
same way (their non-ASCII only), so rules written with accents match text written without."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

ASCII_BYTES = bytes(range(0x80))


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str]:
    """Lowercase and drop accents one character for one character, so that offsets in the
    folded text are offsets in the original (evidence is then quoted as written)."""
    table: dict[int, str] = {}
    ranges = [(0x41, 0x5B), (0xC0, 0x250), (0x370, 0x530), (0x1E00, 0x2000)]
    for lo, hi in ranges:
        for cp in range(lo, hi):
            ch = chr(cp)
            low = ch.lower()
            if len(low) != 1:
                continue
            base = "".join(c for c in unicodedata.normalize("NFKD", low)
                           if not unicodedata.combining(c))
            out = base if len(base) == 1 else low
            if out != ch:
                table[cp] = out
    table.update({0x131: "i", 0x130: "i", 0x2019: "'", 0x2018: "'", 0x02BC: "'", 0xA0: " ",
                  0x202F: " ", 0xAB: '"', 0xBB: '"', 0x201C: '"', 0x201D: '"', 0x201E: '"',
                  0x2026: ".",
                  0x2010: "-", 0x2011: "-", 0x2013: "-", 0x2014: "-", 0xD8: "o", 0xF8: "o",
                  0x141: "l", 0x142: "l", 0x110: "d", 0x111: "d"})
    return table


_LEADING_FLAGS = re.compile(r"^\(\?([aimsux]+)\)")


def fold_pattern(pattern: str) -> str:
    """Fold only non-ASCII characters of a pattern, so that escapes such as \\W or \\S survive;
    leading flags such as (?m) become scoped, so patterns can be joined into one regex."""
    table = _fold_table()
    folded = "".join(table.get(ord(c), c) if ord(c) > 0x7F else c for c in pattern)
    m = _LEADING_FLAGS.match(folded)
    return f"(?{m.group(1)}:{folded[m.end():]})" if m else folded


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CAPITAL_SIGMA = "\u03a3"  # the one character str.lower() maps by context (final "ς")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """What fold() makes of a non-ASCII character, wherever it stands (not a capital sigma)."""
    low = "i" if ch == "\u0130" else ch.lower()
    return _fold_table().get(ord(low), low)


def fold(text: str) -> str:
    """Lowercased, accent-free text of the same length as `text` (what patterns are matched on).

    Each character folds to one (str.lower() would make two of "İ"), so a non-ASCII text is
    folded in its UTF-8: the ASCII by bytes.lower(), and each distinct other character (found
    by dropping the ASCII bytes) by bytes.replace(). All of it runs in C at a byte a step,
    several times faster than str.lower() and a translation table walking every character."""
    if text.isascii():
        return text.lower()
    raw = text.encode("utf-8", "surrogatepass")
    chars = set(raw.translate(None, ASCII_BYTES).decode("utf-8", "surrogatepass"))
    changes = {ch: out for ch in chars if (out := _fold_char(ch)) != ch}
    if _CAPITAL_SIGMA in chars or not changes.keys().isdisjoint(changes.values()):
        return _fold_by_runs(text)  # rare: a character would be folded twice, or by context
    raw = raw.lower()
    for ch, out in changes.items():
        raw = raw.replace(ch.encode("utf-8", "surrogatepass"), out.encode("utf-8", "surrogatepass"))
    return raw.decode("utf-8", "surrogatepass")


def _fold_by_runs(text: str) -> str:
    """fold() the plain way: str.lower(), then the table over the non-ASCII runs."""
    if "\u0130" in text:
        text = text.replace("\u0130", "i")
    table = _fold_table()
    return _NON_ASCII.sub(lambda m: m.group().translate(table), text.lower())
