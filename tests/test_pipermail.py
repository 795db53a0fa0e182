"""digest.sources.pipermail: months from a Mailman 2 archive served over real HTTP."""
from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from localweb import LocalWeb, Reply
from mailman_sites import client, collect, grown_june
from mailman_sites import etag as _etag
from mailman_sites import publish_pipermail as publish

from digest.config import ListSource
from digest.errors import ConfigError, FetchError
from digest.model import Defect
from digest.sources import pipermail
from digest.sources.local import read_path
from digest.sources.remote import Tally

SITE = Path(__file__).parent / "fixtures" / "pipermail_site" / "wikimedia-l"
SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.fixture
def site():
    with LocalWeb() as web:
        publish(web, SITE, "/pipermail/wikimedia-l")
        yield web


def source(web: LocalWeb, since: str = "") -> ListSource:
    return ListSource(name="wikimedia-l", kind="pipermail",
                      url=web.url + "/pipermail/wikimedia-l/", since=since)


# --- the index -----------------------------------------------------------------------------

def test_the_index_gives_every_month_oldest_first_with_its_text_archive():
    months = pipermail.parse_index((SITE / "index.html").read_text(), "https://h/pipermail/l/")
    assert [m.name for m in months] == ["1945-February", "2021-April", "2021-May", "2021-June"]
    assert months[-1].url == "https://h/pipermail/l/2021-June.txt"
    assert months[1].url == "https://h/pipermail/l/2021-April.txt.gz"
    assert (months[0].year, months[0].month) == (1945, 2)


def test_unknown_month_words_are_kept_not_guessed():
    html = '<a href="2016-Smarch.txt.gz">x</a><a href="2016-May.txt">y</a><a href="2016-May.txt.gz">z</a>'
    months = pipermail.parse_index(html, "http://h/l/")
    assert [(m.name, m.month) for m in months] == [("2016-Smarch", None), ("2016-May", 5)]
    assert months[1].url.endswith("2016-May.txt.gz")  # the gzip wins over the plain text
    assert pipermail.month_of("2016-smarch") == (2016, None)


def test_since_keeps_its_own_month_and_later():
    months = pipermail.parse_index((SITE / "index.html").read_text(), "http://h/l/")
    since = pipermail.parse_since(ListSource("l", "pipermail", "http://h/l/", "2021-05-20"))
    assert [m.name for m in months if pipermail.wanted(m, since)] == ["2021-May", "2021-June"]


def test_a_since_that_is_not_a_date_is_a_config_error():
    with pytest.raises(ConfigError, match="since"):
        pipermail.parse_since(ListSource("l", "pipermail", "http://h/l/", "last spring"))


def test_the_real_twisted_index_parses_including_its_bogus_month():
    index = SHARED / "fixtures" / "pipermail" / "twisted-python" / "index.html"
    if not index.is_file():
        pytest.skip(f"{index} not present (../shared is not available)")
    months = pipermail.parse_index(index.read_text(), "https://twistedmatrix.com/pipermail/twisted-python/")
    names = [m.name for m in months]
    assert "1945-February" in names and names[-1] == "2021-August"
    assert all(m.url.endswith(".txt.gz") and m.month for m in months)
    assert len(names) == len(set(names))


# --- syncing months ------------------------------------------------------------------------

def test_a_first_sync_downloads_every_month_and_yields_its_messages(site, tmp_path):
    tally = Tally("month")
    with client() as c:
        parts, items = collect(pipermail.parts(c, source(site), tmp_path, None, tally))
    assert [p.label for p in parts] == ["1945-February", "2021-April", "2021-May", "2021-June"]
    assert (tally.checked, tally.downloaded) == (4, 4)
    messages = [i for i in items if not isinstance(i, Defect)]
    assert len(messages) == 6
    raw, hints = messages[-1]
    assert b"jun-2@mail.example.net" in raw
    assert hints.source == site.url + "/pipermail/wikimedia-l/2021-June.txt"
    assert hints.list_name == "wikimedia-l"
    assert site.seen[0].path == "/pipermail/wikimedia-l/"
    assert all(p.cursor for p in parts)


def test_a_second_sync_rechecks_only_the_newest_months_and_downloads_nothing(site, tmp_path):
    with client() as c:
        first, _ = collect(pipermail.parts(c, source(site), tmp_path, None, Tally("month")))
        site.seen.clear()
        tally = Tally("month")
        again, _ = collect(pipermail.parts(c, source(site), tmp_path, first[-1].cursor, tally))
    assert again == [] and (tally.checked, tally.downloaded) == (2, 0)
    month_requests = [s for s in site.seen if s.path.endswith((".txt", ".txt.gz"))]
    assert [s.path.rsplit("/", 1)[-1] for s in month_requests] == ["2021-May.txt.gz",
                                                                   "2021-June.txt"]
    assert all("if-none-match" in s.headers for s in month_requests)  # answered 304


def test_a_month_that_grows_is_downloaded_again_and_ingested(site, tmp_path):
    with client() as c:
        first, _ = collect(pipermail.parts(c, source(site), tmp_path, None, Tally("month")))
        grown = grown_june(SITE)
        site.file("/pipermail/wikimedia-l/2021-June.txt", grown, etag=_etag(grown))
        tally = Tally("month")
        again, items = collect(pipermail.parts(c, source(site), tmp_path, first[-1].cursor, tally))
    assert [p.label for p in again] == ["2021-June"] and tally.downloaded == 1
    assert sum(1 for i in items if not isinstance(i, Defect)) == 3  # the store drops the 2 known


def test_a_month_downloaded_but_never_ingested_is_ingested_from_the_cache(site, tmp_path):
    with client() as c:
        first, _ = collect(pipermail.parts(c, source(site), tmp_path, None, Tally("month")))
        # the sync died after downloading April but before its messages were committed:
        # the stored cursor is the one from before April.
        tally = Tally("month")
        again, _ = collect(pipermail.parts(c, source(site), tmp_path, first[0].cursor, tally))
    assert [p.label for p in again] == ["2021-April", "2021-May", "2021-June"]
    assert tally.downloaded == 0


def test_a_missing_month_is_a_defect_and_the_others_still_come(site, tmp_path):
    site.routes["/pipermail/wikimedia-l/2021-May.txt.gz"] = Reply(status=404)
    tally = Tally("month")
    with client() as c:
        parts, items = collect(pipermail.parts(c, source(site), tmp_path, None, tally))
    defects = [i for i in items if isinstance(i, Defect)]
    assert [d.kind for d in defects] == ["fetch-failed"] and "2021-May" in defects[0].detail
    may = [p for p in parts if p.label == "2021-May"]
    assert may[0].cursor is None   # so the next sync asks again
    assert "2021-May" not in pipermail.load_cursor(parts[-1].cursor)
    assert sum(1 for i in items if not isinstance(i, Defect)) == 5


def test_offline_reads_the_cached_months_without_a_client(site, tmp_path):
    with client() as c:
        collect(pipermail.parts(c, source(site), tmp_path, None, Tally("month")))
    requests = len(site.seen)
    parts, items = collect(pipermail.parts(None, source(site), tmp_path, None, Tally("month")))
    assert [p.label for p in parts] == ["1945-February", "2021-April", "2021-May", "2021-June"]
    assert sum(1 for i in items if not isinstance(i, Defect)) == 6
    assert len(site.seen) == requests


# --- article pages (--with-html) -----------------------------------------------------------

def test_with_html_maps_each_message_to_its_article_page(site, tmp_path):
    with client() as c:
        _, items = collect(pipermail.parts(c, source(site, "2021-06-01"), tmp_path, None,
                                           Tally("month"), with_html=True))
    urls = {hints.archive_url for raw, hints in items}
    base = site.url + "/pipermail/wikimedia-l/2021-June/"
    assert urls == {base + "000101.html", base + "000102.html"}
    first = next(h for r, h in items if b"<jun-1@" in r)
    assert first.archive_url == base + "000101.html"


def test_the_article_page_message_id_comes_from_in_reply_to():
    page = (SITE / "2021-June" / "000102.html").read_text()
    assert pipermail.article_message_id(page) == "jun-2@mail.example.net"
    assert pipermail.article_message_id("<html><a href='mailto:x@y'>x</a></html>") is None


def test_real_article_pages_give_their_message_ids():
    folder = SHARED / "fixtures" / "pipermail" / "twisted-python" / "2021-June"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared is not available)")
    ids = [pipermail.article_message_id(p.read_text(encoding="utf-8", errors="replace"))
           for p in sorted(folder.glob("0*.html"))]
    assert ids and all(ids) and all("@" in i and "<" not in i for i in ids)
    links = pipermail.article_links((folder / "date.html").read_text(), "http://h/l/2021-June/")
    assert links and all(u.startswith("http://h/l/2021-June/0") for u in links)


# --- the real pipermail fixtures, served -----------------------------------------------------

def test_the_real_pipermail_months_come_through_http_as_they_read_from_disk(tmp_path):
    folder = SHARED / "fixtures" / "pipermail" / "twisted-python"
    if not folder.is_dir():
        pytest.skip(f"{folder} not present (../shared is not available)")
    months = sorted({p.name.split(".")[0] for p in folder.glob("*.txt*")})
    rows = "".join(f'<tr><td><A href="{m}.txt.gz">[ Gzip\'d Text ]</a></td></tr>\n' for m in months)
    with LocalWeb() as web:
        for m in months:
            body = (folder / f"{m}.txt").read_bytes()
            web.file(f"/pipermail/twisted-python/{m}.txt.gz", gzip.compress(body, mtime=0))
        web.file("/pipermail/twisted-python/", f"<table>{rows}</table>".encode())
        src = ListSource("twisted-python", "pipermail", web.url + "/pipermail/twisted-python/")
        with client() as c:
            parts, items = collect(pipermail.parts(c, src, tmp_path, None, Tally("month")))
    assert [p.label for p in parts] == [m for m in sorted(months, key=lambda n: pipermail.month_of(n))]
    expected = sum(1 for m in months for i in read_path(folder / f"{m}.txt")
                   if not isinstance(i, Defect))
    assert sum(1 for i in items if not isinstance(i, Defect)) == expected > 0


def test_a_page_without_month_archives_is_an_error_naming_it(tmp_path):
    with LocalWeb() as web:
        web.file("/hyperkitty/list/x@h/", b"<html><a href='latest'>Latest</a></html>")
        src = ListSource("x", "pipermail", web.url + "/hyperkitty/list/x@h/")
        with client() as c, pytest.raises(FetchError, match="no monthly text archives"):
            list(pipermail.parts(c, src, tmp_path, None, Tally("month")))


def test_asking_for_article_pages_later_ingests_the_months_again_once(site, tmp_path):
    with client() as c:
        first, _ = collect(pipermail.parts(c, source(site, "2021-06-01"), tmp_path, None,
                                           Tally("month")))
        mapped, items = collect(pipermail.parts(c, source(site, "2021-06-01"), tmp_path,
                                                first[-1].cursor, Tally("month"), with_html=True))
        assert [p.label for p in mapped] == ["2021-June"]
        assert all(h.archive_url for _, h in items)
        for with_html in (True, False):
            again, _ = collect(pipermail.parts(c, source(site, "2021-06-01"), tmp_path,
                                               mapped[-1].cursor, Tally("month"),
                                               with_html=with_html))
            assert again == []
