"""Message (+ links) -> Verdict: is this a partnership announcement, how sure, and why.

Weighted evidence, not a model: every rule and weight lives in `rules.toml` (overridable), each
rule that fires becomes a `Reason`, and the score is a logistic of their sum, so `--explain` can
say exactly why a message was kept or dropped. Pure: no store, no network, no file read except
the packaged rules (and an override file when the caller names one).
"""
from __future__ import annotations

import math
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

from .errors import ConfigError
from .model import BodyPart, Link, Message, Reason, Verdict

try:  # the re module's own parser: what a pattern's matches must start with and contain
    from re import _parser as _sre_parse
    from re._constants import AT as _AT, AT_BOUNDARY as _AT_BOUNDARY, LITERAL as _LITERAL
except ImportError:  # pragma: no cover - another Python: correct, only slower
    _sre_parse = _AT = _AT_BOUNDARY = _LITERAL = None

KINDS = ("text", "reply", "new-thread", "list", "link", "partners")
PARTS = tuple(p.value for p in BodyPart)
_SUBJECT, _NEW, _QUOTED = BodyPart.SUBJECT.value, BodyPart.NEW.value, BodyPart.QUOTED.value
_SIGNATURE, _FOOTER = BodyPart.SIGNATURE.value, BodyPart.FOOTER.value
_EVIDENCE_MAX = 100


@dataclass(frozen=True)
class Rule:
    """One piece of evidence and its weight (see the comments at the top of rules.toml)."""

    name: str
    weight: float
    kind: str = "text"
    where: tuple[str, ...] = ("new",)
    patterns: tuple[str, ...] = ()
    lists: tuple[str, ...] = ()
    max_hits: int = 1               # per part of the message
    subject_weight: float | None = None  # the weight of a match in the subject, when different
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class PartnerRules:
    """How partner names are found: phrases around a name, and names that are not partners."""

    follows: tuple[str, ...] = ()
    precedes: tuple[str, ...] = ()
    movement: tuple[str, ...] = ()
    affiliates: tuple[str, ...] = ()
    stopwords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rules:
    """A complete rule set; its patterns are compiled once per object (load_rules caches it)."""

    threshold: float
    bias: float
    rules: tuple[Rule, ...]
    max_chars: int = 0              # only the lead of a long message is read (0: all of it)
    attribution: tuple[str, ...] = ()
    forward: tuple[str, ...] = ()
    partners: PartnerRules = PartnerRules()
    source: str = ""

    @cached_property
    def compiled(self) -> _Compiled:
        """The patterns, compiled on first use and kept with this object."""
        return _compile(self)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickled as data (ingest sends rules to worker processes); rebuilt once per process."""
        return _rebuild, (self.threshold, self.bias, self.rules, self.max_chars, self.attribution,
                          self.forward, self.partners, self.source)

    def rule(self, name: str) -> Rule:
        """The rule of that name (KeyError if none): for tools and tests that tune weights."""
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(name)


@lru_cache(maxsize=8)
def _rebuild(threshold: float, bias: float, rules: tuple[Rule, ...], max_chars: int,
             attribution: tuple[str, ...], forward: tuple[str, ...], partners: PartnerRules,
             source: str) -> Rules:
    return Rules(threshold=threshold, bias=bias, rules=rules, max_chars=max_chars,
                 attribution=attribution, forward=forward, partners=partners, source=source)


# --- text normalisation ---------------------------------------------------------------------

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


def _fold_pattern(pattern: str) -> str:
    """Fold only non-ASCII characters of a pattern, so that escapes such as \\W or \\S survive;
    leading flags such as (?m) become scoped, so patterns can be joined into one regex."""
    table = _fold_table()
    folded = "".join(table.get(ord(c), c) if ord(c) > 0x7F else c for c in pattern)
    m = _LEADING_FLAGS.match(folded)
    return f"(?{m.group(1)}:{folded[m.end():]})" if m else folded


# --- matching: many patterns, few cheap scans ------------------------------------------------
#
# Python's re tries every alternative of a big alternation at every position: far too slow for
# hundreds of patterns. So groups of alternatives are expanded until each pattern starts with a
# literal word; patterns that start with the same word share one regex, which is tried (re.match)
# only where str.find sees that word, and only when the text holds the words every match needs
# (told from the parsed pattern, by their first six bytes). A leading \b is checked by hand.
# Patterns whose first word is common ("the", "with") are searched whole, gated the same way,
# by str.find of their literal start when they have one. Everything is filed by key, so that a
# text only walks what it could match: find() runs on every part of every message. In an ASCII
# text the words the keys come from are exactly the words \b sees, so there a lead whose first
# word must be whole is filed under that word ("discussing ", not "discus").

_KEY = 6
_ASCII_BYTES = bytes(range(0x80))
_WORD_BYTES = bytes(b if b >= 0x80 or chr(b).isalnum() or b == 0x5F else 0x20 for b in range(256))


def _keys_in(folded: str) -> set[bytes]:
    """The words (UTF-8) of a folded text and the first six bytes of the longer ones: cheap to
    make, and enough to tell which patterns could match. Keys are at most six bytes long, so
    a longer word in the set is only ever looked up whole (see _whole_word). Words end where
    \\b sees them end, also at non-ASCII punctuation and marks ("•partnership", Indic vowel
    signs): each distinct such character is blanked in the UTF-8, as fold() does."""
    raw = folded.encode("utf-8", "surrogatepass")
    if not folded.isascii():
        for ch in set(raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")):
            if not ch.isalnum():
                raw = raw.replace(ch.encode("utf-8", "surrogatepass"), b" ")
    raw = raw.translate(_WORD_BYTES)
    keys = set(raw.split())
    keys.update([word[:_KEY] for word in keys if len(word) > _KEY])
    return keys


def _is_word(ch: str) -> bool:
    """What \\w matches (near enough for the character before a match)."""
    return ch.isalnum() or ch == "_"


_COMMON = frozenset(b"a an the i we is in of to and or our this that with for on at it be as by "
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
        if op is _LITERAL and _is_word(chr(av)):
            if not cur:
                at_start = boundary
            cur += chr(av)
            continue
        complete = op is _LITERAL or (op is _AT and av is _AT_BOUNDARY)
        if cur and at_start and (complete or len(cur) >= _KEY):
            words.append(cur)
        cur, boundary = "", complete
    if cur and at_start and len(cur) >= _KEY:
        words.append(cur)
    return frozenset(w.encode("utf-8", "surrogatepass")[:_KEY] for w in words)


@dataclass(frozen=True)
class _Alt:
    tag: int                        # which rule (or trigger list) the pattern belongs to
    order: int                      # position among all patterns: earlier wins a tie
    positive: bool                  # evidence or counter-evidence (matched separately)
    pattern: str                    # folded, expanded, leading \b or \A taken off
    bounded: bool                   # it began with \b: checked by hand
    anchored: bool                  # it began with \A: only at the start of the text
    lead: str                       # the literal text every match starts with ("" if none)
    lead_key: bytes | None          # the key of that first word, when one can be told
    keys: frozenset[bytes]          # keys of words every match contains


class _Lead(NamedTuple):
    """Patterns that start with the same literal: found with str.find, tried with re.match.
    A tuple, so that find() unpacks one in a single step."""

    text: str
    bounded: bool
    match: Callable[[str, int], re.Match[str] | None]  # of one regex joining the patterns
    alts: Mapping[str, tuple[int, int]]  # group name -> (order, tag) of its pattern
    cue: frozenset[bytes]           # see _gate: one of these keys must be in the text (if any)
    needs: tuple[frozenset[bytes], ...]  # and then one of these key sets (if any)


class _Scan(NamedTuple):
    """A pattern with no literal start, or a common first word: searched whole."""

    cue: frozenset[bytes]
    needs: tuple[frozenset[bytes], ...]
    lead: str                       # its literal start, if any ("with the ", "i think")
    anchored: bool
    bounded: bool
    regex: re.Pattern[str]
    order: int
    tag: int


_T = TypeVar("_T", _Lead, _Scan)


class _Index(NamedTuple, Generic[_T]):
    """Entries filed under a key a text must hold to match them, and entries tried always."""

    by_key: Mapping[bytes, tuple[_T, ...]]
    keys: frozenset[bytes]          # those of by_key: `text_keys & keys` walks the smaller set
    always: tuple[_T, ...]

    def groups(self, keys: set[bytes]) -> list[tuple[_T, ...]]:
        """The entries a text with these keys could match, in groups."""
        by_key = self.by_key
        found = [by_key[key] for key in keys & self.keys]
        found.append(self.always)
        return found


def _index(entries: Iterable[tuple[bytes | None, _T]]) -> _Index[_T]:
    """Entries by key; those with none (None or b"") are tried always."""
    by_key: dict[bytes, list[_T]] = {}
    always: list[_T] = []
    for key, entry in entries:
        (by_key.setdefault(key, []) if key else always).append(entry)
    return _Index({k: tuple(v) for k, v in by_key.items()}, frozenset(by_key), tuple(always))


@dataclass(frozen=True)
class _Matcher:
    leads: _Index[_Lead]            # by the key of their first word
    leads_ascii: _Index[_Lead]      # the same for an ASCII text: by the whole first word if known
    scans: _Index[_Scan]            # by the rarest key of the words each needs
    openers: tuple[_Scan, ...]      # patterns only tried at the start of a text, which need
    opener: re.Pattern[str] | None  # no word, when this one regex matches there (see _opener)
    needed: frozenset[bytes] | None  # one of these keys, when every pattern needs some word

    def find(self, folded: str, keys: set[bytes]) -> list[tuple[int, int, int, int]]:
        """(start, order, end, tag) of every match, earliest first."""
        out: list[tuple[int, int, int, int]] = []
        if self.needed is not None and self.needed.isdisjoint(keys):
            return out  # the usual answer for a subject, at the cost of a few lookups
        append, find, has = out.append, folded.find, keys.issuperset
        leads = self.leads_ascii if folded.isascii() else self.leads
        for group in leads.groups(keys):
            for word, bounded, match, alts, cue, needs in group:
                if cue and (cue.isdisjoint(keys) or needs and not any(map(has, needs))):
                    continue
                pos = find(word)
                while pos >= 0:
                    if not bounded or not pos or not (  # _is_word, inlined: the hot spot
                            (before := folded[pos - 1]).isalnum() or before == "_"):
                        m = match(folded, pos)
                        if m:
                            order, tag = alts[m.lastgroup]  # type: ignore[index]
                            append((pos, order, m.end(), tag))
                    pos = find(word, pos + 1)
        groups = self.scans.groups(keys)
        if self.openers and (self.opener is None or self.opener.match(folded)):
            groups.append(self.openers)
        for scans in groups:
            for cue, needs, lead, anchored, bounded, regex, order, tag in scans:
                if cue and (cue.isdisjoint(keys) or needs and not any(map(has, needs))):
                    continue
                if lead:  # what finditer does, but str.find skips ahead far faster than re
                    pos = find(lead)
                    while pos >= 0:
                        m = regex.match(folded, pos)
                        if not m:
                            pos = find(lead, pos + 1)
                            continue
                        end = m.end()  # never empty: it holds the lead
                        if not bounded or not pos or not _is_word(folded[pos - 1]):
                            append((pos, order, end, tag))
                        pos = find(lead, end)  # matches do not overlap
                    continue
                if anchored:
                    m = regex.match(folded)
                    if m:
                        append((m.start(), order, m.end(), tag))
                    continue
                for m in regex.finditer(folded):
                    start = m.start()
                    if not bounded or not start or not _is_word(folded[start - 1]):
                        append((start, order, m.end(), tag))
        out.sort()
        return out


_Keys = frozenset[bytes]


def _gate(needs: Iterable[_Keys]) -> tuple[_Keys, tuple[_Keys, ...]]:
    """A text must hold one of these key sets (each the keys of some pattern): as a cue, the
    rarest key of each, and the sets when the cue does not say it all. Most texts lack every
    key of the cue, and are turned away by one isdisjoint() instead of a subset test per set.
    No sets, or an empty one: nothing is needed."""
    sets = set(needs)
    if not sets or not all(sets):
        return frozenset(), ()
    cue = frozenset(map(_rarest, sets))
    return cue, () if all(len(s) == 1 for s in sets) else tuple(sorted(sets, key=len))


def _alt(folded: str, tag: int, order: int, positive: bool) -> _Alt:
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
    if lead and _is_word(lead[0]):
        word = lead
        for i, ch in enumerate(lead):
            if not _is_word(ch):
                word, complete = lead[:i], True
                break
        raw = word.encode("utf-8", "surrogatepass")
        lead_key = raw[:_KEY] if bounded and (complete or len(raw) >= _KEY) else None
    else:
        lead_key = None
    return _Alt(tag, order, positive, body, bounded, anchored, lead, lead_key,
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


def _matcher(groups: Iterable[tuple[int, Iterable[str], str]],
             signs: Sequence[bool] | None = None, apart: bool = False) -> _Matcher:
    """One matcher for groups of patterns (tag, patterns, where they come from). Patterns that
    start alike share a regex, which reports one of them where several match; `apart` keeps
    groups from sharing, so that one matcher answers for several independent ones."""
    alts: list[_Alt] = []
    for tag, patterns, what in groups:
        positive = True if signs is None else signs[tag]
        for p in patterns:
            folded = _fold_pattern(p)
            try:
                re.compile(folded)
            except re.error as exc:
                raise ConfigError(f"{what}: bad pattern {p!r}: {exc}") from None
            for q in _expand(folded):
                alts.append(_alt(q, tag, len(alts), positive))
    grouped: dict[tuple[str, bool, int], list[_Alt]] = {}
    scans: list[tuple[bytes, _Scan]] = []
    for a in alts:
        first = _find_text(a.lead).rstrip() if a.lead else ""
        if first and (first.encode() not in _COMMON or not a.bounded):
            grouped.setdefault((_find_text(a.lead), a.bounded, a.tag if apart else 0),
                               []).append(a)
        else:  # no literal start, or a common first word: search whole, if the rare words are in
            key = _rarest(a.keys)
            scans.append((key, _Scan(*_gate([a.keys - {key}]), a.lead, a.anchored, a.bounded,
                                     re.compile(a.pattern), a.order, a.tag)))
    leads: list[tuple[bytes | None, _Lead]] = []
    leads_ascii: list[tuple[bytes | None, _Lead]] = []
    for (text, bounded, _), members in grouped.items():
        named = {f"_a{a.order}": a for a in members}
        regex = re.compile("|".join(f"(?P<{n}>{a.pattern})" for n, a in named.items()))
        keys = {a.lead_key for a in members}
        key = keys.pop() if len(keys) == 1 else None
        # the first word may be all some pattern needs, and the lead is keyed on it: no gate
        lead = _Lead(text, bounded, regex.match, {n: (a.order, a.tag) for n, a in named.items()},
                     *_gate(a.keys - {key} for a in members))
        leads.append((key, lead))
        if text.isascii():  # an ASCII text cannot hold the others
            leads_ascii.append((_whole_word(text, bounded) or key, lead))
    openers = [scan for key, scan in scans if not key and scan.anchored and not scan.cue]
    opener = _opener(openers)
    if opener is None:
        openers = []
    indexes = (_index(leads), _index(leads_ascii),
               _index((key, scan) for key, scan in scans if scan not in openers))
    needed = None if openers or any(i.always for i in indexes) else frozenset().union(
        *(i.keys for i in indexes))
    return _Matcher(*indexes, tuple(openers), opener, needed)


def _opener(scans: Sequence[_Scan]) -> re.Pattern[str] | None:
    """One regex that matches at the start of a text where one of these anchored patterns
    does: most texts start with none, and one re.match then answers for all. None when they
    are too few, or hold groups (a backreference would change meaning in the join)."""
    if len(scans) < 2 or any(scan.regex.groups for scan in scans):
        return None
    try:
        return re.compile("|".join(f"(?:{scan.regex.pattern})" for scan in scans))
    except re.error:  # pragma: no cover - each compiles alone, so the join should too
        return None


def _rarest(keys: frozenset[bytes]) -> bytes:
    """The key a text is most likely to lack (b"" for none): what a scan is filed under, and
    what a gate tries first."""
    return max(keys, key=lambda k: (k not in _COMMON, len(k), k), default=b"")


def _whole_word(text: str, bounded: bool) -> bytes | None:
    """The first word of an ASCII lead when a match must hold it whole (a word boundary
    before, a non-word character after) and it is longer than a key; else None. In ASCII the
    words of _keys_in are exactly what \\b and _is_word see, so such a lead is filed under its
    word: "discussing " is not looked for in a text that only says "discussion"."""
    word = text[:-1]
    if bounded and word and not _is_word(text[-1]) and all(map(_is_word, word)):
        raw = word.encode()
        if len(raw) > _KEY:
            return raw
    return None


def _find_text(lead: str) -> str:
    """What str.find looks for: the first word with the character after it, when there is one
    ("partnership " for "partnership with" and "partnership between")."""
    if not _is_word(lead[0]):
        return lead
    for i, ch in enumerate(lead):
        if not _is_word(ch):
            return lead[:i + 1]
    return lead


def _expand(pattern: str, limit: int = 64) -> list[str]:
    """Groups of alternatives become one pattern per alternative ("\\b(?:a|b)c" -> "\\bac",
    "\\bbc"), so that each has literal words to be found by, and a literal start re finds fast.
    Group by group, left to right, while there are at most `limit` patterns."""
    parts = _top_split(pattern)
    current = parts if len(parts) <= limit else [pattern]
    while True:
        grown: list[str] = []
        for p in current:
            i = _first_group(p)
            if i < 0:
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


class _Member(NamedTuple):
    """A text rule as classify() weighs its matches in one part of a message."""

    name: str
    weight: float                   # in that part (the subject may have its own)
    positive: bool                  # evidence or counter-evidence (they may overlap)
    max_hits: int
    slot: int                       # the hit counter it shares with rules of the same name


@dataclass(frozen=True)
class _Compiled:
    parts: tuple[tuple[str, _Matcher, tuple[_Member, ...]], ...]
    # the other enabled rules, links aside, in order (a list rule with its lists folded)
    others: tuple[tuple[Rule, frozenset[str]], ...]
    attribution: _Matcher
    forward: _Matcher
    links: tuple[tuple[Rule, re.Pattern[str], tuple[str, ...] | None], ...]  # see _starts
    partner_cues: _Matcher          # tag 0: a name follows the match, 1: a name precedes it
    movement: re.Pattern[str] | None
    affiliates: re.Pattern[str] | None
    stopwords: frozenset[str]
    subjects: dict[str, tuple[tuple[Reason, ...], tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False)  # see _subject_evidence


def _alternation(patterns: Iterable[str], what: str) -> re.Pattern[str] | None:
    pats = [_fold_pattern(p) for p in patterns]
    if not pats:
        return None
    for p in pats:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(f"{what}: bad pattern {p!r}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in pats))


def _starts(patterns: Iterable[str]) -> tuple[str, ...] | None:
    """The literal texts that matches of these patterns start with, one per alternative, or
    None when an alternative has none. A text that holds none of them cannot match: `in`
    tells that far sooner than a search of the whole alternation."""
    starts = []
    for p in patterns:
        for alt in _top_split(_fold_pattern(p)):
            items = _parsed(alt)
            if items[:1] == [(_AT, _AT_BOUNDARY)]:
                items = items[1:]
            start, _ = _literal_start(items)
            if not start:
                return None
            starts.append(start)
    return tuple(starts)


def _compile(rules: Rules) -> _Compiled:
    parts = []
    for part in PARTS:
        members = tuple(r for r in rules.rules if r.enabled and r.kind == "text" and r.patterns
                        and part in r.where)
        if members:
            parts.append((part, _matcher(((i, r.patterns, f"{rules.source}: rule {r.name!r}")
                                          for i, r in enumerate(members)),
                                         [r.weight >= 0 for r in members]),
                          _members(part, members)))
    others = tuple((r, frozenset(fold(x) for x in r.lists)) for r in rules.rules
                   if r.enabled and r.kind in ("reply", "new-thread", "list", "partners"))
    links = tuple((r, alt, _starts(r.patterns)) for r in rules.rules
                  if r.enabled and r.kind == "link"
                  for alt in [_alternation(r.patterns, f"{rules.source}: rule {r.name!r}")]
                  if alt is not None)
    p = rules.partners
    where = f"{rules.source}: partners"
    return _Compiled(
        parts=tuple(parts),
        others=others,
        attribution=_matcher([(0, rules.attribution, f"{rules.source}: reply.attribution")]),
        forward=_matcher([(0, rules.forward, f"{rules.source}: reply.forward")]),
        links=links,
        partner_cues=_matcher([(0, [rf"\b(?:{x})" for x in p.follows], f"{where}.follows"),
                               (1, [rf"\b(?:{x})" for x in p.precedes], f"{where}.precedes")],
                              apart=True),
        movement=_alternation(p.movement, where),
        affiliates=_alternation(p.affiliates, where),
        stopwords=frozenset(fold(w) for w in p.stopwords),
    )


def _members(part: str, rules: Sequence[Rule]) -> tuple[_Member, ...]:
    slots: dict[str, int] = {}
    return tuple(_Member(r.name, r.subject_weight if part == _SUBJECT and r.subject_weight
                         is not None else r.weight, r.weight >= 0, r.max_hits,
                         slots.setdefault(r.name, len(slots))) for r in rules)


# --- loading --------------------------------------------------------------------------------

def load_rules(path: str | None = None, threshold: float | None = None) -> Rules:
    """The bundled rules, overridden by `path` (rules and weights replace or extend them), with
    `threshold` winning over both. Cached: the same arguments give the same compiled object."""
    return _load_rules(str(path) if path else None, threshold)


@lru_cache(maxsize=16)
def _load_rules(path: str | None, threshold: float | None) -> Rules:
    bundled = resources.files("digest").joinpath("rules.toml").read_text(encoding="utf-8")
    data = _parse_toml(bundled, "digest/rules.toml")
    source = "digest/rules.toml"
    base = _rules_from(data, source)
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read rules file: {exc}") from None
        base = _merge(base, _parse_toml(text, path), path)
        source = f"{source} + {path}"
    if threshold is not None:
        base = replace(base, threshold=_unit(threshold, "threshold", source))
    rules = replace(base, source=source)
    rules.compiled  # noqa: B018 - bad patterns are reported now, not at the first message
    return rules


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _unit(value: Any, key: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ConfigError(f"{where}: {key} must be a number between 0 and 1")
    return float(value)


def _number(value: Any, key: str, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be a number")
    return float(value)


def _count(value: Any, key: str, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ConfigError(f"{where}: {key} must be a whole number, 0 or more")
    return value


def _strings(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings")
    return tuple(value)


_TOP_KEYS = {"classify", "rule", "weights", "reply", "partners"}


def _rules_from(data: dict[str, Any], where: str) -> Rules:
    _check_keys(data, _TOP_KEYS, "", where)
    head = data.get("classify", {})
    _check_keys(head, {"threshold", "bias", "max_chars"}, "classify.", where)
    rules = tuple(_rule(item, i, where, None) for i, item in enumerate(data.get("rule", []), 1))
    _check_unique(rules, where)
    _check_keys(data.get("reply", {}), {"attribution", "forward"}, "reply.", where)
    rs = Rules(threshold=_unit(head.get("threshold", 0.5), "classify.threshold", where),
               bias=_number(head.get("bias", 0.0), "classify.bias", where),
               rules=rules,
               max_chars=_count(head.get("max_chars", 0), "classify.max_chars", where),
               attribution=_strings(data.get("reply", {}).get("attribution", []),
                                    "reply.attribution", where),
               forward=_strings(data.get("reply", {}).get("forward", []), "reply.forward", where),
               partners=_partners(data.get("partners", {}), PartnerRules(), where),
               source=where)
    return _apply_weights(rs, data.get("weights", {}), where)


def _merge(base: Rules, data: dict[str, Any], where: str) -> Rules:
    """Override: same-named rules are updated key by key, new names are added."""
    _check_keys(data, _TOP_KEYS, "", where)
    head = data.get("classify", {})
    _check_keys(head, {"threshold", "bias", "max_chars"}, "classify.", where)
    rules = list(base.rules)
    index = {r.name: i for i, r in enumerate(rules)}
    for i, item in enumerate(data.get("rule", []), 1):
        name = item.get("name") if isinstance(item, dict) else None
        prior = rules[index[name]] if name in index else None
        rule = _rule(item, i, where, prior)
        if prior is not None:
            rules[index[name]] = rule
        else:
            index[rule.name] = len(rules)
            rules.append(rule)
    reply = data.get("reply", {})
    _check_keys(reply, {"attribution", "forward"}, "reply.", where)
    rs = Rules(
        threshold=_unit(head["threshold"], "classify.threshold", where)
        if "threshold" in head else base.threshold,
        bias=_number(head["bias"], "classify.bias", where) if "bias" in head else base.bias,
        rules=tuple(rules),
        max_chars=_count(head["max_chars"], "classify.max_chars", where)
        if "max_chars" in head else base.max_chars,
        attribution=_strings(reply["attribution"], "reply.attribution", where)
        if "attribution" in reply else base.attribution,
        forward=_strings(reply["forward"], "reply.forward", where)
        if "forward" in reply else base.forward,
        partners=_partners(data.get("partners", {}), base.partners, where),
        source=where)
    return _apply_weights(rs, data.get("weights", {}), where)


def _apply_weights(rules: Rules, weights: Any, where: str) -> Rules:
    if not isinstance(weights, dict):
        raise ConfigError(f"{where}: [weights] must be a table of rule = weight")
    if not weights:
        return rules
    known = {r.name for r in rules.rules}
    for name, value in weights.items():
        if name not in known:
            raise ConfigError(f"{where}: weights.{name}: no rule of that name")
        _number(value, f"weights.{name}", where)
    return replace(rules, rules=tuple(replace(r, weight=float(weights[r.name]))
                                      if r.name in weights else r for r in rules.rules))


def _check_keys(table: Any, allowed: set[str], prefix: str, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: {prefix.rstrip('.') or 'file'} must be a table")
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {prefix}{key}")


def _check_unique(rules: Sequence[Rule], where: str) -> None:
    seen: set[str] = set()
    for r in rules:
        if r.name in seen:
            raise ConfigError(f"{where}: rule {r.name!r} is defined twice")
        seen.add(r.name)


def _rule(item: Any, i: int, where: str, prior: Rule | None) -> Rule:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: rule[{i}] must be a table")
    allowed = {f.name for f in fields(Rule)}
    for key in item:
        if key not in allowed:
            raise ConfigError(f"{where}: rule[{i}].{key}: unknown key")
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: rule[{i}].name is missing")
    label = f"rule {name!r}"
    if prior is None and "weight" not in item:
        raise ConfigError(f"{where}: {label}.weight is missing")
    kw: dict[str, Any] = {}
    for key, value in item.items():
        if key in ("weight", "subject_weight"):
            kw[key] = _number(value, f"{label}.{key}", where)
        elif key in ("where", "patterns", "lists"):
            kw[key] = _strings(value, f"{label}.{key}", where)
        elif key == "max_hits":
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{where}: {label}.max_hits must be a positive integer")
            kw[key] = value
        elif key == "enabled":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: {label}.enabled must be true or false")
            kw[key] = value
        elif key in ("name", "kind", "description"):
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {label}.{key} must be a string")
            kw[key] = value
    rule = replace(prior, **kw) if prior is not None else Rule(**kw)
    if rule.kind not in KINDS:
        raise ConfigError(f"{where}: {label}.kind must be one of {', '.join(KINDS)}")
    bad = [w for w in rule.where if w not in PARTS]
    if bad:
        raise ConfigError(f"{where}: {label}.where: unknown part {bad[0]!r} "
                          f"(use {', '.join(PARTS)})")
    if rule.kind in ("text", "link") and not rule.patterns and rule.enabled:
        raise ConfigError(f"{where}: {label}.patterns is missing")
    if rule.kind == "list" and not rule.lists:
        raise ConfigError(f"{where}: {label}.lists is missing")
    return rule


def _partners(table: Any, base: PartnerRules, where: str) -> PartnerRules:
    allowed = {f.name for f in fields(PartnerRules)}
    _check_keys(table, allowed, "partners.", where)
    return replace(base, **{k: _strings(v, f"partners.{k}", where) for k, v in table.items()})


# --- classification -------------------------------------------------------------------------

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
    chars = set(raw.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass"))
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


def classify(message: Message, links: Sequence[Link] = (), rules: Rules | None = None) -> Verdict:
    """Weigh the evidence in a message and its links; deterministic for given rules."""
    rules = rules or load_rules()
    comp = rules.compiled
    new_text = message.new_text
    if rules.max_chars and len(new_text) > rules.max_chars:
        new_text = new_text[:rules.max_chars]
    folded_new = fold(new_text)
    keys_new = _keys_in(folded_new)
    cut = _attribution(folded_new, keys_new, comp)
    if cut is not None:
        new_text, folded_new = new_text[:cut[0]], folded_new[:cut[0]]
        keys_new = _keys_in(folded_new)
    forwarded = "" if cut is not None else _forwarded(message, folded_new, keys_new, comp)
    if forwarded:
        new_text = f"{new_text}\n{forwarded}" if new_text.strip() else forwarded
        folded_new = fold(new_text)
        keys_new = _keys_in(folded_new)
    subject = message.subject_norm or message.subject
    in_subject_reasons, in_subject = _subject_evidence(subject, comp)
    parts = {_NEW: new_text, _QUOTED: message.quoted_text,
             _SIGNATURE: message.signature, _FOOTER: message.footer}
    folded = {_NEW: (folded_new, keys_new)}

    reasons: list[Reason] = []
    for part, matcher, members in comp.parts:
        if part == _SUBJECT:
            reasons.extend(in_subject_reasons)
            continue
        text = parts[part]
        if not text:
            continue
        if part not in folded:
            low = fold(text)
            folded[part] = (low, _keys_in(low))
        reasons.extend(_reasons_in(text, *folded[part], part, matcher, members))

    reply_evidence = "" if forwarded else _reply_evidence(message, new_text, cut)
    in_new = _partners_in(new_text, folded_new, keys_new, comp) if new_text else []
    for rule, wanted in comp.others:
        kind = rule.kind
        if kind == "reply":
            if reply_evidence:
                reasons.append(Reason(rule.name, rule.weight, reply_evidence, "thread"))
        elif kind == "new-thread":
            if not reply_evidence:
                reasons.append(Reason(rule.name, rule.weight, "starts a thread", "thread"))
        elif kind == "list":
            on = [x for x in message.lists if fold(x) in wanted]
            if on:
                reasons.append(Reason(rule.name, rule.weight, on[0], "list"))
        else:  # partners
            for where, named in ((_NEW, in_new),
                                 (_SUBJECT, in_subject)):
                if named and where in rule.where:
                    reasons.append(Reason(rule.name, rule.weight,
                                          ", ".join(_dedupe(named)[:_MAX_PARTNERS]), where))
                    break
    if comp.links:
        shown = [(link.url, fold(f"{link.url} {link.title or ''}")) for link in links
                 if not (link.boilerplate or link.quoted)]  # folded once for all link rules
        for rule, regex, starts in comp.links:
            for url, low in shown:
                if (starts is None or any(map(low.__contains__, starts))) and regex.search(low):
                    reasons.append(Reason(rule.name, rule.weight, url, "links"))
                    break

    total = rules.bias + sum(r.weight for r in reasons)
    score = 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, total))))
    reasons.sort(key=lambda r: -abs(r.weight))
    return Verdict(partnership=score >= rules.threshold, score=score, reasons=tuple(reasons),
                   partners=tuple(_dedupe([*in_subject, *in_new])[:_MAX_PARTNERS]))


def _reasons_in(text: str, folded: str, keys: set[bytes], part: str, matcher: _Matcher,
                members: Sequence[_Member]) -> list[Reason]:
    """The text rules that fire in one part of a message, in the order of their matches."""
    reasons = []
    ends = [0, 0]  # by `positive`: evidence and counter-evidence may overlap, not themselves
    hits = [0] * len(members)  # per rule name (slot), in this part
    for start, _, end, tag in matcher.find(folded, keys):
        name, weight, positive, max_hits, slot = members[tag]
        if start < ends[positive]:
            continue
        ends[positive] = end
        if hits[slot] >= max_hits:
            continue
        hits[slot] += 1
        reasons.append(Reason(name, weight, _evidence(text, start, end), part))
    return reasons


_SUBJECTS_KEPT = 4096


def _subject_evidence(subject: str, comp: _Compiled) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
    """The reasons a subject gives and the partners it names. Replies share their thread's
    subject, so this is kept per subject for the rules (cleared when it grows too big)."""
    known = comp.subjects.get(subject)
    if known is None:
        if len(comp.subjects) >= _SUBJECTS_KEPT:
            comp.subjects.clear()
        reasons: list[Reason] = []
        partners: list[str] = []
        if subject:
            low = fold(subject)
            keys = _keys_in(low)
            for part, matcher, members in comp.parts:
                if part == _SUBJECT:
                    reasons = _reasons_in(subject, low, keys, part, matcher, members)
            partners = _partners_in(subject, low, keys, comp)
        known = comp.subjects[subject] = (tuple(reasons), tuple(partners))
    return known


def _evidence(text: str, start: int, end: int) -> str:
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= _EVIDENCE_MAX else snippet[:_EVIDENCE_MAX - 1] + "…"


def _attribution(folded_new: str, keys: set[bytes], comp: _Compiled) -> tuple[int, int] | None:
    """The line of an "On ... wrote:" in the new text: what follows it is quoted, markers or
    not (archives often lost the "> "). Returns (line start, match end)."""
    if not folded_new:
        return None
    found = comp.attribution.find(folded_new, keys)
    if not found:
        return None
    start, _, end, _ = found[0]
    return folded_new.rfind("\n", 0, start) + 1, end


def _forwarded(message: Message, folded_new: str, keys: set[bytes], comp: _Compiled) -> str:
    """The text of a forwarded mail: what the sender passes on counts as what they say."""
    if message.in_reply_to or message.references or message.is_reply:
        return ""
    quoted = message.quoted_text
    if not quoted.strip():
        return ""
    if comp.forward.find(folded_new, keys):
        start = 0  # the marker closes the new text; the forwarded mail was taken for a quote
    else:
        head = fold(quoted[:2000])
        found = comp.forward.find(head, _keys_in(head))
        if not found:
            return ""
        start = found[0][2]
    lines = quoted[start:].split("\n")
    return "\n".join(line[1:].lstrip(" ") if line.startswith(">") else line for line in lines)


def _reply_evidence(message: Message, new_text: str, cut: tuple[int, int] | None) -> str:
    if message.in_reply_to:
        return f"In-Reply-To <{message.in_reply_to}>"
    if message.references:
        return f"References <{message.references[-1]}>"
    if message.is_reply:
        return f"subject {message.subject!r}"
    if cut is not None:
        return _evidence(message.new_text, cut[0], cut[1])
    if message.quoted_text.strip():
        return "quotes an earlier message"
    return ""


# --- partners -------------------------------------------------------------------------------

def _upper_class() -> str:
    chars = [chr(c) for c in range(0x41, 0x530) if chr(c).isupper()]
    return "".join(re.escape(c) for c in chars)


_UP = _upper_class()
_WORD = rf"(?:(?:[dl]['’])?[{_UP}][\w'’&.\-]*\w|[{_UP}]|\d+[\w\-]*|\([^()\n]{{2,40}}\))"
_CONN = (r"(?:of|de|del|della|des|du|di|da|do|dos|das|für|for|the|van|von|der|den|la|le|y|e|and|&"
         r"|on|am)")
_SEP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
_HEAD = (r"(?:(?:city|town|museum|ville|musee|muséum|museo|ciudad|cidade|comune|stadt|university|"
         r"universidad|universite|université) (?:of|de|di|du|von|da) )")
_NAME = rf"(?:{_HEAD}?{_WORD}(?:{_SEP}(?:{_CONN}{_SEP})*{_WORD}){{0,8}})"
_NAME_AT = re.compile(_NAME)
_NAME_END = re.compile(rf"(?<![\w'’&.\-])(?:{_NAME})$")
_SPLIT = re.compile(r",\s+|\s+(?:and|y|et|und|e)\s+")
_LEAD = re.compile(r"^(?:(?:the|la|le|les|el|los|las|die|der|das|dem|den|des|il|lo|gli|o|os|a|as)"
                   r"\s+|l'|l’)", re.I)
_MAX_PARTNERS = 8


def find_partners(subject: str, new_text: str, rules: Rules | None = None) -> tuple[str, ...]:
    """Outside organisations named as partners, as written (movement entities left out)."""
    comp = (rules or load_rules()).compiled
    found: list[str] = []
    for text in (subject, new_text):
        if text:
            low = fold(text)
            found.extend(_partners_in(text, low, _keys_in(low), comp))
    return tuple(_dedupe(found)[:_MAX_PARTNERS])


def _partners_in(text: str, folded: str, keys: set[bytes], comp: _Compiled) -> list[str]:
    found: list[str] = []
    cues = comp.partner_cues.find(folded, keys)  # one pass for both kinds of cue
    for _, _, end, tag in cues:
        if tag == 0 and end < len(text) and text[end].isspace():
            n = _NAME_AT.match(_skip_article(text, end))
            if n:
                found.extend(_names(n.group(0), comp, explicit=True))
    for start, _, _, tag in cues:
        if tag == 1 and start and text[start - 1].isspace():
            window = text[max(0, start - 160):start].rstrip()
            n = _NAME_END.search(window)
            if n:
                found.extend(_names(n.group(0), comp, explicit=False))
    return found


def _skip_article(text: str, pos: int) -> str:
    rest = text[pos:pos + 200].lstrip().lstrip("\"'“”‘’«»„*")
    m = _LEAD.match(rest)
    return rest[m.end():] if m else rest


def _names(raw: str, comp: _Compiled, explicit: bool) -> list[str]:
    out = []
    for piece in _SPLIT.split(" ".join(raw.split())):
        piece = _LEAD.sub("", piece.strip())
        words = piece.split()
        while words and fold(words[0]) in comp.stopwords:
            words.pop(0)
        while words and fold(words[-1]) in comp.stopwords:
            words.pop()
        name = " ".join(words).strip(" .,;:'’\"-")
        if len(name) < 2 or not any(c.isupper() for c in name):
            continue
        if name[:2].lower() in ("d'", "d’"):  # an elided "de": the tail of a longer name
            continue
        key = fold(name)
        if comp.movement is not None and comp.movement.search(key):
            continue
        if comp.affiliates is not None and comp.affiliates.search(key) and not explicit:
            continue
        out.append(name)
    return out


def _dedupe(names: Iterable[str]) -> list[str]:
    kept: list[str] = []
    for name in names:
        key = fold(name)
        if any(key == fold(k) or f" {key} " in f" {fold(k)} " or f"({key})" in fold(k)
               for k in kept):
            continue
        kept = [k for k in kept if f" {fold(k)} " not in f" {key} "]
        kept.append(name)
    return kept


# --- presentation helpers for faces (CLI, web) ----------------------------------------------

def verdict_json(verdict: Verdict) -> dict[str, Any]:
    """The JSON shape of a verdict shared by `digest classify --json` and `digest show --json`."""
    return {
        "partnership": verdict.partnership,
        "score": round(verdict.score, 3),
        "reasons": [{"rule": r.rule, "weight": r.weight, "evidence": r.evidence, "where": r.where}
                    for r in verdict.reasons],
        "partners": list(verdict.partners),
    }


def explain_lines(verdict: Verdict) -> list[str]:
    """One line per reason, strongest first, for `--explain`."""
    return [f"    {r}" for r in verdict.reasons]
