-- +goose Up
-- A lease per user that serialises calendar syncs across processes (the
-- CLI, several instances on one database).
CREATE TABLE user_locks (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    owner   TEXT NOT NULL,
    until   TEXT NOT NULL
);

-- +goose Down
DROP TABLE user_locks;
