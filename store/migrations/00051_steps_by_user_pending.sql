-- +goose Up
-- A user's steps by status: one index for the pending ones (planned and
-- synced), one for the done ones by start (issue 13, creates per second).
--
-- steps_user_status (user_id, status, start_at) put a create's new steps,
-- each at its own start, on pages of their own in the user's part of the
-- index, and every block a create moved to another start moved in it too:
-- a third of the pages a create's commit wrote under load. The pending
-- steps are now kept by user alone (then by id): a create's new steps go
-- next to each other at the end of the user's part, and a move leaves the
-- index as it is. A user has a few thousand pending steps at most, which
-- the queries that want them by start sort; the done ones, which keep
-- growing, stay by start for the agenda's ranges. Other statuses
-- (cancelled) are read by user through steps_feed_rev.
DROP INDEX steps_user_status;
CREATE INDEX steps_user_pending ON steps (user_id) WHERE status IN ('planned', 'synced');
CREATE INDEX steps_user_done ON steps (user_id, start_at) WHERE status = 'done';

-- +goose Down
DROP INDEX steps_user_done;
DROP INDEX steps_user_pending;
CREATE INDEX steps_user_status ON steps (user_id, status, start_at);
