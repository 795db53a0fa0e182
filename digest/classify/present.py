"""Verdicts for the faces (CLI, web): the JSON shape and the `--explain` lines, so that
`digest classify` and `digest show` print a verdict the same way."""
from __future__ import annotations

from typing import Any

from ..model import Verdict


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
