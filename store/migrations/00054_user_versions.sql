-- +goose Up
-- A user's versions in a narrow table of their own (issue 13, creates per
-- second). Every create raises the plan and feed versions; in users that
-- rewrote the whole row, settings and password hash included (about
-- 1.4 KB, two users a page), and most commits wrote a page of users per
-- user in them. A row here is a few dozen bytes, a hundred users a page.
-- A user's row is made with the user and goes with them.
CREATE TABLE user_versions (
    user_id         INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_version    INTEGER NOT NULL DEFAULT 0,
    replan_wanted   INTEGER NOT NULL DEFAULT 0,
    feed_version    INTEGER NOT NULL DEFAULT 1,
    feed_purged     INTEGER NOT NULL DEFAULT 0,
    feed_updated_at TEXT    NOT NULL
);
INSERT INTO user_versions (user_id, plan_version, replan_wanted, feed_version, feed_purged, feed_updated_at)
    SELECT id, plan_version, replan_wanted, feed_version, feed_purged, feed_updated_at FROM users;
ALTER TABLE users DROP COLUMN plan_version;
ALTER TABLE users DROP COLUMN replan_wanted;
ALTER TABLE users DROP COLUMN feed_version;
ALTER TABLE users DROP COLUMN feed_purged;
ALTER TABLE users DROP COLUMN feed_updated_at;

-- +goose Down
ALTER TABLE users ADD COLUMN feed_version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN feed_updated_at TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN plan_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN replan_wanted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN feed_purged INTEGER NOT NULL DEFAULT 0;
UPDATE users SET
    feed_version = (SELECT feed_version FROM user_versions WHERE user_id = users.id),
    feed_updated_at = (SELECT feed_updated_at FROM user_versions WHERE user_id = users.id),
    plan_version = (SELECT plan_version FROM user_versions WHERE user_id = users.id),
    replan_wanted = (SELECT replan_wanted FROM user_versions WHERE user_id = users.id),
    feed_purged = (SELECT feed_purged FROM user_versions WHERE user_id = users.id);
DROP TABLE user_versions;
