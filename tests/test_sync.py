"""digest.sync and `digest sync`: remote archives into a real SQLite store, over real HTTP."""
from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import threading
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from localweb import LocalWeb, Reply
from mailman_sites import (HyperKittySite, at, etag, grown_june, mail, publish_pipermail,
                           sample_hyperkitty)

from digest.cli import main
from digest.config import HttpSettings, ListSource, Settings, load_settings
from digest.errors import ConfigError
from digest.sources.http import HttpClient
from digest.store import open_store
from digest.store.sqlite import SQLiteStore
from digest.sync import cache_root, sync

REPO = Path(__file__).resolve().parents[1]
SITE = Path(__file__).parent / "fixtures" / "pipermail_site" / "wikimedia-l"
TODAY = date(2021, 6, 20)
@pytest.fixture
def web():
    with LocalWeb() as server:
        yield server


@pytest.fixture
def store(tmp_path):
    s = open_store(str(tmp_path / "digest.sqlite3"))
    yield s
    s.close()


def settings(tmp_path: Path, *lists: ListSource, **http) -> Settings:
    values = dict(contact="tests@example.org", requests_per_second=1000.0, retries=1,
                  read_timeout=2.0, cache_dir=str(tmp_path / "cache"))
    values.update(http)
    return Settings(store=str(tmp_path / "digest.sqlite3"), http=HttpSettings(**values),
                    lists=tuple(lists))


def write_config(tmp_path: Path, kind: str, url: str, since: str = "", **http) -> Path:
    """A digest.toml with a contact, no rate limit to speak of, `http` extras and one list."""
    lines = ["[http]", 'contact = "tests@example.org"', "requests_per_second = 1000"]
    lines += [f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}" for k, v in http.items()]
    lines += ["", "[[lists]]", 'name = "wikimedia-l"', f'kind = "{kind}"', f'url = "{url}"']
    lines += [f'since = "{since}"'] if since else []
    config = tmp_path / "digest.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def client(s: Settings) -> HttpClient:
    return HttpClient(s.http, sleep=lambda _: None)


def pipermail_list(web: LocalWeb, since: str = "") -> ListSource:
    return ListSource("wikimedia-l", "pipermail", web.url + "/pipermail/wikimedia-l/", since)


def hk_list(site: HyperKittySite) -> ListSource:
    return ListSource("wikimedia-l", "hyperkitty", site.url, "2021-04-01")


def run(s: Settings, store, **kw):
    kw.setdefault("today", TODAY)
    kw.setdefault("workers", 0)
    with client(s) as c:
        return sync(s, store, client=c, **kw)


# --- pipermail ---------------------------------------------------------------------------------

def test_a_first_sync_then_a_second_that_downloads_nothing(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    s = settings(tmp_path, pipermail_list(web))
    first = run(s, store)
    assert [x.line() for x in first] == [
        "wikimedia-l: 4 months checked, 4 downloaded, 6 new messages"]
    assert store.stats()["messages"] == 6
    again = run(s, store)
    assert [x.line() for x in again] == [
        "wikimedia-l: 2 months checked, 0 downloaded, 0 new messages"]
    assert store.stats()["messages"] == 6
    ua = {seen.headers["user-agent"] for seen in web.seen}
    assert len(ua) == 1 and "(tests@example.org)" in ua.pop()


def test_a_month_that_grows_between_syncs_adds_only_its_new_messages(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    s = settings(tmp_path, pipermail_list(web))
    run(s, store)
    grown = grown_june(SITE)
    web.file("/pipermail/wikimedia-l/2021-June.txt", grown, etag=etag(grown))
    [summary] = run(s, store)
    assert (summary.downloaded, summary.new, summary.duplicates) == (1, 1, 2)
    assert store.get("jun-3@mail.example.org") is not None
    assert store.stats()["messages"] == 7


def test_a_missing_month_is_recorded_and_asked_again_next_time(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    may = web.routes.pop("/pipermail/wikimedia-l/2021-May.txt.gz")
    s = settings(tmp_path, pipermail_list(web))
    [summary] = run(s, store)
    assert summary.new == 5 and summary.defects == 1 and summary.error is None
    assert any(d.kind == "fetch-failed" and "2021-May" in d.detail for d in store.defects())
    web.routes["/pipermail/wikimedia-l/2021-May.txt.gz"] = may
    [summary] = run(s, store)
    assert summary.new == 1 and store.get("may-1@mail.example.com") is not None


def test_a_server_error_then_success_is_survived(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    june = web.routes["/pipermail/wikimedia-l/2021-June.txt"]
    web.routes["/pipermail/wikimedia-l/2021-June.txt"] = [Reply(status=500), june]
    [summary] = run(settings(tmp_path, pipermail_list(web)), store)
    assert summary.error is None and summary.new == 6


def test_a_429_with_retry_after_is_waited_for(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    index = web.routes["/pipermail/wikimedia-l/"]
    web.routes["/pipermail/wikimedia-l/"] = [Reply(status=429, headers={"Retry-After": "3"}), index]
    waits: list[float] = []
    s = settings(tmp_path, pipermail_list(web))
    with HttpClient(s.http, sleep=waits.append) as c:
        [summary] = sync(s, store, client=c, today=TODAY, workers=0)
    assert 3.0 in waits and summary.new == 6


def test_a_list_whose_server_stalls_fails_alone(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    site = sample_hyperkitty(web)
    web.routes["/pipermail/wikimedia-l/"] = Reply(body=b"late", stall=1.0)
    s = settings(tmp_path, pipermail_list(web), hk_list(site), read_timeout=0.2)
    failed, ok = run(s, store)
    assert failed.error and "timed out" in failed.error and failed.label == "wikimedia-l (pipermail)"
    assert ok.error is None and ok.new == 9
    assert failed.line().endswith("gave up after 2 attempts)")


def test_a_truncated_gzip_is_never_ingested_half(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    path = "/pipermail/wikimedia-l/2021-May.txt.gz"
    whole = web.routes[path]
    cut = Reply(body=whole.body[:-12], send_length=False)
    web.routes[path] = Reply(body=whole.body[:-12], send_length=False)
    s = settings(tmp_path, pipermail_list(web), retries=1)
    [summary] = run(s, store)
    assert summary.error and "truncated or corrupt gzip" in summary.error
    assert store.get("may-1@mail.example.com") is None
    web.routes[path] = [cut, whole]
    [summary] = run(s, store)
    assert summary.error is None and store.get("may-1@mail.example.com") is not None


def test_a_gzip_bomb_fails_the_list_and_stores_nothing_of_it(web, store, tmp_path):
    web.file("/mirror/wikimedia-l.mbox.gz", gzip.compress(b"\0" * (40 << 20)))
    s = settings(tmp_path, ListSource("wikimedia-l", "mbox-url",
                                      web.url + "/mirror/wikimedia-l.mbox.gz"))
    [summary] = run(s, store)
    assert "gzip bomb" in summary.error and store.stats()["messages"] == 0


def test_with_html_stores_the_pipermail_article_urls(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    run(settings(tmp_path, pipermail_list(web, "2021-06-01")), store, with_html=True)
    page = web.url + "/pipermail/wikimedia-l/2021-June/000101.html"
    record = store.get("jun-1@mail.example.org")
    assert record is not None and page in (record.archive_urls or (record.message.archive_url,))


# --- hyperkitty and mbox-url -----------------------------------------------------------------

def test_hyperkitty_sync_is_incremental_by_day(web, store, tmp_path):
    site = sample_hyperkitty(web)
    s = settings(tmp_path, hk_list(site))
    [first] = run(s, store)
    assert first.line() == "wikimedia-l: 3 windows checked, 3 downloaded, 9 new messages"
    site.mails.append(mail(10, at("2021-06-21")))
    site.web.seen.clear()
    [second] = run(s, store, today=date(2021, 6, 22))
    assert site.exports() == [("2021-06-15", "2021-06-23")]
    assert (second.new, second.duplicates) == (1, 1)
    record = store.get(site.mails[-1].message_id)
    assert site.permalink(site.mails[-1]) in (record.archive_urls or (record.message.archive_url,))


def test_an_mbox_url_is_ingested_once_until_it_changes(web, store, tmp_path):
    site = HyperKittySite(web)
    body = b"".join(mail(n, at("2021-06-0%d" % n)).as_mbox(site.address) for n in (1, 2))
    web.file("/mirror/wikimedia-l.mbox.gz", gzip.compress(body), etag='"1"')
    s = settings(tmp_path, ListSource("wikimedia-l", "mbox-url",
                                      web.url + "/mirror/wikimedia-l.mbox.gz"))
    assert run(s, store)[0].line() == "wikimedia-l: 1 file checked, 1 downloaded, 2 new messages"
    assert run(s, store)[0].line() == "wikimedia-l: 1 file checked, 0 downloaded, 0 new messages"


def test_offline_re_ingests_the_cache_without_the_network(web, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    site = sample_hyperkitty(web)
    s = settings(tmp_path, pipermail_list(web), hk_list(site))
    with open_store(str(tmp_path / "one.sqlite3")) as one:
        run(s, one)
        keys = one.keys()
    asked = len(web.seen)
    offline = replace(s, http=replace(s.http, contact=""))   # no contact needed offline
    with open_store(str(tmp_path / "two.sqlite3")) as two:
        summaries = sync(offline, two, offline=True, workers=0)
        assert two.keys() == keys
    assert len(web.seen) == asked
    assert [x.line() for x in summaries] == [
        "wikimedia-l (pipermail): 4 months re-ingested from the cache, 6 new messages",
        "wikimedia-l (hyperkitty): 3 windows re-ingested from the cache, 9 new messages"]


# --- interrupted syncs ------------------------------------------------------------------------

class CrashingStore(SQLiteStore):
    """A real store whose process 'dies' right after committing the n-th part's messages,
    before that part's cursor is written."""

    def __init__(self, path: str, crash_at: int) -> None:
        super().__init__(path)
        self.cursors_left = crash_at

    def set_cursor(self, source: str, value: str) -> None:
        self.cursors_left -= 1
        if self.cursors_left < 0:
            raise KeyboardInterrupt("killed")
        super().set_cursor(source, value)


def test_a_sync_interrupted_between_windows_resumes_without_loss_or_duplicates(web, tmp_path):
    site = sample_hyperkitty(web)
    s = settings(tmp_path, hk_list(site))
    db = str(tmp_path / "digest.sqlite3")
    crashing = CrashingStore(db, crash_at=1)
    with pytest.raises(KeyboardInterrupt):
        run(s, crashing)
    crashing.close()
    with open_store(db) as store:
        assert store.stats()["messages"] == 5            # April and May were committed
        site.web.seen.clear()
        [summary] = run(s, store)
        assert store.stats()["messages"] == 9
        assert sorted(store.keys()) == sorted(m.message_id for m in site.mails)
    assert site.exports()[0] == ("2021-04-28", "2021-05-01")   # from the last cursor's day
    assert summary.new == 4


def test_a_sync_killed_with_sigkill_resumes_without_loss_or_duplicates(web, tmp_path):
    site = sample_hyperkitty(web)
    stalled = threading.Event()
    may = f"/hyperkitty/list/{site.address}/export/*"
    export = web.routes[may]

    def stall_in_may(seen):
        if seen.query.get("start") == "2021-05-01":
            stalled.set()
            return Reply(body=b"", stall=30)
        return export(seen)

    web.routes[may] = stall_in_may
    config = write_config(tmp_path, "hyperkitty", site.url, since="2021-04-01", read_timeout=60,
                          cache_dir=str(tmp_path / "cache"))
    db = tmp_path / "digest.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "digest.cli", "--config", str(config),
                             "--store", str(db), "sync", "--no-progress"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert stalled.wait(60), "the sync never reached the May window"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    with open_store(str(db)) as store:
        assert store.stats()["messages"] == 2            # April, committed before the kill
        web.routes[may] = export
        today = datetime.now(timezone.utc).date()
        [summary] = sync(load_settings(config=str(config), store=str(db), env={}), store,
                         today=today, workers=0)
        assert summary.error is None
        assert sorted(store.keys()) == sorted(m.message_id for m in site.mails)


# --- configuration and the command -------------------------------------------------------------

def test_no_contact_refuses_before_any_request(web, store, tmp_path):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    s = settings(tmp_path, pipermail_list(web), contact="")
    with pytest.raises(ConfigError, match="contact"):
        sync(s, store)
    assert web.seen == []


def test_an_unknown_list_name_is_a_config_error(tmp_path, store):
    s = settings(tmp_path, ListSource("wikimedia-l", "hyperkitty", "http://h/hyperkitty/list/a@b/"))
    with pytest.raises(ConfigError, match="--list nope: no such list"):
        sync(s, store, list_name="nope")


def test_the_cache_sits_beside_the_sqlite_store_by_default(tmp_path):
    s = Settings(store=str(tmp_path / "var" / "digest.sqlite3"))
    assert cache_root(s) == (tmp_path / "var" / "cache").resolve()
    assert cache_root(replace(s, http=HttpSettings(cache_dir="/srv/raw"))) == Path("/srv/raw")


def test_the_example_config_loads_with_both_lists_in_both_locations():
    s = load_settings(config=str(REPO / "digest.example.toml"), env={})
    where = {(x.name, x.kind): x for x in s.lists}
    assert set(where) == {(n, k) for n in ("wikimediaannounce-l", "wikimedia-l")
                          for k in ("hyperkitty", "pipermail")}
    assert where[("wikimedia-l", "hyperkitty")].url == (
        "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/")
    assert where[("wikimediaannounce-l", "pipermail")].url == (
        "https://lists.wikimedia.org/pipermail/wikimediaannounce-l/")
    assert all(x.enabled == (x.kind == "hyperkitty") for x in s.lists)
    assert s.http.contact and s.http.requests_per_second == 1.0
    assert s.smtp.security == "none" and s.digest.recipients


def test_digest_sync_prints_a_summary_per_list(web, tmp_path, capsys):
    publish_pipermail(web, SITE, "/pipermail/wikimedia-l")
    config = write_config(tmp_path, "pipermail", f"{web.url}/pipermail/wikimedia-l/")
    db = str(tmp_path / "var" / "digest.sqlite3")   # the folder is created on first use
    assert main(["--config", str(config), "--store", db, "sync", "--no-progress"]) == 0
    assert capsys.readouterr().out == "wikimedia-l: 4 months checked, 4 downloaded, 6 new messages\n"
    assert (tmp_path / "var" / "cache" / "pipermail" / "wikimedia-l" / "2021-May.txt.gz").is_file()
    assert main(["--config", str(config), "--store", db, "sync", "--offline"]) == 0
    assert "4 months re-ingested from the cache, 0 new messages" in capsys.readouterr().out


def test_digest_sync_exits_1_when_every_list_failed(web, tmp_path, capsys):
    config = write_config(tmp_path, "pipermail", f"{web.url}/pipermail/gone/", retries=0)
    assert main(["--config", str(config), "--store", str(tmp_path / "d.sqlite3"), "sync"]) == 1
    assert "wikimedia-l: 0 months checked" in capsys.readouterr().out


def test_digest_sync_without_contact_is_one_line_error(tmp_path, capsys):
    config = tmp_path / "digest.toml"
    config.write_text('[[lists]]\nname = "l"\nkind = "hyperkitty"\n'
                      'url = "http://127.0.0.1:9/hyperkitty/list/l@h/"\n')
    assert main(["--config", str(config), "--store", str(tmp_path / "d.sqlite3"), "sync"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("digest: error: http.contact is not set") and "\n" not in err


def test_real_pipermail_months_synced_over_http_equal_the_same_files_ingested(tmp_path):
    from digest.ingest import ingest_paths

    folder = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "pipermail" / "twisted-python"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared is not available)")
    files = sorted(folder.glob("*.txt"))
    rows = "".join(f'<tr><td><A href="{p.name}.gz">[ Gzip\'d Text ]</a></td></tr>' for p in files)
    with LocalWeb() as web:
        for p in files:
            web.file(f"/pipermail/twisted-python/{p.name}.gz", gzip.compress(p.read_bytes()))
        web.file("/pipermail/twisted-python/", f"<table>{rows}</table>".encode())
        s = settings(tmp_path, ListSource("twisted-python", "pipermail",
                                          web.url + "/pipermail/twisted-python/"))
        with open_store(str(tmp_path / "synced.sqlite3")) as synced:
            [summary] = run(s, synced)
            keys = synced.keys()
    with open_store(str(tmp_path / "local.sqlite3")) as local:
        ingest_paths(files, local, list_name="twisted-python", workers=0)
        assert keys == local.keys() and summary.new == len(keys) > 0
