"""Patterns taken apart (digest/classify/patterns.py): what every match must start with."""
from __future__ import annotations

from digest.classify.patterns import starts


def test_link_rules_look_for_the_literal_starts_of_their_patterns() -> None:
    assert starts(["partnership", r"mou\b", r"\bglam|/wp:twl"]) == (
        "partnership", "mou", "glam", "/wp:twl")
    assert starts(["partnership", r"\d+ free"]) is None
    assert starts(["(?i)partnership"]) is None
