-- +goose Up
-- A calendar or ICS server that answered 429 or 503 with Retry-After is
-- left alone until not_before: every job of that user checks it before
-- sending the host a request, so the server's wish holds per account, not
-- per job.
CREATE TABLE host_backoffs (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    host       TEXT NOT NULL,
    not_before TEXT NOT NULL,
    PRIMARY KEY (user_id, host)
);

-- +goose Down
DROP TABLE host_backoffs;
