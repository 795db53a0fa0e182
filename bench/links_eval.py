"""Link extraction quality on the labelled dev corpus, against two general URL finders.

Usage: .venv/bin/python bench/links_eval.py [--corpus DIR] [--cases FILE] [--quiet]

For every message of ../shared/corpus/dev/*.json the expected set is its `links` field (every
http/https URL in the body, repaired where it was wrapped). Each extractor's http/https URLs
are compared with it as sets per message; precision, recall and F1 are micro-averaged over all
messages, and every miss and false positive is printed. The reference points are urlextract and
linkify-it-py (the `bench` extra), both run offline with their bundled data.

A second table does the same on tests/fixtures/links_cases.json: short texts written for the
test suite, one per hard case of issue 3 (wrapped, bracketed, footnoted, obfuscated, redirected
URLs), whose expected links are the URLs as they should be fetched.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.links import extract_from_text  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
DEFAULT_CASES = ROOT / "tests" / "fixtures" / "links_cases.json"
Extractor = Callable[[str], list[str]]


def comparable(url: str) -> str:
    """Scheme and host case and an empty path's "/" do not make two URLs different."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    path = parts.path if parts.path != "/" else ""
    rest = url[len(parts.scheme) + 3 + len(parts.netloc):]
    rest = path + rest[len(parts.path):] if rest.startswith(parts.path) else rest
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{rest}"


def web_only(found: list[str]) -> set[str]:
    """The http(s) links of a tool's output; a bare "www." link counts as http://www..."""
    out = set()
    for u in found:
        if u.lower().startswith("www."):
            u = "http://" + u
        if u.lower().startswith(("http://", "https://")):
            out.add(comparable(u))
    return out


def ours() -> Extractor:
    return lambda body: [lk.url for lk in extract_from_text(body)]


def urlextract_tool() -> Extractor | None:
    try:
        from urlextract import URLExtract
    except ImportError:
        return None
    # The bundled TLD list is read from the package; update() (network) is never called.
    finder = URLExtract(extract_email=False, extract_localhost=False)
    return lambda body: list(finder.find_urls(body, only_unique=True))


def linkify_tool() -> Extractor | None:
    try:
        from linkify_it import LinkifyIt
    except ImportError:
        return None
    finder = LinkifyIt()
    return lambda body: [m.raw for m in (finder.match(body) or [])]


def evaluate(name: str, extract: Extractor, corpus: list[tuple[str, dict]], quiet: bool) -> tuple[float, float, float]:
    tp = fp = fn = 0
    problems: list[str] = []
    for fname, msg in corpus:
        expected = {comparable(u) for u in msg["links"]}
        found = web_only(extract(msg["body"]))
        tp += len(expected & found)
        for u in sorted(expected - found):
            problems.append(f"  miss  {fname}: {u}")
        for u in sorted(found - expected):
            problems.append(f"  false {fname}: {u}")
        fn += len(expected - found)
        fp += len(found - expected)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    print(f"{name:<14} precision {p:.3f}  recall {r:.3f}  F1 {f1:.3f}  "
          f"(tp {tp}, fp {fp}, fn {fn})")
    if not quiet:
        for line in problems:
            print(line)
    return p, r, f1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--cases", type=Path, default=DEFAULT_CASES)
    ap.add_argument("--quiet", action="store_true", help="figures only, no misses listed")
    args = ap.parse_args(argv)
    tools = [("digest.links", ours())]
    for name, make in (("urlextract", urlextract_tool), ("linkify-it-py", linkify_tool)):
        tool = make()
        if tool is None:
            print(f"{name:<14} not installed (pip install -e '.[bench]')")
        else:
            tools.append((name, tool))
    files = sorted(args.corpus.glob("*.json"))
    if files:
        corpus = [(f.name, json.loads(f.read_text(encoding="utf-8"))) for f in files]
        run_table(f"dev corpus: {args.corpus}", corpus, tools, args.quiet)
    else:
        print(f"no dev corpus at {args.corpus} (skipped)")
    if args.cases.exists():
        cases = [(c["name"], c) for c in json.loads(args.cases.read_text(encoding="utf-8"))]
        run_table(f"hard cases: {args.cases.relative_to(ROOT)}", cases, tools, args.quiet)
    return 0


def run_table(title: str, corpus: list[tuple[str, dict]], tools: list[tuple[str, Extractor]],
              quiet: bool) -> None:
    n_links = sum(len(m["links"]) for _, m in corpus)
    print(f"\n== {title}: {len(corpus)} messages, {n_links} expected http(s) links")
    for name, tool in tools:
        evaluate(name, tool, corpus, quiet)


if __name__ == "__main__":
    sys.exit(main())
