-- Mailfort embedded store, schema version 6: guard counters that survive a restart
-- (store.security.GuardState: counters, save_counters, add_pardon, pardons_after).
-- Applied inside one transaction by store.sqlite.store; PRAGMA user_version records it.

-- Per account: recent counted failures, stale-password fingerprints (keyed HMACs, the key is
-- not in the database), lockouts. One JSON document per account, replaced as a whole by the
-- guard's batched writes.
CREATE TABLE IF NOT EXISTS guard_account_counters (
    user       TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- Per source (an address, or its /24 or /64): recent failures, accounts tried, ban history.
CREATE TABLE IF NOT EXISTS guard_source_counters (
    source     TEXT PRIMARY KEY,
    data       TEXT NOT NULL,
    updated_at REAL NOT NULL
) WITHOUT ROWID;

-- Bans and lockouts lifted by an administrator, for a running server to drop from memory.
CREATE TABLE IF NOT EXISTS guard_pardons (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    at      REAL NOT NULL
);
