-- +goose Up
-- A calendar or ICS server that answered 429 or 503 with Retry-After is
-- left alone until not_before, per account.
CREATE TABLE host_backoffs (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    host       TEXT COLLATE "C" NOT NULL,
    not_before TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (user_id, host)
);

-- +goose Down
DROP TABLE host_backoffs;
