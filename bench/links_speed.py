"""Link extraction speed: messages per second, and the pathological inputs.

Usage: .venv/bin/python bench/links_speed.py [--messages 5000] [--rounds 3]

Generates (once) a synthetic corpus with ../shared/bench/make_corpus.py into bench/out/,
parses it with digest.parse (not timed), then times `extract_links` alone over every message.
Also times inputs built to defeat careless regexes: a 1 MB line of punctuation and a
50,000-character URL. Prints figures; asserts nothing.
"""
from __future__ import annotations

import argparse
import importlib
import mailbox
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import digest.links  # noqa: E402
from digest.links import extract_from_text, extract_links  # noqa: E402
from digest.parse import parse_message  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def corpus(n: int) -> Path:
    out = ROOT / "bench" / "out" / f"{n}.mbox"
    if not out.exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"no corpus generator at {MAKE_CORPUS}")
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--messages", str(n),
                        "--mbox", str(out)], check=True, stderr=subprocess.DEVNULL)
    return out


def clear_caches() -> None:
    """Empty every memo of digest.links's modules (per-URL facts, cleaned labels, footers)."""
    for name in pkgutil.iter_modules(digest.links.__path__):
        module = importlib.import_module(f"digest.links.{name.name}")
        for fn in vars(module).values():
            if callable(getattr(fn, "cache_clear", None)):
                fn.cache_clear()


def timed(label: str, fn, *args) -> None:
    t0 = time.perf_counter()
    result = fn(*args)
    ms = (time.perf_counter() - t0) * 1000
    print(f"{label:<44} {ms:8.1f} ms  ({len(result)} links)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)

    path = corpus(args.messages)
    t0 = time.perf_counter()
    messages = [parse_message(m.as_bytes()) for m in mailbox.mbox(str(path))]
    parse_s = time.perf_counter() - t0
    chars = sum(len(m.text) for m in messages)
    with_html = sum(1 for m in messages if m.html)
    print(f"{len(messages)} messages from {path.name} ({chars / 1e6:.1f} M chars of text, "
          f"{with_html} with an HTML part), parsed in {parse_s:.1f} s (not counted)")
    per = sum(len(extract_links(m)) for m in messages) / max(1, len(messages))
    print(f"{per:.1f} links per message (boilerplate and quoted copies included)")

    best_text = best_all = float("inf")
    links = 0
    # CPU time of this process (the machine may be shared); the caches are emptied before
    # every round so that no round profits from having seen the corpus before.
    for _ in range(args.rounds):
        clear_caches()
        t0 = time.process_time()
        for m in messages:
            extract_from_text(m.text, footer=m.footer, quoted_text=m.quoted_text)
        best_text = min(best_text, time.process_time() - t0)
        clear_caches()
        t0 = time.process_time()
        links = sum(len(extract_links(m)) for m in messages)
        best_all = min(best_all, time.process_time() - t0)
    n = len(messages)
    print(f"text parts only (no HTML parsing)   {n / best_text:10,.0f} messages/s "
          f"({best_text * 1e6 / n:.0f} us/message)")
    print(f"extract_links (text + HTML anchors) {n / best_all:10,.0f} messages/s "
          f"({best_all * 1e6 / n:.0f} us/message, {links} links, best of {args.rounds})")

    print("pathological inputs:")
    timed("1 MB line of punctuation", extract_from_text, "!.,:;)(<>[]%_/-" * 70_000)
    timed("50,000-character URL", extract_from_text,
          "see https://example.org/" + "abc/%20_-" * 5_500 + " ok")
    timed("50,000-character URL inside <...>", extract_from_text,
          "<https://example.org/" + "abc/%20_-" * 5_500 + ">")
    timed("URL + 200,000 closing parentheses", extract_from_text,
          "https://example.org/" + ")" * 200_000)
    timed("10,000 wrapped continuation lines", extract_from_text,
          "https://example.org/" + "a" * 70 + "_\n" + ("b_" * 35 + "\n") * 10_000)
    timed("1 MB of '<' then a URL", extract_from_text, "<" * 1_000_000 + "https://x.org/")
    timed("20,000 bare URLs on one line", extract_from_text, "https://x.org/a " * 20_000)
    timed("20,000 unclosed <URLs on one line", extract_from_text, "<https://x.org/a " * 20_000)
    timed("500 kB quote prefix, 2,000 URLs after it", extract_from_text,
          ">" * 500_000 + " https://x.org/a" * 2_000)
    return 0


if __name__ == "__main__":
    sys.exit(main())
