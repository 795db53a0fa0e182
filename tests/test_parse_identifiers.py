"""digest.parse.identifiers: Message-IDs as HyperKitty normalises and hashes them, and subjects
without list tags and reply chains (the keys messages and threads are found by)."""
from __future__ import annotations

import pytest

from digest.parse.identifiers import message_id_hash, normalise_message_id, normalise_subject


# --- identifiers -----------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("<a@b>", "a@b"),
    ("a@b", "a@b"),
    (" <a@b> (comment)", "a@b"),
    ("<a @ b>", "a@b"),
    ("<1578207921.19.5604@twistedmatrix.com>", "1578207921.19.5604@twistedmatrix.com"),
    ("", ""),
    ("<>", ""),
])
def test_message_ids_are_normalised_without_brackets_whitespace_or_comments(value, expected):
    assert normalise_message_id(value) == expected


def test_message_id_hash_matches_hyperkitty_test_vector():
    assert message_id_hash("message-id") == "3F32NJAOW2XVHJWKZ73T2EPICEIAB3LI"
    assert message_id_hash("<message-id>") == message_id_hash("message-id")
    assert message_id_hash(" message-\n id ") == message_id_hash("message-id")


def test_message_id_hash_uses_only_the_first_254_characters():
    long_id = "x" * 300 + "@example.org"
    assert message_id_hash(long_id) == message_id_hash(long_id[:254])
    assert len(message_id_hash(long_id)) == 32


# --- subjects --------------------------------------------------------------------------------

@pytest.mark.parametrize("subject, expected", [
    ("[Wikimedia-l] Partnership with X", "Partnership with X"),
    ("Re: [Wikimedia-l] Re: Partnership with X", "Partnership with X"),
    ("RE : Fwd: Fw: AW: SV: Sv: Odp: VS: TR: News", "News"),
    ("[Foundation-l]  Re:   [Wikimedia-l]\tFWD:  Hello   world ", "Hello world"),
    ("Re[2]: Budget", "Budget"),
    ("Regarding the budget", "Regarding the budget"),
    ("Fwdx: not a prefix", "Fwdx: not a prefix"),
    ("", ""),
])
def test_subjects_lose_list_tags_and_reply_chains(subject, expected):
    assert normalise_subject(subject) == expected
