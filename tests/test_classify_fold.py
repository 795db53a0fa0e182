"""Text folding (digest/classify/fold.py): lowercase, accent-free, one character for one."""
from __future__ import annotations

from digest.classify import fold
from digest.classify.fold import _fold_by_runs


def test_fold_is_lower_then_the_table_whatever_the_characters() -> None:
    """fold() replaces each distinct character in the UTF-8 (fold.py); that must give what
    str.lower() and the fold table give, also for "İ" (two characters in lower()), a capital
    sigma (lowered by context) and characters folded into ones the table folds again."""
    samples = ["ΣΟΦΙΑ Σ ΑΣ.", "İstanbul İİ", "Ǿresund ø ǿ", "ϔ Υ ϒ", "Wikimédia ÆØÅ æøå",
               "Straße ẞ", "Kelvin \u212a \u2126", "“quotes” — and… nbsp\u00a0", "\udc80 x",
               "Ελληνικά Русский Ўзбек", "中文 パートナー", "ASCII only", ""]
    samples += [f"A{chr(cp)}b{chr(cp).upper()} ø" for cp in range(0x80, 0x2100)]
    for text in samples:
        assert fold(text) == _fold_by_runs(text), ascii(text)
        assert len(fold(text)) == len(text)
