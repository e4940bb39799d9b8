-- +goose Up
-- When each API token was last used, to the minute, so that operators can
-- tell live tokens from forgotten ones before revoking them.
ALTER TABLE api_tokens ADD COLUMN last_used_at TEXT COLLATE "C";

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN last_used_at;
