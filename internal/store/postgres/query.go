package postgres

import (
	"strings"

	"github.com/seamhq/seam/internal/store"
)

// Every statement the driver runs is in this file; nothing else builds SQL
// except the list filters, which assemble the fixed fragments below.
//
// Statements run through pgx's statement cache: each is prepared once per
// connection and then costs one Bind/Execute. The hot paths (ingest,
// complete) are one pipelined round trip each: their statements go in one
// pgx.Batch, which PostgreSQL runs as one implicit transaction that commits
// at the batch's Sync, so nothing is acknowledged before its commit is
// flushed (synchronous_commit stays on).
//
// Concurrency between nodes rests on three things:
//   - row locks: claims take rows FOR UPDATE SKIP LOCKED, and every state
//     change is an UPDATE whose WHERE re-checks the state it expects, so two
//     nodes never both win a delivery;
//   - advisory transaction locks, taken before the statement that must see
//     the other side's commit (READ COMMITTED gives each statement a fresh
//     snapshot): on a dedupe key, so two nodes never both accept one event;
//     and on an ordered key (flow, route, key), so deliveries of one key get
//     their ids in commit order and a completion always sees the intake that
//     raced it (or the intake sees the completion);
//   - ids from sequences, allocated under those locks;
//   - unique indexes where one row must win: incidents_open keeps one open
//     incident per (flow, rule), and a notice is claimed, like a
//     delivery, by an UPDATE that re-checks the claim it expects.
//
// Advisory lock spaces (the first int of the two-int form): 1 dedupe keys,
// 2 ordered keys, 3 migrations. Keys are hashtext() of the name: a
// collision only makes two unrelated keys wait for each other.
const (
	lockDedupe  = 1
	lockOrdered = 2
	lockMigrate = 3

	// notifyChannel carries wake-ups; the payload is the schema, so that
	// ledgers in several schemas of one database do not wake each other.
	notifyChannel = "seam_deliveries"

	// orderedName builds an ordered key's lock name from a delivery row;
	// lockNames builds the same string in Go (flow, route, key joined by
	// the unit separator, which no catalog name contains).
	orderedName = `flow || E'\x1f' || route || E'\x1f' || key`

	deliveryCols = `id, message_id, flow, route, key, state, idempotency_key, ordered, payload,
		attempts, next_at, last_status, last_error, created_at, updated_at, delivered_at`
	deliveryColsD = `d.id, d.message_id, d.flow, d.route, d.key, d.state, d.idempotency_key, d.ordered, d.payload,
		d.attempts, d.next_at, d.last_status, d.last_error, d.created_at, d.updated_at, d.delivered_at`

	// openHead must repeat the WHERE of the deliveries_head partial index
	// for the planner to use that index; the open head is always aliased h.
	openHead = `h.ordered AND h.state NOT IN ('delivered', 'skipped')`

	// qLock takes the advisory locks of one ingest, sorted, so that two
	// transactions wanting the same locks take them in the same order and
	// cannot deadlock. $1 are the spaces, $2 the names.
	qLock = `SELECT count(pg_advisory_xact_lock(l.space, hashtext(l.name)))
		FROM (SELECT u.space, u.name FROM unnest($1::int4[], $2::text[]) AS u(space, name)
			ORDER BY u.space, hashtext(u.name)) AS l`

	// qIngest stores one record: the dedupe check, the message, its
	// quarantine entry or its deliveries, in one statement. A delivery is
	// leased to the intaking node ($28) when the caller asks for it (claim)
	// and, for an ordered one, no earlier delivery of its key is open; the
	// check sees every commit before this statement, and qLock made sure
	// any intake of the same key that started earlier has committed.
	// An accepted record's links to other keys (l) are recorded with it.
	// It returns the duplicate's id, or the new message's, quarantine
	// entry's and deliveries' ids and states.
	qIngest = `WITH dup AS (
			SELECT id FROM messages
			WHERE dedupe_key = $11::text AND received_at > $12::bigint
			ORDER BY received_at LIMIT 1
		), m AS (
			INSERT INTO messages (flow, system, key, status, received_at, content_type, body, canonical,
				trace_id, replay_of, dedupe_key)
			SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::text, $7::bytea, $8::bytea,
				$9::text, $10::bigint, $11::text
			WHERE NOT EXISTS (SELECT 1 FROM dup)
			RETURNING id
		), q AS (
			INSERT INTO quarantine (message_id, flow, key, stage, reasons, status, received_at, updated_at)
			SELECT m.id, $13::text, $14::text, $15::text, $16::text, $17::text, $5::bigint, $18::bigint
			FROM m WHERE $13::text IS NOT NULL
			RETURNING id
		), d AS (
			INSERT INTO deliveries (message_id, flow, route, key, state, idempotency_key, ordered, payload,
				next_at, lease_owner, lease_until, created_at, updated_at)
			SELECT m.id, x.flow, x.route, x.key, CASE WHEN x.go THEN 'in_flight' ELSE x.state END,
				x.idem, x.ordered, x.payload, x.next_at,
				CASE WHEN x.go THEN $28::text END, CASE WHEN x.go THEN $29::bigint END, $18::bigint, $18::bigint
			FROM m, (SELECT u.*, u.claim AND NOT (u.ordered AND EXISTS (
					SELECT 1 FROM deliveries h
					WHERE h.flow = u.flow AND h.route = u.route AND h.key = u.key AND ` + openHead + `)) AS go
				FROM unnest($19::text[], $20::text[], $21::text[], $22::text[], $23::text[], $24::boolean[],
					$25::bytea[], $26::bigint[], $27::boolean[]) WITH ORDINALITY
					AS u(flow, route, key, state, idem, ordered, payload, next_at, claim, ord)) AS x
			ORDER BY x.ord
			RETURNING id, state
		), l AS (
			INSERT INTO xrefs (entity, key, system, name, value, created_at)
			SELECT x.entity, x.key, x.system, x.name, x.value, $18::bigint
			FROM m, unnest($30::text[], $31::text[], $32::text[], $33::text[], $34::text[])
				AS x(entity, key, system, name, value)
			WHERE $13::text IS NULL
			ON CONFLICT DO NOTHING
		)
		SELECT (SELECT id FROM dup), (SELECT id FROM m), (SELECT id FROM q),
			(SELECT array_agg(id ORDER BY id) FROM d), (SELECT array_agg(state ORDER BY id) FROM d)`

	// qListen subscribes the listener's connection to the wake-ups.
	qListen = `LISTEN ` + notifyChannel

	// qNotify wakes the other nodes' pollers (and this one's).
	qNotify = `SELECT pg_notify('` + notifyChannel + `', current_schema())`

	// qLockDeliveryKey takes the ordered-key lock of a delivery being
	// completed, before qComplete: see qClaimNext.
	qLockDeliveryKey = `SELECT pg_advisory_xact_lock(2, hashtext(` + orderedName + `))
		FROM deliveries WHERE id = $1 AND ordered`

	// qComplete records one attempt of a delivery leased to $2 and moves it
	// on, with the effect and cross-references of a success, in one
	// statement. A node whose lease expired may still complete as long as
	// nobody took the delivery over (the WHERE); once someone did, its
	// attempt is the one that counts and this one changes nothing. It
	// marks the transaction (seam.completed) so that qClaimNext, in the
	// same batch, acts only when this completion happened.
	qComplete = `WITH u AS (
			UPDATE deliveries SET state = $3::text, attempts = attempts + 1,
				next_at = CASE WHEN $3::text = 'retrying' THEN $4::bigint ELSE next_at END,
				lease_owner = NULL, lease_until = NULL, last_status = $5::integer, last_error = $6::text,
				updated_at = $7::bigint,
				delivered_at = CASE WHEN $3::text = 'delivered' THEN $7::bigint ELSE delivered_at END
			WHERE id = $1::bigint AND state = 'in_flight' AND lease_owner = $2::text
			RETURNING id, attempts, flow, route, idempotency_key
		), a AS (
			INSERT INTO attempts (delivery_id, number, started_at, duration, status, error, response)
			SELECT u.id, u.attempts, $8::bigint, $9::bigint, $5::integer, $6::text, $10::bytea FROM u
		), e AS (
			INSERT INTO effects (flow, route, idempotency_key, delivery_id, at)
			SELECT coalesce(nullif($11::text, ''), u.flow), coalesce(nullif($12::text, ''), u.route),
				coalesce(nullif($13::text, ''), u.idempotency_key), u.id, $14::bigint
			FROM u WHERE $3::text = 'delivered' AND coalesce(nullif($13::text, ''), u.idempotency_key) <> ''
			ON CONFLICT (flow, route, idempotency_key) DO UPDATE
			SET delivery_id = excluded.delivery_id, at = excluded.at
		), x AS (
			INSERT INTO xrefs (entity, key, system, name, value, created_at)
			SELECT x.entity, x.key, x.system, x.name, x.value, x.created_at
			FROM u, unnest($15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::bigint[])
				AS x(entity, key, system, name, value, created_at)
			WHERE $3::text = 'delivered'
			ON CONFLICT DO NOTHING
		)
		SELECT u.attempts, set_config('seam.completed', u.id::text, true) FROM u`

	// qClaimNext leases the next delivery of the completed one's key, if it
	// is due, to the completing node. It runs after qLockDeliveryKey, so
	// an intake of that key that started earlier has committed and is seen
	// here; one that starts later sees this completion and leases its
	// delivery itself. Either way no delivery is left waiting for a poll.
	qClaimNext = `UPDATE deliveries SET state = 'in_flight', lease_owner = $2::text, lease_until = $3::bigint,
			updated_at = $4::bigint
		WHERE id = (
			SELECT h.id FROM deliveries c JOIN deliveries h
				ON h.flow = c.flow AND h.route = c.route AND h.key = c.key
			WHERE c.id = $1::bigint AND c.ordered AND current_setting('seam.completed', true) = $5::text
				AND ` + openHead + `
			ORDER BY h.id LIMIT 1)
		AND state IN ('pending', 'retrying') AND next_at <= $4::bigint
		RETURNING ` + deliveryCols

	// qCompleteRefused explains a completion that changed nothing.
	qCompleteRefused = `SELECT state, coalesce(lease_owner, '') FROM deliveries WHERE id = $1`

	// claimHeadOnly keeps an ordered delivery out of a claim while an
	// earlier delivery of its key is unfinished.
	claimHeadOnly = `(NOT d.ordered OR NOT EXISTS (SELECT 1 FROM deliveries h
			WHERE h.flow = d.flow AND h.route = d.route AND h.key = d.key AND ` + openHead + ` AND h.id < d.id))`
	claimFlows = `($5::text[] IS NULL OR d.flow = ANY($5::text[]))`

	// qClaim leases what may be sent at $3 (now): due pending and retrying
	// deliveries, and in-flight ones whose lease expired (their node is
	// presumed gone), oldest due first. Each state is its own branch, read
	// in (state, next_at) index order up to the limit, as in SQLite. Rows
	// another node is claiming are skipped, not waited for (SKIP LOCKED);
	// a row changed since this statement's snapshot is re-checked by the
	// lock, so two nodes never claim one delivery.
	qClaim = `WITH p AS (
			SELECT d.id, d.next_at FROM deliveries d
			WHERE d.state = 'pending' AND d.next_at <= $3::bigint AND ` + claimHeadOnly + ` AND ` + claimFlows + `
			ORDER BY d.next_at LIMIT $4 FOR UPDATE SKIP LOCKED
		), r AS (
			SELECT d.id, d.next_at FROM deliveries d
			WHERE d.state = 'retrying' AND d.next_at <= $3::bigint AND ` + claimHeadOnly + ` AND ` + claimFlows + `
			ORDER BY d.next_at LIMIT $4 FOR UPDATE SKIP LOCKED
		), f AS (
			SELECT d.id, d.next_at FROM deliveries d
			WHERE d.state = 'in_flight' AND d.lease_until <= $3::bigint AND ` + claimFlows + `
			ORDER BY d.next_at LIMIT $4 FOR UPDATE SKIP LOCKED
		), pick AS (
			SELECT s.id FROM (SELECT * FROM p UNION ALL SELECT * FROM r UNION ALL SELECT * FROM f) AS s
			ORDER BY s.next_at, s.id LIMIT $4
		)
		UPDATE deliveries d SET state = 'in_flight', lease_owner = $1::text, lease_until = $2::bigint,
			updated_at = $3::bigint
		FROM pick WHERE d.id = pick.id
		RETURNING ` + deliveryColsD

	// qReleaseLeases gives leases back (one node's, or all with $1 empty)
	// and wakes the other nodes, which may claim those deliveries now. A
	// delivery tried before is retrying, not pending, so the dashboard
	// still shows that it has failed.
	qReleaseLeases = `WITH r AS (
			UPDATE deliveries SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END,
				lease_owner = NULL, lease_until = NULL
			WHERE state = 'in_flight' AND ($1::text = '' OR lease_owner = $1::text)
			RETURNING 1
		), n AS (
			SELECT pg_notify('` + notifyChannel + `', current_schema()) FROM (SELECT 1 FROM r LIMIT 1) AS one
		)
		SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)`

	// qPostpone gives a leased delivery back without an attempt (its
	// destination's circuit is open). Nobody is woken: it is due later.
	qPostpone = `UPDATE deliveries
		SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END,
			next_at = $1, updated_at = $2, lease_owner = NULL, lease_until = NULL
		WHERE id = $3 AND state = 'in_flight' AND lease_owner = $4`

	// qRequeue makes deliveries due again, with a new payload where $4 is
	// true, and wakes the nodes. It leaves alone a delivery some node is
	// sending right now: its completion would otherwise be refused and the
	// operator's intent lost.
	qRequeue = `WITH r AS (
			UPDATE deliveries d SET state = 'pending', next_at = $1::bigint, updated_at = $1::bigint,
				delivered_at = 0, lease_owner = NULL, lease_until = NULL,
				payload = CASE WHEN u.has THEN u.payload ELSE d.payload END
			FROM unnest($2::bigint[], $3::bytea[], $4::boolean[]) AS u(id, payload, has)
			WHERE d.id = u.id AND NOT (d.state = 'in_flight' AND d.lease_until > $1::bigint)
			RETURNING d.id
		), n AS (
			SELECT pg_notify('` + notifyChannel + `', current_schema()) FROM (SELECT 1 FROM r LIMIT 1) AS one
		)
		SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM n)`

	qInsertAudit = `INSERT INTO audit (at, actor, action, target, reason, detail)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`

	// qQuarantineStatus changes a quarantine entry's status and appends the
	// audit event ($9 true) only when the entry exists: no audit without
	// the change it records.
	qQuarantineStatus = `WITH u AS (
			UPDATE quarantine SET status = $1::text, updated_at = $2::bigint WHERE id = $3::bigint RETURNING id
		), a AS (
			INSERT INTO audit (at, actor, action, target, reason, detail)
			SELECT $4::bigint, $5::text, $6::text, $7::text, $8::text, $10::bytea FROM u WHERE $9::boolean
		)
		SELECT count(*) FROM u`

	// Reads.

	qDeliveryGet     = `SELECT ` + deliveryCols + ` FROM deliveries WHERE id = $1`
	qDeliveryList    = `SELECT ` + deliveryCols + ` FROM deliveries`
	qDeliveryPayload = `SELECT payload FROM deliveries WHERE id = $1`
	qAttemptList     = `SELECT id, delivery_id, number, started_at, duration, status, error, response
		FROM attempts WHERE delivery_id = $1 ORDER BY number`

	messageCols    = `id, flow, system, key, status, received_at, content_type, body, canonical, trace_id, replay_of`
	qMessageGet    = `SELECT ` + messageCols + ` FROM messages WHERE id = $1`
	qMessageList   = `SELECT ` + messageCols + ` FROM messages`
	quarantineFrom = `SELECT q.id, q.message_id, q.flow, q.key, q.stage, q.reasons, q.status, q.received_at,
		m.content_type, m.body
		FROM quarantine q JOIN messages m ON m.id = q.message_id`
	qQuarantineGet = quarantineFrom + ` WHERE q.id = $1`
	qXRefList      = `SELECT entity, key, system, name, value, created_at FROM xrefs`
	qEffectGet     = `SELECT delivery_id, at FROM effects WHERE flow = $1 AND route = $2 AND idempotency_key = $3`
	qAuditList     = `SELECT id, at, actor, action, target, reason, detail FROM audit`
	// qRouteStats counts the open deliveries of each route row by row (few:
	// deliveries_claim finds them by state) and takes the final ones from
	// route_totals (migration 005), for one flow ($1) or all ($1 = '').
	qRouteStats = `SELECT flow, route, state, count(*), min(created_at), max(delivered_at), max(updated_at)
		FROM deliveries WHERE state IN ('pending', 'retrying', 'in_flight', 'dead') AND ($1 = '' OR flow = $1)
		GROUP BY flow, route, state
		UNION ALL
		SELECT flow, route, state, n, 0, last_at, 0 FROM route_totals WHERE n > 0 AND ($1 = '' OR flow = $1)
		ORDER BY flow, route`

	// qFoldRouteTotals adds the deltas the route_totals triggers appended
	// into route_totals. Concurrent folds delete disjoint rows, and the
	// ORDER BY takes the totals' row locks in one order, so two folds never
	// deadlock.
	qFoldRouteTotals = `WITH d AS (DELETE FROM route_total_deltas RETURNING flow, route, state, n, last_at)
		INSERT INTO route_totals (flow, route, state, n, last_at)
		SELECT flow, route, state, sum(n)::bigint, max(last_at) FROM d
		GROUP BY flow, route, state ORDER BY flow, route, state
		ON CONFLICT (flow, route, state) DO UPDATE
		SET n = route_totals.n + excluded.n, last_at = greatest(route_totals.last_at, excluded.last_at)`

	// Filter fragments: each takes one parameter, numbered by the builder
	// (the %d). A filter that is not set adds nothing, so each one that is
	// set can use its index.
	fEquals        = ` = $%d`
	fAtLeast       = ` >= $%d`
	fBefore        = ` < $%d`
	fStateIn       = `state = ANY($%d::text[])`
	fErrorContains = `strpos(lower(last_error), lower($%d)) > 0` // case-insensitive: "timeout" finds "Timeout awaiting headers"
	fLimit         = ` LIMIT $%d`

	// Pruning. qPrunable pages, by (received_at, id), through messages
	// received before the cutoff that retention may drop: every delivery
	// final, no open quarantine entry. The deletes re-check finality: a
	// dead letter replayed between the two statements is kept, with its
	// message.
	qPrunable = `SELECT id, received_at FROM messages m
		WHERE received_at < $1 AND (received_at, id) > ($2, $3)
		AND NOT EXISTS (SELECT 1 FROM deliveries d
			WHERE d.message_id = m.id AND d.state NOT IN ('delivered', 'dead', 'skipped'))
		AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.message_id = m.id AND q.status = 'open')
		ORDER BY received_at, id LIMIT $4`
	prunableIDs = `SELECT id FROM messages m WHERE id = ANY($1::bigint[])
		AND NOT EXISTS (SELECT 1 FROM deliveries d
			WHERE d.message_id = m.id AND d.state NOT IN ('delivered', 'dead', 'skipped'))`
	qPruneAttempts   = `DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE message_id IN (` + prunableIDs + `))`
	qPruneDeliveries = `DELETE FROM deliveries WHERE message_id IN (` + prunableIDs + `)`
	qPruneQuarantine = `DELETE FROM quarantine WHERE message_id IN (` + prunableIDs + `)`
	qPruneMessages   = `DELETE FROM messages WHERE id IN (` + prunableIDs + `)`
	qPruneEffects    = `DELETE FROM effects WHERE id IN (SELECT id FROM effects WHERE at < $1 ORDER BY at LIMIT $2)`
	qPruneXRefs      = `DELETE FROM xrefs WHERE id IN (SELECT id FROM xrefs WHERE created_at < $1 ORDER BY created_at LIMIT $2)`
	qPruneAudit      = `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 ORDER BY at LIMIT $2)`
	// An open incident (resolved_at 0) must never match: only resolved
	// ones are evidence, read by age from incidents_resolved.
	qPruneIncidents = `DELETE FROM incidents WHERE id IN (SELECT id FROM incidents
		WHERE state = 'resolved' AND resolved_at < $1 ORDER BY resolved_at LIMIT $2)`

	// Incidents (store.Incidents). They are rare writes, a handful per
	// incident, so they are plain statements on the pool, not batches.
	incidentCols = `id, flow, rule, kind, severity, state, summary, details, opened_at, updated_at,
		resolved_at, resolution, notified, notifications, last_notified_at, notice_kind, notice_sent, notice_error`

	// qIncidentOpen opens an incident of (flow, rule) or, when one is open,
	// brings that one up to date, in one statement: ON CONFLICT DO UPDATE
	// is atomic under concurrency (it locks the open incident, or waits
	// for a concurrent opener to commit and then does), so there is no
	// moment in which another node could resolve the incident between
	// finding it and refreshing it. The conflict target repeats the
	// partial index's WHERE so that it names incidents_open.
	//
	// The id is drawn first (n) and given explicitly, so that the last
	// column says whether this call inserted the row: only then does the
	// row carry that id. (A refresh uses up an id, as any INSERT … ON
	// CONFLICT of an identity does; ids stay monotonic.) A refresh keeps
	// updated_at when nothing changed, so that it says when the numbers
	// last moved; SET reads the row as it was (i), excluded is the new one.
	qIncidentOpen = `WITH n AS (SELECT nextval(pg_get_serial_sequence('incidents', 'id')) AS id)
		INSERT INTO incidents AS i (id, flow, rule, kind, severity, state, summary, details, opened_at, updated_at)
		SELECT n.id, $1::text, $2::text, $3::text, $4::text, 'open', $5::text, $6::bytea, $7::bigint, $7::bigint FROM n
		ON CONFLICT (flow, rule) WHERE state = 'open' DO UPDATE SET
			updated_at = CASE WHEN i.summary = excluded.summary AND i.severity = excluded.severity
				AND i.kind = excluded.kind AND i.details IS NOT DISTINCT FROM excluded.details
				THEN i.updated_at ELSE excluded.updated_at END,
			summary = excluded.summary, severity = excluded.severity, kind = excluded.kind, details = excluded.details
		RETURNING ` + incidentCols + `, i.id = (SELECT n.id FROM n)`

	qIncidentResolve = `UPDATE incidents SET state = 'resolved', resolved_at = $3, updated_at = $3, resolution = $4
		WHERE flow = $1 AND rule = $2 AND state = 'open'
		RETURNING ` + incidentCols

	// qNoticeClaim is where nodes race for a notice. It is one UPDATE
	// whose WHERE holds every condition: a node that finds the row locked
	// by another's claim waits, then re-checks the WHERE on the claimed
	// row (READ COMMITTED), finds a live claim and changes nothing; so
	// exactly one node wins. A claim of another kind of notice than the
	// one in progress starts its list of reached channels afresh.
	qNoticeClaim = `UPDATE incidents SET
		notice_owner = $1::text, notice_until = $2::bigint,
		notice_sent = CASE WHEN notice_kind = $3::text THEN notice_sent ELSE '[]' END,
		notice_kind = $3::text
		WHERE id = $4::bigint AND notice_until <= $5::bigint AND (
			($3::text = 'firing' AND state = 'open' AND notified = '') OR
			($3::text = 'reminder' AND state = 'open' AND notified = 'firing' AND last_notified_at <= $6::bigint) OR
			($3::text = 'resolved' AND state = 'resolved' AND notified <> 'resolved'))
		RETURNING ` + incidentCols

	// qNoticeLoad locks the incident while its claim is checked and its
	// outcome recorded, so that no other node takes the claim over in
	// between.
	qNoticeLoad = `SELECT notice_owner, notice_kind, notice_sent FROM incidents WHERE id = $1 FOR UPDATE`

	qNoticeDone = `UPDATE incidents SET notified = $2, notifications = notifications + 1, last_notified_at = $3,
		notice_kind = '', notice_sent = '[]', notice_owner = '', notice_until = 0, notice_error = $4
		WHERE id = $1
		RETURNING ` + incidentCols

	qNoticePartial = `UPDATE incidents SET notice_sent = $2, notice_owner = '', notice_until = 0, notice_error = $3
		WHERE id = $1
		RETURNING ` + incidentCols

	qIncidentGet  = `SELECT ` + incidentCols + ` FROM incidents WHERE id = $1`
	qIncidentList = `SELECT ` + incidentCols + ` FROM incidents`

	// fNoticePending selects incidents with a notice still to send (no
	// parameter).
	fNoticePending = `((state = 'open' AND notified = '') OR (state = 'resolved' AND notified <> 'resolved'))`

	// Series (store.Series): per flow and bucket of $2 nanoseconds from $1
	// to $3, the records received (read by received_at, or by flow and
	// received_at: messages_received, messages_flow) and the attempts made
	// (read by started_at, attempts_started of 003, joined to their
	// delivery by primary key for the flow and the dead state). Buckets
	// are integer divisions of unix nanoseconds, computed here, so one row
	// per (flow, bucket) comes back. A dead delivery counts once, on its
	// last attempt, and only while it is still dead.
	seriesReceived = `SELECT flow, (received_at - $1::bigint) / $2::bigint AS b,
			count(*) AS received, count(*) FILTER (WHERE status = 'quarantined') AS refused
		FROM messages WHERE received_at >= $1::bigint AND received_at < $3::bigint`
	seriesAttempts = `SELECT d.flow, (a.started_at - $1::bigint) / $2::bigint AS b,
			count(*) FILTER (WHERE a.error = '') AS delivered,
			count(*) FILTER (WHERE a.error <> '') AS failed,
			count(*) FILTER (WHERE a.error <> '' AND d.state = 'dead' AND a.number = d.attempts) AS dead
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
		WHERE a.started_at >= $1::bigint AND a.started_at < $3::bigint`
	seriesJoin = `SELECT coalesce(r.flow, t.flow), coalesce(r.b, t.b),
			coalesce(r.received, 0), coalesce(r.refused, 0),
			coalesce(t.delivered, 0), coalesce(t.failed, 0), coalesce(t.dead, 0)
		FROM r FULL JOIN t ON t.flow = r.flow AND t.b = r.b
		ORDER BY 1, 2`
	// qSeries covers every flow; qSeriesFlow only $4 (a separate statement,
	// not "$4 = '' OR flow = $4", so that each plan can use its index).
	qSeries = `WITH r AS (` + seriesReceived + ` GROUP BY flow, b),
		t AS (` + seriesAttempts + ` GROUP BY d.flow, b) ` + seriesJoin
	qSeriesFlow = `WITH r AS (` + seriesReceived + ` AND flow = $4::text GROUP BY flow, b),
		t AS (` + seriesAttempts + ` AND d.flow = $4::text GROUP BY d.flow, b) ` + seriesJoin

	// Leadership. qLeaderElect takes the row when it is free or expired
	// and renews it when $2 already holds it; a row comes back only when
	// $2 leads. elected_at stays the start of an unbroken leadership.
	qLeaderElect = `INSERT INTO leader (name, node, elected_at, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (name) DO UPDATE SET node = excluded.node, expires_at = excluded.expires_at,
			elected_at = CASE WHEN leader.node = excluded.node AND leader.expires_at > excluded.elected_at
				THEN leader.elected_at ELSE excluded.elected_at END
		WHERE leader.node = excluded.node OR leader.expires_at <= excluded.elected_at
		RETURNING node`
	qLeaderResign = `DELETE FROM leader WHERE name = $1 AND node = $2`

	// Migrations: the lock makes nodes that start together apply them
	// once; the others wait, then find them applied.
	qMigrateLock   = `SELECT pg_advisory_xact_lock(3, hashtext($1))`
	qCurrentSchema = `SELECT current_schema()`
	qMigrateTable  = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL)`
	qMigrateApplied = `SELECT version FROM schema_migrations`
	qMigrateRecord  = `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`
)

// copyQueries are the bulk statements of `seam store copy`, one set per
// table of store.CopyTables, built once from that fixed list (no name in
// them comes from outside).
type copyQueries struct {
	count, maxID, export, setval string
}

var copySQL = func() map[string]copyQueries {
	m := make(map[string]copyQueries, len(store.CopyTables))
	for _, t := range store.CopyTables {
		cols := strings.Join(t.Columns, ", ")
		m[t.Name] = copyQueries{
			count:  `SELECT count(*) FROM ` + t.Name,
			maxID:  `SELECT coalesce(max(id), 0) FROM ` + t.Name,
			export: `SELECT ` + cols + ` FROM ` + t.Name + ` WHERE id > $1 ORDER BY id LIMIT $2`,
			// setval(seq, max, true) makes the next id max+1; on an empty
			// table (false) it makes it 1.
			setval: `SELECT setval(pg_get_serial_sequence('` + t.Name + `', 'id'),
				coalesce((SELECT max(id) FROM ` + t.Name + `), 1), (SELECT max(id) FROM ` + t.Name + `) IS NOT NULL)`,
		}
	}
	return m
}()
