-- Mailfort embedded store, schema version 1.
-- Applied inside one transaction by store.sqlite.store; PRAGMA user_version records it.

-- Global counters (e.g. the last UIDVALIDITY handed out, so a recreated mailbox gets a larger one).
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused
    name          TEXT NOT NULL,            -- as created
    name_key      TEXT NOT NULL UNIQUE,     -- casefold(name): case-insensitive look-ups
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,            -- ISO 8601, UTC
    is_disabled   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE mailboxes (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: sessions hold ids
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,          -- full "/"-delimited name, "INBOX" canonical
    uidvalidity     INTEGER NOT NULL,
    uidnext         INTEGER NOT NULL DEFAULT 1,
    highest_modseq  INTEGER NOT NULL DEFAULT 1,
    recent_mark     INTEGER NOT NULL DEFAULT 1,  -- first UID still \Recent
    changelog_floor INTEGER NOT NULL DEFAULT 0,  -- changes with modseq <= this were pruned
    special_use     TEXT,
    UNIQUE (user_id, name)
);

CREATE TABLE subscriptions (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;

-- What delivery parsed once, keyed by the blob (a function of the raw bytes), so COPY shares
-- it like it shares the blob. Rows no message references are removed by the garbage sweep.
CREATE TABLE contents (
    blob_id       TEXT NOT NULL UNIQUE,     -- hex SHA-256 of the raw message
    envelope      BLOB NOT NULL,
    body          BLOB NOT NULL,
    bodystructure BLOB NOT NULL,
    mime          TEXT NOT NULL,
    sent_date     TEXT,                     -- ISO date or NULL
    header_index  TEXT NOT NULL,            -- JSON [[name, value], ...]
    body_text     TEXT NOT NULL
);

-- One narrow row per message, clustered by (mailbox_id, uid): SELECT snapshots and flag
-- updates are range scans that never touch the large parsed columns.
CREATE TABLE messages (
    mailbox_id    INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid           INTEGER NOT NULL,
    modseq        INTEGER NOT NULL,
    sysflags      INTEGER NOT NULL DEFAULT 0,   -- bitmask of the system flags
    keywords      TEXT NOT NULL DEFAULT '',     -- space-separated keywords
    internal_date TEXT NOT NULL,                -- ISO 8601 with its offset
    size          INTEGER NOT NULL,
    blob_id       TEXT NOT NULL REFERENCES contents(blob_id),
    PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;

CREATE INDEX messages_blob ON messages (blob_id);

CREATE TABLE changelog (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    modseq     INTEGER NOT NULL,
    kind       TEXT NOT NULL,                   -- 'added' | 'flags' | 'expunged'
    uid        INTEGER NOT NULL,
    sysflags   INTEGER NOT NULL DEFAULT 0,
    keywords   TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (mailbox_id, modseq)
) WITHOUT ROWID;

CREATE INDEX changelog_uid ON changelog (mailbox_id, uid);
