-- +goose Up
-- plan_version rises with every write that changes what planning reads for
-- the user (blocks, settings, busy time): a create plans outside the
-- database's single writer and commits only if it is unchanged.
ALTER TABLE users ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 0;
-- replan_wanted is set when a create could not keep every rule in its
-- window: the next replan_user job re-plans the user's blocks and clears it
-- (a job that finds it clear has nothing to do).
ALTER TABLE users ADD COLUMN replan_wanted INTEGER NOT NULL DEFAULT 0;
-- unplaced marks a block that found no free slot within the planning
-- horizon and sits at its earliest moment (late) until a re-plan finds
-- room: it takes no time from other blocks.
ALTER TABLE steps ADD COLUMN unplaced INTEGER NOT NULL DEFAULT 0;
-- Placing a new commitment's steps reads only the user's placed pending
-- blocks in the window between their earliest start and their deadlines.
CREATE INDEX steps_user_start ON steps (user_id, start_at)
    WHERE unplaced = 0 AND status IN ('planned', 'synced');

-- +goose Down
DROP INDEX steps_user_start;
ALTER TABLE steps DROP COLUMN unplaced;
ALTER TABLE users DROP COLUMN replan_wanted;
ALTER TABLE users DROP COLUMN plan_version;
