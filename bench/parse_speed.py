"""Reading and parsing speed on one core: sources.local.read_path and parse.parse_message.

Usage: .venv/bin/python bench/parse_speed.py [--messages 2000] [--rounds 3]

Generates (once) the same synthetic corpus as mbox, pipermail months and a Maildir with
../shared/bench/make_corpus.py into bench/out/, then times, for each form, splitting alone and
splitting + parsing. Prints messages per second (best of the rounds); asserts nothing.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from digest.model import Defect  # noqa: E402
from digest.parse import parse_message  # noqa: E402
from digest.sources.local import read_path  # noqa: E402

MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def corpus(n: int) -> Path:
    out = ROOT / "bench" / "out" / f"parse-{n}"
    if not (out / "done").exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"no corpus generator at {MAKE_CORPUS}")
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--messages", str(n),
                        "--mbox", str(out / "all.mbox"), "--pipermail", str(out / "pipermail"),
                        "--maildir", str(out / "maildir")], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (out / "done").write_text("")
    return out


def run(paths: list[Path], parse: bool) -> int:
    count = 0
    for path in paths:
        for item in read_path(path):
            if isinstance(item, Defect):
                continue
            if parse:
                parse_message(*item)
            count += 1
    return count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    out = corpus(args.messages)
    forms = {
        "mbox": [out / "all.mbox"],
        "pipermail": sorted((out / "pipermail").rglob("*.txt")),
        "maildir": [out / "maildir"],
    }
    for name, paths in forms.items():
        for parse in (False, True):
            best = float("inf")
            count = 0
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                count = run(paths, parse)
                best = min(best, time.perf_counter() - t0)
            what = "read_path + parse_message" if parse else "read_path alone"
            print(f"{name:10} {what:26} {count:6} messages  {count / best:8.0f} msg/s (one core)")


if __name__ == "__main__":
    main()
