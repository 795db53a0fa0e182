"""How well `find_partners` names the outside organisations of the labelled dev messages.

Usage: .venv/bin/python bench/partners_eval.py [--corpus DIR] [--quiet]

For every message of ../shared/corpus/dev/*.json that lists `partner_orgs`, the names found in
its subject and new text are compared with them. A found name matches a labelled one when,
folded (case and accents) and without a parenthesised part, one holds the other as whole words
("Federal Archive" matches "German Federal Archive (Bundesarchiv)"). Precision is the share of
found names that match some label, recall the share of labels some found name matches; every
message with a miss or an extra name is printed.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.classify import find_partners, fold, load_rules  # noqa: E402
from digest.parse import split_body  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev"


def key(name: str) -> str:
    return " ".join(re.sub(r"\([^)]*\)|[^\w\s]", " ", fold(name)).split())


def matches(found: str, wanted: str) -> bool:
    a, b = key(found), key(wanted)
    return bool(a and b) and (f" {a} " in f" {b} " or f" {b} " in f" {a} ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--quiet", action="store_true", help="figures only")
    args = parser.parse_args()
    files = sorted(args.corpus.glob("*.json"))
    if not files:
        print(f"(partners skipped: no labelled messages at {args.corpus}; ../shared is needed)")
        return 0
    rules = load_rules()
    found_n = found_ok = wanted_n = wanted_ok = messages = 0
    for path in files:
        item = json.loads(path.read_text(encoding="utf-8"))
        wanted = item.get("partner_orgs") or []
        if not wanted:
            continue
        messages += 1
        found = find_partners(item.get("subject", ""), split_body(item["body"])[0], rules)
        good = [f for f in found if any(matches(f, w) for w in wanted)]
        hit = [w for w in wanted if any(matches(f, w) for f in found)]
        found_n, found_ok = found_n + len(found), found_ok + len(good)
        wanted_n, wanted_ok = wanted_n + len(wanted), wanted_ok + len(hit)
        if not args.quiet and (len(good) < len(found) or len(hit) < len(wanted)):
            print(f"  {path.name}: found {list(found)}, labelled {wanted}")
    precision = found_ok / found_n if found_n else 0.0
    recall = wanted_ok / wanted_n if wanted_n else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    print(f"partners: {messages} messages, {wanted_n} labelled names, {found_n} found: "
          f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
