"""Where a URL ends (digest/links/trim.py): the fast trim against the obvious one."""
from __future__ import annotations

import random

from digest.links.trim import trim


def _naive_trim(url: str) -> str:
    """digest.links.trim.trim as first written: one character at a time."""
    closers = {")": "(", "]": "[", "}": "{"}
    trailing = set(".,;:!?'\"»›’”*>")
    opens = {c: url.count(o) for c, o in closers.items()}
    closes = {c: url.count(c) for c in closers}
    end = len(url)
    while end > 0:
        c = url[end - 1]
        if c in trailing:
            end -= 1
        elif c in closers and closes[c] > opens[c]:
            closes[c] -= 1
            end -= 1
        else:
            break
    return url[:end] + "..." if url[end:].startswith("...") and end > 0 else url[:end]


def test_trailing_punctuation_and_brackets_are_trimmed_a_run_at_a_time_as_one_at_a_time():
    rng = random.Random(3)
    marks = ["(", ")", "[", "]", "{", "}", ".", ",", "!", "'", ">", "a", "/", "...", "))))"]
    for _ in range(20_000):
        url = "https://x.org/" + "".join(rng.choice(marks) for _ in range(rng.randint(0, 12)))
        assert trim(url) == _naive_trim(url), url
    for tail in (")" * 5_000, ")" * 30 + "." * 40 + "]" * 30, "(" * 100 + ")" * 5_000,
                 ".)" * 2_000, "..." + "," * 3_000):
        url = "https://x.org/a" + tail
        assert trim(url) == _naive_trim(url), tail[:20]
