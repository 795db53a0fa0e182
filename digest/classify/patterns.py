"""One pattern taken apart, for the matcher: expanded into its alternatives, with the literal
text every match starts with and the words every match contains (told by the re module's own
parser), so that a text can be turned away or searched from a few places instead of everywhere."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .fold import fold_pattern

try:  # the re module's own parser: what a pattern's matches must start with and contain
    from re import _parser as _sre_parse
    from re._constants import AT as _AT, AT_BOUNDARY as _AT_BOUNDARY, LITERAL as _LITERAL
except ImportError:  # pragma: no cover - another Python: correct, only slower
    _sre_parse = _AT = _AT_BOUNDARY = _LITERAL = None

KEY = 6  # the bytes of a word the matcher files it by (see matcher.keys_in)


def is_word(ch: str) -> bool:
    """What \\w matches (near enough for the character before a match)."""
    return ch.isalnum() or ch == "_"


COMMON = frozenset(b"a an the i we is in of to and or our this that with for on at it be as by "
                   b"are my has have was were will not".split())


def _parsed(pattern: str) -> list[tuple[Any, Any]]:
    """A pattern as the re module parses it (opcode, argument), or [] when it cannot be told:
    another Python, or a bad pattern (re.compile reports those)."""
    if _sre_parse is None:  # pragma: no cover - another Python: correct, only slower
        return []
    try:
        return list(_sre_parse.parse(pattern))
    except Exception:  # noqa: BLE001
        return []


def _required_keys(items: Sequence[tuple[Any, Any]]) -> frozenset[bytes]:
    """Keys (first six bytes) of the words every match of a folded pattern (parsed) must
    contain; an empty set when none can be told, and the pattern then runs on every text."""
    words: list[str] = []
    cur, at_start, boundary = "", False, False
    for op, av in items:
        if op is _LITERAL and is_word(chr(av)):
            if not cur:
                at_start = boundary
            cur += chr(av)
            continue
        complete = op is _LITERAL or (op is _AT and av is _AT_BOUNDARY)
        if cur and at_start and (complete or len(cur) >= KEY):
            words.append(cur)
        cur, boundary = "", complete
    if cur and at_start and len(cur) >= KEY:
        words.append(cur)
    return frozenset(w.encode("utf-8", "surrogatepass")[:KEY] for w in words)


@dataclass(frozen=True)
class Alt:
    """One pattern of a rule, expanded, with what the matcher files and gates it by."""

    tag: int                        # which rule (or trigger list) the pattern belongs to
    order: int                      # position among all patterns: earlier wins a tie
    positive: bool                  # evidence or counter-evidence (matched separately)
    pattern: str                    # folded, expanded, leading \b or \A taken off
    bounded: bool                   # it began with \b: checked by hand
    anchored: bool                  # it began with \A: only at the start of the text
    lead: str                       # the literal text every match starts with ("" if none)
    lead_key: bytes | None          # the key of that first word, when one can be told
    keys: frozenset[bytes]          # keys of words every match contains


def alt(folded: str, tag: int, order: int, positive: bool) -> Alt:
    """A folded, expanded pattern taken apart: its leading \\b or \\A, literal start and words."""
    bounded = folded.startswith("\\b")
    anchored = folded.startswith("\\A")
    body = folded[2:] if bounded or anchored else folded
    items = _parsed(folded)  # parsed once: the literal start and the required words
    if anchored:
        lead, complete = "", False
    elif not bounded:
        lead, complete = _literal_start(items)
    elif items[:1] == [(_AT, _AT_BOUNDARY)] and len(_top_split(body)) == 1:
        lead, complete = _literal_start(items[1:])
    else:  # a top-level "|": the "\b" is the first alternative's only, the body parses alone
        lead, complete = _literal_start(_parsed(body))
    if lead and is_word(lead[0]):
        word = lead
        for i, ch in enumerate(lead):
            if not is_word(ch):
                word, complete = lead[:i], True
                break
        raw = word.encode("utf-8", "surrogatepass")
        lead_key = raw[:KEY] if bounded and (complete or len(raw) >= KEY) else None
    else:
        lead_key = None
    return Alt(tag, order, positive, body, bounded, anchored, lead, lead_key,
               _required_keys(items))


def _literal_start(items: Sequence[tuple[Any, Any]]) -> tuple[str, bool]:
    """The literal characters a pattern (parsed) starts with, and whether a word boundary or
    a non-word character is sure to follow them (not at the pattern's end: `\\bnew` matches
    the start of "newsletter", so it must not be filed under the whole word "new")."""
    out = []
    for op, av in items:
        if op is _LITERAL:
            out.append(chr(av))
            continue
        return "".join(out), op is _AT and av is _AT_BOUNDARY
    return "".join(out), False


def expand(pattern: str, limit: int = 64) -> list[str]:
    """Groups of alternatives become one pattern per alternative ("\\b(?:a|b)c" -> "\\bac",
    "\\bbc"), so that each has literal words to be found by, and a literal start re finds fast.
    Group by group, left to right, while there are at most `limit` patterns. A pattern
    anchored at the start (\\A) is left whole: it is tried once, where the text starts."""
    parts = _top_split(pattern)
    current = parts if len(parts) <= limit else [pattern]
    while True:
        grown: list[str] = []
        for p in current:
            i = -1 if p.startswith("\\A") else _first_group(p)
            if i < 0:  # no group left; or anchored: one re.match at the start says it all
                grown.append(p)
                continue
            close = i + _closing(p[i:])
            alts = _top_split(p[i + 3:close])
            rest = p[close + 1:]
            if rest.startswith("?"):  # an optional group: one more alternative, without it
                alts, rest = alts + [""], rest[1:]
            grown.extend(p[:i] + alt + rest for alt in alts)
        if len(grown) > limit or grown == current:
            return current
        current = grown


def _structure(pattern: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, depth) of every "(", ")" and "|" of a pattern outside escapes and
    character classes; depth is the number of groups around the character (0 for the
    parentheses of a top-level group)."""
    depth, i, in_class = 0, 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
            if pattern[i + 1:i + 2] == "]":  # "[]...]": the first "]" is a literal
                i += 1
        elif c == "(":
            yield i, c, depth
            depth += 1
        elif c == ")":
            depth -= 1
            yield i, c, depth
        elif c == "|":
            yield i, c, depth
        i += 1


def _first_group(pattern: str) -> int:
    """Index of the first top-level "(?:" group with no quantifier after it (or just "?"),
    or -1."""
    for i, c, depth in _structure(pattern):
        if c == "(" and depth == 0 and pattern.startswith("(?:", i):
            close = _closing(pattern[i:])
            if close < 0:
                return -1
            after = pattern[i + close + 1:i + close + 3]
            if after[:1] not in ("?", "*", "+", "{") or (after[:1] == "?" and after != "??"):
                return i
    return -1


def _closing(body: str) -> int:
    """Index of the parenthesis closing the group that opens `body`, or -1."""
    for i, c, depth in _structure(body):
        if c == ")" and depth == 0:
            return i
    return -1


def _top_split(inner: str) -> list[str]:
    """A pattern split at its top-level "|"."""
    parts, start = [], 0
    for i, c, depth in _structure(inner):
        if c == "|" and depth == 0:
            parts.append(inner[start:i])
            start = i + 1
    parts.append(inner[start:])
    return parts


def starts(patterns: Iterable[str]) -> tuple[str, ...] | None:
    """The literal texts that matches of these patterns start with, one per alternative, or
    None when an alternative has none. A text that holds none of them cannot match: `in`
    tells that far sooner than a search of the whole alternation."""
    found = []
    for p in patterns:
        for alt in _top_split(fold_pattern(p)):
            items = _parsed(alt)
            if items[:1] == [(_AT, _AT_BOUNDARY)]:
                items = items[1:]
            start, _ = _literal_start(items)
            if not start:
                return None
            found.append(start)
    return tuple(found)
