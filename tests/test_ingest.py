"""Ingest: archives to store through every stage, idempotent, crash-safe, never stopped by one
bad message, and summed up in one line."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from digest.ingest import IngestSummary, ingest_paths, ingest_stream, process_raw
from digest.model import Defect, SourceHints
from digest.store.sqlite import SQLiteStore

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"
SHARED = Path(__file__).resolve().parents[2] / "shared"


def write_mbox(path: Path, count: int) -> None:
    """A generated two-list archive: threads of five, every 50th message cross-posted,
    every 97th one repeated (as rebuilt archives do), every 211th with a broken date."""
    with path.open("wb") as out:
        for i in range(count):
            root = i - i % 5
            day, minute = 1 + (i // 400) % 28, i % 1440
            lists = ["wikimedia-l"] + (["wikimediaannounce-l"] if i % 50 == 0 else [])
            for name in lists:
                headers = [
                    f"From user{i % 37}@example.org Mon May  1 10:00:00 2017",
                    f"From: User {i % 37} <user{i % 37}@example.org>",
                    f"To: {name}@lists.wikimedia.org",
                    f"List-Id: {name} <{name}.lists.wikimedia.org>",
                    f"Subject: {'Re: ' if i != root else ''}Topic number {root}",
                    "Date: -0-200" if i % 211 == 7 else
                    f"Date: {day:02d} May 2017 {minute // 60:02d}:{minute % 60:02d}:00 +0000",
                    f"Message-ID: <m{i}@example.org>",
                ]
                if i != root:
                    headers += [f"In-Reply-To: <m{i - 1}@example.org>",
                                f"References: <m{root}@example.org> <m{i - 1}@example.org>"]
                body = [f"Message {i} about topic {root}.",
                        f"See https://meta.wikimedia.org/wiki/Topic_{root} for the details.",
                        "We are happy to announce a partnership with the Example Museum."
                        if i % 50 == 0 else "Thanks for the update.", ""]
                copies = 2 if i % 97 == 3 else 1
                for _ in range(copies):
                    out.write(("\n".join(headers + [""] + body) + "\n").encode())


def fingerprint(store: SQLiteStore) -> list[tuple]:
    """Everything a clean run decides, message by message."""
    rows = []
    for key in store.keys():
        record = store.get(key)
        rows.append((key, record.thread_id, record.message.lists, record.message.date,
                     record.links, record.verdict, record.replies))
    return rows


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


def test_the_summary_line_has_the_documented_shape():
    defects = [Defect("bad-date", "x")] * 3
    summary = IngestSummary(messages=20000, new=19950, duplicates=50, defects=defects,
                            lists={"wikimedia-l", "wikimediaannounce-l"}, seconds=9.8)
    assert summary.line() == ("ingested 20000 messages (19950 new, 50 duplicates, 3 defects) "
                              "from 2 lists in 9.8 s")
    one = IngestSummary(messages=1, new=1, duplicates=1, defects=defects[:1],
                        lists={"wikimedia-l"}, seconds=0.04)
    assert one.line() == "ingested 1 message (1 new, 1 duplicate, 1 defect) from 1 list in 0.0 s"


def test_process_raw_runs_every_stage():
    raw = (FIXTURES / "announce.mbox").read_bytes().split(b"\n\nFrom ", 1)[0]
    item = process_raw(raw, SourceHints(source="announce.mbox", index=1), None)
    assert item.message.key == "announce-1@example.org"
    assert item.message.lists == ("wikimediaannounce-l",)
    assert [(link.ref, link.kind.value) for link in item.links] == [(1, "wiki"), (2, "blog")]
    assert item.links[1].url == "https://diff.wikimedia.org/2017/05/01/example-public-library/"
    assert item.verdict is not None and item.verdict.partnership


def test_fixture_archives_ingest_with_cross_posts_merged_and_defects_counted(store):
    summary = ingest_paths(sorted(FIXTURES.iterdir()), store, workers=0)
    # announce.mbox: 6 mails, one of them a cross-posted copy; the pipermail month: 1 copy
    assert summary.messages == 7
    assert summary.new == 5
    assert summary.duplicates + summary.merged == 2
    assert summary.lists == {"wikimedia-l", "wikimediaannounce-l"}
    kinds = {d.kind for d in summary.defects}
    assert {"bad-date", "no-message-id", "nul-bytes"} <= kinds
    bad_date = next(d for d in summary.defects if d.kind == "bad-date")
    assert (bad_date.index, bad_date.message_id) == (4, "minutes-1@example.com")
    assert bad_date.source.endswith("announce.mbox") and bad_date.offset is not None
    record = store.get("announce-1@example.org")
    assert record.message.lists == ("wikimediaannounce-l", "wikimedia-l")
    assert record.message.obfuscated is False
    assert record.replies == 1
    assert store.stats()["defects"] == len(summary.defects)


def test_a_pipermail_month_mixing_charsets_decodes_each_message_on_its_own(store, tmp_path):
    """Mailman 2 wrote each post's body in the bytes it came in: UTF-8 and windows-1252 sit
    side by side in one month file, none of them declared."""
    def post(n: int, body: bytes) -> bytes:
        return (f"From ann at example.org  Mon May  {n} 10:00:00 2017\n"
                f"From: ann at example.org (Ann Example)\n"
                f"Date: Mon, {n} May 2017 10:00:00 +0000\nSubject: Post {n}\n"
                f"Message-ID: <mixed-{n}@example.org>\n\n").encode() + body + b"\n\n"
    month = tmp_path / "wikimedia-l-2017-May.txt"
    month.write_bytes(post(1, "Wikimédia France à Łódź".encode("utf-8"))
                      + post(2, "Café crème, déjà vu".encode("windows-1252"))
                      + post(3, "Ελληνικά and 日本語".encode("utf-8")))
    summary = ingest_paths([month], store, workers=0)
    assert summary.messages == 3
    texts = [store.get(f"mixed-{n}@example.org").message.text for n in (1, 2, 3)]
    assert texts == ["Wikimédia France à Łódź", "Café crème, déjà vu", "Ελληνικά and 日本語"]
    assert [d.kind for d in summary.defects] == ["bad-charset"]  # only the undeclared 8-bit one
    assert summary.defects[0].message_id == "mixed-2@example.org"


def test_a_second_ingest_of_the_same_files_adds_nothing(store):
    first = ingest_paths(sorted(FIXTURES.iterdir()), store, workers=2)
    before = fingerprint(store), store.stats()
    second = ingest_paths(sorted(FIXTURES.iterdir()), store, workers=2)
    assert first.new == 5
    assert (second.new, second.conflicts, second.messages) == (0, 0, first.messages)
    assert (fingerprint(store), store.stats()) == before


def test_a_missing_path_is_reported_and_the_other_paths_still_ingested(store, tmp_path):
    missing = tmp_path / "nowhere.mbox"
    empty = tmp_path / "empty.mbox"
    empty.write_bytes(b"")
    summary = ingest_paths([missing, empty, FIXTURES / "announce.mbox"], store, workers=0)
    assert summary.files_failed == 1
    assert summary.messages == 6
    unreadable = [d for d in summary.defects if d.kind == "unreadable"]
    assert [d.source for d in unreadable] == [str(missing)]
    assert "nowhere.mbox: unreadable: " in str(unreadable[0])
    assert any(d.source == str(empty) for d in summary.defects)


def test_a_message_whose_processing_fails_is_a_defect_and_the_rest_goes_on(store):
    raws = (FIXTURES / "announce.mbox").read_bytes().split(b"\n\nFrom ")
    items = [(raw if n == 0 else b"From " + raw, SourceHints(index=n + 1, offset=n * 100))
             for n, raw in enumerate(raws) if raw.strip()]
    not_rules = object()  # the classifier cannot use this: every message fails in a stage
    summary = ingest_stream(items, store, workers=0, source="stream.mbox", rules=not_rules)
    if not any(d.kind == "processing-error" for d in summary.defects):
        pytest.skip("the classify stage is not present, nothing fails")
    failed = [d for d in summary.defects if d.kind == "processing-error"]
    assert len(failed) == len(items) and summary.messages == 0
    assert failed[0].source == "stream.mbox" and failed[0].index == 1
    assert failed[0].message_id == "announce-1@example.org"


class DeadlyHints(SourceHints):
    """Hints whose unpickling kills the worker process, as a crashing parser would."""

    def __reduce__(self):
        return os._exit, (3,)


def test_a_message_that_kills_its_worker_is_a_defect_and_the_rest_goes_on(store, tmp_path):
    mbox = tmp_path / "g.mbox"
    write_mbox(mbox, 120)
    from digest.sources.local import read_path

    items = list(read_path(mbox))
    (n,) = [n for n, (raw, _) in enumerate(items) if b"Message-ID: <m51@example.org>" in raw]
    raw, hints = items[n]
    items[n] = (raw, DeadlyHints(source=hints.source, index=hints.index, offset=hints.offset))
    summary = ingest_stream(items, store, workers=2)
    crashed = [d for d in summary.defects if d.kind == "worker-crashed"]
    assert [(d.index, d.message_id) for d in crashed] == [(hints.index, "m51@example.org")]
    assert summary.messages == len(items) - 1
    assert store.get("m51@example.org") is None
    assert store.get("m50@example.org") is not None and store.get("m52@example.org") is not None


def test_source_defects_are_kept_in_order_and_stored_once(store):
    defects = [Defect("truncated-gzip", "unexpected end of data", "a.txt.gz", 900),
               Defect("empty", "empty file", "b.mbox", 0)]
    summary = ingest_stream(defects, store, workers=2)
    ingest_stream(defects, store, workers=2)
    assert summary.defects == defects and summary.messages == 0
    assert store.defects() == defects


def test_progress_reports_a_growing_count_up_to_the_total(store, tmp_path):
    mbox = tmp_path / "g.mbox"
    write_mbox(mbox, 300)
    seen: list[int] = []
    summary = ingest_paths([mbox], store, workers=2, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == summary.messages


def test_the_store_is_the_same_whatever_the_number_of_workers(tmp_path):
    mbox = tmp_path / "g.mbox"
    write_mbox(mbox, 700)
    results = []
    for workers in (0, 2):
        with SQLiteStore(tmp_path / f"w{workers}.sqlite3") as s:
            summary = ingest_paths([mbox], s, workers=workers)
            results.append((fingerprint(s), s.stats(), summary.new,
                            summary.duplicates + summary.merged))
    assert results[0] == results[1]
    fp, stats, new, duplicates = results[0]
    copies = sum((2 if i % 50 == 0 else 1) * (2 if i % 97 == 3 else 1) for i in range(700))
    assert new == 700 and duplicates == copies - 700   # cross-posted and repeated copies
    assert stats["threads"] == 140
    assert stats["lists"]["wikimediaannounce-l"]["messages"] == 14


def _count(path: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM messages").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _cli(*args: str, cwd: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(PYTHONPATH=str(REPO), HOME=str(cwd), XDG_CONFIG_HOME=str(cwd))
    return subprocess.Popen([sys.executable, "-m", "digest.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


@pytest.mark.slow
def test_kill_9_mid_ingest_then_a_rerun_gives_the_store_of_one_clean_run(tmp_path):
    total = 6000
    mbox = tmp_path / "big.mbox"
    write_mbox(mbox, total)
    clean, crashed = tmp_path / "clean.sqlite3", tmp_path / "crashed.sqlite3"
    run = _cli("--store", str(clean), "ingest", "--no-progress", str(mbox), cwd=tmp_path)
    assert run.wait(timeout=600) == 0, run.stderr.read().decode()

    victim = _cli("--store", str(crashed), "ingest", "--no-progress", str(mbox), cwd=tmp_path)
    committed = 0
    while victim.poll() is None and committed < 500:
        time.sleep(0.02)
        committed = _count(crashed)
    os.killpg(victim.pid, signal.SIGKILL)  # the whole group: the ingest and its workers
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    at_kill = _count(crashed)
    assert 0 < at_kill < total
    # whole batches, in archive order: what was committed is the archive's first messages
    db = sqlite3.connect(f"file:{crashed}?mode=ro", uri=True)
    numbers = sorted(int(key[1:].split("@")[0]) for (key,) in db.execute(
        "SELECT key FROM messages WHERE key LIKE 'm%@example.org'"))
    db.close()
    assert numbers == list(range(len(numbers))) and len(numbers) == at_kill

    rerun = _cli("--store", str(crashed), "ingest", "--no-progress", str(mbox), cwd=tmp_path)
    out, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err.decode()
    assert "ingested" in out.decode()

    with SQLiteStore(clean) as a, SQLiteStore(crashed) as b:
        assert a.stats() == b.stats()
        assert a.defects() == b.defects()
        assert fingerprint(a) == fingerprint(b)


def test_every_shared_fixture_ingests_without_an_exception(store):
    folder = SHARED / "fixtures"
    if not folder.is_dir():
        pytest.skip(f"{folder} is absent (the shared real-archive fixtures)")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".md")
    summary = ingest_paths(files, store, workers=2)
    assert summary.messages > 0
    assert not [d for d in summary.defects if d.kind in ("processing-error", "worker-crashed")]
    assert store.stats()["messages"] == summary.new + summary.conflicts
