"""Ingest speed and memory: a generated corpus into a fresh store, figures on stdout.

    .venv/bin/python bench/ingest.py            # 20,000 messages
    .venv/bin/python bench/ingest.py --large    # and 100,000 messages
    .venv/bin/python bench/ingest.py --compare-mu   # and `mu index` on the same messages

Corpora come from ../shared/bench/make_corpus.py and are cached in bench/out/ (gitignored).
With --compare-mu the same corpus is also written as a Maildir (cached too), indexed by
`mu index` in a fresh MUHOME, and ingested by us from that Maildir, all in the same run.
Peak RSS is this process plus its largest worker (getrusage of self and children); corpora
are generated first and the figures taken in a fresh process, so the generator never counts.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
MAKE_CORPUS = ROOT.parent / "shared" / "bench" / "make_corpus.py"
sys.path.insert(0, str(ROOT))

from digest.ingest import ingest_paths  # noqa: E402
from digest.store.sqlite import SQLiteStore  # noqa: E402


def corpus_path(messages: int, maildir: bool = False) -> Path:
    return OUT / (f"corpus-{messages}.maildir" if maildir else f"corpus-{messages}.mbox")


def corpus(messages: int, maildir: bool = False) -> Path:
    """The cached mbox (or Maildir) of `messages` messages, generated once."""
    path = corpus_path(messages, maildir)
    if not path.exists():
        if not MAKE_CORPUS.exists():
            sys.exit(f"{MAKE_CORPUS}: not found (the shared benchmark generator is needed)")
        OUT.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        shutil.rmtree(partial, ignore_errors=True) if maildir else partial.unlink(missing_ok=True)
        print(f"generating {path.name} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(MAKE_CORPUS), "--messages", str(messages),
                        "--seed", "1", "--maildir" if maildir else "--mbox", str(partial)],
                       check=True)
        partial.rename(path)
    return path


def run(messages: int, workers: int | None, maildir: bool = False) -> float:
    """Ingest the corpus into a fresh store, print the figures, return messages per second."""
    source = corpus(messages, maildir)
    load = os.getloadavg()[0]
    db = OUT / f"bench-{messages}.sqlite3"
    for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        leftover.unlink(missing_ok=True)
    store = SQLiteStore(db)
    before = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    summary = ingest_paths([source], store, workers=workers)
    store.close()  # timed too: it checkpoints what is left in the write-ahead log
    elapsed = time.perf_counter() - started
    with SQLiteStore(db) as reopened:
        stats = reopened.stats()
    after = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_main, cpu_workers = (a.ru_utime + a.ru_stime - b.ru_utime - b.ru_stime
                             for a, b in zip(after, before))
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if maildir:
        files = sum(1 for sub in ("cur", "new") for _ in (source / sub).iterdir())
        described = f"Maildir of {files} files"
    else:
        described = f"{source.stat().st_size / 1e6:.0f} MB mbox"
    print(f"corpus: {summary.messages} messages, {described} ({source.name})")
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
    return summary.messages / elapsed


def mu_index(messages: int) -> float | None:
    """`mu index` of the same corpus as a Maildir in a fresh MUHOME: messages per second, or
    None (with a note) when mu is not installed."""
    mu = shutil.which("mu")
    if mu is None:
        print("mu: not installed (apt-get install maildir-utils), no comparison")
        return None
    maildir = corpus(messages, maildir=True)
    with tempfile.TemporaryDirectory(prefix="digest-bench-mu-") as home:
        subprocess.run([mu, "init", f"--muhome={home}", f"--maildir={maildir}"], check=True,
                       stdout=subprocess.DEVNULL)
        started = time.perf_counter()
        subprocess.run([mu, "index", f"--muhome={home}"], check=True, stdout=subprocess.DEVNULL)
        elapsed = time.perf_counter() - started
        info = subprocess.run([mu, "info", f"--muhome={home}", "store"], capture_output=True,
                              text=True).stdout
    stored = [line.split("|")[2] for line in info.splitlines() if "messages in store" in line]
    count = int(stored[0]) if stored and stored[0].strip().isdigit() else messages
    version = subprocess.run([mu, "--version"], capture_output=True, text=True).stdout
    print(f"mu index ({version.splitlines()[0] if version else 'mu'}): {count} messages "
          f"in {elapsed:.1f} s = {count / elapsed:,.0f} messages/s")
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also the 100,000-message corpus")
    parser.add_argument("--messages", type=int, default=20000, help="corpus size (default 20000)")
    parser.add_argument("--workers", type=int, default=None, help="parser processes")
    parser.add_argument("--compare-mu", action="store_true",
                        help="also time `mu index` and our ingest on the same corpus as a Maildir")
    args = parser.parse_args()
    wanted = [(args.messages, False)] + [(args.messages, True)] * args.compare_mu \
        + [(100_000, False)] * args.large
    if any(not corpus_path(size, maildir).exists() for size, maildir in wanted):
        for size, maildir in wanted:
            corpus(size, maildir)
        # The generator was our child, so its memory now counts in RUSAGE_CHILDREN: measure in
        # a fresh process whose children are only the ingest workers (and mu).
        sys.exit(subprocess.call([sys.executable, *sys.argv]))
    ours = run(args.messages, args.workers)
    if args.compare_mu:
        ours_maildir = run(args.messages, args.workers, maildir=True)
        theirs = mu_index(args.messages)  # last: its memory would count as our children's
        if theirs:
            print(f"ratio: digest ingest {ours:,.0f} msg/s (mbox), {ours_maildir:,.0f} msg/s "
                  f"(Maildir) vs mu index {theirs:,.0f} msg/s = {ours / theirs:.1f}x "
                  f"(mbox), {ours_maildir / theirs:.1f}x (Maildir)")
    if args.large:
        run(100_000, args.workers)


if __name__ == "__main__":
    main()
