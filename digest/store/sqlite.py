"""The embedded store: one SQLite file, WAL, FTS5, numbered migrations applied on open.

Every batch is one transaction, so a crash leaves whole batches or nothing, and re-adding
what is already stored changes nothing: together they make ingest idempotent and resumable.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any, NamedTuple

from ..errors import StoreError
from ..model import Attachment, Defect, Link, LinkKind, Message, Reason, Record, Verdict
from .base import AddResult, Delivery, DeliveryState, Ingested
from .merge import better_links, better_verdict, merge_message, repair_links, same_message

PAGE_SIZE = 16384          # bytes, for new stores
CHECKPOINT_PAGES = 2048    # WAL pages between automatic checkpoints (32 MiB of new stores)
SUBJECT_WINDOW = timedelta(days=30)  # a reply without headers joins a same-subject thread this near
_MAX_ANCESTORS = 200
_MIGRATION_NAME = re.compile(r"^(\d+)_.*\.sql$")

_MESSAGE_COLUMNS = (
    "key", "message_id", "msgid_hash", "subject", "subject_norm", "from_name", "from_addr",
    "date", "ts", "in_reply_to", "refs", "text", "new_text", "quoted_text", "signature", "footer",
    "html", "archive_url", "content_hash", "obfuscated", "attachments", "defects")
(_SUBJECT, _MSGID_HASH, _SUBJECT_NORM, _FROM_NAME, _TS, _IN_REPLY_TO, _NEW_TEXT, _QUOTED_TEXT,
 _ARCHIVE_URL) = (_MESSAGE_COLUMNS.index(name) for name in (
    "subject", "msgid_hash", "subject_norm", "from_name", "ts", "in_reply_to", "new_text",
    "quoted_text", "archive_url"))
# .../hyperkitty/list/NAME@DOMAIN/message/HASH/ : the key of both eras' permalinks
_HYPERKITTY_PERMALINK = re.compile(r"/message/([A-Za-z2-7]{32})/?(?:[?#].*)?$")
_SELECT_MESSAGE = "SELECT " + ", ".join(_MESSAGE_COLUMNS) + ", thread_id, id FROM messages"
_INSERT_MESSAGE = (f"INSERT INTO messages ({', '.join(_MESSAGE_COLUMNS)}, thread_id) "
                   f"VALUES ({', '.join('?' * (len(_MESSAGE_COLUMNS) + 1))})")
_UPDATE_MESSAGE = ("UPDATE messages SET " + ", ".join(f"{c} = ?" for c in _MESSAGE_COLUMNS[1:])
                   + " WHERE key = ?")
_INSERT_FTS = ("INSERT INTO messages_fts (rowid, subject, from_name, new_text, quoted_text) "
               "VALUES (?, ?, ?, ?, ?)")
_LINK_COLUMNS = ("msg", "idx", "position", "url", "raw", "display", "label", "ref", "kind",
                 "boilerplate", "quoted", "truncated", "project", "title")
_INSERT_LINK = (f"INSERT INTO links ({', '.join(_LINK_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_LINK_COLUMNS))})")
_UPSERT_VERDICT = (
    "INSERT INTO verdicts (msg, partnership, score, reasons, partners, rules)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (msg) DO UPDATE SET partnership = excluded.partnership,"
    " score = excluded.score, reasons = excluded.reasons, partners = excluded.partners,"
    " rules = excluded.rules")
_STALE = (" AND NOT EXISTS (SELECT 1 FROM verdicts v WHERE v.msg = messages.id"
          " AND v.rules = ?)")
# set_verdicts: by message key (none stored: no row), rewritten only where it differs
_SET_VERDICT = (
    "INSERT INTO verdicts (msg, partnership, score, reasons, partners, rules)"
    " SELECT id, ?, ?, ?, ?, ? FROM messages WHERE key = ?"
    " ON CONFLICT (msg) DO UPDATE SET partnership = excluded.partnership,"
    " score = excluded.score, reasons = excluded.reasons, partners = excluded.partners,"
    " rules = excluded.rules WHERE (partnership, score, reasons, partners, rules)"
    " IS NOT (excluded.partnership, excluded.score, excluded.reasons, excluded.partners,"
    " excluded.rules)")
_SELECT_VERDICT = "SELECT partnership, score, reasons, partners, rules FROM verdicts WHERE msg = ?"


class Prepared(NamedTuple):
    """One message as rows (see `prepare`): what ingest workers hand the writing process."""

    key: str
    row: tuple[Any, ...]                 # the messages row, in _MESSAGE_COLUMNS order
    lists: tuple[str, ...]
    links: tuple[tuple[Any, ...], ...]   # links rows without their message id
    truncated: int                       # how many links the archive cut off
    verdict: tuple[Any, ...] | None      # verdicts row without its message id
    references: tuple[str, ...]
    is_reply: bool
    defects: tuple[Defect, ...]


@dataclass
class _Held:
    """Rows of a batch's new messages not written yet (see SQLiteStore.add)."""

    links: list[tuple[Any, ...]] = field(default_factory=list)
    verdicts: list[tuple[Any, ...]] = field(default_factory=list)
    memberships: list[tuple[int, str, int]] = field(default_factory=list)
    urls: list[tuple[str, int]] = field(default_factory=list)


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every packaged SQLite migration, in order."""
    folder = resources.files("digest.store") / "migrations" / "sqlite"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    return found


class SQLiteStore:
    """The Store protocol (store/base.py) on one SQLite file."""

    def __init__(self, path: str | os.PathLike[str], *, create: bool = True) -> None:
        raw = os.fspath(path)
        self.url = raw
        self.path = raw[len("sqlite:///"):] if raw.startswith("sqlite:///") else raw
        if not create and self.path != ":memory:" and not os.path.exists(self.path):
            # a mistyped --store must not read as an empty archive (nor mail an empty digest)
            raise StoreError(f"{self.url}: no store there (`digest ingest` or `digest sync` "
                             f"creates one; --store or DIGEST_STORE names it)")
        self._fts_pending: dict[int, tuple[str, str, str, str]] = {}  # rowid -> text, per batch
        self._held = _Held()
        self._known: set[str] = set()
        self._truncated_known = True  # some stored message may await a link repair
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=30.0,
                                       check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 30000")
            # Only a new file takes it: mail bodies then span fewer overflow pages, so a batch
            # writes fewer (bigger) WAL frames than with the 4 KiB default.
            self._db.execute(f"PRAGMA page_size = {PAGE_SIZE:d}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            # Rarer checkpoints copy a page that several batches rewrote (index and full-text
            # pages) once, not once a batch; a crash still leaves whole batches (WAL is atomic).
            # (Page caches of 8 and 32 MB were measured too: more memory, no clear gain.)
            self._db.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES:d}")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot open the store: {exc}") from None

    # --- schema -------------------------------------------------------------------------

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        available = migrations()
        latest = available[-1][0] if available else 0
        if self.schema_version > latest:
            raise StoreError(f"{self.url}: schema version {self.schema_version} is newer than "
                             f"this program knows ({latest}); upgrade digest")
        if self.schema_version == latest:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            current = self.schema_version  # another process may have migrated meanwhile
            for version, name, sql in available:
                if version <= current:
                    continue
                for statement in _statements(sql):
                    try:
                        self._db.execute(statement)
                    except sqlite3.Error as exc:
                        raise StoreError(f"{self.url}: migration {name} failed: {exc}") from None
                self._db.execute(f"PRAGMA user_version = {version:d}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StoreError(f"{self.url}: cannot write: {exc}") from None
        try:
            yield
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise StoreError(f"{self.url}: write failed: {exc}") from None
            raise
        self._db.execute("COMMIT")

    # --- ingest -------------------------------------------------------------------------

    @staticmethod
    def prepare(item: Ingested) -> Prepared:
        """`prepare`, reachable from the store: ingest hands it to its worker processes."""
        return prepare(item)

    def add(self, batch: Sequence[Ingested | Prepared]) -> AddResult:
        """New messages take a fast path: their child rows (links, verdict, memberships, URLs,
        full text) are kept back and written with one executemany per table. Anything that
        reads those tables (a copy of a stored message, a truncated link to repair) first
        writes what was kept back, so every statement sees the same rows as one at a time.
        Items may come `prepare`d (by the ingest workers, which saves this process the work)."""
        result = AddResult()
        self._fts_pending = {}
        self._held = _Held()
        with self._transaction():
            # keys stored before this batch, and (added by _insert) every key stored in it
            self._known = stored = self._stored_keys([item.key if isinstance(item, Prepared)
                                                      else item.message.key for item in batch])
            self._truncated_known = self._db.execute(
                "SELECT EXISTS (SELECT 1 FROM messages WHERE truncated_links > 0)").fetchone()[0]
            for item in batch:
                key = item.key if isinstance(item, Prepared) else item.message.key
                if key in stored:
                    self._write_held()
                    self._add_one(_ingested(item) if isinstance(item, Prepared) else item,
                                  result)
                else:
                    self._insert(item if isinstance(item, Prepared) else prepare(item))
                    result.new += 1
                stored.add(key)
            self._write_held()
            self._db.executemany(_INSERT_FTS, [(rowid, *row) for rowid, row
                                               in self._fts_pending.items()])
        self._fts_pending = {}
        return result

    def _stored_keys(self, keys: list[str]) -> set[str]:
        found: set[str] = set()
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            found.update(key for (key,) in self._db.execute(
                f"SELECT key FROM messages WHERE key IN ({', '.join('?' * len(part))})", part))
        return found

    def _write_held(self) -> None:
        held, self._held = self._held, _Held()
        if held.links:
            self._db.executemany(_INSERT_LINK, held.links)
        if held.verdicts:
            self._db.executemany(_UPSERT_VERDICT, held.verdicts)
        if held.memberships:
            self._db.executemany("INSERT OR IGNORE INTO memberships (msg, list, seq) "
                                 "VALUES (?, ?, ?)", held.memberships)
        if held.urls:
            self._db.executemany("INSERT OR IGNORE INTO archive_urls (url, msg) VALUES (?, ?)",
                                 held.urls)

    def add_defects(self, defects: Iterable[Defect]) -> None:
        rows = [(d.source, d.index, d.offset, d.kind, d.detail, d.message_id) for d in defects]
        if not rows:
            return
        with self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO defects (source, idx, offset, kind, detail, message_id) "
                "VALUES (?, ?, ?, ?, ?, ?)", rows)

    def set_verdicts(self, verdicts: Sequence[tuple[str, Verdict]]) -> int:
        before = self._db.total_changes  # an unchanged verdict is not rewritten, so not counted
        with self._transaction():
            self._db.executemany(_SET_VERDICT, [(*_verdict_values(verdict), key)
                                                for key, verdict in verdicts])
        return self._db.total_changes - before

    def _add_one(self, item: Ingested, result: AddResult) -> None:
        message = item.message
        stored = self._load(message.key)
        if stored is None:
            self._insert(prepare(item))
            result.new += 1
            return
        if same_message(stored[1].message, message):
            self._merge(*stored, item, result)
            return
        digest = message.content_hash or hashlib.sha1(message.text.encode()).hexdigest()
        alt_key = f"{message.key}#{digest[:12]}"
        alt = self._load(alt_key)
        if alt is not None:
            self._merge(*alt, item, result)
            return
        self._insert(prepare(Ingested(replace(message, key=alt_key), item.links, item.verdict)),
                     conflict=True)
        self._db.execute("INSERT OR IGNORE INTO conflicts (key, content_hash, conflict_key) "
                         "VALUES (?, ?, ?)", (message.key, digest, alt_key))
        result.conflicts += 1
        result.conflict_keys.append(alt_key)

    def _insert(self, item: Prepared, conflict: bool = False) -> None:
        row = item.row
        thread_id = self._thread_for(item)
        msg = self._db.execute(_INSERT_MESSAGE, (*row, thread_id)).lastrowid
        self._known.add(item.key)  # a conflict's "<id>#<hash>" key too
        self._fts_pending[msg] = _fts_of_row(row)
        if not conflict and thread_id != row[_MSGID_HASH]:
            # replies that arrived before this message waited under its hash: join them up
            self._db.execute("UPDATE messages SET thread_id = ? WHERE thread_id = ?",
                             (thread_id, row[_MSGID_HASH]))
        if item.truncated:
            self._write_held()  # the thread's links are read: they must all be there
            own = _links_of(item)
            links = repair_links(own, self._completions(thread_id, own))
            self._write_links(msg, links)
            if not all(link.truncated for link in links) and self._truncated_known:
                self._repair_thread(thread_id, msg, lambda: links)
        else:
            self._held.links.extend((msg, *values) for values in item.links)
            if item.links and self._truncated_known:
                self._repair_thread(thread_id, msg, lambda: _links_of(item))
        if item.verdict is not None:
            self._held.verdicts.append((msg, *item.verdict))
        # a new message: each list's position is its rank among the message's distinct lists
        self._held.memberships.extend((msg, name, seq) for seq, name
                                      in enumerate(dict.fromkeys(item.lists)))
        if row[_ARCHIVE_URL]:
            self._held.urls.append((row[_ARCHIVE_URL], msg))

    def _merge(self, msg: int, stored: Record, item: Ingested, result: AddResult) -> None:
        old = stored.message
        merged = merge_message(old, item.message)
        links = better_links(stored.links, item.links)
        verdict = better_verdict(stored.verdict, item.verdict)
        old_row, new_row = _message_row(old), _message_row(merged)
        improved = links != stored.links or verdict != stored.verdict or (
            replace(merged, defects=(), lists=()) != replace(old, defects=(), lists=()))
        if new_row != old_row:
            self._db.execute(_UPDATE_MESSAGE, (*new_row[1:], old.key))
            self._update_fts(msg, old_row, new_row)
        if links != stored.links:
            self._write_links(msg, links, replacing=True)
        if verdict != stored.verdict and verdict is not None:
            self._write_verdict(msg, verdict)
        self._add_memberships(msg, item.message)
        if improved:
            result.merged += 1
        else:
            result.duplicates += 1

    def _update_fts(self, rowid: int, old_row: tuple[Any, ...],
                    new_row: tuple[Any, ...]) -> None:
        before, after = _fts_of_row(old_row), _fts_of_row(new_row)
        if before == after:
            return
        if rowid in self._fts_pending:  # inserted earlier in this batch, not indexed yet
            self._fts_pending[rowid] = after
            return
        self._db.execute("INSERT INTO messages_fts (messages_fts, rowid, subject, from_name, "
                         "new_text, quoted_text) VALUES ('delete', ?, ?, ?, ?, ?)",
                         (rowid, *before))
        self._db.execute(_INSERT_FTS, (rowid, *after))

    def _add_memberships(self, msg: int, message: Message) -> None:
        for name in message.lists:
            self._db.execute(
                "INSERT OR IGNORE INTO memberships (msg, list, seq) VALUES "
                "(?1, ?2, (SELECT count(*) FROM memberships WHERE msg = ?1))", (msg, name))
        if message.archive_url:
            self._db.execute("INSERT OR IGNORE INTO archive_urls (url, msg) VALUES (?, ?)",
                             (message.archive_url, msg))

    def _write_links(self, msg: int, links: Sequence[Link], replacing: bool = False) -> None:
        if replacing:
            self._db.execute("DELETE FROM links WHERE msg = ?", (msg,))
        self._db.executemany(_INSERT_LINK, [_link_row(msg, i, link) for i, link in enumerate(links)])
        truncated = sum(1 for link in links if link.truncated)
        if truncated:
            self._truncated_known = True
        if truncated or replacing:
            self._db.execute("UPDATE messages SET truncated_links = ? WHERE id = ?",
                             (truncated, msg))

    def _write_verdict(self, msg: int, verdict: Verdict) -> None:
        self._db.execute(_UPSERT_VERDICT, _verdict_row(msg, verdict))

    # --- threads ------------------------------------------------------------------------

    def _thread_for(self, item: Prepared) -> str:
        """The msgid_hash of the thread's root, by headers first, then by subject and date."""
        key, row = item.key, item.row
        msgid_hash, subject_norm, ts, in_reply_to = (
            row[_MSGID_HASH], row[_SUBJECT_NORM], row[_TS], row[_IN_REPLY_TO])
        ancestors = [r for r in item.references if r and r != key]
        if in_reply_to and in_reply_to not in ancestors and in_reply_to != key:
            ancestors.append(in_reply_to)
        if ancestors:
            ancestors = ancestors[:_MAX_ANCESTORS]
            marks = ", ".join("?" * len(ancestors))
            known = dict(self._db.execute(
                f"SELECT key, thread_id FROM messages WHERE key IN ({marks})", ancestors))
            for ancestor in ancestors:
                if ancestor in known:
                    return known[ancestor]
            return _message_id_hash(ancestors[0])  # the root is not here yet; it will match
        if not subject_norm or ts is None:
            return msgid_hash
        window = SUBJECT_WINDOW.total_seconds()
        if item.is_reply:  # a reply whose archive lost its headers
            found = self._db.execute(
                "SELECT thread_id FROM messages WHERE subject_norm = ? AND ts BETWEEN ? AND ? "
                "ORDER BY ts, key LIMIT 1",
                (subject_norm, ts - window, ts + window)).fetchone()
            return msgid_hash if found is None else found[0]
        # a thread start never joins another thread, but it may arrive after such replies
        found = self._db.execute(
            "SELECT thread_id FROM messages WHERE subject_norm = ? AND ts > ? AND ts <= ? "
            "ORDER BY ts, key LIMIT 1", (subject_norm, ts, ts + window)).fetchone()
        if found is not None:
            first = self._db.execute("SELECT min(ts) FROM messages WHERE thread_id = ?",
                                     (found[0],)).fetchone()[0]
            if first is not None and ts < first:
                self._db.execute("UPDATE messages SET thread_id = ? WHERE thread_id = ?",
                                 (msgid_hash, found[0]))
        return msgid_hash

    def _completions(self, thread_id: str, links: Sequence[Link]) -> list[Link]:
        """The thread's intact links that could complete one of `links` cut off by an archive:
        only those starting with a cut link's stem are read, so a long thread costs no memory."""
        from ..links import truncation_stem

        found: list[Link] = []
        for stem in sorted({truncation_stem(link.url) for link in links if link.truncated}):
            found.extend(_link(row) for row in self._db.execute(
                "SELECT l.* FROM links l JOIN messages m ON m.id = l.msg WHERE m.thread_id = ? "
                "AND l.truncated = 0 AND substr(l.url, 1, length(?2)) = ?2 "
                "GROUP BY l.url, l.ref ORDER BY l.url, l.ref LIMIT 100",
                (thread_id, stem)))
        return found

    def _repair_thread(self, thread_id: str, msg: int,
                       links: Callable[[], Sequence[Link]]) -> None:
        """Truncated links stored earlier in the thread, completed from a new copy."""
        ids = [i for (i,) in self._db.execute(
            "SELECT id FROM messages WHERE thread_id = ? AND truncated_links > 0 AND id != ?",
            (thread_id, msg))]
        intact = links() if ids else ()
        for other in ids:
            old = self._links_for(other)
            fixed = repair_links(old, [link for link in intact if not link.truncated])
            if fixed != old:
                self._write_links(other, fixed, replacing=True)

    # --- reading ------------------------------------------------------------------------

    def _load(self, key: str) -> tuple[int, Record] | None:
        row = self._db.execute(_SELECT_MESSAGE + " WHERE key = ?", (key,)).fetchone()
        return None if row is None else (row[-1], self._record(row))

    def _links_for(self, msg: int) -> tuple[Link, ...]:
        return tuple(_link(row) for row in self._db.execute(
            "SELECT * FROM links WHERE msg = ? ORDER BY idx", (msg,)))

    def _record(self, row: Sequence[Any]) -> Record:
        key, msg = row[0], row[-1]
        lists = tuple(name for (name,) in self._db.execute(
            "SELECT list FROM memberships WHERE msg = ? ORDER BY seq", (msg,)))
        message = _message(row, lists)
        links = self._links_for(msg)
        verdict_row = self._db.execute(_SELECT_VERDICT, (msg,)).fetchone()
        urls = tuple(url for (url,) in self._db.execute(
            "SELECT url FROM archive_urls WHERE msg = ? ORDER BY rowid", (msg,)))
        thread_id = row[len(_MESSAGE_COLUMNS)]
        ts = row[_TS]
        replies = 0
        if ts is not None:
            replies = self._db.execute(
                "SELECT count(*) FROM messages WHERE thread_id = ? AND ts > ? AND key != ?",
                (thread_id, ts, key)).fetchone()[0]
        return Record(message=message, links=links, verdict=_verdict(verdict_row),
                      thread_id=thread_id, replies=replies, archive_urls=urls)

    def get(self, ident: str) -> Record | None:
        text = ident.strip()
        if text.startswith("<") and text.endswith(">"):
            text = text[1:-1].strip()
        if not text:
            return None
        queries = (
            (_SELECT_MESSAGE + " WHERE key = ?", (ident,)),
            (_SELECT_MESSAGE + " WHERE key = ?", (text,)),
            # only conflicting copies ("<id>#<hash>") are left with this Message-ID
            (_SELECT_MESSAGE + " WHERE key > ? AND key < ? ORDER BY id LIMIT 1",
             (text + "#", text + "$")),
            (_SELECT_MESSAGE + " WHERE msgid_hash = ? ORDER BY id LIMIT 1", (text.upper(),)),
        )
        for sql, values in queries:
            row = self._db.execute(sql, values).fetchone()
            if row is not None:
                return self._record(row)
        for url in dict.fromkeys((ident.strip(), ident.strip().rstrip("/"),
                                  ident.strip().rstrip("/") + "/")):
            row = self._db.execute(_SELECT_MESSAGE + " WHERE id = (SELECT msg FROM archive_urls "
                                   "WHERE url = ?)", (url,)).fetchone()
            if row is not None:
                return self._record(row)
        permalink = _HYPERKITTY_PERMALINK.search(ident.strip())
        if permalink:  # a HyperKitty URL names its message by hash, whatever copy we hold
            return self.get(permalink.group(1))
        return None

    def iter_records(self, batch: int = 500, *, stale_for: str | None = None
                     ) -> Iterator[Record]:
        sql, params = _SELECT_MESSAGE + " WHERE id > ?", ()
        if stale_for is not None:
            sql += _STALE
            params = (stale_for,)
        last = 0
        while True:
            rows = self._db.execute(sql + " ORDER BY id LIMIT ?",
                                    (last, *params, batch)).fetchall()
            if not rows:
                return
            last = rows[-1][-1]
            for row in rows:
                yield self._record(row)

    def stale_verdicts(self, rules: str) -> int:
        return self._db.execute("SELECT count(*) FROM messages WHERE 1" + _STALE,
                                (rules,)).fetchone()[0]

    def records_between(self, start: datetime, end: datetime,
                        lists: Sequence[str] | None = None,
                        partnership: bool | None = None) -> Iterator[Record]:
        sql = "SELECT m.id FROM messages m"
        params: list[Any] = []
        if partnership is not None:
            sql += " JOIN verdicts v ON v.msg = m.id AND v.partnership = ?"
            params.append(int(partnership))
        sql += " WHERE m.ts >= ? AND m.ts < ?"
        params += [_ts(start), _ts(end)]
        if lists:
            sql += (" AND EXISTS (SELECT 1 FROM memberships s WHERE s.msg = m.id AND s.list IN "
                    f"({', '.join('?' * len(lists))}))")
            params += list(lists)
        sql += " ORDER BY m.ts, m.key"
        ids = [msg for (msg,) in self._db.execute(sql, params)]
        for msg in ids:
            row = self._db.execute(_SELECT_MESSAGE + " WHERE id = ?", (msg,)).fetchone()
            if row is not None:
                yield self._record(row)

    def thread(self, thread_id: str) -> list[Record]:
        rows = self._db.execute(_SELECT_MESSAGE + " WHERE thread_id = ? "
                                "ORDER BY ts IS NULL, ts, key", (thread_id,)).fetchall()
        return [self._record(row) for row in rows]

    def latest_partnership_date(self, lists: Sequence[str] | None = None) -> datetime | None:
        sql = ("SELECT m.date FROM messages m JOIN verdicts v ON v.msg = m.id "
               "WHERE v.partnership = 1 AND m.ts IS NOT NULL")
        params: list[Any] = []
        if lists:
            sql += (" AND EXISTS (SELECT 1 FROM memberships s WHERE s.msg = m.id AND s.list IN "
                    f"({', '.join('?' * len(lists))}))")
            params += list(lists)
        row = self._db.execute(sql + " ORDER BY m.ts DESC LIMIT 1", params).fetchone()
        return None if row is None else datetime.fromisoformat(row[0])

    def stats(self) -> dict:
        one = lambda sql: self._db.execute(sql).fetchone()[0]  # noqa: E731
        lists: dict[str, dict[str, Any]] = {}
        for name, month, count in self._db.execute(
                "SELECT s.list, ifnull(strftime('%Y-%m', m.ts, 'unixepoch'), 'undated'), count(*) "
                "FROM memberships s JOIN messages m ON m.id = s.msg GROUP BY 1, 2 ORDER BY 1, 2"):
            entry = lists.setdefault(name, {"messages": 0, "threads": 0, "months": {},
                                            "defects": 0, "defect_months": {}})
            entry["messages"] += count
            entry["months"][month] = count
        for name, threads in self._db.execute(
                "SELECT s.list, count(DISTINCT m.thread_id) FROM memberships s "
                "JOIN messages m ON m.id = s.msg GROUP BY 1"):
            lists[name]["threads"] = threads
        # a defect of a stored message counts in each list and month of that message; one of
        # a source (a broken gzip, a message too large to store) in none: "defects_unplaced"
        for name, month, count in self._db.execute(
                "SELECT s.list, ifnull(strftime('%Y-%m', m.ts, 'unixepoch'), 'undated'), "
                "count(*) FROM defects d JOIN messages m ON m.key = d.message_id "
                "JOIN memberships s ON s.msg = m.id GROUP BY 1, 2 ORDER BY 1, 2"):
            lists[name]["defects"] += count
            lists[name]["defect_months"][month] = count
        return {
            "messages": one("SELECT count(*) FROM messages"),
            "threads": one("SELECT count(DISTINCT thread_id) FROM messages"),
            "lists": lists,
            "defects": one("SELECT count(*) FROM defects"),
            "defects_unplaced": one("SELECT count(*) FROM defects d WHERE NOT EXISTS "
                                    "(SELECT 1 FROM messages m WHERE m.key = d.message_id)"),
            "links": one("SELECT count(*) FROM links"),
            "partnership": one("SELECT count(*) FROM verdicts WHERE partnership = 1"),
            "conflicts": one("SELECT count(*) FROM conflicts"),
            "schema_version": self.schema_version,
        }

    def keys(self) -> list[str]:
        """Every stored key, sorted: what two stores are compared by."""
        return [key for (key,) in self._db.execute("SELECT key FROM messages ORDER BY key")]

    def defects(self) -> list[Defect]:
        return [Defect(kind=kind, detail=detail, source=source, offset=offset, index=idx,
                       message_id=message_id)
                for source, idx, offset, kind, detail, message_id in self._db.execute(
                    "SELECT source, idx, offset, kind, detail, message_id FROM defects ORDER BY id")]

    # --- cursors ------------------------------------------------------------------------

    def get_cursor(self, source: str) -> str | None:
        row = self._db.execute("SELECT value FROM cursors WHERE source = ?", (source,)).fetchone()
        return None if row is None else row[0]

    def set_cursor(self, source: str, value: str) -> None:
        self._db.execute("INSERT INTO cursors (source, value) VALUES (?, ?) "
                         "ON CONFLICT (source) DO UPDATE SET value = excluded.value", (source, value))

    # --- deliveries ---------------------------------------------------------------------

    def claim_delivery(self, digest_key: str, recipient: str) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO deliveries (digest_key, recipient, state, updated, detail) "
            "VALUES (?, ?, ?, ?, '')", (digest_key, recipient, DeliveryState.CLAIMED.value, _now()))
        return cursor.rowcount == 1

    def finish_delivery(self, digest_key: str, recipient: str, state: DeliveryState,
                        detail: str = "") -> None:
        self._db.execute(
            "INSERT INTO deliveries (digest_key, recipient, state, updated, detail) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (digest_key, recipient) DO UPDATE SET "
            "state = excluded.state, updated = excluded.updated, detail = excluded.detail",
            (digest_key, recipient, DeliveryState(state).value, _now(), detail))

    def release_delivery(self, digest_key: str, recipient: str) -> None:
        self._db.execute("DELETE FROM deliveries WHERE digest_key = ? AND recipient = ? "
                         "AND state = ?", (digest_key, recipient, DeliveryState.CLAIMED.value))

    def deliveries(self, digest_key: str | None = None) -> list[Delivery]:
        sql = "SELECT digest_key, recipient, state, updated, detail FROM deliveries"
        params: tuple[str, ...] = ()
        if digest_key is not None:
            sql += " WHERE digest_key = ?"
            params = (digest_key,)
        return [Delivery(key, recipient, DeliveryState(state), datetime.fromisoformat(updated),
                         detail)
                for key, recipient, state, updated, detail in
                self._db.execute(sql + " ORDER BY digest_key, recipient", params)]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- rows <-> objects ---------------------------------------------------------------------

def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (trigger bodies contain semicolons)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip() and not all(l.strip().startswith("--") or not l.strip()
                                  for l in buffer.splitlines()):
        raise StoreError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]!r}")


# stateless, so one serves every call (json.dumps with options builds one per call)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(value: Any) -> str:
    return _JSON.encode(value)


def _ts(value: datetime | None) -> float | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.timestamp()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _message_id_hash(message_id: str) -> str:
    from ..parse import message_id_hash

    return message_id_hash(message_id)


def _message_row(m: Message) -> tuple[Any, ...]:
    return (
        m.key, m.message_id, m.msgid_hash, m.subject, m.subject_norm, m.from_name, m.from_addr,
        m.date.isoformat() if m.date is not None else None, _ts(m.date), m.in_reply_to,
        _dumps(list(m.references)), m.text, m.new_text, m.quoted_text, m.signature, m.footer,
        m.html, m.archive_url, m.content_hash, int(m.obfuscated),
        _dumps([[a.filename, a.content_type, a.size, a.url] for a in m.attachments]),
        _dumps([[d.kind, d.detail, d.source, d.offset, d.index, d.message_id] for d in m.defects]),
    )


def _message(row: Sequence[Any], lists: tuple[str, ...]) -> Message:
    v = dict(zip(_MESSAGE_COLUMNS, row))
    return Message(
        key=v["key"], message_id=v["message_id"], msgid_hash=v["msgid_hash"],
        subject=v["subject"], subject_norm=v["subject_norm"], from_name=v["from_name"],
        from_addr=v["from_addr"],
        date=datetime.fromisoformat(v["date"]) if v["date"] is not None else None,
        in_reply_to=v["in_reply_to"], references=tuple(json.loads(v["refs"])), lists=lists,
        text=v["text"], new_text=v["new_text"], quoted_text=v["quoted_text"],
        signature=v["signature"], footer=v["footer"], html=v["html"],
        attachments=tuple(Attachment(*a) for a in json.loads(v["attachments"])),
        archive_url=v["archive_url"], content_hash=v["content_hash"],
        obfuscated=bool(v["obfuscated"]),
        defects=tuple(Defect(*d) for d in json.loads(v["defects"])),
    )


def _verdict_row(msg: int, verdict: Verdict) -> tuple[Any, ...]:
    return (msg, *_verdict_values(verdict))


def _verdict_values(verdict: Verdict) -> tuple[Any, ...]:
    return (int(verdict.partnership), verdict.score,
            _dumps([[r.rule, r.weight, r.evidence, r.where] for r in verdict.reasons]),
            _dumps(list(verdict.partners)), verdict.rules)


def _fts_of_row(row: tuple[Any, ...]) -> tuple[str, str, str, str]:
    return row[_SUBJECT], row[_FROM_NAME], row[_NEW_TEXT], row[_QUOTED_TEXT]


def prepare(item: Ingested) -> Prepared:
    """An ingested message as the rows this store writes. Pure, so ingest workers call it:
    rows of plain values cross a process boundary far cheaper than dataclasses, and the
    writing process is left only the writing."""
    message = item.message
    return Prepared(
        key=message.key, row=_message_row(message), lists=message.lists,
        links=tuple(_link_row(0, i, link)[1:] for i, link in enumerate(item.links)),
        truncated=sum(1 for link in item.links if link.truncated),
        verdict=None if item.verdict is None else _verdict_values(item.verdict),
        references=message.references, is_reply=message.is_reply, defects=message.defects)


def _ingested(item: Prepared) -> Ingested:
    """The objects back from prepared rows, for the paths that compare with a stored copy."""
    return Ingested(_message(item.row, item.lists), _links_of(item), _verdict(item.verdict))


def _links_of(item: Prepared) -> tuple[Link, ...]:
    return tuple(_link((0, *values)) for values in item.links)


def _link_row(msg: int, idx: int, link: Link) -> tuple[Any, ...]:
    return (msg, idx, link.position, link.url, link.raw, link.display, link.label, link.ref,
            str(link.kind), int(link.boilerplate), int(link.quoted), int(link.truncated),
            link.project, link.title)


def _link(row: Sequence[Any]) -> Link:
    v = dict(zip(_LINK_COLUMNS, row))
    try:
        kind = LinkKind(v["kind"])
    except ValueError:
        kind = LinkKind.OTHER
    return Link(url=v["url"], raw=v["raw"], display=v["display"], label=v["label"], ref=v["ref"],
                position=v["position"], kind=kind, boilerplate=bool(v["boilerplate"]),
                quoted=bool(v["quoted"]), truncated=bool(v["truncated"]), project=v["project"],
                title=v["title"])


def _verdict(row: Sequence[Any] | None) -> Verdict | None:
    if row is None:
        return None
    partnership, score, reasons, partners, rules = row
    return Verdict(partnership=bool(partnership), score=score,
                   reasons=tuple(Reason(*r) for r in json.loads(reasons)),
                   partners=tuple(json.loads(partners)), rules=rules)


__all__ = ["Prepared", "SQLiteStore", "migrations", "prepare"]
