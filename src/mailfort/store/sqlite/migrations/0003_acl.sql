-- Mailfort embedded store, schema version 3: least privilege (store.acl).
-- Applied inside one transaction by store.sqlite.store; PRAGMA user_version records it.
-- The migration runner splits statements on ";" at line ends, so each trigger body keeps its
-- inner ";" on the line of its END.

CREATE TABLE groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: a re-created group is new
    name       TEXT NOT NULL,                      -- as created
    name_key   TEXT NOT NULL UNIQUE,               -- casefold(name)
    created_at REAL NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

-- Absent row: role "user".
CREATE TABLE user_roles (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'user'))
);

-- RFC 4314 entries, by mailbox id (RENAME keeps them; DELETE and re-CREATE starts clean).
-- Grantees by id, so a deleted-then-recreated user or group inherits nothing.
CREATE TABLE acl_entries (
    mailbox_id   INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('user', 'group', 'anyone')),
    grantee_key  INTEGER NOT NULL,                 -- users.id, groups.id, or 0 for anyone
    user_id      INTEGER REFERENCES users(id) ON DELETE CASCADE,
    group_id     INTEGER REFERENCES groups(id) ON DELETE CASCADE,
    rights       TEXT NOT NULL CHECK (rights != ''),
    PRIMARY KEY (mailbox_id, grantee_kind, grantee_key)
) WITHOUT ROWID;
CREATE INDEX acl_entries_by_grantee ON acl_entries (grantee_kind, grantee_key);

-- Top-level shared mailboxes (their mailboxes live in the '#shared' holder account).
CREATE TABLE shared_mailboxes (
    name          TEXT PRIMARY KEY,                -- the holder account's top-level mailbox
    group_id      INTEGER NOT NULL REFERENCES groups(id) ON DELETE RESTRICT,
    storage_limit INTEGER,                         -- bytes; NULL: unlimited
    message_limit INTEGER
) WITHOUT ROWID;

CREATE TABLE user_quotas (
    user_id       INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    storage_limit INTEGER,
    message_limit INTEGER
);

-- Exact per-mailbox usage, kept by the triggers below in the very transaction that inserts or
-- deletes a message (APPEND, COPY, MOVE, EXPUNGE, DELETE's cascade): no read-modify-write in
-- Python. A quota root's usage is the sum over its mailboxes (few rows).
CREATE TABLE mailbox_usage (
    mailbox_id INTEGER PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
    messages   INTEGER NOT NULL DEFAULT 0,
    storage    INTEGER NOT NULL DEFAULT 0
);

INSERT INTO mailbox_usage (mailbox_id, messages, storage)
    SELECT mailbox_id, count(*), total(size) FROM messages GROUP BY mailbox_id;

CREATE TRIGGER messages_usage_added AFTER INSERT ON messages BEGIN
    INSERT INTO mailbox_usage (mailbox_id, messages, storage) VALUES (NEW.mailbox_id, 1, NEW.size) ON CONFLICT (mailbox_id) DO UPDATE SET messages = messages + 1, storage = storage + excluded.storage; END;

CREATE TRIGGER messages_usage_removed AFTER DELETE ON messages BEGIN
    UPDATE mailbox_usage SET messages = messages - 1, storage = storage - OLD.size WHERE mailbox_id = OLD.mailbox_id; END;
