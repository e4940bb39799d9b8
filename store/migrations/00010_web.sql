-- +goose Up
-- Browser sessions of the web app. Only the SHA-256 of the cookie's token
-- is stored. event_where/event_at remember "event mode" for the log form.
CREATE TABLE sessions (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  BLOB    NOT NULL UNIQUE,
    event_where TEXT    NOT NULL DEFAULT '',
    event_at    TEXT,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Failed sign-ins, counted per account and per address to slow guessing.
CREATE TABLE login_failures (
    id    INTEGER PRIMARY KEY,
    email TEXT NOT NULL COLLATE NOCASE,
    addr  TEXT NOT NULL,
    at    TEXT NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, at);
CREATE INDEX login_failures_addr ON login_failures (addr, at);

-- Idempotency keys of commitment creation (Idempotency-Key header, or the
-- key each rendered form carries): a replay answers the same commitment.
CREATE TABLE idempotency_keys (
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key           TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    commitment_id INTEGER NOT NULL REFERENCES commitments (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (user_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE login_failures;
DROP TABLE sessions;
