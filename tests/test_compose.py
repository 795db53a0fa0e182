"""compose: periods, entries, summaries and the digest's one reference list (real SQLite store)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from digest.compose import (Period, compose, digest_key, entry_messages, merge_crossposts,
                            parse_period, permalink, summarise)
from digest.config import DigestSettings
from digest.errors import DigestError
from digest.model import Link, Record
from digest.store import open_store

from digest_samples import message, msgid_hash, partnership, week19, week_store, when

SETTINGS = DigestSettings()


@pytest.fixture
def store(tmp_path):
    s = week_store(tmp_path / "s.sqlite3")
    yield s
    s.close()


# --- periods --------------------------------------------------------------------------------------

def test_an_iso_week_runs_from_monday_midnight_to_the_next_monday_in_the_time_zone():
    p = parse_period("2017-W19", None, None, "Europe/Berlin")
    assert p.label == "2017-W19"
    assert p.start.isoformat() == "2017-05-08T00:00:00+02:00"
    assert p.end.isoformat() == "2017-05-15T00:00:00+02:00"
    assert p.tz == "Europe/Berlin"


def test_the_default_period_is_the_last_complete_week():
    now = datetime(2017, 5, 17, 9, 0, tzinfo=timezone.utc)   # a Wednesday of W20
    assert parse_period(None, None, None, "UTC", now=now).label == "2017-W19"
    monday = datetime(2017, 1, 2, 0, 30, tzinfo=timezone.utc)  # W01 of 2017 just began
    assert parse_period(None, None, None, "UTC", now=monday).label == "2016-W52"


def test_latest_is_the_most_recent_week_with_a_partnership_announcement(store):
    assert parse_period("latest", None, None, "UTC", store).label == "2017-W19"
    # in Berlin the Sunday-night announcement already falls on Monday of W20
    assert parse_period("latest", None, None, "Europe/Berlin", store).label == "2017-W20"


def test_latest_in_an_empty_store_is_an_error_naming_the_store(tmp_path):
    empty = open_store(str(tmp_path / "empty.sqlite3"))
    with pytest.raises(DigestError, match="no partnership announcement"):
        parse_period("latest", None, None, "UTC", empty)


def test_from_and_to_are_inclusive_days():
    p = parse_period(None, "2017-05-01", "2017-05-14", "UTC")
    assert p.label == "2017-05-01..2017-05-14"
    assert p.start == datetime(2017, 5, 1, tzinfo=timezone.utc)
    assert p.end == datetime(2017, 5, 15, tzinfo=timezone.utc)


@pytest.mark.parametrize("week, date_from, date_to, named", [
    ("2017-22", None, None, "2017-22"),
    ("2015-W53x", None, None, "2015-W53x"),
    ("2017-W53", None, None, "2017-W53"),          # 2017 has 52 ISO weeks
    (None, "2017-13-01", None, "2017-13-01"),
    (None, None, "2017-05-01", "--from"),
    (None, "2017-05-10", "2017-05-01", "before"),
    ("2017-W19", "2017-05-01", None, "cannot be combined"),
])
def test_bad_periods_are_errors_naming_the_value(week, date_from, date_to, named):
    with pytest.raises(DigestError, match=named):
        parse_period(week, date_from, date_to, "UTC")


def test_an_unknown_time_zone_is_an_error():
    with pytest.raises(DigestError, match="Mars/Olympus"):
        parse_period("2017-W19", None, None, "Mars/Olympus")


# --- entries --------------------------------------------------------------------------------------

def test_entries_are_the_weeks_partnership_announcements_in_date_order(store):
    digest = week19(store)
    assert [e.subject for e in digest.entries] == [
        "Foundation and Example National Library sign an MoU",
        "Wikimedia Examplia signs an agreement with EBC",
        "Late Sunday partnership with a museum"]
    assert [e.date for e in digest.entries] == sorted(e.date for e in digest.entries)
    assert digest.period == "2017-W19" and digest.timezone == "UTC"


def test_the_time_zone_decides_which_week_a_message_belongs_to(store):
    berlin = week19(store, "Europe/Berlin")
    assert "Late Sunday partnership with a museum" not in [e.subject for e in berlin.entries]
    assert all(e.date.utcoffset().total_seconds() == 7200 for e in berlin.entries)


def test_cross_posts_are_one_entry_naming_both_lists(store):
    library, chapter, _ = week19(store).entries
    assert library.lists == ("wikimediaannounce-l", "wikimedia-l")   # same Message-ID
    assert chapter.lists == ("wikimediaannounce-l", "wikimedia-l")   # same subject and sender
    assert chapter.key == "chapter-1@example.org"                    # the earliest copy


def test_copies_on_the_same_list_or_far_apart_are_not_merged():
    a = message("a@x", "News", "text", when(8), ("wikimedia-l",))
    b = message("b@x", "News", "text", when(9), ("wikimedia-l",))
    c = message("c@x", "News", "text", when(13), ("wikimediaannounce-l",))
    groups = merge_crossposts([Record(m, verdict=partnership()) for m in (a, b, c)])
    assert [[r.message.key for r in g] for g in groups] == [["a@x"], ["b@x"], ["c@x"]]


def test_an_entry_has_sender_partners_replies_and_permalink(store):
    library, chapter, late = week19(store).entries
    assert library.from_name == "Ada Example"
    assert library.partners == ("Example National Library",)
    assert library.replies == 1
    assert chapter.replies == 0           # its other copy is not a reply
    assert library.permalink.endswith(f"/message/{msgid_hash('library-1@example.org')}/")
    assert late.permalink == ("https://lists.wikimedia.org/hyperkitty/list/wikimediaannounce-l"
                              f"@lists.wikimedia.org/message/{msgid_hash('late-1@example.org')}/")


def test_the_stored_archive_url_wins_over_the_built_permalink():
    m = message("p@x", "S", "t", when(8), ("wikimedia-l",),
                archive_url="https://lists.wikimedia.org/pipermail/wikimedia-l/2017-May/1.html")
    assert permalink(Record(m)) == m.archive_url
    bare = message("q@x", "S", "t", when(8), ("wikimedia-l",))
    assert permalink(Record(bare, archive_urls=("https://a.example/1",))) == "https://a.example/1"


def test_no_announcement_gives_an_empty_digest(store):
    digest = compose(store, parse_period("2017-W30", None, None, "UTC"), SETTINGS)
    assert digest.entries == () and digest.references == ()


def test_also_on_the_lists_names_other_new_threads_when_configured(store):
    assert week19(store).also == ()
    digest = week19(store, settings=DigestSettings(also_on_lists=True))
    assert digest.also == ("Board meeting minutes published",)


# --- references -----------------------------------------------------------------------------------

def test_references_are_numbered_once_in_order_of_first_appearance(store):
    digest = week19(store)
    urls = [r.url for r in digest.references]
    assert [r.number for r in digest.references] == list(range(1, len(urls) + 1))
    assert len(urls) == len(set(urls))
    assert urls[:2] == ["https://meta.wikimedia.org/wiki/Example_Library_partnership",
                        "https://meta.wikimedia.org/wiki/Talk:Example_Library_partnership"]
    library, chapter, late = digest.entries
    assert library.refs == (1, 2) and library.permalink_ref == 3
    # the chapter cites the project page already numbered [1]: the number is reused
    assert chapter.refs == (4, 1) and chapter.permalink_ref == 5
    assert late.refs == () and late.permalink_ref == 6
    assert digest.references[0].label == "Example Library partnership"


def test_boilerplate_contact_and_signature_links_are_not_references(store):
    urls = {r.url for r in week19(store).references}
    assert not any("postorius" in u or u.startswith("mailto:") for u in urls)
    assert "https://example.org/ada" not in urls


def test_composing_twice_gives_the_same_digest(store):
    assert week19(store) == week19(store)


def test_digest_key_names_lists_period_zone_and_format(store):
    assert digest_key(week19(store)) == "wikimediaannounce-l,wikimedia-l|2017-W19|UTC|eml"


def test_entry_messages_reads_the_stored_messages(store):
    digest = week19(store)
    messages = entry_messages(store, digest)
    assert list(messages) == [e.key for e in digest.entries]
    assert messages["library-1@example.org"].subject_norm.startswith("Foundation")


# --- summaries ------------------------------------------------------------------------------------

def test_the_summary_skips_greetings_apologies_and_translation_notices(store):
    library = week19(store).entries[0]
    assert library.summary.startswith("The Wikimedia Foundation and the Example National Library")
    assert "[1]" in library.summary and library.summary.endswith("talk page [2].")


def test_long_summaries_are_cut_near_sixty_words_and_say_so(store):
    chapter = week19(store).entries[1]
    assert chapter.summary.endswith("…")
    assert len(chapter.summary.split()) <= 62


@pytest.mark.parametrize("greeting", ["Hi all,", "Dear colleagues,", "Hello everyone",
                                      "Bonjour à tous,", "(Apologies for cross-posting)",
                                      "*Read this in other languages*", "Hi everyone!",
                                      "Dear friends of the regional museums and archives,",
                                      "Photo by A. Photographer, CC BY-SA 4.0."])
def test_greeting_lines_never_open_a_summary(greeting):
    text = (f"{greeting}\n\n"
            "The chapter and the city archive will digitise ten thousand photographs together.")
    assert summarise(text).startswith("The chapter and the city archive")


def test_a_greeting_on_the_first_line_of_a_paragraph_is_dropped_alone():
    sentence = "The museum opens its collection to Commons under a free licence this year."
    assert summarise(f"Hello everyone,\n{sentence}") == sentence


def test_footnotes_quotes_and_forward_headers_are_skipped():
    text = ("---------- Forwarded message ---------\nFrom: A <a@example.org>\nDate: Mon\n\n"
            "> quoted words from an earlier mail that should not be summarised here\n\n"
            "[1] https://example.org/x\n\n"
            "The library will release its authority records under CC0 this year.")
    assert summarise(text) == "The library will release its authority records under CC0 this year."


def test_urls_and_footnote_markers_become_digest_numbers():
    link = Link(url="https://example.org/a", raw="https://example.org/a", display="example.org/a",
                ref=3)
    text = ("We signed an agreement with the Example Archive [3] and published the details at "
            "<https://example.org/a> for everyone [7].")
    out = summarise(text, [link], {"https://example.org/a": 12})
    assert out == ("We signed an agreement with the Example Archive [12] and published the details "
                   "at [12] for everyone.")


def test_a_single_long_sentence_is_cut_at_a_word_boundary():
    text = " ".join(f"word{i}" for i in range(100)) + "."
    out = summarise(text, limit=60)
    assert out.endswith("word59…") and len(out.split()) == 60


def test_period_is_a_plain_value():
    p = Period("2017-W19", when(8, 0), when(15, 0), "UTC")
    assert p == Period("2017-W19", when(8, 0), when(15, 0), "UTC")


def test_greeting_words_inside_a_paragraph_are_prose():
    text = ("The archive, whose photographs are very\ndear to the city, joins the programme\n"
            "with material in other languages too.")
    assert summarise(text) == ("The archive, whose photographs are very dear to the city, joins "
                               "the programme with material in other languages too.")


def test_a_greeting_run_into_the_first_sentence_is_cut_off():
    text = "*Hello colleagues,Today the chapter and the zoo start sharing their photographs widely."
    assert summarise(text) == "Today the chapter and the zoo start sharing their photographs widely."


def test_a_short_aside_gives_way_to_the_first_substantial_paragraph():
    text = ("Big news today:\n\n"
            "The regional archive joins the programme and releases its postcards under CC0.")
    assert summarise(text).startswith("The regional archive joins")
    assert summarise("Big news today!") == "Big news today!"     # nothing better: keep it


def test_a_short_opening_sentence_about_a_licence_is_not_a_photo_credit():
    text = "The city archive releases 3,500 photographs under CC BY-SA 4.0 this month."
    assert summarise(text) == text
