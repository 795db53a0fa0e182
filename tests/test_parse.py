"""digest.parse: raw bytes -> Message, for every way the Wikimedia archives deliver a mail."""
from __future__ import annotations

import base64
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from digest.model import SourceHints
from digest.parse import decode_header_value, message_id_hash, parse_date, parse_from, parse_message

SHARED = Path(__file__).resolve().parents[2] / "shared"
UTC = timezone.utc


def mail(body: str = "Hello.\n", *, encoding: str = "utf-8", **headers: str) -> bytes:
    """A raw message; header names are given with underscores (Message_ID -> Message-ID)."""
    defaults = {"From": "Jane Doe <jane@example.org>", "Subject": "Hello",
                "Date": "Tue, 03 Apr 2012 07:17:28 +0200", "Message-ID": "<m1@example.org>"}
    defaults.update({k.replace("_", "-"): v for k, v in headers.items()})
    head = "".join(f"{k}: {v}\n" for k, v in defaults.items() if v is not None)
    return (head + "\n" + body).encode(encoding)


def kinds(message) -> set[str]:
    return {d.kind for d in message.defects}


# --- headers ---------------------------------------------------------------------------------

def test_encoded_words_in_several_charsets_are_decoded():
    assert decode_header_value("=?utf-8?q?J=C3=B6hn?= Doe") == "Jöhn Doe"
    assert decode_header_value("=?ISO-8859-1?Q?Andr=E9?= Pirard") == "André Pirard"
    assert decode_header_value("=?utf-8?b?w4Vyc2JlcsOkdHRlbHNl?=") == "Årsberättelse"


def test_adjacent_encoded_words_join_even_when_a_character_is_split_between_them():
    folded = "[Twisted-Python] =?utf-8?q?Can=E2=80?=\n\t=?utf-8?q?=99t_receive?="
    assert decode_header_value(folded) == "[Twisted-Python] Can’t receive"


def test_wrong_or_unknown_header_charsets_fall_back_without_raising():
    # declared us-ascii, actually UTF-8; declared nonsense charset; broken base64 padding
    assert decode_header_value("=?us-ascii?q?caf=C3=A9?=") == "café"
    assert decode_header_value("=?x-nonsense?q?caf=E9?=") == "café"
    assert decode_header_value("=?utf-8?b?Y2Fmw6k?=") == "café"


def test_raw_eight_bit_headers_are_read_as_utf8_or_windows_1252():
    raw = b"Subject: Gr\xc3\xbc\xc3\x9fe\nFrom: x@example.org\n\nbody\n"
    assert parse_message(raw).subject == "Grüße"
    raw = b"Subject: Caf\xe9 \x93quoted\x94\nFrom: x@example.org\n\nbody\n"
    assert parse_message(raw).subject == "Café “quoted”"


def test_folded_headers_are_unfolded():
    raw = b"Subject: a long\n subject line\n\twith folds\nFrom: x@example.org\n\nbody\n"
    assert parse_message(raw).subject == "a long subject line with folds"


# --- dates -----------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("Tue, 03 Apr 2012 07:17:28 +0200", datetime(2012, 4, 3, 5, 17, 28, tzinfo=UTC)),
    ("Tue,  3 Apr 2012 07:17:28 +0200 (CEST)", datetime(2012, 4, 3, 5, 17, 28, tzinfo=UTC)),
    ("Wed Jun 16 05:30:03 MDT 2021", datetime(2021, 6, 16, 11, 30, 3, tzinfo=UTC)),
    ("Thu Nov  1 11:19:12 2001", datetime(2001, 11, 1, 11, 19, 12, tzinfo=UTC)),
    ("Tue, 3 Apr 2012 07:17:28", datetime(2012, 4, 3, 7, 17, 28, tzinfo=UTC)),
    ("2012-04-03T07:17:28+02:00", datetime(2012, 4, 3, 5, 17, 28, tzinfo=UTC)),
])
def test_dates_in_every_archive_form_become_aware_utc(value, expected):
    when, problem = parse_date(value)
    assert when == expected and when.tzinfo is not None
    assert problem == ""


@pytest.mark.parametrize("value", ["Wed, 4 Apr 2012 10:00:00 -0-200",
                                   "Mon, 21 Oct 2002 15:02:34 +50579034",
                                   "Tue, 30 Nov 1999 23:56:33 -3000 (CST)"])
def test_impossible_time_zone_offsets_read_as_utc_and_are_reported(value):
    when, problem = parse_date(value)
    assert when is not None and when.utcoffset().total_seconds() == 0
    assert "impossible time zone" in problem
    message = parse_message(mail(Date=value))
    assert message.date == when
    assert "bad-date" in kinds(message)


def test_an_unparseable_date_is_none_with_a_defect_naming_the_message():
    hints = SourceHints(source="april.txt", index=7, offset=1234)
    message = parse_message(mail(Date="sometime last week"), hints)
    assert message.date is None
    [defect] = [d for d in message.defects if d.kind == "bad-date"]
    assert (defect.source, defect.index, defect.offset, defect.message_id) == (
        "april.txt", 7, 1234, "m1@example.org")
    assert "april.txt" in str(defect) and "message 7" in str(defect)


def test_a_missing_date_falls_back_to_resent_date_then_the_mbox_separator():
    resent = parse_message(mail(Date=None, Resent_Date="Mon, 8 Nov 1999 20:53:05 -0600"))
    assert resent.date == datetime(1999, 11, 9, 2, 53, 5, tzinfo=UTC)
    unixfrom = parse_message(b"From zzz@example.com  Mon Nov  9 21:54:11 1999\n" + mail(Date=None))
    assert unixfrom.date == datetime(1999, 11, 9, 21, 54, 11, tzinfo=UTC)
    nothing = parse_message(mail(Date=None))
    assert nothing.date is None and "no-date" in kinds(nothing)


# --- identity --------------------------------------------------------------------------------

def test_key_and_hash_come_from_the_normalised_message_id():
    message = parse_message(mail(Message_ID=" <CAF1234.Abc@Mail.Example.org> "))
    assert message.key == message.message_id == "CAF1234.Abc@Mail.Example.org"
    assert message.msgid_hash == message_id_hash("CAF1234.Abc@Mail.Example.org")


def test_a_bracketless_message_id_is_accepted():
    assert parse_message(mail(Message_ID="1333443600.42.sam@example.net")).key == \
        "1333443600.42.sam@example.net"


@pytest.mark.parametrize("value", [None, "", "<>", "   "])
def test_a_missing_or_empty_message_id_gets_a_stable_synthetic_key(value):
    first = parse_message(mail("Same body.\n", Message_ID=value))
    again = parse_message(mail("Same body.\n", Message_ID=value, Received="from elsewhere"))
    other = parse_message(mail("Another body.\n", Message_ID=value))
    assert first.message_id == ""
    assert first.key.startswith("sha1-") and first.key.endswith("@digest.invalid")
    assert first.key == again.key != other.key
    assert first.msgid_hash == message_id_hash(first.key)
    assert "no-message-id" in kinds(first)


def test_duplicated_message_id_headers_keep_the_first_and_are_reported():
    raw = b"Message-ID: <one@x>\nMessage-ID: <two@x>\nFrom: a@x.org\n\nbody\n"
    message = parse_message(raw)
    assert message.key == "one@x"
    assert "duplicate-message-id" in kinds(message)


def test_in_reply_to_and_references_tolerate_prose_and_broken_brackets():
    message = parse_message(mail(
        In_Reply_To="Other person's message of Saturday, 7 April 2007 <200704070053.46646@example.com>",
        References="<a@x>\n\t<b@x> <c@x>"))
    assert message.in_reply_to == "200704070053.46646@example.com"
    assert message.references == ("a@x", "b@x", "c@x")
    assert message.is_reply
    broken = parse_message(mail(In_Reply_To="<200704070053.46646.other@example"))
    assert broken.in_reply_to == "200704070053.46646.other@example"
    assert not parse_message(mail()).is_reply


# --- senders ---------------------------------------------------------------------------------

@pytest.mark.parametrize("value, name, addr, obfuscated", [
    ("Jane Doe <jane@example.org>", "Jane Doe", "jane@example.org", False),
    ("jane.doe at example.org (Jane Doe)", "Jane Doe", "jane.doe@example.org", True),
    ("trac at twistedmatrix.com (trac at twistedmatrix.com)", "", "trac@twistedmatrix.com", True),
    ('"Jane Doe" <jane.doe at example.org>', "Jane Doe", "jane.doe@example.org", True),
    ("Jane at Home <jane at example.org>", "Jane at Home", "jane@example.org", True),
    ('"Jane Doe via Wikimedia-l" <wikimedia-l@lists.wikimedia.org>', "Jane Doe via Wikimedia-l",
     "wikimedia-l@lists.wikimedia.org", False),
    ("jane@example.org", "", "jane@example.org", False),
])
def test_senders_are_split_and_pipermail_obfuscation_is_undone(value, name, addr, obfuscated):
    assert parse_from(value) == (name, addr, obfuscated)


def test_encoded_display_names_in_pipermail_comments_are_decoded():
    message = parse_message(mail(From="jane at example.org (=?utf-8?q?Jos=C3=A9?=)"))
    assert (message.from_name, message.from_addr, message.obfuscated) == (
        "José", "jane@example.org", True)


def test_every_real_pipermail_from_variation_yields_an_address():
    variations = SHARED / "fixtures" / "pipermail" / "bigbang" / "from-header-variations.txt"
    if not variations.exists():
        pytest.skip(f"{variations} not available (../shared is absent)")
    for line in variations.read_text(encoding="utf-8").splitlines():
        if line.strip():
            name, addr, _ = parse_from(decode_header_value(line))
            assert "@" in addr and " at " not in addr, line
            assert " at " not in name or "(" not in name, line


def test_the_mbox_separator_supplies_a_missing_sender():
    message = parse_message(b"From jane at example.org  Tue Apr  3 05:17:28 2012\n"
                            + mail(From=None))
    assert message.from_addr == "jane@example.org"
    assert "no-from" in kinds(message)


# --- lists -----------------------------------------------------------------------------------

def test_lists_come_from_list_id_first_and_the_archive_it_was_found_in():
    message = parse_message(mail(List_Id="Wikimedia Mailing List <Wikimedia-L.lists.wikimedia.org>",
                                 To="someone@example.org"))
    assert message.lists == ("wikimedia-l",)
    renamed = parse_message(mail(List_Id="<foundation-l.lists.wikimedia.org>"),
                            SourceHints(list_name="wikimedia-l"))
    assert renamed.lists == ("foundation-l", "wikimedia-l")
    same = parse_message(mail(List_Id="<wikimedia-l.lists.wikimedia.org>"),
                         SourceHints(list_name="Wikimedia-l"))
    assert same.lists == ("wikimedia-l",)


def test_lists_come_from_the_source_hint_when_there_is_no_list_id():
    assert parse_message(mail(), SourceHints(list_name="WikimediaAnnounce-l")).lists == (
        "wikimediaannounce-l",)


def test_lists_come_from_list_addresses_in_to_and_cc_as_a_last_resort():
    message = parse_message(mail(To="WikimediaAnnounce-l@lists.wikimedia.org",
                                 Cc="Jane <jane@example.org>, wikimedia-l@lists.wikimedia.org"))
    assert message.lists == ("wikimediaannounce-l", "wikimedia-l")
    assert parse_message(mail(To="jane@example.org")).lists == ()


# --- bodies ----------------------------------------------------------------------------------

ALTERNATIVE = """\
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Plain caf=C3=A9 text with a very long line that was soft-wrapped by quoted-printa=
ble encoding.
--b1
Content-Type: text/html; charset=utf-8

<p>HTML caf&eacute; text</p>
--b1--
"""


def test_plain_text_is_preferred_and_the_html_part_is_kept():
    message = parse_message(ALTERNATIVE.replace("MIME-Version", "From: a@x.org\nMIME-Version")
                            .encode())
    assert message.text == ("Plain café text with a very long line that was soft-wrapped by "
                            "quoted-printable encoding.")
    assert message.html is not None and "HTML caf&eacute;" in message.html
    assert message.attachments == ()


def test_html_only_mail_becomes_text_that_keeps_link_targets():
    html = ('<html><head><style>p {color: red}</style></head><body>'
            '<p>We announce a <b>partnership</b> with the '
            '<a href="https://museum.example.org/">Example Museum</a>.</p>'
            '<ul><li>See <a href="https://meta.wikimedia.org/wiki/X">https://meta.wikimedia.org/wiki/X</a>'
            '</li></ul></body></html>')
    message = parse_message(mail(html, Content_Type='text/html; charset="utf-8"'))
    assert "We announce a partnership with the Example Museum <https://museum.example.org/>." \
        in message.text
    assert "https://meta.wikimedia.org/wiki/X" in message.text
    assert "<https://meta.wikimedia.org/wiki/X>" not in message.text   # text == target: once
    assert "color" not in message.text
    assert message.html == html
    assert message.new_text == message.text


def test_hyperkitty_exports_give_text_from_the_html_attachment_part():
    raw = (Path(__file__).parent / "fixtures" / "local" / "hyperkitty-export.mbox").read_bytes()
    first = raw.split(b"\n\nFrom editor@")[0]
    message = parse_message(first)
    assert "partnership with the Example Library <https://library.example.org/>" in message.text
    assert "Diff <https://diff.wikimedia.org/2021/06/16/example/>" in message.text
    assert [(a.filename, a.content_type) for a in message.attachments] == [
        ("attachment.html", "text/html")]


def test_base64_bodies_and_declared_charsets_are_decoded():
    body = base64.b64encode("Zażółć gęślą jaźń".encode("iso-8859-2")).decode() + "\n"
    message = parse_message(mail(body, Content_Type="text/plain; charset=iso-8859-2",
                                 Content_Transfer_Encoding="base64"))
    assert message.text == "Zażółć gęślą jaźń"
    assert message.defects == ()


@pytest.mark.parametrize("charset", ["utf-8", "us-ascii", "x-unknown-thing", None])
def test_wrong_unknown_or_missing_charsets_fall_back_to_windows_1252(charset):
    ctype = f"text/plain; charset={charset}" if charset else "text/plain"
    raw = mail("", Content_Type=ctype) + "Café “ok” €".encode("cp1252") + b"\n"
    message = parse_message(raw)
    assert message.text == "Café “ok” €"
    assert "bad-charset" in kinds(message)


def test_attachments_are_recorded_with_name_type_and_size():
    pdf = bytes(range(256)) * 4
    raw = f"""From: a@x.org
Message-ID: <att@x>
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain

See the attached report.
--outer
Content-Type: application/pdf; name="report.pdf"
Content-Disposition: attachment; filename*=utf-8''Rapport%20annuel%20%C3%A9t%C3%A9.pdf
Content-Transfer-Encoding: base64

{base64.encodebytes(pdf).decode()}
--outer
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--outer--
""".encode()
    message = parse_message(raw)
    assert message.text == "See the attached report."
    assert [(a.filename, a.content_type, a.size) for a in message.attachments] == [
        ("Rapport annuel été.pdf", "application/pdf", 1024), (None, "image/png", 8)]


def test_forwarded_messages_and_nested_multiparts_contribute_their_text():
    raw = b"""From: a@x.org
Message-ID: <fwd@x>
Content-Type: multipart/mixed; boundary="o"

--o
Content-Type: text/plain

Forwarding the announcement below.
--o
Content-Type: message/rfc822

From: partner@museum.example.org
Subject: Our partnership
Content-Type: multipart/alternative; boundary="i"

--i
Content-Type: text/plain

The museum joins the programme.
--i
Content-Type: text/html

<p>The museum joins the programme.</p>
--i--
--o--
"""
    message = parse_message(raw)
    assert "Forwarding the announcement below." in message.text
    assert "The museum joins the programme." in message.text


def test_pipermail_scrubbed_parts_become_attachments_with_their_url():
    body = """Please find the agenda attached.
-------------- next part --------------
A non-text attachment was scrubbed...
Name: agenda.pdf
Type: application/pdf
Size: 48213 bytes
Desc: not available
URL: <https://lists.wikimedia.org/pipermail/wikimedia-l/attachments/20120403/0a1b2c3d/agenda.pdf>
-------------- next part --------------
An HTML attachment was scrubbed...
Url : http://lists.wikimedia.org/pipermail/wikimedia-l/attachments/20120403/0a1b2c3d/attachment.htm
"""
    message = parse_message(mail(body))
    assert message.new_text == "Please find the agenda attached."
    assert [(a.filename, a.content_type, a.size, a.url) for a in message.attachments] == [
        ("agenda.pdf", "application/pdf", 48213,
         "https://lists.wikimedia.org/pipermail/wikimedia-l/attachments/20120403/0a1b2c3d/agenda.pdf"),
        ("attachment.htm", "text/html", 0,
         "http://lists.wikimedia.org/pipermail/wikimedia-l/attachments/20120403/0a1b2c3d/attachment.htm")]
    assert "scrubbed" in message.footer and "scrubbed" not in message.new_text


def test_an_html_only_pipermail_message_is_just_the_scrubbing_notice():
    body = ("An HTML attachment was scrubbed...\n"
            "URL: </pipermail/wikimedia-l/attachments/20200105/aa/attachment.html>\n")
    message = parse_message(mail(body))
    assert message.new_text == ""
    assert message.attachments[0].url == "/pipermail/wikimedia-l/attachments/20200105/aa/attachment.html"


# --- content hash ----------------------------------------------------------------------------

ORIGINAL = b"""From: Jane Doe <jane.doe@example.org>
To: wikimedia-l@lists.wikimedia.org
Subject: [Wikimedia-l] Partnership with the Example Museum
Date: Tue, 03 Apr 2012 07:17:28 +0200
Message-ID: <CAF1234.abc@mail.example.org>
Received: from mx1.example.org by lists.wikimedia.org
List-Id: Wikimedia Mailing List <wikimedia-l.lists.wikimedia.org>
Content-Type: text/plain; charset=utf-8

We announce a partnership.   Write to jane.doe@example.org.
"""
PIPERMAIL_COPY = b"""From jane.doe at example.org  Tue Apr  3 05:17:28 2012
From: jane.doe at example.org (Jane Doe)
Date: Tue, 03 Apr 2012 07:17:28 +0200
Subject: [Wikimedia-l] Partnership with the Example Museum
Message-ID: <CAF1234.abc@mail.example.org>

We announce a partnership. Write to jane.doe at example.org.

_______________________________________________
Wikimedia-l mailing list
Wikimedia-l at lists.wikimedia.org
https://lists.wikimedia.org/mailman/listinfo/wikimedia-l
"""


def test_content_hash_ignores_transport_headers_footers_whitespace_and_obfuscation():
    original = parse_message(ORIGINAL)
    copy = parse_message(PIPERMAIL_COPY, SourceHints(obfuscated=True))
    assert copy.obfuscated and not original.obfuscated
    assert copy.footer and not original.footer
    assert original.content_hash == copy.content_hash
    changed = parse_message(ORIGINAL.replace(b"We announce", b"We cancel"))
    assert changed.content_hash != original.content_hash


def test_archive_url_comes_from_hints_or_the_archived_at_header():
    url = "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org/message/ABC/"
    assert parse_message(mail(Archived_At=f"<{url}>")).archive_url == url
    hinted = parse_message(mail(Archived_At=f"<{url}>"), SourceHints(archive_url="https://x/1.html"))
    assert hinted.archive_url == "https://x/1.html"
    assert parse_message(mail()).archive_url is None


# --- never raises ----------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\x01\x02 binary garbage \xff\xfe",
    b"From: a@x.org\nContent-Type: multipart/mixed; boundary=\"gone\"\n\n--gone\nContent-Type: text/plain\n\ncut",
    b"From: a@x.org\nContent-Type: multipart/mixed\n\nno boundary parameter\n",
    b"From: a@x.org\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n",
    b"no headers at all, just text\nFrom here\n",
    b"Subject: =?utf-8?q?unterminated\nFrom: =?bogus?x?what?=\n\nbody",
])
def test_bad_mail_is_survived(raw):
    message = parse_message(raw, SourceHints(source="bad.mbox", index=3))
    assert message.key
    assert isinstance(message.text, str)


def test_nul_bytes_are_removed_and_reported():
    message = parse_message(mail("be\x00fore\x00 after\n"))
    assert message.text == "before after"
    assert "nul-bytes" in kinds(message)


def test_random_byte_soup_never_raises():
    rng = random.Random(20240601)
    alphabet = b"From: <>@=?;\"\n\r\t-_abcXYZ019:\x00\xff\xc3 boundary=multipart/mixed;base64"
    for _ in range(300):
        raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        assert parse_message(raw).msgid_hash


def test_utf8_sent_under_a_latin1_label_is_read_as_utf8():
    raw = mail("", Content_Type="text/plain; charset=iso-8859-1") + "Sören Groß\n".encode()
    assert parse_message(raw).text == "Sören Groß"
    raw = mail("", Content_Type="text/plain; charset=iso-8859-1") + "Sören Groß\n".encode("latin-1")
    assert parse_message(raw).text == "Sören Groß"


def test_format_flowed_soft_breaks_are_joined():
    body = ("A sentence that \nflows on. See https://meta.wikimedia.org/wiki/\n"
            "> a quoted \n> line\n")
    message = parse_message(mail(body, Content_Type="text/plain; charset=utf-8; format=flowed"))
    assert message.new_text == "A sentence that flows on. See https://meta.wikimedia.org/wiki/"
    assert message.quoted_text == "> a quoted line"
    fixed = parse_message(mail(body, Content_Type="text/plain; charset=utf-8"))
    assert fixed.new_text.startswith("A sentence that \nflows on.")


def test_content_hash_ignores_a_dmarc_rewritten_sender():
    munged = ORIGINAL.replace(b"From: Jane Doe <jane.doe@example.org>",
                              b'From: "Jane Doe via Wikimedia-l" <wikimedia-l@lists.wikimedia.org>')
    assert parse_message(munged).content_hash == parse_message(ORIGINAL).content_hash


def test_html_links_whose_text_is_not_the_url_keep_their_target():
    html = ('<p>Click <a href="https://example.org/where">here</a>, or see '
            '<a href="https://diff.wikimedia.org/x/">diff.wikimedia.org/x</a>.</p>')
    text = parse_message(mail(html, Content_Type="text/html")).text
    assert "here <https://example.org/where>" in text
    assert "diff.wikimedia.org/x." in text and "<https://diff.wikimedia.org/x/>" not in text


def test_html_structure_becomes_lines_lists_and_spaced_cells():
    html = ('<p>Intro</p><ul><li>one</li><li>two</li></ul><p>End<br>line</p><!-- hidden -->'
            '<table><tr><td>cell a</td><td>cell b</td></tr></table><script>var x;</script>')
    assert parse_message(mail(html, Content_Type="text/html")).text == (
        "Intro\n\n* one\n* two\n\nEnd\nline\n\ncell a cell b")


def test_a_boundary_that_prefixes_a_nested_boundary_does_not_split_it():
    raw = b"""From: a@x.org
Message-ID: <nest@x>
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b12"

--b12
Content-Type: text/plain

inner plain
--b12
Content-Type: text/html

<p>inner html</p>
--b12--

--b1
Content-Type: text/plain; name="notes.txt"
Content-Disposition: attachment; filename="notes.txt"

notes
--b1--
"""
    message = parse_message(raw)
    assert message.text == "inner plain"
    assert message.html == "<p>inner html</p>"
    assert [a.filename for a in message.attachments] == ["notes.txt"]


def test_crlf_multipart_messages_split_cleanly():
    message = parse_message(ALTERNATIVE.replace("MIME-Version", "From: a@x.org\nMIME-Version")
                            .replace("\n", "\r\n").encode())
    assert message.text.startswith("Plain café text") and "\r" not in message.text
