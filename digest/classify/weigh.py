"""Message (+ links) -> Verdict: the evidence in each part of a message (subject, new text,
quotes, signature, footer), the thread, the lists and the links, weighed into one score.
The new text is first cut at an "On ... wrote:" line, and a forwarded mail counts as said."""
from __future__ import annotations

import math
from collections.abc import Sequence

from ..model import BodyPart, Link, Message, Reason, Verdict
from .fold import fold
from .load import load_rules
from .matcher import Matcher, keys_in
from .partners import MAX_PARTNERS, dedupe, partners_in
from .rules import Compiled, Member, Rules

_SUBJECT, _NEW, _QUOTED = BodyPart.SUBJECT.value, BodyPart.NEW.value, BodyPart.QUOTED.value
_SIGNATURE, _FOOTER = BodyPart.SIGNATURE.value, BodyPart.FOOTER.value
_EVIDENCE_MAX = 100


def classify(message: Message, links: Sequence[Link] = (), rules: Rules | None = None) -> Verdict:
    """Weigh the evidence in a message and its links; deterministic for given rules."""
    rules = rules or load_rules()
    comp = rules.compiled
    new_text = message.new_text
    if rules.max_chars and len(new_text) > rules.max_chars:
        new_text = new_text[:rules.max_chars]
    folded_new = fold(new_text)
    keys_new = keys_in(folded_new)
    cut = _attribution(folded_new, keys_new, comp)
    if cut is not None:
        new_text, folded_new = new_text[:cut[0]], folded_new[:cut[0]]
        keys_new = keys_in(folded_new)
    forwarded = "" if cut is not None else _forwarded(message, folded_new, keys_new, comp)
    if forwarded:
        new_text = f"{new_text}\n{forwarded}" if new_text.strip() else forwarded
        folded_new = fold(new_text)
        keys_new = keys_in(folded_new)
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
            folded[part] = (low, keys_in(low))
        reasons.extend(_reasons_in(text, *folded[part], part, matcher, members))

    reply_evidence = "" if forwarded else _reply_evidence(message, cut)
    in_new = partners_in(new_text, folded_new, keys_new, comp) if new_text else []
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
                                          ", ".join(dedupe(named)[:MAX_PARTNERS]), where))
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
                   partners=tuple(dedupe([*in_subject, *in_new])[:MAX_PARTNERS]),
                   rules=rules.fingerprint)


def _reasons_in(text: str, folded: str, keys: set[bytes], part: str, matcher: Matcher,
                members: Sequence[Member]) -> list[Reason]:
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


def _subject_evidence(subject: str, comp: Compiled) -> tuple[tuple[Reason, ...], tuple[str, ...]]:
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
            keys = keys_in(low)
            for part, matcher, members in comp.parts:
                if part == _SUBJECT:
                    reasons = _reasons_in(subject, low, keys, part, matcher, members)
            partners = partners_in(subject, low, keys, comp)
        known = comp.subjects[subject] = (tuple(reasons), tuple(partners))
    return known


def _evidence(text: str, start: int, end: int) -> str:
    snippet = " ".join(text[start:end].split())
    return snippet if len(snippet) <= _EVIDENCE_MAX else snippet[:_EVIDENCE_MAX - 1] + "…"


def _attribution(folded_new: str, keys: set[bytes], comp: Compiled) -> tuple[int, int] | None:
    """The line of an "On ... wrote:" in the new text: what follows it is quoted, markers or
    not (archives often lost the "> "). Returns (line start, match end)."""
    if not folded_new:
        return None
    found = comp.attribution.find(folded_new, keys)
    if not found:
        return None
    start, _, end, _ = found[0]
    return folded_new.rfind("\n", 0, start) + 1, end


def _forwarded(message: Message, folded_new: str, keys: set[bytes], comp: Compiled) -> str:
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
        found = comp.forward.find(head, keys_in(head))
        if not found:
            return ""
        start = found[0][2]
    lines = quoted[start:].split("\n")
    return "\n".join(line[1:].lstrip(" ") if line.startswith(">") else line for line in lines)


def _reply_evidence(message: Message, cut: tuple[int, int] | None) -> str:
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
