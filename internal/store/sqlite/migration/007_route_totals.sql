-- 007_route_totals: route counts without reading every delivery.
--
-- RouteStats (each /metrics scrape, each alert round, the dashboard's map)
-- counted delivered and skipped deliveries, and found each route's last
-- delivery, by reading every such row: the whole retention, which after a
-- month is millions of rows read every 15 seconds. Those two states are
-- final and large; the writer now counts them as they change, adding each
-- transaction's changes per route here in one statement (the completion,
-- a skipped route at intake, a replay of a success, pruning; an import
-- recounts them).
--
-- deliveries_state no longer holds delivered deliveries: nothing lists
-- them by state alone, and each delivered record no longer writes that
-- index entry. (Triggers would keep the counts too, but measured 4-12 %
-- more CPU per record: each copies the delivery row for OLD/NEW.)
CREATE TABLE route_totals (
    flow    TEXT    NOT NULL,
    route   TEXT    NOT NULL,
    state   TEXT    NOT NULL,             -- delivered or skipped
    n       INTEGER NOT NULL,             -- deliveries in that state in the ledger now
    last_at INTEGER NOT NULL DEFAULT 0,   -- the latest delivered_at counted (delivered)
    PRIMARY KEY (flow, route, state)
) WITHOUT ROWID;

INSERT INTO route_totals (flow, route, state, n, last_at)
    SELECT flow, route, state, count(*), max(delivered_at) FROM deliveries
    WHERE state IN ('delivered', 'skipped')
    GROUP BY flow, route, state;

DROP INDEX deliveries_state;
CREATE INDEX deliveries_state ON deliveries (state, flow, route) WHERE state NOT IN ('in_flight', 'delivered');
