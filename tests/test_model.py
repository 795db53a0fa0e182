"""The vocabulary: small behaviours the stages rely on."""
from __future__ import annotations

from digest.model import Defect, Message


def message(subject: str, in_reply_to: str | None = None) -> Message:
    return Message(key="a@b", message_id="a@b", msgid_hash="H", subject=subject,
                   subject_norm=subject, from_name="", from_addr="", date=None,
                   in_reply_to=in_reply_to, references=(), lists=(), text="", new_text="",
                   quoted_text="", signature="", footer="")


def test_a_defect_is_one_line_naming_file_position_and_message():
    d = Defect("bad-date", "unparseable Date '-0-200'", source="a.mbox", index=3, offset=812,
               message_id="x@y")
    assert str(d) == "a.mbox: message 3: byte 812: <x@y>: bad-date: unparseable Date '-0-200'"


def test_replies_are_known_by_headers_or_by_subject_prefix_after_list_tags():
    assert message("Partnership with the library").is_reply is False
    assert message("[Wikimedia-l] Re: Partnership").is_reply is True
    assert message("AW: Kooperation").is_reply is True
    assert message("Partnership", in_reply_to="p@q").is_reply is True
    assert message("Recap of the partnership summit").is_reply is False
