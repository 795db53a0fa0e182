"""Peak memory of an ingest whose archive holds one huge message, among ordinary ones.

    .venv/bin/python bench/huge_message.py             # 50 MB (skipped) and just under the cap

Issue 2 lists "a 50 MB message" among the bad inputs and caps peak memory at 250 MB whatever
the archive. A message over MAX_MESSAGE_BYTES is skipped while streaming, with a defect; one just
under it goes through every stage. Each case runs in a fresh process (so that neither the other
case nor the writing of the file counts) and prints the peak RSS of the process and of its
largest worker, as bench/ingest.py does.
"""
from __future__ import annotations

import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = ("the partnership library museum wikimedia commons archive photographs open data "
         "free licence volunteers upload https://commons.wikimedia.org/wiki/Category:Example "
         "agreement collection").split()


def write(path: Path, body_bytes: int, ordinary: int = 200) -> None:
    """An mbox: one message of about `body_bytes` of prose with links, then `ordinary` small
    ones."""
    rng = random.Random(1)
    with open(path, "wb") as out:
        out.write(b"From a@example.org Mon Jan  2 10:00:00 2017\nFrom: A <a@example.org>\n"
                  b"Subject: huge\nMessage-ID: <huge@example.org>\n"
                  b"Date: Mon, 2 Jan 2017 10:00:00 +0000\n\n")
        size = 0
        while size < body_bytes:
            line = (" ".join(rng.choice(WORDS) for _ in range(12)) + "\n").encode()
            out.write(line)
            size += len(line)
        for i in range(ordinary):
            out.write(f"\nFrom b@example.org Mon Jan  2 10:00:00 2017\nFrom: B <b@example.org>\n"
                      f"Subject: ordinary {i}\nMessage-ID: <m{i}@example.org>\n"
                      f"Date: Mon, 2 Jan 2017 11:00:00 +0000\n\nHello {i}.\n".encode())


def measure(path: str) -> None:
    """Ingest `path` into a fresh store; print the summary, the defects and the peak RSS."""
    from digest.ingest import ingest_paths
    from digest.store.sqlite import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "s.sqlite3")
        started = time.perf_counter()
        summary = ingest_paths([path], store)
        store.close()
        elapsed = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  {summary.line()} ({elapsed:.1f} s)")
    for defect in summary.defects:
        print(f"  defect: {defect}")
    print(f"  peak RSS: main {own:.0f} MB + largest worker {children:.0f} MB "
          f"= {own + children:.0f} MB")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--measure":
        measure(sys.argv[2])
        return
    from digest.sources.local import MAX_MESSAGE_BYTES

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    for label, size in (("50 MB message", 50_000_000),
                        (f"message just under the {MAX_MESSAGE_BYTES:,}-byte cap",
                         MAX_MESSAGE_BYTES - 4096)):
        path = out / f"huge-{size}.mbox"
        if not path.exists():
            write(path, size)
        print(f"{label} + 200 ordinary ones ({path.stat().st_size / 1e6:.0f} MB mbox):")
        subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True)


if __name__ == "__main__":
    main()
