-- +goose Up
-- One index of a user's steps by status and feed version instead of two
-- (issue 13, creates per second): steps_user_pending (user) held the
-- planned and synced steps, steps_feed_rev (user, feed version) every
-- step, so each new step went into both, on a page of each. The steps of
-- a create share the status (planned) and the feed version, so they go
-- next to each other at the end of the user's planned steps; a block a
-- create moves takes the new version, as it did in steps_feed_rev. The
-- pending steps are the user's 'planned' and 'synced' parts, the steps
-- changed since a version are found in each status's part, and a query by
-- user alone (the foreign key's cascade among them) reads the user's part.
-- A step written to a CalDAV calendar (planned to synced) now moves in the
-- index: once a block, off the create's path.
DROP INDEX steps_user_pending;
DROP INDEX steps_feed_rev;
CREATE INDEX steps_user_status_rev ON steps (user_id, status, feed_rev);

-- +goose Down
DROP INDEX steps_user_status_rev;
CREATE INDEX steps_feed_rev ON steps (user_id, feed_rev);
CREATE INDEX steps_user_pending ON steps (user_id) WHERE status IN ('planned', 'synced');
