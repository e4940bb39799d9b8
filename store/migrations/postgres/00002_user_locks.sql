-- +goose Up
-- A lease per user that serialises calendar syncs across processes (the
-- CLI, several instances on one database). Taking it is one
-- INSERT … ON CONFLICT DO UPDATE … WHERE, which PostgreSQL runs atomically
-- on the row.
CREATE TABLE user_locks (
    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    owner   TEXT COLLATE "C" NOT NULL,
    until   TEXT COLLATE "C" NOT NULL
);

-- +goose Down
DROP TABLE user_locks;
