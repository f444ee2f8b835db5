-- 003_incidents: alert incidents and reconciliation mismatches
-- (store.Incidents).
--
-- incidents   one breach of one rule of one flow, open until its condition
--             clears. The partial unique index allows one open incident per
--             (flow, rule), which is what keeps several nodes evaluating
--             the same rules from opening it twice.
--             notified/notifications/last_notified_at record the notices
--             that reached every channel; notice_kind/notice_sent describe
--             the notice in progress (the channels it reached, a JSON array)
--             and notice_owner/notice_until the node that claimed it, so
--             that exactly one node sends each notice. Times are unix
--             nanoseconds, 0 for "never", as in 001.

CREATE TABLE incidents (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    flow             TEXT    NOT NULL,
    rule             TEXT    NOT NULL,
    kind             TEXT    NOT NULL,
    severity         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    summary          TEXT    NOT NULL,
    details          BLOB,
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    resolved_at      INTEGER NOT NULL DEFAULT 0,
    resolution       TEXT    NOT NULL DEFAULT '',
    notified         TEXT    NOT NULL DEFAULT '',
    notifications    INTEGER NOT NULL DEFAULT 0,
    last_notified_at INTEGER NOT NULL DEFAULT 0,
    notice_kind      TEXT    NOT NULL DEFAULT '',
    notice_sent      TEXT    NOT NULL DEFAULT '[]',
    notice_owner     TEXT    NOT NULL DEFAULT '',
    notice_until     INTEGER NOT NULL DEFAULT 0,
    notice_error     TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX incidents_open ON incidents (flow, rule) WHERE state = 'open';
CREATE INDEX incidents_flow     ON incidents (flow, id);
CREATE INDEX incidents_resolved ON incidents (resolved_at) WHERE state = 'resolved';
