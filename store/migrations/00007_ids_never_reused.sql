-- +goose NO TRANSACTION
-- +goose Up
-- Ids are never reused. SQLite gives a plain INTEGER PRIMARY KEY max(id)+1,
-- so deleting the newest commitment handed its id to the next one: a retried
-- DELETE or action, or the link in a removed block, then reached another
-- commitment, and a retried revoke another token. AUTOINCREMENT (like a PostgreSQL sequence) never goes back.
-- SQLite adds it only by rebuilding a table: create, copy, drop, rename,
-- index again. Foreign keys are off meanwhile, so that dropping a parent
-- neither cascades nor nulls its children (they name the table, which the
-- rebuilt one replaces), and on again after a check. Step UIDs are random
-- (128 bits) and never repeat. The whole rebuild is one statement on one
-- connection, as PRAGMA foreign_keys is per connection and cannot change
-- inside a transaction.
-- +goose StatementBegin
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;

CREATE TABLE users_rebuilt (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash     TEXT    NOT NULL,
    settings          TEXT    NOT NULL,
    feed_token_hash   BLOB    UNIQUE,
    feed_token_sealed TEXT    NOT NULL DEFAULT '',
    feed_version      INTEGER NOT NULL DEFAULT 1,
    feed_updated_at   TEXT    NOT NULL,
    created_at        TEXT    NOT NULL
);
INSERT INTO users_rebuilt (id, email, password_hash, settings, feed_token_hash, feed_token_sealed, feed_version, feed_updated_at, created_at)
    SELECT id, email, password_hash, settings, feed_token_hash, feed_token_sealed, feed_version, feed_updated_at, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_rebuilt RENAME TO users;

CREATE TABLE api_tokens_rebuilt (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   BLOB    NOT NULL UNIQUE,
    name         TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    last_used_at TEXT
);
INSERT INTO api_tokens_rebuilt (id, user_id, token_hash, name, created_at, last_used_at)
    SELECT id, user_id, token_hash, name, created_at, last_used_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_rebuilt RENAME TO api_tokens;

CREATE TABLE commitments_rebuilt (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_name     TEXT    NOT NULL,
    contact_email    TEXT    NOT NULL DEFAULT '',
    contact_phone    TEXT    NOT NULL DEFAULT '',
    contact_company  TEXT    NOT NULL DEFAULT '',
    contact_url      TEXT    NOT NULL DEFAULT '',
    met_at           TEXT    NOT NULL,
    met_where        TEXT    NOT NULL DEFAULT '',
    promise          TEXT    NOT NULL,
    direction        TEXT    NOT NULL,
    due              TEXT    NOT NULL,
    due_text         TEXT    NOT NULL DEFAULT '',
    priority         INTEGER NOT NULL DEFAULT 0,
    meeting_start    TEXT,
    meeting_minutes  INTEGER NOT NULL DEFAULT 0,
    meeting_location TEXT    NOT NULL DEFAULT '',
    notes            TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    contacted_at     TEXT,
    replied_at       TEXT,
    delivered_at     TEXT,
    ended_at         TEXT,
    warnings         TEXT    NOT NULL DEFAULT '[]',
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
INSERT INTO commitments_rebuilt (id, user_id, contact_name, contact_email, contact_phone, contact_company, contact_url,
        met_at, met_where, promise, direction, due, due_text, priority, meeting_start, meeting_minutes, meeting_location,
        notes, status, contacted_at, replied_at, delivered_at, ended_at, warnings, created_at, updated_at)
    SELECT id, user_id, contact_name, contact_email, contact_phone, contact_company, contact_url,
        met_at, met_where, promise, direction, due, due_text, priority, meeting_start, meeting_minutes, meeting_location,
        notes, status, contacted_at, replied_at, delivered_at, ended_at, warnings, created_at, updated_at FROM commitments;
DROP TABLE commitments;
ALTER TABLE commitments_rebuilt RENAME TO commitments;
CREATE INDEX commitments_user_status ON commitments (user_id, status, id);

CREATE TABLE steps_rebuilt (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    commitment_id   INTEGER REFERENCES commitments (id) ON DELETE SET NULL,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    start_at        TEXT    NOT NULL,
    end_at          TEXT    NOT NULL,
    not_before      TEXT    NOT NULL,
    due             TEXT    NOT NULL,
    uid             TEXT    NOT NULL UNIQUE,
    late            INTEGER NOT NULL DEFAULT 0,
    sequence        INTEGER NOT NULL DEFAULT 0,
    pinned          INTEGER NOT NULL DEFAULT 0,
    remote_etag     TEXT    NOT NULL DEFAULT '',
    remote_sequence INTEGER NOT NULL DEFAULT -1,
    completed_at    TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
INSERT INTO steps_rebuilt (id, commitment_id, user_id, kind, status, start_at, end_at, not_before, due, uid, late,
        sequence, pinned, remote_etag, remote_sequence, completed_at, created_at, updated_at)
    SELECT id, commitment_id, user_id, kind, status, start_at, end_at, not_before, due, uid, late,
        sequence, pinned, remote_etag, remote_sequence, completed_at, created_at, updated_at FROM steps;
DROP TABLE steps;
ALTER TABLE steps_rebuilt RENAME TO steps;
CREATE INDEX steps_commitment ON steps (commitment_id);
CREATE INDEX steps_user_status ON steps (user_id, status, start_at);
CREATE INDEX steps_due ON steps (status, kind, start_at);

COMMIT;
PRAGMA foreign_keys = ON;
-- +goose StatementEnd

-- +goose Down
-- Nothing to undo: tables with AUTOINCREMENT serve older versions as they are.
