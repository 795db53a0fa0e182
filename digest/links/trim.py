"""Where a URL ends: trailing punctuation and unbalanced closing brackets dropped, and the
marks archives leave on a URL they cut ("...", "…", a partial %-escape) recognised.

Both the text scan and the HTML anchors end URLs the same way, so this is shared; it runs on
every candidate and is written to cost a few C-speed steps whatever follows the URL.
"""
from __future__ import annotations

import re

# A %-escape cut after "%" or its first digit: the end of a URL an archive cut off.
PARTIAL_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")
TRAILING = set(".,;:!?'\"»›’”*")
CLOSERS = {")": "(", "]": "[", "}": "{"}

# The last characters that make trim or is_truncated worth calling: most URLs end in a
# letter, a digit or "/", and skip both calls.
TRIM_END = frozenset(TRAILING) | frozenset(CLOSERS) | {">"}
_ALWAYS_TRIMMED = frozenset(TRAILING) | {">"}
_ALWAYS_TRIMMED_CHARS = "".join(sorted(_ALWAYS_TRIMMED))


def is_truncated(url: str) -> bool:
    """Whether a URL ends in an archive's cut mark: "...", "…" or a partial %-escape."""
    if url[-1:] in ("…", ".") and url.endswith(("…", "...")):
        return True
    return "%" in url[-2:] and PARTIAL_ESCAPE.search(url) is not None


def trim(url: str) -> str:
    """Drop trailing punctuation and unbalanced closing brackets (balanced ones stay).

    Works a run at a time from the end (punctuation, or one kind of bracket), so a URL
    followed by thousands of ")" costs a few C-speed steps rather than a Python step each.
    """
    if not url or url[-1] not in TRIM_END:
        return url
    if url[-1] in _ALWAYS_TRIMMED and url[-2:-1] not in TRIM_END:
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
        elif c in CLOSERS:
            if excess is None:
                excess = {k: url.count(k) - url.count(o) for k, o in CLOSERS.items()}
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
