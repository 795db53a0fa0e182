"""On a terminal, long commands draw a progress bar (tqdm) on stderr and still end with their
summary line; run here under a real pseudo-terminal."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "digest.cli", *args], stdin=follower,
                            stdout=follower, stderr=follower, cwd=ROOT, close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_ingest_on_a_terminal_shows_progress_and_the_summary(tmp_path):
    archives = sorted(str(p) for p in (ROOT / "archives").iterdir())
    status, screen = run_on_a_terminal("--store", str(tmp_path / "s.sqlite3"), "ingest",
                                       *archives)
    assert status == 0, screen
    assert "Traceback" not in screen
    assert "messages" in screen and "ingested 35 messages" in screen
    assert "\r" in screen  # the bar redraws itself in place
