"""digest.sources.local: archives on disk -> raw messages with hints, or defects; never a crash."""
from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pytest

from digest.errors import InputError
from digest.model import Defect, SourceHints
from digest.parse import parse_message
from digest.sources.local import MAX_MESSAGE_BYTES, list_name_from_path, read_path, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "local"
SHARED = Path(__file__).resolve().parents[2] / "shared"
PIPERMAIL = FIXTURES / "wikimedia-l-2012-April.txt"
MIXED = FIXTURES / "mixed.mbox"
HYPERKITTY = FIXTURES / "hyperkitty-export.mbox"


def messages(path, **kwargs) -> list[tuple[bytes, SourceHints]]:
    return [item for item in read_path(path, **kwargs) if not isinstance(item, Defect)]


def defects(path, **kwargs) -> list[Defect]:
    return [item for item in read_path(path, **kwargs) if isinstance(item, Defect)]


def gzipped(src: Path, dest: Path) -> Path:
    dest.write_bytes(gzip.compress(src.read_bytes()))
    return dest


# --- sniffing --------------------------------------------------------------------------------

def test_formats_are_sniffed_from_content_not_names(tmp_path):
    assert sniff(PIPERMAIL) == "pipermail"
    assert sniff(MIXED) == "mbox"
    assert sniff(HYPERKITTY) == "hyperkitty"
    assert sniff(FIXTURES / "single.eml") == "eml"
    disguised = tmp_path / "archive.eml"
    disguised.write_bytes(PIPERMAIL.read_bytes())
    assert sniff(disguised) == "pipermail"
    assert sniff(gzipped(PIPERMAIL, tmp_path / "x.mbox")) == "pipermail"


def test_sniff_reports_maildirs_empty_files_and_non_mail(tmp_path):
    for sub in ("cur", "new", "tmp"):
        (tmp_path / "md" / sub).mkdir(parents=True)
    assert sniff(tmp_path / "md") == "maildir"
    (tmp_path / "empty").write_bytes(b"")
    assert sniff(tmp_path / "empty") == "empty"
    (tmp_path / "page.html").write_text("<html><body>not mail</body></html>")
    assert sniff(tmp_path / "page.html") == "unknown"


def test_missing_paths_and_plain_directories_raise_input_errors_naming_the_path(tmp_path):
    with pytest.raises(InputError, match="nowhere.mbox"):
        read_path(tmp_path / "nowhere.mbox")
    with pytest.raises(InputError, match="not a Maildir"):
        read_path(tmp_path)
    with pytest.raises(InputError, match="nowhere"):
        sniff(tmp_path / "nowhere")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_raises_an_input_error(tmp_path):
    locked = tmp_path / "locked.mbox"
    locked.write_bytes(MIXED.read_bytes())
    locked.chmod(0)
    with pytest.raises(InputError, match="locked.mbox"):
        read_path(locked)


# --- list names from file names --------------------------------------------------------------

@pytest.mark.parametrize("path, expected", [
    ("archives/wikimedia-l-2012-April.txt", "wikimedia-l"),
    ("archives/WikimediaAnnounce-l-2010-May.txt.gz", "wikimediaannounce-l"),
    ("archives/wikimedia-l/2016-January.txt.gz", "wikimedia-l"),
    ("wikimedia-l@lists.wikimedia.org-2021-06-16.mbox.gz", "wikimedia-l"),
    ("wikimediaannounce-l-2021-06.mbox.gz", "wikimediaannounce-l"),
    ("2016-January.txt", None),
    ("random.mbox", None),
])
def test_list_names_are_read_from_recognisable_file_names(path, expected):
    assert list_name_from_path(path) == expected


# --- mbox splitting --------------------------------------------------------------------------

def test_mbox_messages_come_with_index_offset_and_format():
    items = messages(MIXED)
    assert [h.index for _, h in items] == [1, 2, 3]
    data = MIXED.read_bytes()
    for raw, hints in items:
        assert data[hints.offset:].startswith(b"From ")
        assert hints.archive_format == "mbox" and hints.source == str(MIXED)
        assert hints.list_name is None


def test_escaped_from_lines_are_unescaped_and_unescaped_ones_do_not_split():
    first = messages(MIXED)[0][0]
    assert b"\nFrom the escaped line (mboxo/mboxrd).\n" in first
    assert b"\n>From a doubly escaped line.\n" in first
    assert b"\nFrom here on, an unescaped body line" in first
    assert b"\nFrom bob@example.org Mon Jan  2 10:05:00 2017 is in the middle" in first


def test_non_ascii_separators_and_repeated_messages_are_all_yielded():
    parsed = [parse_message(raw, hints) for raw, hints in messages(MIXED)]
    assert [m.key for m in parsed] == ["first@example.org", "second@example.org",
                                       "first@example.org"]
    assert parsed[1].from_name == "Jöhn"


def test_crlf_mboxes_split_the_same_way(tmp_path):
    crlf = tmp_path / "crlf.mbox"
    crlf.write_bytes(MIXED.read_bytes().replace(b"\n", b"\r\n"))
    items = messages(crlf)
    assert len(items) == 3
    assert parse_message(*items[1]).text == "Non-ASCII separator line above; body: Grüße."


def test_hyperkitty_exports_unescape_mangled_from_lines():
    items = messages(HYPERKITTY)
    assert [h.archive_format for _, h in items] == ["hyperkitty", "hyperkitty"]
    assert "From a mangled line." in parse_message(*items[1]).text


def test_a_file_without_separators_is_one_message_when_it_looks_like_one():
    [(raw, hints)] = messages(FIXTURES / "single.eml", list_name="Wikimedia-L")
    assert (hints.index, hints.offset, hints.archive_format, hints.list_name) == (
        1, 0, "eml", "wikimedia-l")
    assert parse_message(raw, hints).key == "single@example.org"


def test_nul_bytes_and_binary_garbage_do_not_stop_the_rest(tmp_path):
    path = tmp_path / "garbage.mbox"
    path.write_bytes(MIXED.read_bytes().replace(b"Body of the first", b"Body\x00\xff\xfe of the first"))
    parsed = [parse_message(raw, hints) for raw, hints in messages(path)]
    assert len(parsed) == 3
    assert "nul-bytes" in {d.kind for d in parsed[0].defects}


# --- pipermail -------------------------------------------------------------------------------

def test_pipermail_months_split_on_the_full_separator_only():
    items = messages(PIPERMAIL)
    parsed = [parse_message(raw, hints) for raw, hints in items]
    # 4 separators; body lines "From now on" / "From the museum's" are not separators, and the
    # third message starts right after a footer, without a blank line
    assert [m.key for m in parsed] == ["CAF1234.abc@mail.example.org",
                                       "1333443600.42.sam@example.net", "odd-date@example.com",
                                       "CAF1234.abc@mail.example.org"]
    assert "From now on, volunteers" in parsed[0].new_text
    assert "From the museum's point of view" in parsed[1].new_text
    assert all(h.archive_format == "pipermail" and h.obfuscated for _, h in items)
    assert all(h.list_name == "wikimedia-l" for _, h in items)
    assert parsed[1].from_addr == "sam@example.net"
    assert "bad-date" in {d.kind for d in parsed[2].defects}


def test_pipermail_quote_lines_starting_with_from_are_not_unescaped(tmp_path):
    path = tmp_path / "list-2012-May.txt"
    path.write_bytes(PIPERMAIL.read_bytes().replace(b"Great news!", b">From the quoted mail"))
    assert b"\n>From the quoted mail" in messages(path)[1][0]


def test_list_argument_wins_over_the_file_name():
    assert {h.list_name for _, h in messages(PIPERMAIL, list_name="WikimediaAnnounce-l")} == {
        "wikimediaannounce-l"}


# --- gzip ------------------------------------------------------------------------------------

def test_gzip_files_read_like_their_content(tmp_path):
    packed = gzipped(PIPERMAIL, tmp_path / "wikimedia-l-2012-April.txt.gz")
    plain_items, packed_items = messages(PIPERMAIL), messages(packed)
    assert [raw for raw, _ in packed_items] == [raw for raw, _ in plain_items]
    assert [h.offset for _, h in packed_items] == [h.offset for _, h in plain_items]
    assert packed_items[0][1].list_name == "wikimedia-l"


def test_a_truncated_gzip_yields_what_was_read_then_a_defect(tmp_path):
    big = MIXED.read_bytes() * 400          # enough to span several gzip blocks
    whole = gzip.compress(big)
    path = tmp_path / "cut.mbox.gz"
    path.write_bytes(whole[: len(whole) // 2])
    items = list(read_path(path))
    assert isinstance(items[-1], Defect) and items[-1].kind == "truncated-gzip"
    assert items[-1].source == str(path) and items[-1].offset > 0
    assert str(path) in str(items[-1])
    good = [i for i in items if not isinstance(i, Defect)]
    assert 10 < len(good) < 1200
    assert all(not isinstance(i, Defect) for i in items[:-1])


def test_a_broken_gzip_is_a_defect_not_an_exception(tmp_path):
    path = tmp_path / "broken.txt.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00garbage that is not deflate data at all" * 3)
    [defect] = list(read_path(path))
    assert defect.kind in ("broken-gzip", "truncated-gzip") and defect.source == str(path)


# --- bad input -------------------------------------------------------------------------------

def test_an_empty_file_is_a_defect(tmp_path):
    path = tmp_path / "empty.mbox"
    path.write_bytes(b"")
    [defect] = list(read_path(path))
    assert (defect.kind, defect.source) == ("empty", str(path))


def test_a_file_that_is_not_mail_is_a_defect(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nwithout any headers\n")
    [defect] = list(read_path(path))
    assert defect.kind == "not-mail"


def test_oversized_messages_are_skipped_with_a_defect_and_the_rest_continues(tmp_path):
    path = tmp_path / "big.mbox"
    data = MIXED.read_bytes()
    path.write_bytes(data.replace(b"Body of the first message.", b"x" * 5000))
    items = list(read_path(path, max_message_bytes=2000))
    assert isinstance(items[0], Defect) and items[0].kind == "too-large"
    assert (items[0].index, items[0].offset) == (1, 0)
    assert items[0].message_id == "first@example.org"
    assert [h.index for _, h in (i for i in items if not isinstance(i, Defect))] == [2, 3]


def test_an_oversized_maildir_file_or_eml_names_its_message_id_too(tmp_path):
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    big = (FIXTURES / "single.eml").read_bytes() + b"x" * 5000
    (md / "new" / "1.host").write_bytes(big)
    (tmp_path / "big.eml").write_bytes(big)
    for path in (md, tmp_path / "big.eml"):
        [defect] = list(read_path(path, max_message_bytes=2000))
        assert defect.kind == "too-large" and defect.message_id == "single@example.org", path


def test_a_50_mb_message_is_one_defect_naming_it_and_the_rest_streams_through(tmp_path):
    """No list post comes near MAX_MESSAGE_BYTES; one that does is damage, skipped while
    streaming (never held whole), reported with its place and Message-ID."""
    path = tmp_path / "huge.mbox"
    line = b"x" * 999 + b"\n"
    with open(path, "wb") as out:
        out.write(b"From a@example.org Mon Jan  2 10:00:00 2017\nFrom: a@example.org\n"
                  b"Message-ID: <huge@x>\n\n")
        for _ in range(50_000):
            out.write(line)
        out.write(b"\n" + MIXED.read_bytes())
    items = list(read_path(path))
    defect, *rest = items
    assert isinstance(defect, Defect) and defect.kind == "too-large"
    assert (defect.index, defect.offset, defect.message_id) == (1, 0, "huge@x")
    assert str(defect).startswith(f"{path}: message 1: byte 0: <huge@x>: too-large: ")
    assert len(rest) == 3 and not any(isinstance(i, Defect) for i in rest)
    assert rest[0][1].offset == path.stat().st_size - len(MIXED.read_bytes())
    assert MAX_MESSAGE_BYTES < 50_000_000


# --- Maildir ---------------------------------------------------------------------------------

def test_maildirs_yield_each_file_of_new_and_cur_in_name_order(tmp_path):
    md = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (md / sub).mkdir(parents=True)
    one = (FIXTURES / "single.eml").read_bytes()
    (md / "new" / "2.host").write_bytes(one.replace(b"single@", b"two@"))
    (md / "new" / "1.host").write_bytes(one.replace(b"single@", b"one@"))
    (md / "cur" / "3.host:2,S").write_bytes(one.replace(b"single@", b"three@"))
    (md / "cur" / ".hidden").write_bytes(b"not a message")
    (md / "cur" / "4.host:2,S").write_bytes(b"")
    (md / "tmp" / "5.host").write_bytes(one.replace(b"single@", b"unfinished@"))
    items = list(read_path(md, list_name="wikimedia-l"))
    good = [parse_message(raw, hints).key for raw, hints in
            (i for i in items if not isinstance(i, Defect))]
    assert good == ["one@example.org", "two@example.org", "three@example.org"]
    assert [d.kind for d in items if isinstance(d, Defect)] == ["empty"]
    assert all(h.archive_format == "maildir" and h.list_name == "wikimedia-l"
               for h in (i[1] for i in items if not isinstance(i, Defect)))


# --- the real archives in ../shared ----------------------------------------------------------

def _shared_archive_files() -> list[Path]:
    root = SHARED / "fixtures"
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix not in (".md", ".html"))


def test_every_shared_fixture_message_reads_and_parses_without_an_exception():
    files = _shared_archive_files()
    if not files:
        pytest.skip(f"{SHARED / 'fixtures'} not available (../shared is absent)")
    total = 0
    for path in files:
        for item in read_path(path):
            if isinstance(item, Defect):
                assert item.source == str(path)
                continue
            message = parse_message(*item)
            assert message.key and message.msgid_hash, path
            total += 1
    assert total > 700


def test_shared_pipermail_months_yield_one_message_per_separator():
    files = [p for p in _shared_archive_files() if re.match(r"\d{4}-\w+\.txt(\.gz)?$", p.name)]
    if not files:
        pytest.skip("../shared pipermail fixtures not available")
    sep = re.compile(rb"^From \S+(?: at \S+)? {1,2}(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) .*\d{4}\r?\n"
                     rb"From: ", re.MULTILINE)
    for path in files:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        assert len(messages(path)) == len(sep.findall(data)), path
        assert sniff(path) == "pipermail", path


def test_shared_rebuilt_archives_keep_both_copies_of_each_message():
    path = SHARED / "fixtures" / "pipermail" / "twisted-python" / "2016-January.txt"
    if not path.exists():
        pytest.skip(f"{path} not available (../shared is absent)")
    keys = [parse_message(*item).key for item in messages(path)]
    assert len(keys) == 2 * len(set(keys))


def test_a_truncated_plain_mbox_yields_every_message_including_the_partial_last_one(tmp_path):
    path = tmp_path / "cut.mbox"
    data = MIXED.read_bytes()
    path.write_bytes(data[: data.index(b"Subject: Third")])
    items = messages(path)
    assert len(items) == 3
    last = parse_message(*items[2])
    assert last.from_addr == "carol@example.org" and last.subject == ""
    [defect] = [i for i in read_path(path) if isinstance(i, Defect)]
    assert (defect.kind, defect.index, defect.message_id) == ("truncated", 3, None)
    assert defect.offset == data.index(b"From carol")


@pytest.mark.parametrize("cut", [-5, -40])
def test_an_mbox_cut_mid_line_names_the_message_it_cut(tmp_path, cut):
    path = tmp_path / "cut.mbox"
    data = MIXED.read_bytes()
    path.write_bytes(data[:cut])
    items = list(read_path(path))
    assert [type(i).__name__ for i in items] == ["tuple", "tuple", "tuple", "Defect"]
    assert (items[-1].kind, items[-1].index) == ("truncated", 3)
    assert items[-1].message_id == "first@example.org"  # the third mail reuses its ID


def test_complete_archives_are_never_called_truncated():
    folders = [FIXTURES, FIXTURES.parent.parent.parent / "archives"]
    for path in sorted(p for folder in folders for p in folder.iterdir() if p.is_file()):
        assert not [i for i in read_path(path)
                    if isinstance(i, Defect) and i.kind == "truncated"], path


def test_a_truncated_single_gzipped_message_is_yielded_with_a_defect(tmp_path):
    body = (FIXTURES / "single.eml").read_bytes() + b"x" * 200_000
    whole = gzip.compress(body)
    path = tmp_path / "one.eml.gz"
    path.write_bytes(whole[: len(whole) - 40])
    items = list(read_path(path))
    assert [type(i).__name__ for i in items] == ["tuple", "Defect"]
    assert items[1].kind == "truncated-gzip" and items[1].index == 1


def test_random_mbox_like_files_never_raise_and_lose_no_pipermail_bytes(tmp_path):
    import random

    rng = random.Random(7)
    pieces = [b"From a at x.org  Mon Jan  2 10:00:00 2017\n", b"From: a at x.org\n", b"\n",
              b"From here\n", b">From there\n", b"Subject: s\n", b"body line\n", b"\r\n",
              b"\x00\xff", b"From b@x.org Tue Jan  3 11:00:00 2017\n"]
    for n in range(30):
        data = pieces[0] + pieces[1] + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 80)))
        path = tmp_path / f"r{n}.txt"
        path.write_bytes(data)
        items = list(read_path(path))
        got = [raw for raw, _ in (i for i in items if not isinstance(i, Defect))]
        for raw, hints in (i for i in items if not isinstance(i, Defect)):
            parse_message(raw, hints)
        if sniff(path) == "pipermail":   # no unescaping there: the split must be lossless
            assert b"".join(got) == data


@pytest.mark.parametrize("path", [MIXED, PIPERMAIL, HYPERKITTY], ids=lambda p: p.name)
def test_messages_split_the_same_whatever_the_read_size(path, tmp_path, monkeypatch):
    """The splitter reads in blocks and takes the lines between `From ` lines in bulk: a
    separator, an escaped `>From ` or a CRLF cut by a block boundary changes nothing."""
    import digest.sources.local as local

    crlf = tmp_path / f"crlf-{path.name}"
    crlf.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for source in (path, crlf):
        expected = list(read_path(source))
        for size in (1, 7, 64, 4096):
            monkeypatch.setattr(local, "_READ_BYTES", size)
            assert list(read_path(source)) == expected, (source.name, size)
        monkeypatch.undo()
