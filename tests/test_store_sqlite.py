"""The SQLite store: what goes in comes back, re-adding changes nothing, copies merge without
loss, conflicts are kept, threads hold together whatever the arrival order."""
from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from digest.errors import StoreError
from digest.model import Attachment, Defect, Link, LinkKind, Message, Reason, Verdict
from digest.parse import message_id_hash
from digest.store import open_store
from digest.store.base import DeliveryState, Ingested
from digest.store.sqlite import SQLiteStore, migrations

T0 = datetime(2017, 5, 1, 10, 0, tzinfo=timezone.utc)


def msg(key: str, *, subject: str = "Partnership with the Example Library", when: datetime = T0,
        lists: tuple[str, ...] = ("wikimedia-l",), in_reply_to: str | None = None,
        references: tuple[str, ...] = (), text: str = "We are happy to announce a partnership.",
        **changes) -> Message:
    subject_norm = subject
    for prefix in ("Re: ", "Fwd: "):
        subject_norm = subject_norm.removeprefix(prefix)
    base = Message(
        key=key, message_id=key, msgid_hash=message_id_hash(key), subject=subject,
        subject_norm=subject_norm, from_name="Ann Example", from_addr="ann@example.org",
        date=when, in_reply_to=in_reply_to, references=references, lists=lists,
        text=text, new_text=text, quoted_text="", signature="", footer="",
        content_hash=f"hash-of-{text}-{subject}")
    return replace(base, **changes)


def link(url: str, **changes) -> Link:
    return replace(Link(url=url, raw=url, display=url.split("://", 1)[-1]), **changes)


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "store.sqlite3")
    yield s
    s.close()


# --- round trip -------------------------------------------------------------------------------

def test_a_record_comes_back_equal_to_what_went_in(store):
    message = msg(
        "full@example.org", lists=("wikimediaannounce-l", "wikimedia-l"),
        references=("root@example.org", "parent@example.org"), in_reply_to="parent@example.org",
        quoted_text="> earlier words", signature="-- \nAnn", footer="Wikimedia-l mailing list",
        html="<p>We are <b>happy</b></p>", archive_url="https://lists.example.org/msg/1/",
        attachments=(Attachment("plan é.pdf", "application/pdf", 1234),
                     Attachment(None, "text/html", 0, "https://lists.example.org/att/1.html")),
        obfuscated=True,
        defects=(Defect("bad-date", "offset -0-200", "a.mbox", 120, 3, "full@example.org"),))
    links = (
        link("https://meta.wikimedia.org/wiki/Partnerships", label="Partnerships page", ref=1,
             position=17, kind=LinkKind.WIKI, project="meta.wikimedia", title="Partnerships"),
        link("https://lists.wikimedia.org/mailman/listinfo/wikimedia-l", boilerplate=True,
             kind=LinkKind.MAILING_LIST, position=99),
        link("https://example.org/cut%", truncated=True, quoted=True, position=50),
    )
    verdict = Verdict(True, 0.875, (Reason("announce-phrase", 0.4, "happy to announce", "new"),
                                    Reason("reply", -0.1, "Re:", "subject")),
                      ("Example Library", "Wikimédia France"))
    store.add([Ingested(message, links, verdict)])

    record = store.get("full@example.org")
    assert record.message == message
    assert record.links == links
    assert record.verdict == verdict
    assert record.archive_urls == ("https://lists.example.org/msg/1/",)
    assert record.thread_id == message_id_hash("root@example.org")


def test_a_message_without_date_or_verdict_round_trips(store):
    message = msg("undated@example.org", when=None)
    store.add([Ingested(message)])
    record = store.get("undated@example.org")
    assert record.message == message and record.verdict is None and record.links == ()
    assert store.stats()["lists"]["wikimedia-l"]["months"] == {"undated": 1}


# --- idempotency, memberships, merging ---------------------------------------------------------

def test_re_adding_the_same_batch_adds_nothing(store):
    batch = [Ingested(msg(f"m{i}@example.org", when=T0 + timedelta(hours=i))) for i in range(5)]
    first = store.add(batch)
    before = store.stats()
    second = store.add(batch)
    assert (first.new, first.duplicates) == (5, 0)
    assert (second.new, second.duplicates, second.merged) == (0, 5, 0)
    assert store.stats() == before


def test_a_copy_repeated_within_one_batch_is_stored_once(store):
    message = msg("twice@example.org")
    result = store.add([Ingested(message), Ingested(message)])
    assert (result.new, result.duplicates) == (1, 1)
    assert store.stats()["messages"] == 1


def test_a_cross_post_is_one_message_in_both_lists(store):
    store.add([Ingested(msg("x@example.org", lists=("wikimediaannounce-l",)))])
    result = store.add([Ingested(msg("x@example.org", lists=("wikimedia-l",)))])
    assert result.duplicates == 1
    assert store.get("x@example.org").message.lists == ("wikimediaannounce-l", "wikimedia-l")
    stats = store.stats()
    assert stats["messages"] == 1
    assert stats["lists"]["wikimediaannounce-l"]["messages"] == 1
    assert stats["lists"]["wikimedia-l"]["messages"] == 1


def test_a_more_complete_copy_improves_the_stored_one_and_loses_nothing(store):
    obfuscated = msg("p@example.org", text="Write to ann at example.org for details.",
                     obfuscated=True, archive_url="https://lists.example.org/pipermail/1.html",
                     attachments=(Attachment(None, "text/html", 0, "https://lists/att.html"),),
                     lists=("wikimedia-l",))
    real = msg("p@example.org", text="Write to ann@example.org for details.",
               html="<p>Write to ann@example.org</p>", lists=("wikimediaannounce-l",),
               archive_url="https://lists.example.org/hyperkitty/message/H/")
    cut = (link("https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%", truncated=True),)
    whole = (link("https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%C3%A9marche"),
             link("https://diff.wikimedia.org/2017/05/01/partners/"))
    store.add([Ingested(obfuscated, cut, Verdict(False, 0.3))])
    result = store.add([Ingested(real, whole, Verdict(True, 0.9))])
    assert result.merged == 1 and result.conflicts == 0

    record = store.get("p@example.org")
    assert record.message.obfuscated is False
    assert record.message.new_text == "Write to ann@example.org for details."
    assert record.message.html == "<p>Write to ann@example.org</p>"
    assert record.message.attachments == obfuscated.attachments   # kept from the other copy
    assert record.message.lists == ("wikimedia-l", "wikimediaannounce-l")
    assert record.links == whole
    assert record.verdict == Verdict(True, 0.9)
    assert set(record.archive_urls) == {obfuscated.archive_url, real.archive_url}

    # the poorer copy again: nothing to improve, nothing lost
    again = store.add([Ingested(obfuscated, cut, Verdict(False, 0.3))])
    assert (again.duplicates, again.merged) == (1, 0)
    assert store.get("p@example.org") == record


def test_two_different_messages_sharing_a_message_id_are_both_kept(store):
    first = msg("dup@example.org", subject="Board minutes", text="The board met on Tuesday.")
    other = msg("dup@example.org", subject="Photo contest results",
                text="The winners of the contest are listed below.")
    store.add([Ingested(first)])
    result = store.add([Ingested(other)])
    assert result.conflicts == 1 and result.new == 0
    (alt_key,) = result.conflict_keys
    assert alt_key.startswith("dup@example.org#")
    assert store.get("dup@example.org").message.subject == "Board minutes"
    assert store.get(alt_key).message.subject == "Photo contest results"
    assert store.stats()["conflicts"] == 1

    again = store.add([Ingested(first), Ingested(other)])
    assert (again.duplicates, again.conflicts, again.new) == (2, 0, 0)
    assert store.stats()["messages"] == 2


# --- threads ----------------------------------------------------------------------------------

def test_replies_join_their_root_thread_and_are_counted(store):
    root = msg("root@example.org")
    reply = msg("r1@example.org", subject="Re: Partnership with the Example Library",
                when=T0 + timedelta(hours=2), in_reply_to="root@example.org",
                references=("root@example.org",), text="Congratulations!")
    store.add([Ingested(root), Ingested(reply)])
    assert store.get("r1@example.org").thread_id == root.msgid_hash
    assert store.get("root@example.org").replies == 1
    assert [r.message.key for r in store.thread(root.msgid_hash)] == ["root@example.org",
                                                                      "r1@example.org"]


def test_a_thread_holds_together_when_replies_arrive_before_their_parents(store):
    a = msg("a@example.org", subject="Launch")
    b = msg("b@example.org", subject="Re: Launch", when=T0 + timedelta(hours=1),
            in_reply_to="a@example.org", references=("a@example.org",), text="b")
    c = msg("c@example.org", subject="Re: Launch", when=T0 + timedelta(hours=2),
            in_reply_to="b@example.org", text="c")  # knows only its parent
    for message in (c, b, a):
        store.add([Ingested(message)])
    threads = {key: store.get(key).thread_id for key in ("a@example.org", "b@example.org",
                                                         "c@example.org")}
    assert set(threads.values()) == {a.msgid_hash}
    assert store.stats()["threads"] == 1
    assert store.get("a@example.org").replies == 2


def test_without_headers_a_reply_joins_a_same_subject_thread_within_30_days(store):
    root = msg("s@example.org", subject="Wiki Loves Monuments")
    near = msg("near@example.org", subject="Re: Wiki Loves Monuments",
               when=T0 + timedelta(days=10), text="near")
    far = msg("far@example.org", subject="Re: Wiki Loves Monuments",
              when=T0 + timedelta(days=95), text="far")
    store.add([Ingested(root), Ingested(near), Ingested(far)])
    assert store.get("near@example.org").thread_id == root.msgid_hash
    assert store.get("far@example.org").thread_id == far.msgid_hash


def test_a_late_thread_start_found_by_subject_becomes_the_root(store):
    reply = msg("late-reply@example.org", subject="Re: Call for partners",
                when=T0 + timedelta(days=1), text="reply")
    root = msg("late-root@example.org", subject="Call for partners", text="root")
    store.add([Ingested(reply)])
    store.add([Ingested(root)])
    assert store.get("late-reply@example.org").thread_id == root.msgid_hash
    assert store.get("late-root@example.org").thread_id == root.msgid_hash


# --- reading ----------------------------------------------------------------------------------

def test_get_by_message_id_hash_or_archive_url(store):
    message = msg("find.me@example.org", archive_url="https://lists.example.org/pipermail/7.html")
    store.add([Ingested(message)])
    for ident in ("find.me@example.org", "<find.me@example.org>", " <find.me@example.org> ",
                  message.msgid_hash, message.msgid_hash.lower(),
                  "https://lists.example.org/pipermail/7.html"):
        assert store.get(ident).message.key == "find.me@example.org", ident
    assert store.get("nobody@example.org") is None
    assert store.get("") is None


def test_any_hyperkitty_permalink_finds_its_message_by_hash(store):
    """lists.wikimedia.org's permalinks, for both eras, end in the Message-ID-Hash: a message
    ingested from a pipermail month (no URL recorded) is still found by one."""
    message = msg("find.me@example.org")
    store.add([Ingested(message)])
    base = "https://lists.wikimedia.org/hyperkitty/list/wikimedia-l@lists.wikimedia.org"
    for ident in (f"{base}/message/{message.msgid_hash}/",
                  f"{base}/message/{message.msgid_hash}", f" {base}/message/{message.msgid_hash}/ ",
                  f"{base}/message/{message.msgid_hash}/#reply"):
        assert store.get(ident).message.key == "find.me@example.org", ident
    assert store.get(f"{base}/message/{'A' * 32}/") is None
    assert store.get(f"{base}/thread/{message.msgid_hash}/x") is None


def test_records_between_is_ordered_and_filtered(store):
    items = [
        Ingested(msg("w2@example.org", when=T0 + timedelta(days=2), lists=("wikimedia-l",)),
                 verdict=Verdict(True, 0.9)),
        Ingested(msg("w1@example.org", when=T0 + timedelta(days=1),
                     lists=("wikimediaannounce-l",)), verdict=Verdict(False, 0.1)),
        Ingested(msg("w1b@example.org", when=T0 + timedelta(days=1),
                     lists=("wikimediaannounce-l",)), verdict=Verdict(True, 0.7)),
        Ingested(msg("late@example.org", when=T0 + timedelta(days=9)), verdict=Verdict(True, 1)),
    ]
    store.add(items)
    window = (T0, T0 + timedelta(days=7))
    assert [r.message.key for r in store.records_between(*window)] == [
        "w1@example.org", "w1b@example.org", "w2@example.org"]
    assert [r.message.key for r in store.records_between(*window, lists=["wikimedia-l"])] == [
        "w2@example.org"]
    assert [r.message.key for r in store.records_between(*window, partnership=True)] == [
        "w1b@example.org", "w2@example.org"]
    assert store.latest_partnership_date() == T0 + timedelta(days=9)
    assert store.latest_partnership_date(["wikimediaannounce-l"]) == T0 + timedelta(days=1)


def test_the_full_text_index_follows_inserts_and_merges(tmp_path):
    path = tmp_path / "fts.sqlite3"
    store = SQLiteStore(path)
    store.add([Ingested(msg("f@example.org", text="ann at example.org writes about glam",
                            obfuscated=True))])
    store.add([Ingested(msg("f@example.org", text="ann@example.org writes about museums"))])
    # a copy and its better copy in one batch: the index holds only the final text
    store.add([Ingested(msg("g@example.org", text="bob at example.org on archives",
                            obfuscated=True)),
               Ingested(msg("g@example.org", text="bob@example.org on libraries"))])
    store.close()
    db = sqlite3.connect(path)
    hits = lambda word: db.execute(  # noqa: E731
        "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?", (word,)).fetchone()[0]
    assert hits("museums") == 1 and hits("glam") == 0
    assert hits("libraries") == 1 and hits("archives") == 0
    assert hits("subject:partnership") == 2
    # FTS5 checks its external-content index against the messages table
    db.execute("INSERT INTO messages_fts (messages_fts, rank) VALUES ('integrity-check', 1)")
    db.close()


# --- defects, cursors, deliveries ---------------------------------------------------------------

def test_defects_are_recorded_once_in_the_order_found(store):
    found = [Defect("truncated-gzip", "unexpected end", "a.txt.gz", 4096, None),
             Defect("bad-date", "-0-200", "b.mbox", 10, 2, "x@example.org")]
    store.add_defects(found)
    store.add_defects(found)
    assert store.defects() == found
    assert store.stats()["defects"] == 2


def test_cursors_remember_the_last_value(store):
    assert store.get_cursor("hyperkitty:wikimedia-l") is None
    store.set_cursor("hyperkitty:wikimedia-l", "2017-05")
    store.set_cursor("hyperkitty:wikimedia-l", "2017-06")
    assert store.get_cursor("hyperkitty:wikimedia-l") == "2017-06"


def test_a_delivery_is_claimed_once_and_only_released_while_claimed(tmp_path):
    one = SQLiteStore(tmp_path / "d.sqlite3")
    two = SQLiteStore(tmp_path / "d.sqlite3")  # a second daemon on the same file
    assert one.claim_delivery("2017-W22", "a@example.org") is True
    assert two.claim_delivery("2017-W22", "a@example.org") is False
    one.release_delivery("2017-W22", "a@example.org")
    assert two.claim_delivery("2017-W22", "a@example.org") is True
    two.finish_delivery("2017-W22", "a@example.org", DeliveryState.SENT, "250 ok")
    one.release_delivery("2017-W22", "a@example.org")  # sent: releasing must not undo it
    assert one.claim_delivery("2017-W22", "a@example.org") is False
    (delivery,) = one.deliveries("2017-W22")
    assert (delivery.state, delivery.detail) == (DeliveryState.SENT, "250 ok")
    assert one.deliveries("other") == []
    one.close()
    two.close()


# --- schema -----------------------------------------------------------------------------------

def test_migrations_are_applied_on_open_and_the_version_is_stored(tmp_path):
    path = tmp_path / "v.sqlite3"
    latest = migrations()[-1][0]
    store = open_store(str(path))
    assert store.schema_version == latest
    store.add([Ingested(msg("keep@example.org"))])
    store.close()
    reopened = SQLiteStore(path)
    assert reopened.schema_version == latest
    assert reopened.get("keep@example.org") is not None
    assert reopened.stats()["schema_version"] == latest
    reopened.close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_a_store_of_schema_1_keeps_its_verdicts_and_learns_they_are_stale(tmp_path):
    """Migration 2 records which rules made each verdict; those stored before it are of
    unknown rules ('') and so stale for any rule set, until reclassified."""
    path = tmp_path / "v1.sqlite3"
    with SQLiteStore(path) as store:
        store.add([Ingested(msg("old@x"), verdict=Verdict(True, 0.9))])
    db = sqlite3.connect(path)  # back to schema 1: what migration 2 added, taken away
    db.execute("ALTER TABLE verdicts DROP COLUMN rules")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = SQLiteStore(path)
    assert store.schema_version == migrations()[-1][0] >= 2
    verdict = store.get("old@x").verdict
    assert (verdict.partnership, verdict.score, verdict.rules) == (True, 0.9, "")
    assert store.stale_verdicts("0123456789ab") == 1
    store.set_verdicts([("old@x", Verdict(True, 0.9, rules="0123456789ab"))])
    assert store.stale_verdicts("0123456789ab") == 0
    store.close()


def test_a_store_from_a_newer_program_is_refused(tmp_path):
    path = tmp_path / "newer.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 999")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        SQLiteStore(path)


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"these are not the droids\n" * 200)
    with pytest.raises(StoreError, match="notes.txt"):
        SQLiteStore(path)


# --- links repaired across copies ---------------------------------------------------------------

CUT = "https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%"
WHOLE = "https://meta.wikimedia.org/wiki/Wikim%C3%A9dia_France/D%C3%A9marche_partenariale/en"


@pytest.mark.parametrize("order", ["cut first", "whole first"])
def test_a_truncated_link_is_repaired_from_a_complete_one_in_the_thread(store, order):
    pytest.importorskip("digest.links")
    root = Ingested(msg("t-root@example.org"), (link(CUT, truncated=True, ref=1),))
    reply = Ingested(msg("t-reply@example.org", subject="Re: Partnership with the Example "
                         "Library", when=T0 + timedelta(hours=1), in_reply_to="t-root@example.org",
                         text="quoting the link"), (link(WHOLE, quoted=True, ref=1),))
    store.add([root, reply] if order == "cut first" else [reply, root])
    (repaired,) = store.get("t-root@example.org").links
    assert repaired.url == WHOLE and repaired.truncated is False


def test_only_the_completions_of_a_cut_link_are_read_from_a_long_thread(store):
    """A long thread full of other links (and a second complete URL that only shares the
    host) still completes the cut link, from the one URL that extends it."""
    pytest.importorskip("digest.links")
    replies = [Ingested(msg(f"r{i}@example.org", subject="Re: Partnership with the Example "
                            "Library", when=T0 + timedelta(hours=i + 1),
                            in_reply_to="t-root@example.org", text=f"reply {i}"),
                        (link(f"https://example.org/other/{i}", quoted=True),))
               for i in range(200)]
    replies.append(Ingested(msg("last@example.org", subject="Re: Partnership with the Example "
                                "Library", when=T0 + timedelta(days=2),
                                in_reply_to="t-root@example.org", text="the link again"),
                            (link(WHOLE, quoted=True, ref=1),)))
    store.add([Ingested(msg("t-root@example.org"), ())])
    store.add(replies)
    store.add([Ingested(msg("copy@example.org", subject="Re: Partnership with the Example "
                            "Library", when=T0 + timedelta(days=3),
                            in_reply_to="t-root@example.org", text="cut"),
                        (link(CUT, truncated=True, ref=1),))])
    (repaired,) = store.get("copy@example.org").links
    assert repaired.url == WHOLE and repaired.truncated is False


# --- prepared rows: what ingest workers hand the store ------------------------------------------

def _everything(store: SQLiteStore) -> list:
    """Every stored record and the full-text index's answers, to compare two stores by."""
    records = [store.get(key) for key in store.keys()]
    fts = store._db.execute("SELECT rowid FROM messages_fts WHERE messages_fts MATCH "
                            "'partnership OR contest OR board' ORDER BY rowid").fetchall()
    return [records, fts, store.stats()]


def _mixed_batches() -> list[list[Ingested]]:
    """New messages, a copy and a cross-post within one batch, a conflict, replies before and
    after their root, a truncated link repaired from the thread: fast and slow paths mixed."""
    root = msg("root@example.org", lists=("wikimediaannounce-l",),
               archive_url="https://lists.example.org/msg/root/")
    reply = msg("reply@example.org", subject="Re: Partnership with the Example Library",
                when=T0 + timedelta(hours=2), in_reply_to="root@example.org",
                text="Congratulations!")
    early = msg("early@example.org", subject="Re: Partnership with the Example Library",
                when=T0 + timedelta(hours=1), in_reply_to="root@example.org", text="Great news")
    other = msg("root@example.org", subject="Photo contest results", text="Winners below.")
    cut = (link(CUT, truncated=True, ref=1),)
    whole = (link(WHOLE, ref=1), link("https://diff.wikimedia.org/2017/05/01/partners/"))
    verdict = Verdict(True, 0.8, (Reason("announce-phrase", 0.5, "happy to announce", "new"),),
                      ("Example Library",))
    return [
        [Ingested(early, cut), Ingested(root, whole, verdict),
         Ingested(replace(root, lists=("wikimedia-l",)), whole, verdict),
         Ingested(reply), Ingested(other, (), Verdict(False, 0.1))],
        [Ingested(msg(f"board{i}@example.org", subject="Board minutes",
                      when=T0 + timedelta(days=i)), whole) for i in range(3)]
        + [Ingested(reply), Ingested(replace(root, lists=("wikimedia-l", "other-l")))],
    ]


def test_prepared_rows_build_the_same_store_as_the_objects(tmp_path):
    pytest.importorskip("digest.links")
    import pickle

    from digest.store.sqlite import prepare

    with SQLiteStore(tmp_path / "objects.sqlite3") as objects, \
            SQLiteStore(tmp_path / "rows.sqlite3") as rows:
        for batch in _mixed_batches():
            expected = objects.add(batch)
            # as a worker process sends them: pickled rows
            got = rows.add(pickle.loads(pickle.dumps([prepare(item) for item in batch])))
            assert got == expected
        assert _everything(rows) == _everything(objects)
        assert rows.get("early@example.org").links[0].url == WHOLE   # repaired in the batch
        assert rows.get("root@example.org").message.lists == (
            "wikimediaannounce-l", "wikimedia-l", "other-l")
        assert rows.stats()["conflicts"] == 1


def test_a_prepared_message_comes_back_equal_to_what_went_in(store):
    from digest.store.sqlite import SQLiteStore as Store

    message = msg("rows@example.org", lists=("wikimedia-l", "wikimedia-l", "other-l"),
                  references=("a@example.org",), in_reply_to="a@example.org",
                  attachments=(Attachment("a.pdf", "application/pdf", 10),),
                  defects=(Defect("bad-date", "offset -0-200", "a.mbox", 12, 1, None),))
    item = Ingested(message, (link("https://example.org/x", kind=LinkKind.DOCUMENT),),
                    Verdict(False, 0.25, (Reason("r", -0.5, "e", "new"),)))
    store.add([Store.prepare(item)])
    record = store.get("rows@example.org")
    assert record.message == replace(message, lists=("wikimedia-l", "other-l"))
    assert (record.links, record.verdict) == (item.links, item.verdict)


def test_a_message_id_equal_to_a_conflict_key_of_the_same_batch_is_a_copy_not_a_crash(store):
    first = msg("same@example.org", subject="Board minutes", text="The board met.")
    other = msg("same@example.org", subject="Photo contest", text="Winners below.")
    odd_key = f"same@example.org#{other.content_hash[:12]}"   # what `other` is stored under
    odd = msg(odd_key, subject="Third", text="A Message-ID with a hash sign.")
    result = store.add([Ingested(first), Ingested(other), Ingested(odd)])
    assert result.conflict_keys[0] == odd_key
    assert (result.new, result.conflicts) == (1, 2)
    assert store.stats()["messages"] == 3
