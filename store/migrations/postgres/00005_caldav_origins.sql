-- +goose Up
-- The https origins, beyond the address the user entered, that discovery
-- was told about over https and that get the CalDAV credentials. NULL for
-- a connection made before they were recorded (see ../00005_caldav_origins.sql).
ALTER TABLE caldav_accounts ADD COLUMN origins TEXT COLLATE "C";

-- +goose Down
ALTER TABLE caldav_accounts DROP COLUMN origins;
