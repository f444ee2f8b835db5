package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// The SQL of the writer, prepared once on its connection: parsing and
// planning a statement costs more than running most of these, and the hot
// path (ingest, complete) runs five to eight of them per record.
const (
	deliveryCols = `id, message_id, flow, route, key, state, idempotency_key, ordered, payload,
		attempts, next_at, last_status, last_error, created_at, updated_at, delivered_at`

	// headOpenWhere must repeat the WHERE of the deliveries_head partial
	// index word for word, or SQLite will not use that index.
	headOpenWhere = `ordered = 1 AND state NOT IN ('delivered', 'skipped')`

	// dedupeOtherWhere is the WHERE of the partial messages_dedupe index
	// (migration 006): the records whose dedupe key is not their
	// `system:key`. The others are found through messages_key.
	dedupeOtherWhere = `dedupe_key IS NOT NULL AND (dedupe_key <> system || ':' || key OR instr(system, ':') > 0)`

	// qDedupe finds the first accepted record with dedupe key ?1 since ?4:
	// among the records of system ?2 and key ?3 (?1 split at its first
	// colon), whose dedupe key is their `system:key`, and among the others.
	qDedupe = `SELECT id FROM (
			SELECT id, received_at FROM messages
				WHERE key = ?3 AND received_at > ?4 AND system = ?2 AND dedupe_key = ?1
			UNION ALL
			SELECT id, received_at FROM messages
				WHERE dedupe_key = ?1 AND received_at > ?4 AND ` + dedupeOtherWhere + `)
		ORDER BY received_at LIMIT 1`

	qInsertMessage = `INSERT INTO messages
		(flow, system, key, status, received_at, content_type, body, canonical, trace_id, replay_of, dedupe_key)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	qInsertQuarantine = `INSERT INTO quarantine
		(message_id, flow, key, stage, reasons, status, received_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

	qHeadOpen = `SELECT 1 FROM deliveries
		WHERE flow = ? AND route = ? AND key = ? AND ` + headOpenWhere + ` LIMIT 1`

	qInsertDelivery = `INSERT INTO deliveries
		(message_id, flow, route, key, state, idempotency_key, ordered, payload, next_at,
		 lease_owner, lease_until, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

	// qLoadForComplete explains why qComplete matched nothing.
	qLoadForComplete = `SELECT state FROM deliveries WHERE id = ?`

	qInsertAttempt = `INSERT INTO attempts
		(delivery_id, number, started_at, duration, status, error, response)
		VALUES (?, ?, ?, ?, ?, ?, ?)`

	// qComplete records an attempt's outcome (?1 the new state) on the
	// delivery, if ?7 still holds its lease: a node whose lease expired may
	// complete as long as nobody took the delivery over. It returns what
	// the rest of the completion needs, so that no SELECT precedes it.
	qComplete = `UPDATE deliveries SET state = ?1, attempts = attempts + 1,
		next_at = CASE WHEN ?1 = 'retrying' THEN ?2 ELSE next_at END,
		lease_owner = NULL, lease_until = NULL, last_status = ?3, last_error = ?4, updated_at = ?5,
		delivered_at = CASE WHEN ?1 = 'delivered' THEN ?5 ELSE delivered_at END
		WHERE id = ?6 AND state = 'in_flight' AND lease_owner = ?7
		RETURNING attempts, flow, route, key, ordered, idempotency_key`

	qUpsertEffect = `INSERT INTO effects (flow, route, idempotency_key, delivery_id, at)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (flow, route, idempotency_key) DO UPDATE
		SET delivery_id = excluded.delivery_id, at = excluded.at`

	qInsertXRef = `INSERT INTO xrefs (entity, key, system, name, value, created_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`

	// qHead finds the head of one ordered key. Most keys have no later
	// record waiting, so completion asks this one-column question before
	// paying for qClaimHead's RETURNING.
	qHead = `SELECT id FROM deliveries
		WHERE flow = ? AND route = ? AND key = ? AND ` + headOpenWhere + `
		ORDER BY id LIMIT 1`

	// qClaimHead leases a head found by qHead if it is ready to go.
	qClaimHead = `UPDATE deliveries
		SET state = 'in_flight', lease_owner = ?, lease_until = ?, updated_at = ?
		WHERE id = ? AND state IN ('pending', 'retrying') AND next_at <= ?
		RETURNING ` + deliveryCols

	// claimHeadOnly keeps an ordered delivery out of a claim while an
	// earlier delivery of its key is unfinished.
	claimHeadOnly = `(d.ordered = 0 OR NOT EXISTS (SELECT 1 FROM deliveries h
			WHERE h.flow = d.flow AND h.route = d.route AND h.key = d.key
			AND h.ordered = 1 AND h.state NOT IN ('delivered', 'skipped') AND h.id < d.id))`

	// The WHERE of the partial indexes of migrations 005 and 007, which a
	// query must repeat word for word for SQLite to use them.
	claimableWhere  = `state IN ('pending', 'retrying')`        // deliveries_claim
	leasedWhere     = `state = 'in_flight'`                     // deliveries_leased
	stateIndexWhere = `state NOT IN ('in_flight', 'delivered')` // deliveries_state

	// qClaim leases what may be sent at ?3 (now): due pending and retrying
	// deliveries, and in-flight ones whose lease has expired (their node is
	// presumed gone), oldest due first. Each state is its own branch so
	// that each reads its index in order and stops at the limit: one OR
	// over the states would sort the whole due backlog, which after an
	// outage is every record of the outage, on every poll.
	qClaim = `UPDATE deliveries
		SET state = 'in_flight', lease_owner = ?1, lease_until = ?2, updated_at = ?3
		WHERE id IN (SELECT id FROM (
			SELECT * FROM (SELECT d.id, d.next_at FROM deliveries d
				WHERE d.state = 'pending' AND d.` + claimableWhere + ` AND d.next_at <= ?3 AND ` + claimHeadOnly + ` %[1]s
				ORDER BY d.next_at LIMIT ?4)
			UNION ALL
			SELECT * FROM (SELECT d.id, d.next_at FROM deliveries d
				WHERE d.state = 'retrying' AND d.` + claimableWhere + ` AND d.next_at <= ?3 AND ` + claimHeadOnly + ` %[1]s
				ORDER BY d.next_at LIMIT ?4)
			UNION ALL
			SELECT * FROM (SELECT d.id, d.next_at FROM deliveries d
				WHERE d.` + leasedWhere + ` AND d.lease_until <= ?3 %[1]s
				ORDER BY d.next_at LIMIT ?4))
			ORDER BY next_at, id LIMIT ?4)
		RETURNING ` + deliveryCols

	// claimFlows restricts qClaim to the flows in the JSON array ?5.
	claimFlows = `AND d.flow IN (SELECT value FROM json_each(?5))`

	// A released delivery that was tried before is retrying, not pending,
	// so the dashboard still shows that it has failed.
	qReleaseLeases = `UPDATE deliveries
		SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END,
			lease_owner = NULL, lease_until = NULL
		WHERE ` + leasedWhere + ` AND (?1 = '' OR lease_owner = ?1)`

	// qPostpone gives a leased delivery back without an attempt: its
	// destination is known to be down (open circuit), so trying would only
	// burn one of its attempts.
	qPostpone = `UPDATE deliveries
		SET state = CASE WHEN attempts > 0 THEN 'retrying' ELSE 'pending' END,
			next_at = ?1, updated_at = ?2, lease_owner = NULL, lease_until = NULL
		WHERE id = ?3 AND state = 'in_flight' AND lease_owner = ?4`

	// qRequeue leaves alone a delivery some node is sending right now: its
	// completion would otherwise be refused and the operator's intent lost.
	qRequeue = `UPDATE deliveries
		SET state = 'pending', next_at = ?1, updated_at = ?1, delivered_at = 0,
			lease_owner = NULL, lease_until = NULL, payload = coalesce(?2, payload)
		WHERE id = ?3 AND NOT (state = 'in_flight' AND lease_until > ?1)`

	// qRouteTotal adds one transaction's changes to a route's count of
	// delivered or skipped deliveries (route_totals, migration 007).
	qRouteTotal = `INSERT INTO route_totals (flow, route, state, n, last_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (flow, route, state) DO UPDATE SET n = n + excluded.n, last_at = max(last_at, excluded.last_at)`

	// qRequeueFrom reads what a requeue takes a delivery out of.
	qRequeueFrom = `SELECT flow, route, state FROM deliveries WHERE id = ?`

	qInsertAudit = `INSERT INTO audit (at, actor, action, target, reason, detail)
		VALUES (?, ?, ?, ?, ?, ?)`

	qQuarantineStatus = `UPDATE quarantine SET status = ?, updated_at = ? WHERE id = ?`
)

// stmts are the writer's prepared statements.
type stmts struct {
	conn *sql.Conn // for the rare statements not worth preparing (pruning)

	begin, commit, rollback *sql.Stmt

	dedupe, insertMessage, insertQuarantine, headOpen, insertDelivery *sql.Stmt

	loadForComplete, insertAttempt, complete, upsertEffect, insertXRef, head, claimHead *sql.Stmt

	claim, claimFlows, releaseLeases, postpone, requeue, insertAudit, quarantineStatus *sql.Stmt

	routeTotal, requeueFrom *sql.Stmt

	// The hot path's statements, run inside wtx.hot (see rawStmt).
	raw struct {
		dedupe, insertMessage, headOpen, insertDelivery *rawStmt
		complete, insertAttempt, upsertEffect           *rawStmt
	}

	all    []*sql.Stmt
	allRaw []*rawStmt
}

func prepare(ctx context.Context, conn *sql.Conn) (*stmts, error) {
	st := &stmts{conn: conn}
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		// BEGIN IMMEDIATE takes the write lock at once: a second process
		// (the CLI) then waits in busy_timeout instead of failing mid-batch.
		{&st.begin, "BEGIN IMMEDIATE"},
		{&st.commit, "COMMIT"},
		{&st.rollback, "ROLLBACK"},
		{&st.dedupe, qDedupe},
		{&st.insertMessage, qInsertMessage},
		{&st.insertQuarantine, qInsertQuarantine},
		{&st.headOpen, qHeadOpen},
		{&st.insertDelivery, qInsertDelivery},
		{&st.loadForComplete, qLoadForComplete},
		{&st.insertAttempt, qInsertAttempt},
		{&st.complete, qComplete},
		{&st.upsertEffect, qUpsertEffect},
		{&st.insertXRef, qInsertXRef},
		{&st.head, qHead},
		{&st.claimHead, qClaimHead},
		{&st.claim, fmt.Sprintf(qClaim, "")},
		{&st.claimFlows, fmt.Sprintf(qClaim, claimFlows)},
		{&st.releaseLeases, qReleaseLeases},
		{&st.postpone, qPostpone},
		{&st.requeue, qRequeue},
		{&st.insertAudit, qInsertAudit},
		{&st.quarantineStatus, qQuarantineStatus},
		{&st.routeTotal, qRouteTotal},
		{&st.requeueFrom, qRequeueFrom},
	} {
		s, err := conn.PrepareContext(ctx, p.sql)
		if err != nil {
			st.close()
			return nil, err
		}
		*p.dst = s
		st.all = append(st.all, s)
	}
	err := conn.Raw(func(dc any) error {
		for _, p := range []struct {
			dst **rawStmt
			sql string
		}{
			{&st.raw.dedupe, qDedupe},
			{&st.raw.insertMessage, qInsertMessage},
			{&st.raw.headOpen, qHeadOpen},
			{&st.raw.insertDelivery, qInsertDelivery},
			{&st.raw.complete, qComplete},
			{&st.raw.insertAttempt, qInsertAttempt},
			{&st.raw.upsertEffect, qUpsertEffect},
		} {
			s, err := prepareRaw(ctx, dc, p.sql)
			if err != nil {
				return err
			}
			*p.dst = s
			st.allRaw = append(st.allRaw, s)
		}
		return nil
	})
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

func (st *stmts) close() error {
	var errs []error
	for _, s := range st.all {
		errs = append(errs, s.Close())
	}
	errs = append(errs, st.conn.Raw(func(any) error {
		for _, s := range st.allRaw {
			errs = append(errs, s.close())
		}
		return nil
	}))
	return errors.Join(errs...)
}
