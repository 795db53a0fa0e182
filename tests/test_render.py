"""render: every format from the same Digest, read back by a real parser of that format."""
from __future__ import annotations

import email
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime, timezone
from email import policy

import mwparserfromhell
import pytest
from bs4 import BeautifulSoup

from digest.compose import entry_messages
from digest.config import DigestSettings
from digest.errors import DigestError
from digest.model import Digest, Entry, Reference
from digest.render import FORMATS, render

from digest_samples import week19, week_store

SETTINGS = DigestSettings(recipients=("team@example.org",),
                          archive_url="https://digest.example.org/",
                          list_unsubscribe="<mailto:digest-leave@example.org>",
                          also_on_lists=True)
ATOM = "{http://www.w3.org/2005/Atom}"
URL_LINE = re.compile(r"^\s*(\[\d+\]\s+)?https?://\S+$")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    store = week_store(tmp_path_factory.mktemp("render") / "s.sqlite3")
    digest = week19(store, settings=SETTINGS)
    messages = entry_messages(store, digest)
    store.close()
    return digest, messages


@pytest.fixture
def week(stored):
    return stored[0]


def hostile() -> Digest:
    """Message-derived text full of markup that each format must neutralise."""
    refs = (Reference(1, "https://example.org/a?x=1&y=<2>", "Label <b>bold</b> & [co] {{tpl}}"),
            Reference(2, "https://example.org/plain"),
            Reference(3, "https://lists.example.org/archive/1/"))
    entry = Entry(key="h@x", subject="<script>alert('s')</script> [[Link]] {{Template}} *star*",
                  from_name="Eve <eve@example.org>", date=datetime(2017, 5, 9, tzinfo=timezone.utc),
                  lists=("wikimedia-l",),
                  summary="Text with <img src=x onerror=alert(1)> and ''quotes'' ~~~~ "
                          "http://bare.example.org/ and |pipes| cites [1] and [2].",
                  permalink="https://lists.example.org/archive/1/", refs=(1, 2), permalink_ref=3,
                  message_id="h@x", msgid_hash="HASHHASHHASH")
    return Digest("2017-W19", datetime(2017, 5, 8, tzinfo=timezone.utc),
                  datetime(2017, 5, 15, tzinfo=timezone.utc), "UTC", ("wikimedia-l",), (entry,),
                  refs)


def empty() -> Digest:
    return Digest("2017-W30", datetime(2017, 7, 24, tzinfo=timezone.utc),
                  datetime(2017, 7, 31, tzinfo=timezone.utc), "UTC",
                  ("wikimediaannounce-l", "wikimedia-l"))


# --- text -----------------------------------------------------------------------------------------

def test_text_lines_are_at_most_72_columns_and_urls_are_never_broken(week):
    text = render(week, "text", settings=SETTINGS)
    for line in text.splitlines():
        assert len(line) <= 72 or URL_LINE.match(line), line
    lines = [ln.strip() for ln in text.splitlines()]
    for ref in week.references:
        assert ref.url in lines or f"[{ref.number}] {ref.url}" in lines


def test_text_opens_with_contents_then_entries_then_references(week):
    text = render(week, "text", settings=SETTINGS)
    contents = text.index("In this digest")
    first_entry = text.index("1. Foundation and Example National Library", contents + 20)
    references = text.index("References")
    assert contents < first_entry < references
    assert "Week 19 of 2017 (Monday 8 May - Sunday 14 May, UTC)" in text
    assert "WikimediaAnnounce-l, also posted to Wikimedia-l - 1 reply" in text
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\]", text[references:], re.M)]
    assert numbers == list(range(1, len(week.references) + 1))


def test_text_references_put_a_label_then_the_url_alone_on_the_next_line(week):
    text = render(week, "text", settings=SETTINGS)
    assert ("[1] Example Library partnership\n"
            "    https://meta.wikimedia.org/wiki/Example_Library_partnership\n") in text
    assert f"[3] {week.references[2].url}\n" in text       # no label: number and URL


def test_an_empty_week_says_so(week):
    text = render(empty(), "text", settings=SETTINGS)
    assert "No partnership announcements" in text and "References" not in text
    html = render(empty(), "html", settings=SETTINGS)
    assert "No partnership announcements" in html


def test_every_format_is_byte_identical_when_rendered_twice(stored):
    digest, messages = stored
    for fmt in FORMATS:
        assert render(digest, fmt, settings=SETTINGS, messages=messages) == \
            render(digest, fmt, settings=SETTINGS, messages=messages), fmt


def test_an_unknown_format_is_an_error(week):
    with pytest.raises(DigestError, match="pdf"):
        render(week, "pdf", settings=SETTINGS)


# --- html -----------------------------------------------------------------------------------------

def test_html_links_every_reference_and_escapes_message_text():
    html = render(hostile(), "html", settings=SETTINGS)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert "<script>alert('s')</script>" in soup.get_text()
    refs = soup.find(id="references").find_all("li")
    assert [li.get("id") for li in refs] == ["ref-1", "ref-2", "ref-3"]
    assert [li.a["href"] for li in refs] == [r.url for r in hostile().references]
    cites = soup.select(".summary a.cite")
    assert [(a.get_text(), a["href"]) for a in cites] == [
        ("[1]", "https://example.org/a?x=1&y=<2>"), ("[2]", "https://example.org/plain")]


def test_html_is_email_safe_inline_styles_no_external_resources(week):
    soup = BeautifulSoup(render(week, "html", settings=SETTINGS), "html.parser")
    assert soup.find("style") is None and soup.find("link") is None and soup.find("script") is None
    assert not soup.find_all(src=True)
    assert soup.find("meta", attrs={"name": "viewport"}) is not None
    assert [a.get_text() for a in soup.find(id="contents").find_all("a")] == \
        [e.subject for e in week.entries]


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium)")
def test_html_renders_in_headless_chromium_with_links_and_numbering(week, tmp_path):
    page = tmp_path / "digest.html"
    page.write_text(render(week, "html", settings=SETTINGS), encoding="utf-8")
    profile = tmp_path / "profile"
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    dom = BeautifulSoup(result.stdout, "html.parser")
    items = dom.find(id="references").find_all("li")
    assert [li.find(class_="number").get_text() for li in items] == \
        [f"[{n}]" for n in range(1, len(week.references) + 1)]
    assert [li.a["href"] for li in items] == [r.url for r in week.references]
    by_number = {r.number: r.url for r in week.references}
    for number, entry in enumerate(week.entries, 1):
        block = dom.find(id=f"entry-{number}")
        assert block.h2.get_text().startswith(f"{number}. ")
        for a in block.select("a.cite"):
            assert a["href"] == by_number[int(a.get_text().strip("[]"))]


# --- wikitext -------------------------------------------------------------------------------------

def test_wikitext_parses_back_to_exactly_the_reference_links(week):
    code = mwparserfromhell.parse(render(week, "wikitext", settings=SETTINGS))
    found = {str(link.url) for link in code.filter_external_links()}
    assert found == {r.url for r in week.references}
    headings = [str(h.title).strip() for h in code.filter_headings()]
    assert headings[0] == "In this digest" and headings[-1] == "References"
    assert "1. Foundation and Example National Library sign an MoU" in headings


def test_wikitext_makes_message_text_inert():
    code = mwparserfromhell.parse(render(hostile(), "wikitext", settings=SETTINGS))
    assert code.filter_templates() == [] and code.filter_wikilinks() == []
    html_tags = [str(t.tag) for t in code.filter_tags() if t.wiki_markup is None]
    assert html_tags == ["span"] * 3                 # only the reference anchors are tags
    urls = [str(link.url) for link in code.filter_external_links()]
    assert "http://bare.example.org/" not in urls
    assert set(urls) == {"https://example.org/a?x=1&y=%3C2%3E", "https://example.org/plain",
                         "https://lists.example.org/archive/1/"}


# --- markdown -------------------------------------------------------------------------------------

def test_markdown_has_contents_entries_and_linked_references(week):
    md = render(week, "markdown", settings=SETTINGS)
    assert md.index("## In this digest") < md.index("## 1. ") < md.index("## References")
    for ref in week.references:
        assert f"<{ref.url}>" in md
    assert "[\\[1\\]](<https://meta.wikimedia.org/wiki/Example_Library_partnership>)" in md


def test_markdown_escapes_message_text():
    md = render(hostile(), "markdown", settings=SETTINGS)
    assert "<script>" not in md and "\\<script\\>" in md and "\\*star\\*" in md


# --- atom -----------------------------------------------------------------------------------------

def test_atom_is_a_valid_feed_with_one_entry_per_announcement(week):
    root = ET.fromstring(render(week, "atom", settings=SETTINGS).encode("utf-8"))
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == len(week.entries)
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    for atom_entry, entry in zip(entries, week.entries):
        assert atom_entry.findtext(f"{ATOM}title") == entry.subject
        assert atom_entry.findtext(f"{ATOM}updated") == entry.date.isoformat()
        assert atom_entry.find(f"{ATOM}link[@rel='alternate']").get("href") == entry.permalink
        assert atom_entry.find(f"{ATOM}author/{ATOM}name").text == entry.from_name


def test_atom_ids_are_stable_across_periods_and_escape_markup(week):
    a = ET.fromstring(render(hostile(), "atom", settings=SETTINGS).encode())
    entry = a.find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title").startswith("<script>")
    again = ET.fromstring(render(hostile(), "atom", settings=SETTINGS).encode())
    assert again.find(f"{ATOM}entry").findtext(f"{ATOM}id") == entry.findtext(f"{ATOM}id")


# --- json -----------------------------------------------------------------------------------------

def test_json_is_one_object_with_entries_and_references(week):
    out = render(week, "json", settings=SETTINGS)
    assert out.count("\n") == 1
    data = json.loads(out)
    assert data["period"] == "2017-W19"
    assert [e["subject"] for e in data["entries"]] == [e.subject for e in week.entries]
    assert [r["number"] for r in data["references"]] == [r.number for r in week.references]


# --- eml and mime-digest --------------------------------------------------------------------------

def test_eml_is_multipart_alternative_with_the_configured_headers(week):
    raw = render(week, "eml", settings=SETTINGS)
    assert isinstance(raw, bytes)
    mail = email.message_from_bytes(raw, policy=policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    assert mail["Subject"] == "[Partnerships digest] 2017-W19: 3 announcements"
    assert mail["From"] == SETTINGS.sender and mail["To"] == "team@example.org"
    assert mail["List-Unsubscribe"] == "<mailto:digest-leave@example.org>"
    assert mail["Date"] == "Mon, 15 May 2017 00:00:00 +0000"
    assert re.fullmatch(r"<digest\.[0-9a-f]{24}@example\.org>", mail["Message-ID"])
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    for ref in week.references:
        assert ref.url in text and ref.url in html
    assert mail.get_body(("plain",)).get_content_charset() == "utf-8"


def test_eml_message_id_depends_only_on_the_digest_identity(week):
    def mid(digest: Digest) -> str:
        return email.message_from_bytes(render(digest, "eml", settings=SETTINGS))["Message-ID"]

    assert mid(week) == mid(replace(week, entries=week.entries[:1]))   # same week, rebuilt
    assert mid(week) != mid(replace(week, period="2017-W20"))
    assert mid(week) != mid(replace(week, timezone="Europe/Berlin"))


def test_mime_digest_bursts_into_the_original_messages(stored):
    digest, messages = stored
    mail = email.message_from_bytes(render(digest, "mime-digest", settings=SETTINGS,
                                           messages=messages), policy=policy.default)
    assert mail.get_content_type() == "multipart/mixed"
    first, bundle = mail.get_payload()
    contents = first.get_content()
    assert "In this digest" in contents and "References" in contents
    assert all(r.url in contents for r in digest.references)
    assert bundle.get_content_type() == "multipart/digest"
    parts = bundle.get_payload()
    assert [p.get_content_type() for p in parts] == ["message/rfc822"] * len(digest.entries)
    inner = [p.get_payload(0) for p in parts]
    assert [m["Message-ID"] for m in inner] == [f"<{e.message_id}>" for e in digest.entries]
    assert "memorandum of" in inner[0].get_body(("plain",)).get_content()


def test_mime_digest_needs_the_stored_messages(week):
    with pytest.raises(DigestError, match="mime-digest"):
        render(week, "mime-digest", settings=SETTINGS)


# --- templates ------------------------------------------------------------------------------------

def test_a_templates_folder_overrides_single_templates_and_partials(week, tmp_path):
    (tmp_path / "_footer.txt.j2").write_text("-- \nCustom footer for {{ digest.period }}\n")
    text = render(week, "text", settings=SETTINGS, templates_dir=str(tmp_path))
    assert text.endswith("Custom footer for 2017-W19\n")
    assert "In this digest" in text                          # the rest is still bundled


def test_a_broken_override_is_an_error_naming_the_template(week, tmp_path):
    (tmp_path / "digest.txt.j2").write_text("{% for x in %}\n")
    with pytest.raises(DigestError, match="digest.txt.j2"):
        render(week, "text", settings=SETTINGS, templates_dir=str(tmp_path))
    with pytest.raises(DigestError, match="not found"):
        render(week, "text", settings=SETTINGS, templates_dir=str(tmp_path / "missing"))


# --- the CLI --------------------------------------------------------------------------------------

@pytest.fixture
def store_path(tmp_path):
    path = str(tmp_path / "s.sqlite3")
    week_store(path).close()
    return path


@pytest.fixture
def run_cli(tmp_path):
    """`digest --config <a small config> ARGS...` in-process; returns the exit status."""
    from digest.cli import main

    config = tmp_path / "digest.toml"
    config.write_text('[digest]\ntimezone = "UTC"\nrecipients = ["team@example.org"]\n')
    return lambda *args: main(["--config", str(config), *args])


@pytest.mark.parametrize("fmt", FORMATS)
def test_digest_build_writes_every_format_to_a_file(run_cli, store_path, tmp_path, fmt):
    out = tmp_path / f"digest.{fmt}"
    assert run_cli("--store", store_path, "build", "--week", "2017-W19", "--format", fmt,
                   "-o", str(out)) == 0
    data = out.read_bytes()
    if fmt in ("eml", "mime-digest"):
        mail = email.message_from_bytes(data, policy=policy.default)
        assert mail["Subject"] == "[Partnerships digest] 2017-W19: 3 announcements"
    else:
        assert "Foundation and Example National Library sign an MoU" in data.decode("utf-8")


def test_digest_build_latest_prints_text_to_stdout(run_cli, store_path, capsys):
    assert run_cli("--store", store_path, "build", "--week", "latest") == 0
    out = capsys.readouterr().out
    assert out.startswith("Partnership announcements on WikimediaAnnounce-l and Wikimedia-l\n")
    assert "Week 19 of 2017" in out


def test_digest_build_with_a_bad_week_is_one_line_naming_it(run_cli, store_path, capsys):
    assert run_cli("--store", store_path, "build", "--week", "2017-W99") == 1
    assert capsys.readouterr().err.strip() == "digest: error: week 2017-W99 does not exist"


def test_digest_build_uses_a_templates_folder(run_cli, store_path, tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "digest.txt.j2").write_text("{{ entries | length }} for {{ digest.period }}\n")
    assert run_cli("--store", store_path, "build", "--week", "2017-W19", "--templates",
                   str(folder)) == 0
    assert capsys.readouterr().out == "3 for 2017-W19\n"
