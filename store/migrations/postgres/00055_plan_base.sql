-- +goose Up
-- The plan version from which a user's changes are all recorded in the
-- steps' feed versions (issue 13, several instances). A create stamps
-- every step it inserts or moves with the feed version it raised; every
-- other raise of the plan version (an action, a sync, settings, the
-- re-plan) sets plan_base to the version it leaves. An instance whose kept
-- calendar is at a version at or past plan_base reads only the steps
-- changed since (another instance's creates), not the whole calendar.
-- What happened before this migration is not recorded: plan_base starts
-- at the current version.
ALTER TABLE user_versions ADD COLUMN plan_base BIGINT NOT NULL DEFAULT 0;
UPDATE user_versions SET plan_base = plan_version;

-- +goose Down
ALTER TABLE user_versions DROP COLUMN plan_base;
