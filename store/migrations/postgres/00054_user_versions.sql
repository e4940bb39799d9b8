-- +goose Up
-- A user's versions in a narrow table of their own (issue 13, creates per
-- second). Every create raises the plan and feed versions; in users that
-- wrote a new version of the whole row, settings and password hash
-- included (about 1.4 KB), into the table and the WAL. A row here is a few
-- dozen bytes. A user's row is made with the user and goes with them.
CREATE TABLE user_versions (
    user_id         BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    plan_version    BIGINT  NOT NULL DEFAULT 0,
    replan_wanted   INTEGER NOT NULL DEFAULT 0,
    feed_version    BIGINT  NOT NULL DEFAULT 1,
    feed_purged     BIGINT  NOT NULL DEFAULT 0,
    feed_updated_at TEXT    COLLATE "C" NOT NULL
);
INSERT INTO user_versions (user_id, plan_version, replan_wanted, feed_version, feed_purged, feed_updated_at)
    SELECT id, plan_version, replan_wanted, feed_version, feed_purged, feed_updated_at FROM users;
ALTER TABLE users DROP COLUMN plan_version;
ALTER TABLE users DROP COLUMN replan_wanted;
ALTER TABLE users DROP COLUMN feed_version;
ALTER TABLE users DROP COLUMN feed_purged;
ALTER TABLE users DROP COLUMN feed_updated_at;

-- +goose Down
ALTER TABLE users ADD COLUMN feed_version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN feed_updated_at TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN plan_version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN replan_wanted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN feed_purged BIGINT NOT NULL DEFAULT 0;
UPDATE users SET feed_version = v.feed_version, feed_updated_at = v.feed_updated_at, plan_version = v.plan_version,
    replan_wanted = v.replan_wanted, feed_purged = v.feed_purged
    FROM user_versions v WHERE v.user_id = users.id;
DROP TABLE user_versions;
