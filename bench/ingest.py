"""Ingest speed and memory: a generated corpus into a fresh store, figures on stdout.

    .venv/bin/python bench/ingest.py            # 20,000 messages
    .venv/bin/python bench/ingest.py --large    # and 100,000 messages

Corpora come from ../shared/bench/make_corpus.py and are cached in bench/out/ (gitignored).
Peak RSS is this process plus its largest worker (getrusage of self and children).
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
sys.path.insert(0, str(ROOT))

from digest.ingest import ingest_paths  # noqa: E402
from digest.store.sqlite import SQLiteStore  # noqa: E402


def corpus(messages: int) -> Path:
    """The cached mbox of `messages` messages, generated once."""
    path = OUT / f"corpus-{messages}.mbox"
    if not path.exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"{MAKE_CORPUS}: not found (the shared benchmark generator is needed)")
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        print(f"generating {path.name} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--messages", str(messages),
                        "--seed", "1", "--mbox", str(partial)], check=True)
        partial.rename(path)
    return path


def run(messages: int, workers: int | None) -> None:
    source = corpus(messages)
    load = os.getloadavg()[0]
    db = OUT / f"bench-{messages}.sqlite3"
    for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    store = SQLiteStore(db)
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    summary = ingest_paths([source], store, workers=workers)
    elapsed = time.perf_counter() - started
    stats = store.stats()
    store.close()
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main, cpu_workers = (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
                             for a, b in zip(after, before))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    size_mb = source.stat().st_size / 1e6
    print(f"corpus: {summary.messages} messages, {size_mb:.0f} MB mbox ({source.name})")
    print(f"  {summary.line()}")
    print(f"  stored: {stats['messages']} messages, {stats['threads']} threads, "
          f"{stats['links']} links, {stats['partnership']} partnership, {stats['defects']} defects")
    print(f"  speed: {summary.messages / elapsed:,.0f} messages/s ({elapsed:.1f} s, "
          f"workers={workers or 'one per core'})")
    print(f"  CPU: main process {cpu_main:.1f} s ({cpu_main / summary.messages * 1000:.2f} ms a "
          f"message), workers {cpu_workers:.1f} s ({cpu_workers / summary.messages * 1000:.2f} "
          f"ms a message); load average before the run {load:.1f}")
    print(f"  peak RSS: main {own:.0f} MB + largest worker {children:.0f} MB "
          f"= {own + children:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the 100,000-message corpus")
    parser.add_argument("--messages", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    args = parser.parse_args()
    run(args.messages, args.workers)
    if args.large:
        run(100_000, args.workers)


if __name__ == "__main__":
    main()
