-- +goose Up
-- The transitions applied to commitments (actions and time-based rules),
-- each written in the transaction that applied it: a commitment's history,
-- and the guard that makes a second application fail instead of being
-- recorded twice. A commitment has at most one transition of a kind, and
-- at most one that changes its status (open to done or let_go).
CREATE TABLE transitions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    commitment_id INTEGER NOT NULL REFERENCES commitments (id) ON DELETE CASCADE,
    step_id       INTEGER,
    kind          TEXT    NOT NULL,
    from_status   TEXT    NOT NULL,
    to_status     TEXT    NOT NULL,
    at            TEXT    NOT NULL
);
CREATE UNIQUE INDEX transitions_once ON transitions (commitment_id, kind);
CREATE UNIQUE INDEX transitions_status_once ON transitions (commitment_id) WHERE from_status <> to_status;

-- +goose Down
DROP TABLE transitions;
