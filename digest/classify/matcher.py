"""The fast multi-pattern matcher: many patterns, few cheap scans (see the comment below).
matcher() builds one from groups of patterns; Matcher.find() gives every match in a folded
text, earliest first, exactly what re would find pattern by pattern."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, NamedTuple, TypeVar

from ..errors import ConfigError
from .fold import ASCII_BYTES, fold_pattern
from .patterns import COMMON, KEY, Alt, alt, expand, is_word


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

_WORD_BYTES = bytes(b if b >= 0x80 or chr(b).isalnum() or b == 0x5F else 0x20 for b in range(256))


def keys_in(folded: str) -> set[bytes]:
    """The words (UTF-8) of a folded text and the first six bytes of the longer ones: cheap to
    make, and enough to tell which patterns could match. Keys are at most six bytes long, so
    a longer word in the set is only ever looked up whole (see _whole_word). Words end where
    \\b sees them end, also at non-ASCII punctuation and marks ("•partnership", Indic vowel
    signs): each distinct such character is blanked in the UTF-8, as fold() does."""
    raw = folded.encode("utf-8", "surrogatepass")
    if not folded.isascii():
        for ch in set(raw.translate(None, ASCII_BYTES).decode("utf-8", "surrogatepass")):
            if not ch.isalnum():
                raw = raw.replace(ch.encode("utf-8", "surrogatepass"), b" ")
    raw = raw.translate(_WORD_BYTES)
    keys = set(raw.split())
    keys.update([word[:KEY] for word in keys if len(word) > KEY])
    return keys


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
class Matcher:
    """Patterns filed by the words a text must hold for them: find() walks only those."""

    leads: _Index[_Lead]            # by the key of their first word
    leads_ascii: _Index[_Lead]      # the same for an ASCII text: by the whole first word if known
    scans: _Index[_Scan]            # by the rarest key of the words each needs
    needed: frozenset[bytes] | None  # one of these keys, when every pattern needs some word

    def find(self, folded: str, keys: set[bytes]) -> list[tuple[int, int, int, int]]:
        """(start, order, end, tag) of every match, earliest first."""
        out: list[tuple[int, int, int, int]] = []
        if self.needed is not None and self.needed.isdisjoint(keys):
            return out  # most texts, for the forward and partner-cue matchers: a few lookups
        append, find, has = out.append, folded.find, keys.issuperset
        leads = self.leads_ascii if folded.isascii() else self.leads
        for group in leads.groups(keys):
            for word, bounded, match, alts, cue, needs in group:
                if cue and (cue.isdisjoint(keys) or needs and not any(map(has, needs))):
                    continue
                pos = find(word)
                while pos >= 0:
                    if not bounded or not pos or not (  # is_word, inlined: the hot spot
                            (before := folded[pos - 1]).isalnum() or before == "_"):
                        m = match(folded, pos)
                        if m:
                            order, tag = alts[m.lastgroup]  # type: ignore[index]
                            append((pos, order, m.end(), tag))
                    pos = find(word, pos + 1)
        for scans in self.scans.groups(keys):
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
                        if not bounded or not pos or not is_word(folded[pos - 1]):
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
                    if not bounded or not start or not is_word(folded[start - 1]):
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


def matcher(groups: Iterable[tuple[int, Iterable[str], str]],
            signs: Sequence[bool] | None = None, apart: bool = False) -> Matcher:
    """One matcher for groups of patterns (tag, patterns, where they come from). Patterns that
    start alike share a regex, which reports one of them where several match, unless `signs`
    (by tag) sets them apart as evidence and counter-evidence; `apart` keeps every group from
    sharing, so that one matcher answers for several independent ones."""
    alts: list[Alt] = []
    for tag, patterns, what in groups:
        positive = True if signs is None else signs[tag]
        for p in patterns:
            folded = fold_pattern(p)
            try:
                re.compile(folded)
            except re.error as exc:
                raise ConfigError(f"{what}: bad pattern {p!r}: {exc}") from None
            for q in expand(folded):
                alts.append(alt(q, tag, len(alts), positive))
    grouped: dict[tuple[str, bool, int | bool], list[Alt]] = {}
    scans: list[tuple[bytes, _Scan]] = []
    for a in alts:
        first = _find_text(a.lead).rstrip() if a.lead else ""
        if first and (first.encode() not in COMMON or not a.bounded):
            # evidence and counter-evidence never share a regex: where both match, the one
            # regex would report only one of them, and they are weighed independently
            grouped.setdefault((_find_text(a.lead), a.bounded, a.tag if apart else a.positive),
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
    indexes = (_index(leads), _index(leads_ascii), _index(scans))
    needed = None if any(i.always for i in indexes) else frozenset().union(
        *(i.keys for i in indexes))
    return Matcher(*indexes, needed)


def _rarest(keys: frozenset[bytes]) -> bytes:
    """The key a text is most likely to lack (b"" for none): what a scan is filed under, and
    what a gate tries first."""
    return max(keys, key=lambda k: (k not in COMMON, len(k), k), default=b"")


def _whole_word(text: str, bounded: bool) -> bytes | None:
    """The first word of an ASCII lead when a match must hold it whole (a word boundary
    before, a non-word character after) and it is longer than a key; else None. In ASCII the
    words of keys_in are exactly what \\b and is_word see, so such a lead is filed under its
    word: "discussing " is not looked for in a text that only says "discussion"."""
    word = text[:-1]
    if bounded and word and not is_word(text[-1]) and all(map(is_word, word)):
        raw = word.encode()
        if len(raw) > KEY:
            return raw
    return None


def _find_text(lead: str) -> str:
    """What str.find looks for: the first word with the character after it, when there is one
    ("partnership " for "partnership with" and "partnership between")."""
    if not is_word(lead[0]):
        return lead
    for i, ch in enumerate(lead):
        if not is_word(ch):
            return lead[:i + 1]
    return lead
