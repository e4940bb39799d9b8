-- +goose Up
-- A commitment's feed version matters to the feed only while a habit
-- series of its user is on: the habits' texts name commitments, and a
-- render re-renders them when one named changed (issue 13, creates per
-- second). A commitment stored while none is on carries 0, and the index
-- holds only the others: most creates leave it as it is. Updates still
-- stamp every commitment with their version.
DROP INDEX commitments_feed_rev;
CREATE INDEX commitments_feed_rev ON commitments (user_id, feed_rev) WHERE feed_rev > 0;

-- +goose Down
DROP INDEX commitments_feed_rev;
CREATE INDEX commitments_feed_rev ON commitments (user_id, feed_rev);
