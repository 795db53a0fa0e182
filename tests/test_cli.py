"""`digest ingest`, `digest stats` and `digest show` as a user runs them: a real process, a real
store file, output on stdout, problems as one line each on stderr."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "ingest"


def digest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(PYTHONPATH=str(REPO), HOME=str(cwd), XDG_CONFIG_HOME=str(cwd),
               XDG_DATA_HOME=str(cwd / "data"))
    return subprocess.run([sys.executable, "-m", "digest.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def ingested(tmp_path):
    """A store with the fixture archives ingested, and that ingest's result."""
    store = tmp_path / "var" / "digest.sqlite3"   # its folder does not exist yet
    result = digest("--store", str(store), "ingest", *map(str, sorted(FIXTURES.iterdir())),
                    cwd=tmp_path)
    return store, result


def test_ingest_prints_one_summary_line_and_the_defects_on_stderr(ingested):
    store, result = ingested
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ingested 7 messages (5 new, 2 duplicates, ")
    assert result.stdout.rstrip().endswith(" s") and result.stdout.count("\n") == 1
    assert " from 2 lists in " in result.stdout
    assert "\r" not in result.stderr and "messages/s" not in result.stderr  # no bar off a terminal
    lines = result.stderr.splitlines()
    assert any("announce.mbox: message 4: byte " in line and "bad-date" in line
               for line in lines)
    assert store.exists()


def test_a_second_ingest_adds_nothing(ingested, tmp_path):
    store, _ = ingested
    again = digest("--store", str(store), "ingest", *map(str, sorted(FIXTURES.iterdir())),
                   cwd=tmp_path)
    assert again.returncode == 0
    assert again.stdout.startswith("ingested 7 messages (0 new, 7 duplicates, ")


def test_the_store_defaults_to_the_users_data_folder(tmp_path):
    result = digest("ingest", str(FIXTURES / "announce.mbox"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "digest" / "digest.sqlite3").exists()


def test_ingest_fails_only_when_nothing_at_all_could_be_read(tmp_path):
    store = str(tmp_path / "s.sqlite3")
    nothing = digest("--store", store, "ingest", str(tmp_path / "missing.mbox"), cwd=tmp_path)
    assert nothing.returncode == 1
    assert "missing.mbox: unreadable: no such file or directory" in nothing.stderr
    some = digest("--store", store, "ingest", str(tmp_path / "missing.mbox"),
                  str(FIXTURES / "announce.mbox"), cwd=tmp_path)
    assert some.returncode == 0
    assert "missing.mbox" in some.stderr and some.stdout.startswith("ingested 6 messages")


def test_many_defects_are_cut_short_with_a_pointer_to_stats(tmp_path):
    folder = tmp_path / "empties"
    folder.mkdir()
    paths = []
    for n in range(25):
        path = folder / f"empty{n:02d}.mbox"
        path.write_bytes(b"")
        paths.append(str(path))
    result = digest("--store", str(tmp_path / "s.sqlite3"), "ingest", *paths,
                    str(FIXTURES / "announce.mbox"), cwd=tmp_path)
    lines = result.stderr.splitlines()
    assert lines[20].endswith("more (digest stats --defects)")
    assert len([line for line in lines[:20] if ": empty: " in line]) == 20


def test_stats_json_is_one_object_with_counts_by_list_and_month(ingested, tmp_path):
    store, _ = ingested
    result = digest("--store", str(store), "stats", "--json", cwd=tmp_path)
    assert result.returncode == 0
    (line,) = result.stdout.splitlines()
    stats = json.loads(line)
    assert stats["messages"] == 5
    assert stats["threads"] == 4
    assert stats["lists"]["wikimediaannounce-l"] == {
        "messages": 1, "threads": 1, "months": {"2017-05": 1}, "defects": 0,
        "defect_months": {}}
    assert stats["lists"]["wikimedia-l"]["months"] == {"2017-05": 5}
    # defects by list and month: each counts in the lists and month of its message
    assert stats["defects"] == 4 and stats["defects_unplaced"] == 0
    assert stats["lists"]["wikimedia-l"]["defects"] == 4
    assert stats["lists"]["wikimedia-l"]["defect_months"] == {"2017-05": 4}


def test_stats_counts_defects_of_no_stored_message_apart(tmp_path):
    store = tmp_path / "s.sqlite3"
    broken = tmp_path / "broken.mbox.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 not really gzip")
    digest("--store", str(store), "ingest", *map(str, sorted(FIXTURES.iterdir())), str(broken),
           cwd=tmp_path)
    stats = json.loads(digest("--store", str(store), "stats", "--json", cwd=tmp_path).stdout)
    assert (stats["defects"], stats["defects_unplaced"]) == (5, 1)
    table = digest("--store", str(store), "stats", cwd=tmp_path).stdout
    assert "wikimedia-l: 5 messages in 4 threads, 4 defects" in table
    assert "\n  defects  .     .     .     .     4     ." in table
    assert "1 defect of no stored message" in table


def test_stats_table_and_defect_list(ingested, tmp_path):
    store, _ = ingested
    table = digest("--store", str(store), "stats", cwd=tmp_path).stdout
    assert table.startswith("5 messages in 4 threads")
    assert "wikimedia-l: 5 messages in 4 threads, 4 defects" in table
    assert any(line.split()[:1] == ["2017"] and line.split()[-1] == "5"
               for line in table.splitlines())
    defects = digest("--store", str(store), "stats", "--defects", cwd=tmp_path).stdout
    assert any(line.endswith("announce.mbox: message 4: byte 2080: <minutes-1@example.com>: "
                             "bad-date: unparseable date '-0-200'; used the Resent-Date or mbox "
                             "separator date") or ("message 4" in line and "bad-date" in line)
               for line in defects.splitlines())
    assert len(defects.splitlines()) == json.loads(digest(
        "--store", str(store), "stats", "--json", cwd=tmp_path).stdout)["defects"]


def test_show_prints_headers_lists_thread_text_links_and_verdict(ingested, tmp_path):
    store, _ = ingested
    result = digest("--store", str(store), "show", "<announce-1@example.org>", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Message-ID:   <announce-1@example.org>" in out
    assert "Lists:        wikimediaannounce-l, wikimedia-l" in out
    assert "(2 messages, 1 after this one)" in out
    assert "We are happy to announce a new partnership" in out
    assert "Verdict: partnership (score " in out
    # the links stored at ingest, numbered with the message's own footnotes, kind and label
    assert "Links (2):" in out
    assert ("2. [2] https://diff.wikimedia.org/2017/05/01/example-public-library/  blog "
            '"Read more about it on the blog"') in out


def test_show_finds_a_message_by_its_hash_and_prints_json(ingested, tmp_path):
    store, _ = ingested
    first = json.loads(digest("--store", str(store), "show", "reply-1@example.net", "--json",
                              cwd=tmp_path).stdout)
    assert first["message"]["key"] == "reply-1@example.net"
    assert first["message"]["quoted_text"]
    by_hash = digest("--store", str(store), "show", first["message"]["msgid_hash"], "--json",
                     cwd=tmp_path)
    assert json.loads(by_hash.stdout)["message"]["key"] == "reply-1@example.net"
    assert first["thread_size"] == 2


def test_show_of_an_unknown_message_is_a_one_line_error(ingested, tmp_path):
    store, _ = ingested
    result = digest("--store", str(store), "show", "nobody@example.org", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("digest: error: nobody@example.org: no such message")
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", [["stats"], ["show", "x@example.org"], ["build"],
                                     ["send", "--dry-run"], ["reclassify"]])
def test_a_command_that_reads_the_store_refuses_one_that_does_not_exist(tmp_path, command):
    """A mistyped --store must not read as an empty archive, nor send an empty digest."""
    store = tmp_path / "typo.sqlite3"
    result = digest("--store", str(store), *command, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"digest: error: {store}: no store there (`digest ingest` or `digest sync` creates one; "
        "--store or DIGEST_STORE names it)"]
    assert not store.exists()
