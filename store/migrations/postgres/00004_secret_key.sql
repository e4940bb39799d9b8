-- +goose Up
-- The id of the key that seals the secrets in this database (a keyed hash
-- of it, never the key), so that starting with another key or none stops
-- before anything is changed.
CREATE TABLE secret_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_id     TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
);

-- +goose Down
DROP TABLE secret_key;
