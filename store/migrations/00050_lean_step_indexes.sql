-- +goose Up
-- Fewer indexes on steps, so that a create's inserts and a block's moves
-- write fewer pages (issue 13, creates per second).
--
-- The planning window (steps_user_start) is read once per plan version
-- now that each user's calendar is kept in memory: steps_user_status
-- (user_id, status, start_at) serves it.
DROP INDEX steps_user_start;
-- The tick's two queries (DueSteps) each read pending steps of two kinds
-- that are due: moments (let-go, close) and meetings with their confirms.
-- A partial index for each holds only those steps, so that inserting or
-- moving a block of another kind leaves them as they are. The query names
-- the same kinds literally, which is what lets both databases use them.
DROP INDEX steps_due;
CREATE INDEX steps_due_moments ON steps (start_at)
    WHERE status IN ('planned', 'synced') AND kind IN ('let_go', 'close') AND commitment_id IS NOT NULL;
CREATE INDEX steps_due_meetings ON steps (start_at)
    WHERE status IN ('planned', 'synced') AND kind IN ('meeting', 'confirm') AND commitment_id IS NOT NULL;

-- +goose Down
DROP INDEX steps_due_meetings;
DROP INDEX steps_due_moments;
CREATE INDEX steps_due ON steps (status, kind, start_at);
CREATE INDEX steps_user_start ON steps (user_id, start_at)
    WHERE unplaced = 0 AND status IN ('planned', 'synced');
