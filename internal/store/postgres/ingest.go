package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// MessageIngest implements store.Store in one round trip: the advisory
// locks of the record (its dedupe key, its ordered keys) and the one
// statement that stores it go in one batch, which commits as one implicit
// transaction before the batch's results are complete.
func (s *Store) MessageIngest(ctx context.Context, p *store.IngestParams) (*store.IngestResult, error) {
	if err := checkIngest(p); err != nil {
		return nil, err
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	m := p.Message
	receivedAt := m.ReceivedAt
	if receivedAt.IsZero() {
		receivedAt = p.Now
	}
	now := nanos(p.Now)

	var (
		spaces []int32
		names  []string
		notify bool
	)
	// Only accepted records are dedupe originals: a sender who fixes a
	// refused record and sends it again under the same key must be heard.
	var dedupeKey *string
	if p.DedupeKey != "" && p.Quarantine == nil {
		dedupeKey = &p.DedupeKey
		spaces, names = append(spaces, lockDedupe), append(names, p.DedupeKey)
	}
	var canonical []byte
	status := seam.MessageAccepted
	if p.Quarantine != nil {
		status = seam.MessageQuarantined
	} else {
		canonical = nullBytes(m.Canonical)
	}

	var (
		qFlow                           *string
		qKey, qStage, qReasons, qStatus string
	)
	if q := p.Quarantine; q != nil {
		reasons, err := json.Marshal(q.Reasons)
		if err != nil {
			return nil, seam.Errorf(seam.EINVALID, "ingest message: quarantine reasons: %v", err)
		}
		f := orDefault(q.Flow, m.Flow)
		qFlow, qKey, qStage, qReasons, qStatus = &f, orDefault(q.Key, m.Key), string(q.Stage), string(reasons), string(openIfEmpty(q.Status))
	}

	n := len(p.Deliveries)
	var (
		dFlow, dRoute, dKey, dState, dIdem = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		dOrdered, dClaim                   = make([]bool, n), make([]bool, n)
		dPayload                           = make([][]byte, n)
		dNextAt                            = make([]int64, n)
	)
	for i, d := range p.Deliveries {
		dFlow[i], dRoute[i], dKey[i] = orDefault(d.Flow, m.Flow), d.Route, orDefault(d.Key, m.Key)
		dState[i], dIdem[i], dOrdered[i], dPayload[i] = string(d.State), d.IdempotencyKey, d.Ordered, nonNil(d.Payload)
		dNextAt[i] = now
		if !d.NextAt.IsZero() {
			dNextAt[i] = nanos(d.NextAt)
		}
		due := d.State == seam.DeliveryPending && dNextAt[i] <= now
		dClaim[i] = p.Node != "" && due
		// Deliveries due now that no node takes with it are announced, so
		// a node claims them without waiting for its poll. Those behind an
		// open head of their key need no announcement: the completion of
		// the head hands them over.
		notify = notify || (due && p.Node == "")
		if d.Ordered && d.State == seam.DeliveryPending {
			spaces = append(spaces, lockOrdered)
			names = append(names, dFlow[i]+"\x1f"+d.Route+"\x1f"+dKey[i])
		}
	}
	nx := len(p.XRefs)
	xEntity, xKey, xSystem, xName, xValue := make([]string, nx), make([]string, nx), make([]string, nx), make([]string, nx), make([]string, nx)
	for i, x := range p.XRefs {
		xEntity[i], xKey[i], xSystem[i], xName[i], xValue[i] = x.Entity, orDefault(x.Key, m.Key), orDefault(x.System, m.System), x.Name, x.Value
	}
	var leaseOwner *string
	if p.Node != "" {
		leaseOwner = &p.Node
	}

	b := &pgx.Batch{}
	if len(spaces) > 0 {
		b.Queue(qLock, spaces, names)
	}
	var (
		dupID, msgID, qID *int64
		ids               []int64
		states            []string
	)
	b.Queue(qIngest,
		m.Flow, m.System, m.Key, string(status), nanos(receivedAt), m.ContentType, nonNil(m.Body), canonical,
		m.TraceID, m.ReplayOf, dedupeKey, now-int64(p.DedupeWindow),
		qFlow, qKey, qStage, qReasons, qStatus, now,
		dFlow, dRoute, dKey, dState, dIdem, dOrdered, dPayload, dNextAt, dClaim, leaseOwner, now+int64(p.Lease),
		xEntity, xKey, xSystem, xName, xValue,
	).QueryRow(func(r pgx.Row) error {
		return r.Scan(&dupID, &msgID, &qID, &ids, &states)
	})
	if notify {
		b.Queue(qNotify)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("ingest message: %w", mapErr(err))
	}
	if dupID != nil {
		return &store.IngestResult{MessageID: *dupID, Duplicate: true}, nil
	}
	if msgID == nil || len(ids) != n {
		return nil, fmt.Errorf("ingest message: stored %d of %d deliveries", len(ids), n)
	}

	m.ID = *msgID
	m.ReceivedAt = receivedAt
	m.Status = status
	res := &store.IngestResult{MessageID: *msgID}
	if q := p.Quarantine; q != nil {
		q.ID, q.MessageID = *qID, *msgID
		q.Flow, q.Key = orDefault(q.Flow, m.Flow), orDefault(q.Key, m.Key)
		q.Status = openIfEmpty(q.Status)
		q.ReceivedAt = receivedAt
		q.ContentType, q.Body = m.ContentType, m.Body
		return res, nil
	}
	for i, d := range p.Deliveries {
		d.ID, d.Seq, d.MessageID = ids[i], ids[i], *msgID
		d.Flow, d.Key = dFlow[i], dKey[i]
		d.NextAt = fromNanos(dNextAt[i])
		d.CreatedAt, d.UpdatedAt = p.Now, p.Now
		if states[i] == string(seam.DeliveryInFlight) {
			d.State = seam.DeliveryInFlight
			res.Claimed = append(res.Claimed, d)
		}
	}
	return res, nil
}

// checkIngest refuses what the ledger cannot store, with the SQLite
// driver's words: both drivers answer a bad call the same way.
func checkIngest(p *store.IngestParams) error {
	switch {
	case p == nil || p.Message == nil:
		return seam.Errorf(seam.EINVALID, "ingest message: no message")
	case p.Message.Flow == "":
		return seam.Errorf(seam.EINVALID, "ingest message: no flow")
	case p.Now.IsZero():
		return seam.Errorf(seam.EINVALID, "ingest message: no time")
	case p.DedupeKey != "" && p.DedupeWindow <= 0:
		return seam.Errorf(seam.EINVALID, "ingest message: dedupe key %q without a window", p.DedupeKey)
	case p.Node != "" && p.Lease <= 0:
		return seam.Errorf(seam.EINVALID, "ingest message: node %q without a lease", p.Node)
	case p.Quarantine != nil && len(p.Deliveries) > 0:
		return seam.Errorf(seam.EINVALID, "ingest message: both quarantined and delivered")
	}
	for _, d := range p.Deliveries {
		if d == nil || d.Route == "" {
			return seam.Errorf(seam.EINVALID, "ingest message: delivery without a route")
		}
		if d.State != seam.DeliveryPending && d.State != seam.DeliverySkipped {
			return seam.Errorf(seam.EINVALID, "ingest message: delivery to %s is %q, not pending or skipped", d.Route, d.State)
		}
	}
	return nil
}

func openIfEmpty(s seam.QuarantineStatus) seam.QuarantineStatus {
	if s == "" {
		return seam.QuarantineOpen
	}
	return s
}
