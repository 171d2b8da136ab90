-- Mailfort embedded store, schema version 5: mailbox labels and honeytokens (store.labels).
-- Applied inside one transaction by store.sqlite.store; PRAGMA user_version records it.

-- Labels an admin put on a mailbox ("sensitive"). Keyed by mailbox id: a label follows a
-- RENAME and goes with a DELETE.
CREATE TABLE mailbox_labels (
    mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    label      TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (mailbox_id, label)
) WITHOUT ROWID;

-- Honeytokens: decoy accounts ('user'), decoy app passwords ('app_password', name = its name)
-- and canary messages ('canary', name = mailbox, uid = the message's UID).
CREATE TABLE honeytokens (
    kind       TEXT NOT NULL CHECK (kind IN ('user', 'app_password', 'canary')),
    user_name  TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    uid        INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    PRIMARY KEY (kind, user_name, name, uid)
) WITHOUT ROWID;
