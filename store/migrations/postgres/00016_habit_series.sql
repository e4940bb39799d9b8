-- +goose Up
-- One row per habit a user switched on: the recurring event that calendars
-- show (UID, SEQUENCE, the object last written to CalDAV), and its
-- overridden occurrences as a JSON array of {recurrence_id, start, end,
-- pinned}. A switched-off habit keeps its row (active 0) until its
-- calendar object is deleted.
CREATE TABLE habit_series (
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT    COLLATE "C" NOT NULL,
    uid             TEXT    COLLATE "C" NOT NULL UNIQUE,
    active          INTEGER NOT NULL,
    spec            TEXT    COLLATE "C" NOT NULL,
    start_at        TEXT    COLLATE "C" NOT NULL,
    end_at          TEXT    COLLATE "C" NOT NULL,
    zone            TEXT    COLLATE "C" NOT NULL,
    rrule           TEXT    COLLATE "C" NOT NULL,
    sequence        INTEGER NOT NULL DEFAULT 0,
    remote_etag     TEXT    COLLATE "C" NOT NULL DEFAULT '',
    remote_sequence INTEGER NOT NULL DEFAULT -1,
    remote_hash     TEXT    COLLATE "C" NOT NULL DEFAULT '',
    overrides       TEXT    COLLATE "C" NOT NULL DEFAULT '[]',
    created_at      TEXT    COLLATE "C" NOT NULL,
    updated_at      TEXT    COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- +goose Down
DROP TABLE habit_series;
