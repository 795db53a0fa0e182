"""The fast multi-pattern matcher (digest/classify/matcher.py, patterns taken apart by
digest/classify/patterns.py): however patterns are expanded, grouped, filed and gated for speed,
it finds exactly what plain re finds."""
from __future__ import annotations

import random
import re

from digest.classify import fold, load_rules
from digest.classify.fold import fold_pattern
from digest.classify.matcher import keys_in, matcher

from test_classify import ANNOUNCEMENT, FIXTURES


def test_the_fast_matcher_finds_exactly_what_re_finds() -> None:
    """Patterns are expanded, grouped and gated for speed (matcher.py); none of that may change
    where a bundled pattern matches."""
    texts = [ANNOUNCEMENT, (FIXTURES / "sample.mbox").read_text(encoding="utf-8"),
             "Wikimédia France a signé une convention de partenariat avec la ville de Lyon ; "
             "in Zusammenarbeit mit dem Landesarchiv; firmaron un convenio de colaboración; "
             "em parceria com o Arquivo; in collaborazione con il Museo; شراكة مع المكتبة; "
             "соглашение о сотрудничестве. Why? We're hiring! Job opening, vacancy, ballot.",
             "On Mon, 5 Mar 2012, Someone wrote:\n> quoted\n== Heading ==\nThanks, co-operation "
             "and cc-by-sa; zero-rated; the partnership will; with this partnership; roll-out."]
    checked = 0
    for rule in load_rules().rules:
        for pattern in rule.patterns if rule.kind == "text" else ():
            fast = matcher([(0, [pattern], rule.name)])
            plain = re.compile(fold_pattern(pattern))
            for text in texts:
                low = fold(text)
                assert {m[0] for m in fast.find(low, keys_in(low))} == {
                    m.start() for m in plain.finditer(low)}, (rule.name, pattern)
                checked += 1
    assert checked > 500


def test_patterns_searched_whole_are_found_where_re_finds_them() -> None:
    """A pattern whose first word is common is found by str.find of its literal start, then
    re.match (matcher.py): as with re.finditer, no match may start inside the one before."""
    cases = [(r"\bthe the\b", "the the the the the"),
             (r"\bwith a (?:a )?with\b", "with a with a with a a with"),
             (r"\bi think\b", "Xi think; I think I think"),
             (r"\A\W*(?:thanks|merci|danke)\b", "... Thanks, all"),
             (r"\A\W*(?:thanks|merci|danke)\b", "Dear all, thanks")]
    for pattern, text in cases:
        low = fold(text)
        fast = matcher([(0, [pattern], "test")])
        assert [m[0] for m in fast.find(low, keys_in(low))] == [
            m.start() for m in re.finditer(pattern, low)], pattern


def test_a_pattern_matches_inside_longer_words_and_after_any_punctuation_as_re_does() -> None:
    """The matcher files patterns under the words a text holds (matcher.py): a pattern that
    ends mid-word (`\\bnew`) must still find "newsletter", and a word after non-ASCII
    punctuation or inside a script with combining vowel signs must still be seen as a word."""
    cases = [(r"\bnews", "our Newsletter", [4]), (r"\bnew(?:s|ly)", "the newsletter", [4]),
             (r"\bnew", "renewal, newest", [9]), (r"\bpartner", "•partnership", [1]),
             (r"\bmou\b", "•MoU signed", [1]), (r"\bété", "•Été 2024", [1]),
             ("साझेदारी", "नई साझेदारी की घोषणा", [3])]
    for pattern, text, starts in cases:
        low = fold(text)
        fast = matcher([(0, [pattern], "test")])
        assert [m[0] for m in fast.find(low, keys_in(low))] == starts == [
            m.start() for m in re.finditer(fold_pattern(pattern), low)], pattern


def test_every_bundled_pattern_matches_where_re_does_in_mixed_random_text() -> None:
    """Words of the bundled patterns, lengthened, capitalised and joined by ASCII and
    non-ASCII punctuation: the fast matcher and plain re agree on every one."""
    patterns = [(r.name, p) for r in load_rules().rules if r.kind == "text" for p in r.patterns]
    words = sorted({w for _, p in patterns for w in re.findall(r"[^\W\d_]{2,}", p)})
    seps = [" ", ", ", ". ", "•", "·", "…", "—", "«", "\u00a0", "-", "’", "\n> ", "¿", "、"]
    pick = random.Random(7)
    texts = ["".join(pick.choice(words) + pick.choice(["", "", "s", "letter", "é"])
                     + pick.choice(seps) for _ in range(pick.randint(3, 25)))
             for _ in range(300)]
    matchers = [(matcher([(0, [p], name)]), re.compile(fold_pattern(p)), name)
                for name, p in patterns]
    for text in texts:
        low = fold(text)
        keys = keys_in(low)
        for fast, plain, name in matchers:
            assert {m[0] for m in fast.find(low, keys)} == {
                m.start() for m in plain.finditer(low)}, (name, plain.pattern, text)


def test_evidence_and_counter_evidence_starting_alike_are_both_found() -> None:
    """Patterns with the same first word share a regex, which reports one match a position:
    a counter-evidence rule must never be hidden behind evidence that starts like it."""
    groups = [(0, [r"\bnew partnership\b"], "evidence"),
              (1, [r"\bnew partnership (?:was )?(?:ended|cancelled)\b"], "counter-evidence")]
    fast = matcher(groups, [True, False])
    text = fold("The new partnership ended last week.")
    assert sorted(tag for _, _, _, tag in fast.find(text, keys_in(text))) == [0, 1]
