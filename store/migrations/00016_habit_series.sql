-- +goose Up
-- One row per habit a user switched on: the recurring event that calendars
-- show (UID, SEQUENCE, the object last written to CalDAV), and its
-- overridden occurrences as a JSON array of {recurrence_id, start, end,
-- pinned}. A switched-off habit keeps its row (active 0) until its
-- calendar object is deleted.
CREATE TABLE habit_series (
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL,
    uid             TEXT    NOT NULL UNIQUE,
    active          INTEGER NOT NULL,
    spec            TEXT    NOT NULL,
    start_at        TEXT    NOT NULL,
    end_at          TEXT    NOT NULL,
    zone            TEXT    NOT NULL,
    rrule           TEXT    NOT NULL,
    sequence        INTEGER NOT NULL DEFAULT 0,
    remote_etag     TEXT    NOT NULL DEFAULT '',
    remote_sequence INTEGER NOT NULL DEFAULT -1,
    remote_hash     TEXT    NOT NULL DEFAULT '',
    overrides       TEXT    NOT NULL DEFAULT '[]',
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- +goose Down
DROP TABLE habit_series;
