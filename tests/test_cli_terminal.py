"""On a terminal, long commands draw a progress bar (tqdm) on stderr and still end with their
summary line; run here under a real pseudo-terminal."""
from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_a_terminal(*args: str) -> tuple[int, str]:
    """Exit status and everything written to an 80x24 pseudo-terminal (a terminal of 0
    columns, a pty's default, would make tqdm draw nothing)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
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
    assert "ingested 35 messages" in screen
    assert "messages/s]" in screen  # tqdm's bar: "35 messages [00:00, 107.09 messages/s]"
    assert "\r" in screen.replace("\r\n", "\n")  # redrawn in place, then cleared


def test_no_progress_draws_no_bar_even_on_a_terminal(tmp_path):
    archives = sorted(str(p) for p in (ROOT / "archives").iterdir())
    status, screen = run_on_a_terminal("--store", str(tmp_path / "s.sqlite3"), "ingest",
                                       "--no-progress", *archives)
    assert status == 0 and "ingested 35 messages" in screen
    assert "messages/s]" not in screen and "\r" not in screen.replace("\r\n", "\n")


def test_reclassify_on_a_terminal_shows_progress_too(tmp_path):
    store = str(tmp_path / "s.sqlite3")
    archives = sorted(str(p) for p in (ROOT / "archives").iterdir())
    assert run_on_a_terminal("--store", store, "ingest", "--no-progress", *archives)[0] == 0
    status, screen = run_on_a_terminal("--store", store, "reclassify", "--all")
    assert status == 0 and "reclassified 29 messages" in screen
    assert "messages/s]" in screen
