"""Partner names: the organisations a message names as partners, found next to cue phrases
("partnership with ...", "... has partnered"), as written, with movement entities and
stopwords left out and repeats merged."""
from __future__ import annotations

import re
from collections.abc import Iterable

from .fold import fold
from .load import load_rules
from .matcher import keys_in
from .rules import Compiled, Rules


def _upper_class() -> str:
    chars = [chr(c) for c in range(0x41, 0x530) if chr(c).isupper()]
    return "".join(re.escape(c) for c in chars)


_UP = _upper_class()
_WORD = rf"(?:(?:[dl]['’])?[{_UP}][\w'’&.\-]*\w|[{_UP}]|\d+[\w\-]*|\([^()\n]{{2,40}}\))"
# Words that continue a name ("of", "de", ...) and, more loosely, words that join or lead into
# names ("the", "and", "&", ...): the second only between capitalised words.
_GENITIVE = r"(?:of|de|del|della|des|du|di|da|do|dos|das|für|van|von)"
_CONN = rf"(?:{_GENITIVE}|for|the|der|den|la|le|y|e|and|&|on|am)"
_SEP = r"(?:[ \t]+|[ \t]*\n[ \t]*)"
_HEAD = (r"(?:(?:city|town|museum|ville|musee|muséum|museo|ciudad|cidade|comune|stadt|university|"
         r"universidad|universite|université) (?:of|de|di|du|von|da) )")
# One or two lowercase words inside a name, when "of"/"de" and a capitalised word follow them:
# "Bibliothèque nationale de France", "Archives municipales de Toulouse" (not "X supports us
# and the Museum": "and" and "the" join names, they do not continue one).
_BRIDGE = rf"(?:(?:[^\W\d_{_UP}][\w'’\-]*{_SEP}){{1,2}}(?={_GENITIVE}{_SEP}{_WORD}))"
_NAME = rf"(?:{_HEAD}?{_WORD}(?:{_SEP}{_BRIDGE}?(?:{_CONN}{_SEP})*{_WORD}){{0,8}})"
_NAME_AT = re.compile(_NAME)
_NAME_END = re.compile(rf"(?<![\w'’&.\-])(?:{_NAME})$")
_SPLIT = re.compile(r",\s+|\s+(?:and|y|et|und|e)\s+")
_LEAD = re.compile(r"^(?:(?:the|la|le|les|el|los|las|die|der|das|dem|den|des|il|lo|gli|o|os|a|as)"
                   r"\s+|l'|l’)", re.I)
MAX_PARTNERS = 8


def find_partners(subject: str, new_text: str, rules: Rules | None = None) -> tuple[str, ...]:
    """Outside organisations named as partners, as written (movement entities left out)."""
    comp = (rules or load_rules()).compiled
    found: list[str] = []
    for text in (subject, new_text):
        if text:
            low = fold(text)
            found.extend(partners_in(text, low, keys_in(low), comp))
    return tuple(dedupe(found)[:MAX_PARTNERS])


def partners_in(text: str, folded: str, keys: set[bytes], comp: Compiled) -> list[str]:
    """The names around the partner cues of one text (folded, with its keys, for the matcher)."""
    found: list[str] = []
    cues = comp.partner_cues.find(folded, keys)  # one pass for both kinds of cue
    for _, _, end, tag in cues:
        if tag == 0 and end < len(text) and text[end].isspace():
            n = _NAME_AT.match(_skip_article(text, end))
            if n:  # "partnership with a chapter" names it; "between a chapter and X" not
                explicit = not folded.endswith(comp.between, 0, end)
                found.extend(_names(n.group(0), comp, explicit=explicit))
    for start, _, _, tag in cues:
        if tag == 1 and start and text[start - 1].isspace():
            window = text[max(0, start - 160):start].rstrip().rstrip("*†")
            n = _NAME_END.search(window)
            if n:
                found.extend(_names(n.group(0), comp, explicit=False))
    return found


def _skip_article(text: str, pos: int) -> str:
    rest = text[pos:pos + 200].lstrip().lstrip("\"'“”‘’«»„*")
    m = _LEAD.match(rest)
    return rest[m.end():] if m else rest


def _names(raw: str, comp: Compiled, explicit: bool) -> list[str]:
    out = []
    for piece in _SPLIT.split(" ".join(raw.split())):
        piece = _LEAD.sub("", piece.strip())
        words = piece.split()
        while words and fold(words[0]) in comp.stopwords:
            words.pop(0)
        while words and fold(words[-1]) in comp.stopwords:
            words.pop()
        name = " ".join(words).strip(" .,;:'’\"-")
        if len(name) < 2 or not any(c.isupper() for c in name) or name[0] == "(":
            continue  # a bracketed aside alone ("(Jane Doe)") names no organisation
        if name[:2].lower() in ("d'", "d’"):  # an elided "de": the tail of a longer name
            continue
        key = fold(name)
        if comp.movement is not None and comp.movement.search(key):
            continue
        if comp.affiliates is not None and comp.affiliates.search(key) and not explicit:
            continue
        out.append(name)
    return out


def dedupe(names: Iterable[str]) -> list[str]:
    """Names in order, each once; where one name holds another (or its abbreviation in
    brackets: "WHO", "World Health Organization (WHO)"), the longer one is kept."""
    kept: list[str] = []
    for name in names:
        key = fold(name)
        if any(key == fold(k) or f" {key} " in f" {fold(k)} " or f"({key})" in fold(k)
               for k in kept):
            continue
        kept = [k for k in kept
                if f" {fold(k)} " not in f" {key} " and f"({fold(k)})" not in key]
        kept.append(name)
    return kept
