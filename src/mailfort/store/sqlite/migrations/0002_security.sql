-- Mailfort embedded store, schema version 2: account-security state (store.security).
-- Applied inside one transaction by store.sqlite.store; PRAGMA user_version records it.
-- Times are seconds since the epoch (REAL). Secrets are stored hashed, except the TOTP seed,
-- which the server needs to compute codes (the database file is mode 0600).

-- One TOTP secret per user; gone with the user.
CREATE TABLE mfa_secrets (
    user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    totp_secret    TEXT NOT NULL,
    is_confirmed   INTEGER NOT NULL DEFAULT 0,
    created_at     REAL NOT NULL,
    last_used_step INTEGER NOT NULL DEFAULT -1   -- a code is never accepted twice
);

-- Single-use recovery codes, hex SHA-256 each.
CREATE TABLE recovery_codes (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
) WITHOUT ROWID;

CREATE TABLE app_passwords (
    id             TEXT PRIMARY KEY,            -- random, public
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,               -- the device
    secret_hash    TEXT NOT NULL,               -- hex SHA-256; the secret is shown once
    scope          TEXT NOT NULL,
    created_at     REAL NOT NULL,
    expires_at     REAL,
    last_used_at   REAL,
    last_used_peer TEXT,
    revoked_at     REAL
);
CREATE INDEX app_passwords_by_user ON app_passwords (user_id, created_at);

-- Bearer tokens Mailfort issued (the "jti"), so they can be revoked before they expire.
CREATE TABLE issued_tokens (
    id         TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    issued_at  REAL NOT NULL,
    expires_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX issued_tokens_by_user ON issued_tokens (user_id);
CREATE INDEX issued_tokens_by_expiry ON issued_tokens (expires_at);

-- Guard state that survives a restart. Keyed by source / login name, not by user id: the
-- guard also tracks names that do not exist.
CREATE TABLE guard_bans (
    source    TEXT PRIMARY KEY,                 -- "192.0.2.7" or "192.0.2.0/24"
    kind      TEXT NOT NULL,                    -- "address" or "network"
    reason    TEXT NOT NULL,
    since     REAL NOT NULL,
    until     REAL,                             -- NULL: until lifted by hand
    repeats   INTEGER NOT NULL,
    is_manual INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE guard_known_sources (
    user       TEXT NOT NULL,                   -- login name, case-folded
    network    TEXT NOT NULL,                   -- CIDR
    first_seen REAL NOT NULL,
    last_seen  REAL NOT NULL,
    PRIMARY KEY (user, network)
) WITHOUT ROWID;

CREATE TABLE password_states (
    user_id     INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    changed_at  REAL,                           -- NULL: unknown (e.g. imported)
    must_change INTEGER NOT NULL DEFAULT 0
);
