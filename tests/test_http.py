"""digest.sources.http: one polite client, tested against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from localweb import LocalWeb, Reply

from digest import __version__
from digest.config import HttpSettings
from digest.errors import ConfigError, FetchError
from digest.sources.http import HttpClient, HttpStatusError, parse_retry_after, read_meta

NOW = datetime(2021, 6, 16, 12, 0, tzinfo=timezone.utc)


class FakeTime:
    """A clock that only moves when the client sleeps, so every wait is visible and instant."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


def client(time: FakeTime | None = None, **overrides) -> HttpClient:
    time = time or FakeTime()
    values = dict(contact="tests@example.org", requests_per_second=1000.0, retries=2,
                  connect_timeout=2.0, read_timeout=2.0)
    values.update(overrides)
    return HttpClient(HttpSettings(**values), clock=time.clock, sleep=time.sleep,
                      now=lambda: NOW, rng=lambda: 0.5)


@pytest.fixture
def web():
    with LocalWeb() as server:
        yield server


def test_every_request_carries_the_user_agent_with_the_contact(web):
    web.file("/index.html", b"<html></html>")
    with client() as c:
        c.get_text(web.url + "/index.html")
    ua = web.seen[0].headers["user-agent"]
    assert ua == f"digest/{__version__} (tests@example.org) httpx/{httpx.__version__}"


def test_no_contact_is_refused_before_any_request(web):
    web.file("/index.html", b"x")
    with pytest.raises(ConfigError, match="contact"):
        HttpClient(HttpSettings(contact="  "))
    assert web.seen == []


@pytest.mark.parametrize("contact", ["ops@example.org\nX-Evil: 1", "josé@example.org"])
def test_a_contact_that_cannot_go_into_a_header_is_refused(contact):
    with pytest.raises(ConfigError, match="plain ASCII"):
        HttpClient(HttpSettings(contact=contact))


def test_download_writes_the_file_and_its_validators(web, tmp_path):
    web.file("/2021-June.txt", b"From a at b  Wed Jun 16 11:30:03 2021\n", etag='"v1"',
             modified=1623840000)
    with client() as c:
        got = c.download(web.url + "/2021-June.txt", tmp_path / "2021-June.txt")
    assert got.changed and got.path.read_bytes().startswith(b"From a at b")
    meta = read_meta(got.path)
    assert meta["etag"] == '"v1"' and meta["sha256"] == got.sha256
    assert meta["last_modified"].startswith("Wed, 16 Jun 2021")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2021-June.txt",
                                                          "2021-June.txt.meta.json"]


def test_an_unchanged_file_is_not_downloaded_again(web, tmp_path):
    web.file("/a.txt", b"same", etag='"e1"')
    web.file("/b.txt", b"same too", modified=1623840000)
    with client() as c:
        for name in ("a.txt", "b.txt"):
            first = c.download(f"{web.url}/{name}", tmp_path / name)
            again = c.download(f"{web.url}/{name}", tmp_path / name)
            assert first.changed and not again.changed
            assert again.sha256 == first.sha256 and again.path.read_bytes() == first.path.read_bytes()
    assert web.seen[1].headers["if-none-match"] == '"e1"'
    assert "if-modified-since" in web.seen[3].headers


def test_a_changed_file_replaces_the_cached_copy(web, tmp_path):
    web.file("/m.txt", b"one", etag='"1"')
    with client() as c:
        c.download(web.url + "/m.txt", tmp_path / "m.txt")
        web.file("/m.txt", b"one and two", etag='"2"')
        got = c.download(web.url + "/m.txt", tmp_path / "m.txt")
    assert got.changed and got.path.read_bytes() == b"one and two"
    assert read_meta(got.path)["etag"] == '"2"'


def test_a_server_error_is_retried_with_growing_jittered_backoff(web, tmp_path):
    web.routes["/m.txt"] = [Reply(status=500), Reply(status=502), Reply(body=b"ok")]
    time = FakeTime()
    with client(time, retries=3) as c:
        got = c.download(web.url + "/m.txt", tmp_path / "m.txt")
    assert got.path.read_bytes() == b"ok"
    assert len(web.seen) == 3
    backoffs = [s for s in time.sleeps if s >= 0.01]
    assert backoffs == [1.0, 2.0]  # base 1 s doubled; rng 0.5 gives a jitter factor of 1.0


def test_jitter_spreads_the_backoff_between_half_and_one_and_a_half(web):
    web.routes["/x"] = [Reply(status=503), Reply(body=b"ok")]
    for rng, expected in ((0.0, 0.5), (0.999, 1.499)):
        web.routes["/x"] = [Reply(status=503), Reply(body=b"ok")]
        time = FakeTime()
        c = HttpClient(HttpSettings(contact="t@example.org", requests_per_second=1000),
                       clock=time.clock, sleep=time.sleep, rng=lambda r=rng: r)
        c.get_text(web.url + "/x")
        assert [round(s, 3) for s in time.sleeps if s >= 0.01] == [expected]


def test_retry_after_in_seconds_is_honoured_on_429(web):
    web.routes["/api"] = [Reply(status=429, headers={"Retry-After": "7"}), Reply(body=b"[]")]
    time = FakeTime()
    with client(time) as c:
        assert c.get_json(web.url + "/api") == []
    assert 7.0 in time.sleeps


def test_retry_after_as_an_http_date_is_honoured_on_503(web):
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    web.routes["/api"] = [Reply(status=503, headers={"Retry-After": later}), Reply(body=b"{}")]
    time = FakeTime()
    with client(time) as c:
        assert c.get_json(web.url + "/api") == {}
    assert 30.0 in time.sleeps


def test_parse_retry_after_accepts_both_forms_and_ignores_garbage():
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_an_unreasonable_retry_after_is_an_error_naming_the_url(web):
    web.routes["/api"] = Reply(status=429, headers={"Retry-After": "86400"})
    with client() as c, pytest.raises(FetchError, match=r"/api: .*86400"):
        c.get_text(web.url + "/api")
    assert len(web.seen) == 1


def test_a_missing_page_is_not_retried(web, tmp_path):
    with client() as c, pytest.raises(HttpStatusError) as info:
        c.download(web.url + "/2016-Nowhere.txt.gz", tmp_path / "x.txt.gz")
    assert info.value.status == 404 and "/2016-Nowhere.txt.gz" in str(info.value)
    assert len(web.seen) == 1 and not (tmp_path / "x.txt.gz").exists()


def test_a_connection_that_stalls_past_the_read_timeout_is_retried_then_fails(web, tmp_path):
    web.routes["/slow"] = Reply(body=b"late", stall=1.5)
    with client(retries=1, read_timeout=0.2) as c, pytest.raises(FetchError, match="/slow: timed out"):
        c.download(web.url + "/slow", tmp_path / "slow")
    assert len(web.seen) == 2 and not (tmp_path / "slow").exists()


def test_a_body_that_stalls_halfway_is_retried_and_never_kept_half(web, tmp_path):
    body = b"x" * 5000
    web.routes["/m.txt"] = [Reply(body=body, stall=1.5, stall_after=100), Reply(body=body)]
    with client(read_timeout=0.3) as c:
        got = c.download(web.url + "/m.txt", tmp_path / "m.txt")
    assert got.path.read_bytes() == body and len(web.seen) == 2


def test_a_connection_refused_is_a_fetch_error_naming_the_url(tmp_path):
    with LocalWeb() as gone:
        url = gone.url + "/m.txt"
    with client(retries=1) as c, pytest.raises(FetchError, match="m.txt: connection failed"):
        c.download(url, tmp_path / "m.txt")


def test_a_truncated_gzip_is_retried_and_never_ingested_half(web, tmp_path):
    whole = gzip.compress(b"From a at b  Wed Jun 16 11:30:03 2021\n" * 2000)
    cut = whole[: len(whole) // 2]
    web.routes["/m.txt.gz"] = [Reply(body=cut, send_length=False), Reply(body=whole)]
    with client() as c:
        got = c.download(web.url + "/m.txt.gz", tmp_path / "m.txt.gz")
    assert got.gzipped and got.path.read_bytes() == whole and len(web.seen) == 2


def test_a_gzip_that_stays_truncated_fails_and_leaves_no_file(web, tmp_path):
    whole = gzip.compress(b"line of mail\n" * 5000)
    web.routes["/m.txt.gz"] = Reply(body=whole[:-20], send_length=False)
    with client(retries=1) as c, pytest.raises(FetchError, match="truncated or corrupt gzip"):
        c.download(web.url + "/m.txt.gz", tmp_path / "m.txt.gz")
    assert list(tmp_path.iterdir()) == []


def test_a_truncated_gzip_does_not_replace_a_good_cached_copy(web, tmp_path):
    good = gzip.compress(b"month one\n" * 100)
    web.file("/m.txt.gz", good, etag='"1"')
    with client(retries=0) as c:
        c.download(web.url + "/m.txt.gz", tmp_path / "m.txt.gz")
        bigger = gzip.compress(b"month one and more\n" * 1000)
        web.routes["/m.txt.gz"] = Reply(body=bigger[:-30], send_length=False, etag='"2"')
        with pytest.raises(FetchError):
            c.download(web.url + "/m.txt.gz", tmp_path / "m.txt.gz")
    assert (tmp_path / "m.txt.gz").read_bytes() == good
    assert read_meta(tmp_path / "m.txt.gz")["etag"] == '"1"'


def test_a_gzip_bomb_is_refused_at_once(web, tmp_path):
    bomb = gzip.compress(b"\0" * (40 << 20), compresslevel=9)
    web.file("/m.txt.gz", bomb)
    with client(retries=3) as c, pytest.raises(FetchError, match="gzip bomb"):
        c.download(web.url + "/m.txt.gz", tmp_path / "m.txt.gz")
    assert len(web.seen) == 1 and list(tmp_path.iterdir()) == []


def test_a_download_larger_than_the_limit_is_refused(web, tmp_path):
    web.file("/big", b"y" * 300_000)
    with client(max_download_mb=0.1) as c, pytest.raises(FetchError, match="max_download_mb"):
        c.download(web.url + "/big", tmp_path / "big")
    web.routes["/big"] = Reply(body=b"y" * 300_000, send_length=False)
    with client(max_download_mb=0.1) as c, pytest.raises(FetchError, match="max_download_mb"):
        c.download(web.url + "/big", tmp_path / "big")
    assert list(tmp_path.iterdir()) == []


def test_requests_to_one_host_are_spaced_by_the_rate_limit(web):
    web.file("/p", b"ok")
    time = FakeTime()
    c = HttpClient(HttpSettings(contact="t@example.org", requests_per_second=2.0),
                   clock=time.clock, sleep=time.sleep)
    for _ in range(3):
        c.get_text(web.url + "/p")
    assert time.sleeps == [0.5, 0.5]
    other_host = web.url.replace("127.0.0.1", "localhost")
    c.get_text(other_host + "/p")
    assert time.sleeps == [0.5, 0.5]  # another host has its own budget
    assert c.requests == 4


def test_json_answers_are_decoded(web):
    web.file("/api/emails/", json.dumps({"count": 0, "results": []}).encode(),
             **{"Content-Type": "application/json"})
    with client() as c:
        assert c.get_json(web.url + "/api/emails/", {"limit": 5}) == {"count": 0, "results": []}
    assert web.seen[0].query == {"limit": "5"}


def test_a_body_that_is_not_json_is_a_fetch_error(web):
    web.file("/api", b"<html>maintenance</html>")
    with client() as c, pytest.raises(FetchError, match="not JSON"):
        c.get_json(web.url + "/api")


def test_cache_paths_are_created_on_demand(web, tmp_path: Path):
    web.file("/m", b"data")
    with client() as c:
        got = c.download(web.url + "/m", tmp_path / "deep" / "er" / "m")
    assert got.path.read_bytes() == b"data"


def test_a_cache_that_cannot_be_written_is_a_fetch_error_naming_it(web, tmp_path):
    web.file("/m", b"data")
    (tmp_path / "blocker").write_text("a file where a folder should be")
    with client() as c, pytest.raises(FetchError, match="cannot create the cache folder"):
        c.download(web.url + "/m", tmp_path / "blocker" / "m")
