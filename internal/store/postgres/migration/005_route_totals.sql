-- 005_route_totals: route counts without reading every delivery (the
-- SQLite driver's 007, for a ledger that several nodes write at once).
--
-- RouteStats (each node's /metrics scrape, the leader's alert rounds, the
-- dashboard's map) counted every delivery row: the whole retention, on
-- every call. Delivered and skipped deliveries are final and large; they
-- are now counted as they change. One counter row per route would make
-- every completion of a route wait for the previous one's commit (its
-- row lock), so a trigger appends a delta row instead (insert-only, no
-- contention), and RouteStats folds the deltas into route_totals before
-- it reads them (DELETE … RETURNING: concurrent folds take disjoint rows).
-- Being a trigger, it counts every path: completion, replay, pruning,
-- cascades, `seam store copy`.
CREATE TABLE route_totals (
    flow    TEXT   NOT NULL,
    route   TEXT   NOT NULL,
    state   TEXT   NOT NULL,            -- delivered or skipped
    n       BIGINT NOT NULL,            -- deliveries in that state in the ledger
    last_at BIGINT NOT NULL DEFAULT 0,  -- the latest delivered_at counted (delivered)
    PRIMARY KEY (flow, route, state)
);

CREATE TABLE route_total_deltas (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    flow    TEXT   NOT NULL,
    route   TEXT   NOT NULL,
    state   TEXT   NOT NULL,
    n       BIGINT NOT NULL,            -- +1 or -1
    last_at BIGINT NOT NULL DEFAULT 0
);

INSERT INTO route_totals (flow, route, state, n, last_at)
    SELECT flow, route, state, count(*), max(delivered_at) FROM deliveries
    WHERE state IN ('delivered', 'skipped')
    GROUP BY flow, route, state;

CREATE FUNCTION route_total_delta() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.state IN ('delivered', 'skipped') THEN
        INSERT INTO route_total_deltas (flow, route, state, n) VALUES (OLD.flow, OLD.route, OLD.state, -1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.state IN ('delivered', 'skipped') THEN
        INSERT INTO route_total_deltas (flow, route, state, n, last_at)
            VALUES (NEW.flow, NEW.route, NEW.state, 1, NEW.delivered_at);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER route_totals_insert AFTER INSERT ON deliveries
    FOR EACH ROW WHEN (NEW.state IN ('delivered', 'skipped'))
    EXECUTE FUNCTION route_total_delta();
CREATE TRIGGER route_totals_update AFTER UPDATE OF state ON deliveries
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state
        AND (OLD.state IN ('delivered', 'skipped') OR NEW.state IN ('delivered', 'skipped')))
    EXECUTE FUNCTION route_total_delta();
CREATE TRIGGER route_totals_delete AFTER DELETE ON deliveries
    FOR EACH ROW WHEN (OLD.state IN ('delivered', 'skipped'))
    EXECUTE FUNCTION route_total_delta();
