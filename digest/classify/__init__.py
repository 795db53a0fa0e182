"""Message (+ links) -> Verdict: is this a partnership announcement, how sure, and why.

Weighted evidence, not a model: every rule and weight lives in `digest/rules.toml` (overridable),
each rule that fires becomes a `Reason`, and the score is a logistic of their sum, so `--explain`
can say exactly why a message was kept or dropped. Pure: no store, no network, no file read
except the packaged rules (and an override file when the caller names one).

Where each role lives:

    weigh.py     classify(): the evidence in each part of a message, weighed into a Verdict
    partners.py  find_partners(): the organisations a message names as partners
    rules.py     Rule, PartnerRules, Rules (data) and their compiled form (matchers per part)
    load.py      load_rules(): rules.toml + an override file -> Rules, checked key by key
    matcher.py   the fast multi-pattern matcher: many patterns, few cheap scans
    patterns.py  one pattern taken apart: expanded, its literal start, the words it needs
    fold.py      fold(): lowercase, accent-free text of the same length (what is matched)
    present.py   verdict_json(), explain_lines(): a verdict as the faces print it
"""
from __future__ import annotations

from .fold import fold
from .load import load_rules
from .partners import find_partners
from .present import explain_lines, verdict_json
from .rules import KINDS, PARTS, PartnerRules, Rule, Rules
from .weigh import classify

__all__ = ["KINDS", "PARTS", "PartnerRules", "Rule", "Rules", "classify", "explain_lines",
           "find_partners", "fold", "load_rules", "verdict_json"]
