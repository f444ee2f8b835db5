-- 001_ledger: the ledger's tables.
--
-- Every time is an INTEGER of unix nanoseconds: comparisons are integer
-- comparisons, nothing is parsed on the hot path, and a time round-trips
-- exactly. 0 stands for "never" (delivered_at of an undelivered delivery).
--
-- messages     one inbound record, stored once. dedupe_key is NULL when the
--              record does not take part in deduplication (no key, or
--              quarantined: a sender that fixes a refused record and sends it
--              again must be heard). body is the raw body as received;
--              canonical is the canonical JSON (NULL when quarantined).
-- deliveries   one message to one route. id doubles as the ordering sequence
--              (Delivery.Seq): AUTOINCREMENT keeps it monotonic and never
--              reused, even after pruning. lease_owner/lease_until hold the
--              claim of the node sending it; payload is exactly what is sent.
-- attempts     every try of a delivery, numbered from 1, kept as evidence.
-- quarantine   a refused record's reasons (a JSON array of seam.Reason); the
--              body lives once, in messages.
-- xrefs        the same entity's ids in each system; unique on all five
--              columns so a redelivery records nothing twice.
-- effects      "route R delivered idempotency key K"; unique per
--              (flow, route, idempotency_key). No foreign key: evidence
--              outlives the deliveries that produced it.
-- audit        operator actions.
--
-- Indexes serve, in order of how hot they are: the dedupe window check,
-- the ordered-head check (a partial index holding only ordered deliveries
-- that still block their key, so it stays as small as the backlog), the
-- claim query (state, next_at), searches (message by key, flow and time;
-- delivery by flow, route and state; xref by value) and pruning by time.

CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    flow         TEXT    NOT NULL,
    system       TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    content_type TEXT    NOT NULL,
    body         BLOB    NOT NULL,
    canonical    BLOB,
    trace_id     TEXT    NOT NULL,
    replay_of    INTEGER NOT NULL DEFAULT 0,
    dedupe_key   TEXT
);
CREATE INDEX messages_dedupe   ON messages (dedupe_key, received_at) WHERE dedupe_key IS NOT NULL;
CREATE INDEX messages_key      ON messages (key);
CREATE INDEX messages_flow     ON messages (flow, received_at);
CREATE INDEX messages_received ON messages (received_at);

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    flow            TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    key             TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    ordered         INTEGER NOT NULL,
    payload         BLOB    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_at         INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX deliveries_claim   ON deliveries (state, next_at);
CREATE INDEX deliveries_head    ON deliveries (flow, route, key)
    WHERE ordered = 1 AND state NOT IN ('delivered', 'skipped');
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_route   ON deliveries (flow, route, state);

CREATE TABLE attempts (
    id          INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number      INTEGER NOT NULL,
    started_at  INTEGER NOT NULL,
    duration    INTEGER NOT NULL,
    status      INTEGER NOT NULL,
    error       TEXT    NOT NULL,
    response    BLOB
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, number);

CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    flow        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    stage       TEXT    NOT NULL,
    reasons     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX quarantine_flow   ON quarantine (flow, received_at);
CREATE INDEX quarantine_status ON quarantine (status);

CREATE TABLE xrefs (
    id         INTEGER PRIMARY KEY,
    entity     TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    system     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (entity, key, system, name, value)
);
CREATE INDEX xrefs_value   ON xrefs (value);
CREATE INDEX xrefs_created ON xrefs (created_at);

CREATE TABLE effects (
    id              INTEGER PRIMARY KEY,
    flow            TEXT    NOT NULL,
    route           TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL,
    delivery_id     INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    UNIQUE (flow, route, idempotency_key)
);
CREATE INDEX effects_at ON effects (at);

CREATE TABLE audit (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     INTEGER NOT NULL,
    actor  TEXT    NOT NULL,
    action TEXT    NOT NULL,
    target TEXT    NOT NULL,
    reason TEXT    NOT NULL,
    detail BLOB
);
CREATE INDEX audit_at     ON audit (at);
CREATE INDEX audit_target ON audit (target);
