-- The archive: one row per message identity, what the pipeline derived from it, and the
-- bookkeeping that makes ingest resumable and delivery exactly-once.

CREATE TABLE messages (
    id            INTEGER PRIMARY KEY,          -- stable rowid for the FTS index
    key           TEXT NOT NULL UNIQUE,         -- normalised Message-ID (or synthetic), "#hash" on conflict
    message_id    TEXT NOT NULL,
    msgid_hash    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    subject_norm  TEXT NOT NULL,
    from_name     TEXT NOT NULL,
    from_addr     TEXT NOT NULL,
    date          TEXT,                         -- ISO 8601, UTC, as parsed
    ts            REAL,                         -- the same instant as epoch seconds, for ranges
    in_reply_to   TEXT,
    refs          TEXT NOT NULL,                -- JSON list, oldest first
    text          TEXT NOT NULL,
    new_text      TEXT NOT NULL,
    quoted_text   TEXT NOT NULL,
    signature     TEXT NOT NULL,
    footer        TEXT NOT NULL,
    html          TEXT,
    archive_url   TEXT,
    content_hash  TEXT NOT NULL,
    obfuscated    INTEGER NOT NULL,
    thread_id     TEXT NOT NULL,
    attachments   TEXT NOT NULL,                -- JSON list of objects
    defects       TEXT NOT NULL,                -- JSON list of objects
    truncated_links INTEGER NOT NULL DEFAULT 0  -- links the archive cut off, awaiting repair
);
-- Child tables hang off the integer id, so that ingest appends to them instead of inserting
-- at random places in big indexes (which slows a 100,000-message archive down severalfold).
CREATE INDEX messages_msgid_hash ON messages(msgid_hash);
CREATE INDEX messages_ts ON messages(ts, key);
CREATE INDEX messages_thread ON messages(thread_id, ts);
CREATE INDEX messages_subject_norm ON messages(subject_norm, ts);
CREATE INDEX messages_truncated ON messages(thread_id) WHERE truncated_links > 0;

-- A cross-post is one message with several memberships; seq keeps the order they were seen.
CREATE TABLE memberships (
    msg   INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    list  TEXT NOT NULL,
    seq   INTEGER NOT NULL,
    PRIMARY KEY (msg, list)
) WITHOUT ROWID;
CREATE INDEX memberships_list ON memberships(list, msg);

CREATE TABLE archive_urls (
    url  TEXT PRIMARY KEY,
    msg  INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE
);
CREATE INDEX archive_urls_msg ON archive_urls(msg);

CREATE TABLE links (
    msg          INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    idx          INTEGER NOT NULL,              -- order within the message
    position     INTEGER NOT NULL,
    url          TEXT NOT NULL,
    raw          TEXT NOT NULL,
    display      TEXT NOT NULL,
    label        TEXT NOT NULL,
    ref          INTEGER,
    kind         TEXT NOT NULL,
    boilerplate  INTEGER NOT NULL,
    quoted       INTEGER NOT NULL,
    truncated    INTEGER NOT NULL,
    project      TEXT,
    title        TEXT,
    PRIMARY KEY (msg, idx)
) WITHOUT ROWID;
CREATE INDEX links_truncated ON links(msg) WHERE truncated = 1;

CREATE TABLE verdicts (
    msg          INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    partnership  INTEGER NOT NULL,
    score        REAL NOT NULL,
    reasons      TEXT NOT NULL,                 -- JSON list of [rule, weight, evidence, where]
    partners     TEXT NOT NULL                  -- JSON list
);
CREATE INDEX verdicts_partnership ON verdicts(partnership, msg);

CREATE TABLE defects (
    id          INTEGER PRIMARY KEY,
    source      TEXT NOT NULL,
    idx         INTEGER,
    offset      INTEGER,
    kind        TEXT NOT NULL,
    detail      TEXT NOT NULL,
    message_id  TEXT
);
CREATE UNIQUE INDEX defects_unique ON defects(source, ifnull(idx, -1), kind, detail);

CREATE TABLE cursors (
    source  TEXT PRIMARY KEY,
    value   TEXT NOT NULL
);

CREATE TABLE deliveries (
    digest_key  TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    state       TEXT NOT NULL,
    updated     TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (digest_key, recipient)
);

-- Two different messages that share a Message-ID: the second is stored under conflict_key.
CREATE TABLE conflicts (
    key           TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    conflict_key  TEXT NOT NULL,
    PRIMARY KEY (key, content_hash)
);

-- Full text: subject, sender, new and quoted text as separate columns so bm25 can weigh
-- quoted text down. External content over `messages`, written by the store in the same
-- transaction as the row (not by triggers: an FTS5 insert inside a trigger flushes the index
-- at every statement, which makes ingest three times slower).
CREATE VIRTUAL TABLE messages_fts USING fts5(
    subject, from_name, new_text, quoted_text,
    content='messages', content_rowid='id',
    tokenize='unicode61 remove_diacritics 2'
);
