-- +goose Up
-- The https origins, beyond the address the user entered, that discovery
-- was told about over https and that get the CalDAV credentials (iCloud's
-- calendar home on another host). NULL for a connection made before they
-- were recorded: the service then trusts the https hosts of its stored home
-- set and calendars, as discovery found them, until the user reconnects.
--
-- busy_ics keeps its JSON array, now of sealed addresses. Sealing needs the
-- key, which SQL does not have: the service seals the plain addresses left
-- by older versions when it starts (service.SealStoredSecrets), and reads
-- either form until then.
ALTER TABLE caldav_accounts ADD COLUMN origins TEXT;

-- +goose Down
ALTER TABLE caldav_accounts DROP COLUMN origins;
