-- 004_attempts_by_time: the dashboard's charts (store.Series) count
-- attempts per minute over the last hour or day. Without this index every
-- chart scanned the whole attempts table; with it a chart reads only the
-- attempts of its window. It costs one index entry per attempt written.
CREATE INDEX attempts_started ON attempts (started_at);
