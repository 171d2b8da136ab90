-- Mailfort embedded store, schema version 4: the SEARCH index (docs/decisions/003-blob-storage.md
-- for inline blobs). Applied inside one transaction by store.sqlite.store; the same
-- transaction then indexes every existing message (queries.backfill_search_index), so an
-- upgraded store answers SEARCH exactly from the first command on.

-- One document per parsed content (so per blob: COPY shares it). INTEGER PRIMARY KEY keeps the
-- document number stable across VACUUM, which the FTS rowid relies on.
CREATE TABLE search_docs (
    doc     INTEGER PRIMARY KEY,
    blob_id TEXT NOT NULL UNIQUE
);

-- str.casefold() of the header text ("name: value" lines joined by CRLF, as SEARCH TEXT sees
-- it) and of the decoded body text. Trigrams over folded text make a MATCH on a folded needle
-- of 3+ characters the same test as RFC 9051's case-insensitive substring match; the service
-- still confirms every candidate with mail.search.matches.
CREATE VIRTUAL TABLE search_text USING fts5(
    headers, body, tokenize = 'trigram case_sensitive 1'
);

-- Small messages kept inside the database: the WAL fsync of the delivering transaction makes
-- them durable, with no blob file, file fsync or directory fsync (BlobStore keeps large ones).
CREATE TABLE inline_blobs (
    blob_id TEXT NOT NULL UNIQUE,
    data    BLOB NOT NULL
)
