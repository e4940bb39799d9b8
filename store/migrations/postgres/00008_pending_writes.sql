-- +goose Up
-- The writes of a step's calendar object whose answer was lost (JSON: their
-- SEQUENCE and times), to tell our own write from a move by the user.
ALTER TABLE steps ADD COLUMN pending_writes TEXT COLLATE "C" NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE steps DROP COLUMN pending_writes;
