-- +goose Up
-- Ids are never reused. On SQLite this migration rebuilds the tables with
-- AUTOINCREMENT; here the identity columns of migration 1 are sequences,
-- which never go back, so there is nothing to do. The number is kept so
-- that both dialects count the same versions.
SELECT 1;

-- +goose Down
SELECT 1;
