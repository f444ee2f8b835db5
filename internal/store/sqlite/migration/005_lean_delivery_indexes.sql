-- 005_lean_delivery_indexes: fewer index writes per delivered record.
--
-- Nearly every delivery is leased at intake (in_flight) and delivered on
-- its first attempt. With 001's indexes that path wrote nine index
-- entries (claim and route each took an insert, a delete and an insert);
-- with these it writes six. Each index entry costs the writer about 5 µs
-- of CPU per record (measured on the reference flow's 2-core machine),
-- and the writer is the one serial step of the pipeline.
--
-- The partial indexes below are only used by queries that repeat their
-- WHERE word for word (see query.go and read.go); TestQueryPlans checks it.

-- What a poll claims by due time. A delivery leased at intake and
-- delivered at once never enters it.
DROP INDEX deliveries_claim;
CREATE INDEX deliveries_claim ON deliveries (state, next_at) WHERE state IN ('pending', 'retrying');

-- Deliveries being sent, by lease end: expired leases to take over, a
-- node's leases to release, the in-flight counts per route.
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'in_flight';

-- Every other state, for the counts per route and lists by state (the
-- dead letters). State first, so a list by state seeks straight to it.
DROP INDEX deliveries_route;
CREATE INDEX deliveries_state ON deliveries (state, flow, route) WHERE state <> 'in_flight';
