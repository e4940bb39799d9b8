-- +goose Up
CREATE TABLE users (
    id                INTEGER PRIMARY KEY,
    email             TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    password_hash     TEXT    NOT NULL,
    settings          TEXT    NOT NULL,
    feed_token_hash   BLOB    UNIQUE,
    feed_token_sealed TEXT    NOT NULL DEFAULT '',
    feed_version      INTEGER NOT NULL DEFAULT 1,
    feed_updated_at   TEXT    NOT NULL,
    created_at        TEXT    NOT NULL
);

CREATE TABLE api_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB    NOT NULL UNIQUE,
    name       TEXT    NOT NULL DEFAULT '',
    created_at TEXT    NOT NULL
);

CREATE TABLE commitments (
    id               INTEGER PRIMARY KEY,
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
CREATE INDEX commitments_user_status ON commitments (user_id, status, id);

-- Steps outlive a deleted commitment as cancelled tombstones (commitment_id
-- NULL) until their calendar object is gone.
CREATE TABLE steps (
    id              INTEGER PRIMARY KEY,
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
CREATE INDEX steps_commitment ON steps (commitment_id);
CREATE INDEX steps_user_status ON steps (user_id, status, start_at);
CREATE INDEX steps_due ON steps (status, kind, start_at);

CREATE TABLE caldav_accounts (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    url             TEXT NOT NULL,
    username        TEXT NOT NULL,
    password_sealed TEXT NOT NULL,
    endpoint        TEXT NOT NULL DEFAULT '',
    home_set        TEXT NOT NULL DEFAULT '',
    calendar_url    TEXT NOT NULL DEFAULT '',
    calendars       TEXT NOT NULL DEFAULT '[]',
    busy_calendars  TEXT NOT NULL DEFAULT '[]',
    busy_ics        TEXT NOT NULL DEFAULT '[]',
    last_sync_at    TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE busy_sources (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url        TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    state      TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, url)
);

-- +goose Down
DROP TABLE busy_sources;
DROP TABLE caldav_accounts;
DROP TABLE steps;
DROP TABLE commitments;
DROP TABLE api_tokens;
DROP TABLE users;
