"""The bundled sample archives (archives/) are real-format, match tests/fixtures/ARCHIVES.md (which
other tests rely on as ground truth), and are reproducible from tests/fixtures/build_archives.py.

Stdlib only on purpose: these checks must not depend on the project's own parser.
"""
from __future__ import annotations

import email
import gzip
import mailbox
import re
import subprocess
import sys
from datetime import timezone
from email.header import decode_header, make_header
from email.message import Message
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ARCHIVES = REPO / "archives"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
DOC = (FIXTURES / "ARCHIVES.md").read_text(encoding="utf-8")
DAYS, MONTHS = "Mon|Tue|Wed|Thu|Fri|Sat|Sun", "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
# FORMATS.md §1.3: the full pipermail separator, always followed by a "From: " line
SEPARATOR = re.compile(rf"^From (\S+ at \S+)  ((?:{DAYS}) (?:{MONTHS}) [ \d]\d \d\d:\d\d:\d\d \d{{4}})\n(?=From: )".encode(),
                       re.M)
HYPERKITTY_FROM = re.compile(rf"From \S+@\S+ (?:{DAYS}) (?:{MONTHS}) [ \d]\d \d\d:\d\d:\d\d \d{{4}}")


def first_table_rows(heading: str) -> list[dict[str, str]]:
    """The first markdown table under `## heading` in ARCHIVES.md, as dicts keyed by column name."""
    lines = DOC.split(f"## {heading}\n", 1)[1].splitlines()
    begin = next(i for i, ln in enumerate(lines) if ln.startswith("|"))
    end = next((i for i in range(begin, len(lines)) if not lines[i].startswith("|")), len(lines))
    table = [[c.strip().strip("`") for c in ln.strip("|").split("|")] for ln in lines[begin:end]]
    return [dict(zip(table[0], row)) for row in table[2:]]


FILES = first_table_rows("Files")
ANNOUNCEMENTS = first_table_rows("Partnership announcements (ground truth)")
EVERY = first_table_rows("Every message")
PIPERMAIL = [row["file"] for row in FILES if row["format"] == "pipermail"]
EXPORT = next(row["file"] for row in FILES if row["format"] == "hyperkitty")


def text(value: str | None) -> str:
    """A header as a reader sees it: unfolded, RFC 2047 decoded."""
    return str(make_header(decode_header(re.sub(r"\r?\n[ \t]", " ", value or ""))))


def without_tags(subject: str) -> str:
    return re.sub(r"\[[^\]]*\] ?", "", subject).strip()


def pipermail_entries(name: str) -> list[tuple[bytes, Message]]:
    """(raw From_ line, parsed message) for each entry of a pipermail month file."""
    data = gzip.decompress((ARCHIVES / name).read_bytes())
    starts = [m.start() for m in SEPARATOR.finditer(data)]
    assert starts and starts[0] == 0, f"{name} does not start with a pipermail separator"
    chunks = [data[a:b] for a, b in zip(starts, starts[1:] + [len(data)])]
    return [(c.split(b"\n", 1)[0], email.message_from_bytes(c.split(b"\n", 1)[1])) for c in chunks]


def export_messages(tmp_path: Path) -> list[mailbox.mboxMessage]:
    box = tmp_path / "export.mbox"
    box.write_bytes(gzip.decompress((ARCHIVES / EXPORT).read_bytes()))
    return list(mailbox.mbox(box, create=False))


def all_copies(tmp_path: Path) -> list[tuple[str, Message]]:
    """(list name, message) for every message copy in every bundled file."""
    out = [(row["list"], msg) for row in FILES if row["format"] == "pipermail"
           for _, msg in pipermail_entries(row["file"])]
    return out + [("wikimedia-l", m) for m in export_messages(tmp_path)]


def test_the_documentation_lists_five_files_and_seven_announcements() -> None:
    assert {row["file"] for row in FILES} == {p.name for p in ARCHIVES.iterdir()}
    assert len(FILES) == 5 and len(PIPERMAIL) == 4
    assert 6 <= len(ANNOUNCEMENTS) <= 8


@pytest.mark.parametrize("row", FILES, ids=lambda r: r["file"])
def test_each_file_holds_the_documented_number_of_messages(row: dict[str, str], tmp_path: Path) -> None:
    if row["format"] == "pipermail":
        count = len(pipermail_entries(row["file"]))
    else:
        count = len(export_messages(tmp_path))
    assert count == int(row["messages"])


@pytest.mark.parametrize("name", PIPERMAIL)
def test_pipermail_entries_have_the_mailman2_header_set_and_obfuscated_addresses(name: str) -> None:
    for from_line, msg in pipermail_entries(name):
        assert b"@" not in from_line and b" at " in from_line
        keys = [k for k in msg.keys()]
        expected = ["From", "Date", "Subject"] + (["In-Reply-To", "References"] if msg["In-Reply-To"] else [])
        assert keys == expected + ["Message-ID"]
        assert re.fullmatch(r"\S+ at \S+ \(.+\)", msg["From"]), msg["From"]
        assert re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", msg["Message-ID"])
        body = msg.get_payload(decode=False).encode("utf-8", "surrogateescape")
        assert b"@" not in body, f"unobfuscated address in {msg['Message-ID']}"


@pytest.mark.parametrize("name", PIPERMAIL)
def test_pipermail_from_line_is_the_utc_time_of_the_date_header_and_fits_the_month(name: str) -> None:
    month = name.rsplit("-", 1)[1].split(".")[0]
    for from_line, msg in pipermail_entries(name):
        utc = parsedate_to_datetime(msg["Date"]).astimezone(timezone.utc)
        ctime = utc.strftime("%a %b ") + f"{utc.day:2d}" + utc.strftime(" %H:%M:%S %Y")
        assert from_line.decode().endswith("  " + ctime)
        assert utc.strftime("%B") == month


def test_a_reply_sent_on_1_may_local_time_is_filed_in_april_utc() -> None:
    dates = [msg["Date"] for _, msg in pipermail_entries("wikimedia-l-2017-April.txt.gz")]
    assert any(d.startswith("Mon, 01 May 2017") for d in dates)


def test_pipermail_bodies_keep_unescaped_from_lines_the_separator_must_skip() -> None:
    data = gzip.decompress((ARCHIVES / "wikimedia-l-2017-April.txt.gz").read_bytes())
    body_from = [ln for ln in data.splitlines() if ln.startswith(b"From ") and not SEPARATOR.match(ln + b"\nFrom: ")]
    assert body_from, "expected at least one body line starting 'From ' that is not a separator"


@pytest.mark.parametrize("month", ["April", "May"])
def test_every_announce_post_is_cross_posted_to_wikimedia_l_under_the_same_message_id(month: str) -> None:
    announce = {msg["Message-ID"]: msg for _, msg in pipermail_entries(f"wikimediaannounce-l-2017-{month}.txt.gz")}
    wml = {msg["Message-ID"]: msg for _, msg in pipermail_entries(f"wikimedia-l-2017-{month}.txt.gz")}
    assert announce and set(announce) <= set(wml)
    for mid, msg in announce.items():
        assert text(msg["Subject"]).startswith("[WikimediaAnnounce-l] ")
        assert text(wml[mid]["Subject"]).startswith("[Wikimedia-l] ")
        assert without_tags(text(msg["Subject"])) == without_tags(text(wml[mid]["Subject"]))


@pytest.mark.parametrize("name", PIPERMAIL)
def test_every_pipermail_post_ends_with_its_lists_footer(name: str) -> None:
    footer = b"Wikimedia-l mailing list, guidelines at:" if name.startswith("wikimedia-l") else \
        b"WikimediaAnnounce-l mailing list\nWikimediaAnnounce-l at lists.wikimedia.org"
    for _, msg in pipermail_entries(name):
        assert footer in msg.get_payload(decode=False).encode("utf-8", "surrogateescape")


def test_replies_quote_their_parent_and_some_quote_the_footer(tmp_path: Path) -> None:
    replies = [msg for _, msg in all_copies(tmp_path) if msg["In-Reply-To"]]
    bodies = [(m.get_payload(0) if m.is_multipart() else m).get_payload(decode=True) for m in replies]
    assert replies and all(re.search(rb"^> ", b, re.M) for b in bodies)
    assert sum(bool(re.search(rb"^> _{20,}$", b, re.M)) for b in bodies) >= 3


def test_every_reply_points_at_a_message_in_the_archives(tmp_path: Path) -> None:
    copies = all_copies(tmp_path)
    ids = {msg["Message-ID"] for _, msg in copies}
    for _, msg in copies:
        if msg["In-Reply-To"]:
            assert msg["In-Reply-To"] in ids
            if msg["References"]:
                assert msg["References"].split()[-1] == msg["In-Reply-To"]


def test_hyperkitty_export_has_the_regenerated_shape(tmp_path: Path) -> None:
    raw = gzip.decompress((ARCHIVES / EXPORT).read_bytes())
    assert raw.endswith(b"==--\n\n\n")
    for msg in export_messages(tmp_path):
        assert HYPERKITTY_FROM.fullmatch(msg.get_from() and "From " + msg.get_from())
        expected = ["From", "To", "Subject", "Date", "Message-ID"] + (["In-Reply-To"] if msg["In-Reply-To"] else [])
        assert list(msg.keys()) == expected + ["MIME-Version", "Content-Type"]
        assert msg["To"] == "wikimedia-l@lists.wikimedia.org"
        assert text(msg["Subject"]).startswith(("[Wikimedia-l] ", "Re: [Wikimedia-l] "))
        assert msg.get_content_type() == "multipart/mixed"
        assert re.fullmatch(r"={15}\d{19}==", msg.get_boundary())
        first = msg.get_payload(0)
        assert first.get_content_type() == "text/plain" and first.get_content_charset() == "utf-8"
        for part in msg.get_payload()[1:]:
            assert part.get("Content-Disposition", "").startswith("attachment")


def test_hyperkitty_export_escapes_body_from_lines(tmp_path: Path) -> None:
    raw = gzip.decompress((ARCHIVES / EXPORT).read_bytes())
    assert re.search(rb"^>From ", raw, re.M)


def test_html_only_announcement_carries_its_text_and_links_in_an_html_attachment(tmp_path: Path) -> None:
    html_only = [m for m in export_messages(tmp_path)
                 if not m.get_payload(0).get_payload(decode=True).strip()
                 and any(p.get_content_type() == "text/html" for p in m.get_payload()[1:])]
    assert len(html_only) == 1
    msg = html_only[0]
    html = next(p for p in msg.get_payload() if p.get_content_type() == "text/html")
    markup = html.get_payload(decode=True).decode(html.get_content_charset())
    hrefs = re.findall(r'href="([^"]+)"', markup)
    assert any("meta.wikimedia.org" in h for h in hrefs) and any("diff.wikimedia.org" in h for h in hrefs)
    assert any(text(msg["Subject"]).endswith(row["subject (tags stripped)"]) for row in ANNOUNCEMENTS)


def test_hyperkitty_export_has_a_base64_part_and_a_non_english_rfc2047_subject(tmp_path: Path) -> None:
    messages = export_messages(tmp_path)
    parts = [p for m in messages for p in m.get_payload()]
    assert any(p["Content-Transfer-Encoding"] == "base64" and p.get_payload(decode=True) for p in parts)
    encoded = [m["Subject"] for m in messages if "=?utf-8?" in m["Subject"]]
    assert encoded and any(not text(s).isascii() for s in encoded)


def test_ground_truth_announcements_are_in_the_files_with_their_week_and_lists(tmp_path: Path) -> None:
    copies = all_copies(tmp_path)
    for row in ANNOUNCEMENTS:
        found = [(lst, msg) for lst, msg in copies if msg["Message-ID"] == row["Message-ID"]]
        assert found, row["Message-ID"]
        assert {lst for lst, _ in found} == set(row["lists"].split(", "))
        for _, msg in found:
            assert without_tags(text(msg["Subject"])) == row["subject (tags stripped)"]
            utc = parsedate_to_datetime(msg["Date"]).astimezone(timezone.utc)
            year, week, _ = utc.isocalendar()
            assert f"{year}-W{week:02d}" == row["ISO week"]
            assert utc.strftime("%Y-%m-%d %H:%M") == row["date (UTC)"]


def test_announcements_are_spread_so_that_weeks_and_latest_are_meaningful() -> None:
    weeks = [row["ISO week"] for row in ANNOUNCEMENTS]
    may_2017 = [w for row, w in zip(ANNOUNCEMENTS, weeks) if row["date (UTC)"].startswith("2017-05")]
    assert len(set(weeks)) >= 5
    assert any(may_2017.count(w) >= 2 for w in may_2017)
    assert max(weeks) == "2021-W42" and weeks.count("2021-W42") == 1
    later = [row for row in EVERY if row["ISO week"] > "2021-W42"]
    assert later and all("partnership announcement" not in row["kind"] for row in later)


def test_every_documented_message_is_in_the_files_and_no_other(tmp_path: Path) -> None:
    ids = {msg["Message-ID"] for _, msg in all_copies(tmp_path)}
    assert ids == {row["Message-ID"] for row in EVERY}
    marked = {row["Message-ID"] for row in EVERY if row["kind"].startswith("partnership announcement")}
    assert marked == {row["Message-ID"] for row in ANNOUNCEMENTS}


def test_gzip_members_carry_no_timestamp() -> None:
    for path in ARCHIVES.iterdir():
        head = path.read_bytes()[:10]
        assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\0\0\0\0", path.name


def test_the_generator_rebuilds_byte_identical_files(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(FIXTURES / "build_archives.py"), str(tmp_path)], check=True,
                   capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in ARCHIVES.iterdir())
    for path in ARCHIVES.iterdir():
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name
