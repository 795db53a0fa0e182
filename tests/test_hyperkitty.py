"""digest.sources.hyperkitty: exports by date window and the REST API, over real HTTP."""
from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from localweb import LocalWeb, Reply
from mailman_sites import HyperKittySite, at, client, collect, mail, sample_hyperkitty

from digest.config import ListSource
from digest.errors import ConfigError, FetchError
from digest.model import Defect
from digest.parse import message_id_hash
from digest.sources import hyperkitty
from digest.sources.http import BadAnswerError
from digest.sources.remote import Tally

TODAY = date(2021, 6, 20)


def messages(items) -> list:
    return [i for i in items if not isinstance(i, Defect)]


@pytest.fixture
def web():
    with LocalWeb() as server:
        yield server


@pytest.fixture
def site(web):
    return sample_hyperkitty(web)


def source(site: HyperKittySite, since: str = "2021-04-01") -> ListSource:
    return ListSource(name="wikimedia-l", kind="hyperkitty", url=site.url, since=since)


# --- addresses and windows -------------------------------------------------------------------

def test_a_list_url_gives_the_export_api_and_permalink_locations():
    hk = hyperkitty.locate("https://lists.wikimedia.org/hyperkitty/list/"
                           "wikimedia-l%40lists.wikimedia.org/")
    assert hk.address == "wikimedia-l@lists.wikimedia.org"
    assert hk.url == "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/"
    assert hk.api_emails == ("https://lists.wikimedia.org/hyperkitty/api/list/"
                             "wikimedia-l@lists.wikimedia.org/emails/")
    assert hk.export_url(date(2021, 6, 1), date(2021, 7, 1)).endswith(
        "/export/wikimedia-l@lists.wikimedia.org-2021-06-01.mbox.gz?start=2021-06-01&end=2021-07-01")
    assert hk.permalink("ABC") == hk.url + "message/ABC/"


def test_a_url_that_is_not_a_hyperkitty_list_is_a_config_error():
    with pytest.raises(ConfigError, match="not a HyperKitty list URL"):
        hyperkitty.locate("https://lists.wikimedia.org/pipermail/wikimedia-l/")


def test_windows_are_cut_at_month_boundaries_with_an_exclusive_end():
    assert hyperkitty.windows(date(2021, 11, 16), date(2022, 2, 3)) == [
        (date(2021, 11, 16), date(2021, 12, 1)), (date(2021, 12, 1), date(2022, 1, 1)),
        (date(2022, 1, 1), date(2022, 2, 1)), (date(2022, 2, 1), date(2022, 2, 3))]
    assert hyperkitty.windows(date(2021, 1, 1), date(2021, 1, 1)) == []


def test_api_senders_are_deobfuscated():
    assert hyperkitty.deobfuscate("jane.doe (a) example.org") == "jane.doe@example.org"
    assert hyperkitty.deobfuscate("plain@example.org") == "plain@example.org"


# --- the REST API ----------------------------------------------------------------------------

def test_the_api_is_paged_with_an_explicit_limit(site):
    hk = hyperkitty.locate(site.url)
    with client() as c:
        emails = list(hyperkitty.api_emails(c, hk, limit=4))
    assert len(emails) == 9 and emails[0].date > emails[-1].date
    assert emails[0].sender == "person4@example.org" and emails[0].msgid_hash == message_id_hash(
        emails[0].message_id)
    api = [s for s in site.web.seen if "/api/" in s.path]
    assert len(api) == 3 and all(s.query.get("limit") == "4" for s in api)


def test_the_api_may_answer_a_bare_list(site):
    site.bare_list_api = True
    with client() as c:
        emails = list(hyperkitty.api_emails(c, hyperkitty.locate(site.url), limit=4))
    assert len(emails) == 9


def test_paging_stops_once_a_whole_page_is_older_than_wanted(site):
    with client() as c:
        emails = list(hyperkitty.api_emails(c, hyperkitty.locate(site.url), limit=2,
                                            since=date(2021, 6, 5)))
    assert len([s for s in site.web.seen if "/api/" in s.path]) == 3
    assert {e.date.date() for e in emails} >= {date(2021, 6, 9), date(2021, 6, 15)}


def test_a_page_in_neither_shape_is_refused():
    with pytest.raises(BadAnswerError, match="neither a list nor a paginated object"):
        hyperkitty.api_page_items({"detail": "Not found."})


# --- syncing windows ---------------------------------------------------------------------------

def test_a_first_sync_exports_month_windows_since_the_configured_day(site, tmp_path):
    tally = Tally("window")
    with client() as c:
        parts, items = collect(hyperkitty.parts(c, source(site), tmp_path, None, tally,
                                                today=TODAY))
    assert site.exports() == [("2021-04-01", "2021-05-01"), ("2021-05-01", "2021-06-01"),
                              ("2021-06-01", "2021-06-21")]
    assert (tally.checked, tally.downloaded) == (3, 3)
    got = messages(items)
    assert len(got) == 9
    by_id = {site.permalink(m) for m in site.mails}
    assert {h.archive_url for _, h in got} == by_id
    assert all(h.list_name == "wikimedia-l" and h.source.startswith(site.url) for _, h in got)
    cursor = json.loads(parts[-1].cursor)
    assert cursor["last"].startswith("2021-06-15") and cursor["through"] == "2021-06-20"


def test_the_next_sync_asks_only_from_the_day_of_the_last_message(site, tmp_path):
    with client() as c:
        first, _ = collect(hyperkitty.parts(c, source(site), tmp_path, None, Tally("window"),
                                            today=TODAY))
        site.mails.append(mail(10, at("2021-06-22")))
        site.web.seen.clear()
        parts, items = collect(hyperkitty.parts(c, source(site), tmp_path, first[-1].cursor,
                                                Tally("window"), today=date(2021, 6, 23)))
    assert site.exports() == [("2021-06-15", "2021-06-24")]
    assert [m.split(b"\n", 1)[0] for m, _ in messages(items)] == [
        site.mails[8].as_mbox(site.address).split(b"\n", 1)[0],
        site.mails[9].as_mbox(site.address).split(b"\n", 1)[0]]
    assert json.loads(parts[-1].cursor)["last"].startswith("2021-06-22")


def test_a_quiet_list_is_not_asked_back_to_its_last_message_forever():
    cursor = {"last": "2020-01-05T10:00:00+00:00", "through": "2021-06-20"}
    assert hyperkitty.start_day(cursor, None, TODAY) == date(2021, 5, 20)
    assert hyperkitty.start_day({}, date(2017, 1, 1), TODAY) == date(2017, 1, 1)
    assert hyperkitty.start_day({}, None, TODAY) is None


def test_a_near_empty_export_is_split_down_to_the_broken_day(site, tmp_path):
    site.poison = {date(2021, 5, 17)}
    tally = Tally("window")
    with client() as c:
        parts, items = collect(hyperkitty.parts(c, source(site), tmp_path, None, tally,
                                                today=TODAY))
    defects = [i for i in items if isinstance(i, Defect)]
    assert [d.kind for d in defects] == ["broken-export"]
    assert "2021-05-17..2021-05-18" in defects[0].detail and "1 expected" in defects[0].detail
    assert len(messages(items)) == 8          # everything but the broken day's message
    asked = site.exports()
    assert ("2021-05-17", "2021-05-18") in asked and asked[-1] == ("2021-06-01", "2021-06-21")
    broken_at = next(i for i, p in enumerate(parts) if p.label.startswith("2021-05-17"))
    assert all(p.cursor for p in parts[:broken_at])
    assert all(p.cursor is None for p in parts[broken_at:])   # retried from there next time
    assert tally.defects == defects


def test_without_the_api_the_previous_sync_says_there_was_mail(site, tmp_path):
    with client() as c:
        first, _ = collect(hyperkitty.parts(c, source(site), tmp_path, None, Tally("window"),
                                            today=TODAY))
        site.api_enabled = False
        site.poison = {date(2021, 6, 15)}
        parts, items = collect(hyperkitty.parts(c, source(site), tmp_path, first[-1].cursor,
                                                Tally("window"), today=TODAY))
    assert [d.kind for d in items if isinstance(d, Defect)] == ["broken-export"]
    assert parts[-1].cursor is None


def test_offline_reads_every_cached_window(site, tmp_path):
    with client() as c:
        collect(hyperkitty.parts(c, source(site), tmp_path, None, Tally("window"), today=TODAY))
    asked = len(site.web.seen)
    parts, items = collect(hyperkitty.parts(None, source(site), tmp_path, None, Tally("window"),
                                            today=TODAY))
    assert len(parts) == 3 and len(messages(items)) == 9 and len(site.web.seen) == asked
    assert all(p.cursor is None for p in parts)


def test_without_since_the_first_day_comes_from_the_api(site, tmp_path):
    with client() as c:
        parts, items = collect(hyperkitty.parts(c, source(site, since=""), tmp_path, None,
                                                Tally("window"), today=TODAY))
    assert site.exports()[0][0] == "2021-04-03" and len(messages(items)) == 9


def test_without_since_or_api_the_user_is_told_to_set_since(site, tmp_path):
    site.api_enabled = False
    with client() as c, pytest.raises(ConfigError, match="since"):
        list(hyperkitty.parts(c, source(site, since=""), tmp_path, None, Tally("window"),
                              today=TODAY))


def test_a_day_boundary_in_utc_decides_the_window(site, tmp_path):
    """A message sent at 23:30 -02:00 on May 31 is June 1 in UTC, as the export filters."""
    site.mails = [mail(1, datetime(2021, 5, 31, 23, 30, tzinfo=timezone(timedelta(hours=-2))))]
    with client() as c:
        parts, items = collect(hyperkitty.parts(c, source(site, "2021-05-01"), tmp_path, None,
                                                Tally("window"), today=TODAY))
    june = [p for p in parts if p.label.startswith("2021-06-01")]
    assert len(messages(june[0].items())) == 1


def test_an_api_that_answers_html_is_treated_as_no_api(site, tmp_path):
    site.web.routes[f"/hyperkitty/api/list/{site.address}/emails/"] = Reply(
        body=b"<html>Sign in</html>")
    with client() as c:
        parts, items = collect(hyperkitty.parts(c, source(site), tmp_path, None, Tally("window"),
                                                today=TODAY))
    assert len(messages(items)) == 9 and all(p.cursor for p in parts)


def test_an_unreachable_server_fails_the_list_instead_of_skipping_validation(tmp_path):
    with LocalWeb() as gone:
        url = gone.url + "/hyperkitty/list/l@h/"
    src = ListSource("l", "hyperkitty", url, "2021-06-01")
    with client() as c, pytest.raises(FetchError, match="connection failed"):
        list(hyperkitty.parts(c, src, tmp_path, None, Tally("window"), today=TODAY))
