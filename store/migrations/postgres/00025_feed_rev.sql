-- +goose Up
-- The feed's revision. users.feed_version rises in the transaction of every
-- write that changes what the user's feed shows, and each step carries the
-- version at which it last changed (feed_rev): a feed rendered at version V
-- re-renders only the steps with feed_rev > V. A step that leaves the table
-- (a tombstone deleted) cannot be read back: feed_purged is the version at
-- which one last did, and a feed rendered before it checks which of its
-- blocks are still there. Commitments carry the version of their last
-- update too: the habits' texts name them.
ALTER TABLE steps ADD COLUMN feed_rev BIGINT NOT NULL DEFAULT 0;
CREATE INDEX steps_feed_rev ON steps (user_id, feed_rev);
ALTER TABLE commitments ADD COLUMN feed_rev BIGINT NOT NULL DEFAULT 0;
CREATE INDEX commitments_feed_rev ON commitments (user_id, feed_rev);
ALTER TABLE users ADD COLUMN feed_purged BIGINT NOT NULL DEFAULT 0;

-- +goose Down
DROP INDEX commitments_feed_rev;
ALTER TABLE commitments DROP COLUMN feed_rev;
DROP INDEX steps_feed_rev;
ALTER TABLE steps DROP COLUMN feed_rev;
ALTER TABLE users DROP COLUMN feed_purged;
