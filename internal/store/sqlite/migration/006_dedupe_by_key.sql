-- 006_dedupe_by_key: one index entry fewer per record.
--
-- A record's dedupe key is its source system and its event id, and the
-- event id is its key unless the flow reads it elsewhere (an `event:`
-- expression, a delivery-id header). So for nearly every record the dedupe
-- key is `system:key`, and messages_dedupe duplicated messages_key: one
-- more entry per record, at a random place in the index, which on the
-- reference flow is one more 4 KiB page in the WAL per record (measured:
-- 1.07 pages of 5.5) for the writer to write and fsync.
--
-- messages_key now also orders by received_at, so it answers the dedupe
-- check of those records (the key's messages within the window); the
-- partial messages_dedupe keeps only the other records: a dedupe key that
-- is not `system:key`, or a system name with a colon, whose `system:key`
-- cannot be split back unambiguously. The dedupe query (query.go,
-- qDedupe) asks both and repeats this WHERE word for word.
DROP INDEX messages_key;
CREATE INDEX messages_key ON messages (key, received_at);

DROP INDEX messages_dedupe;
CREATE INDEX messages_dedupe ON messages (dedupe_key, received_at)
    WHERE dedupe_key IS NOT NULL AND (dedupe_key <> system || ':' || key OR instr(system, ':') > 0);
