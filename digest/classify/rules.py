"""The rule set as data (Rule, PartnerRules, Rules: see the comments at the top of rules.toml)
and its compiled form: per part of a message one matcher for all its text rules, plus the
matchers and regexes of the other rules. Rules pickle as data and compile once per process."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

from .. import __version__
from ..errors import ConfigError
from ..model import BodyPart, Reason
from .fold import fold, fold_pattern
from .matcher import Matcher, matcher
from .patterns import starts

KINDS = ("text", "reply", "new-thread", "list", "link", "partners")
PARTS = tuple(p.value for p in BodyPart)
_SUBJECT = BodyPart.SUBJECT.value


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
    between: tuple[str, ...] = ()   # a `follows` cue ending in one of these names both parties


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
    def fingerprint(self) -> str:
        """What a verdict was made by: this version of digest and this rule data (not the
        file it came from, nor the rules' descriptions, which change no verdict). A stored
        verdict with another fingerprint is stale."""
        rules = tuple(replace(r, description="") for r in self.rules)
        data = repr((__version__, self.threshold, self.bias, rules, self.max_chars,
                     self.attribution, self.forward, self.partners))
        return hashlib.sha1(data.encode("utf-8")).hexdigest()[:12]

    @cached_property
    def compiled(self) -> Compiled:
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


class Member(NamedTuple):
    """A text rule as classify() weighs its matches in one part of a message."""

    name: str
    weight: float                   # in that part (the subject may have its own)
    positive: bool                  # evidence or counter-evidence (they may overlap)
    max_hits: int
    slot: int                       # the hit counter it shares with rules of the same name


@dataclass(frozen=True)
class Compiled:
    """What classify() works from: built once per Rules (Rules.compiled), never per message."""

    parts: tuple[tuple[str, Matcher, tuple[Member, ...]], ...]
    # the other enabled rules, links aside, in order (a list rule with its lists folded)
    others: tuple[tuple[Rule, frozenset[str]], ...]
    attribution: Matcher
    forward: Matcher
    links: tuple[tuple[Rule, re.Pattern[str], tuple[str, ...] | None], ...]  # see starts
    partner_cues: Matcher           # tag 0: a name follows the match, 1: a name precedes it
    movement: re.Pattern[str] | None
    affiliates: re.Pattern[str] | None
    stopwords: frozenset[str]
    between: tuple[str, ...]        # folded
    subjects: dict[str, tuple[tuple[Reason, ...], tuple[str, ...]]] = field(
        default_factory=dict, compare=False, repr=False)  # see weigh._subject_evidence


def _alternation(patterns: Iterable[str], what: str) -> re.Pattern[str] | None:
    """One regex for patterns searched as a whole (links, movement names), or None for none."""
    pats = [fold_pattern(p) for p in patterns]
    if not pats:
        return None
    for p in pats:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(f"{what}: bad pattern {p!r}: {exc}") from None
    return re.compile("|".join(f"(?:{p})" for p in pats))


def _compile(rules: Rules) -> Compiled:
    """Every pattern compiled, a bad one reported with its rule (load_rules does it at once)."""
    parts = []
    for part in PARTS:
        members = tuple(r for r in rules.rules if r.enabled and r.kind == "text" and r.patterns
                        and part in r.where)
        if members:
            parts.append((part, matcher(((i, r.patterns, f"{rules.source}: rule {r.name!r}")
                                         for i, r in enumerate(members)),
                                        [r.weight >= 0 for r in members]),
                          _members(part, members)))
    others = tuple((r, frozenset(fold(x) for x in r.lists)) for r in rules.rules
                   if r.enabled and r.kind in ("reply", "new-thread", "list", "partners"))
    links = tuple((r, alt, starts(r.patterns)) for r in rules.rules
                  if r.enabled and r.kind == "link"
                  for alt in [_alternation(r.patterns, f"{rules.source}: rule {r.name!r}")]
                  if alt is not None)
    p = rules.partners
    where = f"{rules.source}: partners"
    return Compiled(
        parts=tuple(parts),
        others=others,
        attribution=matcher([(0, rules.attribution, f"{rules.source}: reply.attribution")]),
        forward=matcher([(0, rules.forward, f"{rules.source}: reply.forward")]),
        links=links,
        partner_cues=matcher([(0, [rf"\b(?:{x})" for x in p.follows], f"{where}.follows"),
                              (1, [rf"\b(?:{x})" for x in p.precedes], f"{where}.precedes")],
                             apart=True),
        movement=_alternation(p.movement, where),
        affiliates=_alternation(p.affiliates, where),
        stopwords=frozenset(fold(w) for w in p.stopwords),
        between=tuple(fold(w) for w in p.between),
    )


def _members(part: str, rules: Sequence[Rule]) -> tuple[Member, ...]:
    """The text rules of one part as classify() weighs them; same-named rules share a slot."""
    slots: dict[str, int] = {}
    return tuple(Member(r.name, r.subject_weight if part == _SUBJECT and r.subject_weight
                        is not None else r.weight, r.weight >= 0, r.max_hits,
                        slots.setdefault(r.name, len(slots))) for r in rules)
