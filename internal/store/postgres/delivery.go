package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// DeliveryComplete implements store.Store in one round trip: the lock of
// the delivery's ordered key (when the completion may unblock the next
// delivery of that key), the completion with its attempt, effect and
// cross-references, and the claim of the next delivery go in one batch,
// one implicit transaction.
func (s *Store) DeliveryComplete(ctx context.Context, p *store.CompleteParams) (*store.CompleteResult, error) {
	switch {
	case p == nil || p.Attempt == nil:
		return nil, seam.Errorf(seam.EINVALID, "complete delivery: no attempt")
	case p.Node == "":
		return nil, seam.Errorf(seam.EINVALID, "complete delivery %d: no node", p.DeliveryID)
	case p.Now.IsZero():
		return nil, seam.Errorf(seam.EINVALID, "complete delivery %d: no time", p.DeliveryID)
	case p.State != seam.DeliveryDelivered && p.State != seam.DeliveryRetrying && p.State != seam.DeliveryDead:
		return nil, seam.Errorf(seam.EINVALID, "complete delivery %d: cannot complete as %q", p.DeliveryID, p.State)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	now := nanos(p.Now)
	a := p.Attempt
	startedAt := nanos(a.StartedAt)
	if startedAt == 0 {
		startedAt = now
	}
	nextAt := now
	if !p.NextAt.IsZero() {
		nextAt = nanos(p.NextAt)
	}
	// The effect is what every later replay consults, so it is recorded on
	// every success; p.Effect only overrides what the delivery implies.
	var eFlow, eRoute, eKey string
	eAt := now
	if e := p.Effect; e != nil {
		eFlow, eRoute, eKey = e.Flow, e.Route, e.Key
		if !e.At.IsZero() {
			eAt = nanos(e.At)
		}
	}
	n := len(p.XRefs)
	xEntity, xKey, xSystem, xName, xValue := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	xCreated := make([]int64, n)
	for i, x := range p.XRefs {
		xEntity[i], xKey[i], xSystem[i], xName[i], xValue[i] = x.Entity, x.Key, x.System, x.Name, x.Value
		xCreated[i] = now
		if !x.CreatedAt.IsZero() {
			xCreated[i] = nanos(x.CreatedAt)
		}
	}
	// retrying and dead keep the key blocked: only a success can unblock
	// the next delivery, and only a caller with a lease to give takes it.
	wantNext := p.State == seam.DeliveryDelivered && p.Lease > 0

	b := &pgx.Batch{}
	if wantNext {
		b.Queue(qLockDeliveryKey, p.DeliveryID)
	}
	var (
		number int
		done   bool
		next   []*seam.Delivery
	)
	b.Queue(qComplete, p.DeliveryID, p.Node, string(p.State), nextAt, a.Status, a.Error, now,
		startedAt, int64(a.Duration), nullBytes(a.Response), eFlow, eRoute, eKey, eAt,
		xEntity, xKey, xSystem, xName, xValue, xCreated,
	).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var mark string
			if err := rows.Scan(&number, &mark); err != nil {
				return err
			}
			done = true
		}
		return rows.Err()
	})
	if wantNext {
		b.Queue(qClaimNext, p.DeliveryID, p.Node, now+int64(p.Lease), now, strconv.FormatInt(p.DeliveryID, 10)).
			Query(func(rows pgx.Rows) error {
				var err error
				next, err = scanDeliveries(rows)
				return err
			})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("complete delivery %d: %w", p.DeliveryID, mapErr(err))
	}
	if !done {
		return nil, fmt.Errorf("complete delivery %d: %w", p.DeliveryID, s.refused(ctx, p.DeliveryID, p.Node))
	}
	p.Attempt.DeliveryID, p.Attempt.Number = p.DeliveryID, number
	return &store.CompleteResult{Next: next}, nil
}

// refused says why a completion changed nothing: the delivery does not
// exist, or it is not leased to node (any more).
func (s *Store) refused(ctx context.Context, id int64, node string) error {
	var state, owner string
	if err := s.pool.QueryRow(ctx, qCompleteRefused, id).Scan(&state, &owner); err != nil {
		return mapErr(err)
	}
	return &seam.Error{Code: seam.ECONFLICT,
		Message: fmt.Sprintf("delivery %d is not leased to %s (it is %s)", id, node, state)}
}

// DeliveryPostpone implements store.Store.
func (s *Store) DeliveryPostpone(ctx context.Context, p *store.PostponeParams) error {
	if p == nil || p.Node == "" || p.Now.IsZero() {
		return seam.Errorf(seam.EINVALID, "postpone delivery: node and time are required")
	}
	if err := s.check(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, qPostpone, nanos(p.NextAt), nanos(p.Now), p.DeliveryID, p.Node)
	if err != nil {
		return fmt.Errorf("postpone delivery %d: %w", p.DeliveryID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postpone delivery %d: %w", p.DeliveryID,
			&seam.Error{Code: seam.ECONFLICT, Message: fmt.Sprintf("delivery %d is not leased to %s", p.DeliveryID, p.Node)})
	}
	return nil
}

// DeliveryClaim implements store.Store.
func (s *Store) DeliveryClaim(ctx context.Context, p *store.ClaimParams) ([]*seam.Delivery, error) {
	switch {
	case p == nil || p.Node == "":
		return nil, seam.Errorf(seam.EINVALID, "claim deliveries: no node")
	case p.Limit <= 0:
		return nil, seam.Errorf(seam.EINVALID, "claim deliveries: limit %d", p.Limit)
	case p.Lease <= 0:
		return nil, seam.Errorf(seam.EINVALID, "claim deliveries: lease %v", p.Lease)
	case p.Now.IsZero():
		return nil, seam.Errorf(seam.EINVALID, "claim deliveries: no time")
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	var flows []string // nil: every flow
	if len(p.Flows) > 0 {
		flows = p.Flows
	}
	now := nanos(p.Now)
	rows, err := s.pool.Query(ctx, qClaim, p.Node, now+int64(p.Lease), now, p.Limit, flows)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", mapErr(err))
	}
	out, err := scanDeliveries(rows)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", mapErr(err))
	}
	// RETURNING gives no order; callers expect the oldest due first.
	slices.SortFunc(out, func(a, b *seam.Delivery) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// DeliveryReleaseLeases implements store.Store. On a shared store only a
// node's own leases (node set) should be released: with node empty it
// releases every node's, which only an operator who knows every node is
// stopped may ask for.
func (s *Store) DeliveryReleaseLeases(ctx context.Context, node string) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, qReleaseLeases, node); err != nil {
		return fmt.Errorf("release leases: %w", mapErr(err))
	}
	return nil
}

// DeliveryRequeue implements store.Store. Deliveries being sent under a
// live lease are left alone and not counted; so are unknown IDs.
func (s *Store) DeliveryRequeue(ctx context.Context, p *store.RequeueParams) (int, error) {
	if p == nil || p.Now.IsZero() {
		return 0, seam.Errorf(seam.EINVALID, "requeue deliveries: no time")
	}
	if err := s.check(); err != nil {
		return 0, err
	}
	ids := p.DeliveryIDs
	payloads, has := make([][]byte, len(ids)), make([]bool, len(ids))
	for i, id := range ids {
		if body, ok := p.Payloads[id]; ok {
			payloads[i], has[i] = nonNil(body), true
		}
	}
	b := &pgx.Batch{}
	var n int
	b.Queue(qRequeue, nanos(p.Now), ids, payloads, has).QueryRow(func(r pgx.Row) error {
		var notified int
		return r.Scan(&n, &notified)
	})
	if e := p.Audit; e != nil {
		queueAudit(b, e, auditTime(e.At, p.Now))
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("requeue deliveries: %w", mapErr(err))
	}
	return n, nil
}

// QuarantineSetStatus implements store.Store.
func (s *Store) QuarantineSetStatus(ctx context.Context, p *store.QuarantineStatusParams) error {
	switch {
	case p == nil || p.Now.IsZero():
		return seam.Errorf(seam.EINVALID, "set quarantine status: no time")
	case p.Status != seam.QuarantineOpen && p.Status != seam.QuarantineReplayed && p.Status != seam.QuarantineDiscarded:
		return seam.Errorf(seam.EINVALID, "set quarantine status: unknown status %q", p.Status)
	}
	if err := s.check(); err != nil {
		return err
	}
	var (
		at                            int64
		actor, action, target, reason string
		detail                        []byte
		withAudit                     = p.Audit != nil
	)
	if e := p.Audit; e != nil {
		at, actor, action, target, reason, detail = nanos(auditTime(e.At, p.Now)), e.Actor, e.Action, e.Target, e.Reason, nullBytes(e.Detail)
	}
	var n int
	err := s.pool.QueryRow(ctx, qQuarantineStatus, string(p.Status), nanos(p.Now), p.ID,
		at, actor, action, target, reason, withAudit, detail).Scan(&n)
	if err != nil {
		return fmt.Errorf("set quarantine %d status: %w", p.ID, mapErr(err))
	}
	if n == 0 {
		return fmt.Errorf("set quarantine %d status: %w", p.ID, store.ErrNotFound)
	}
	return nil
}

// AuditAppend implements store.Store. A zero At is stamped with the
// current time, since an operator action happens now.
func (s *Store) AuditAppend(ctx context.Context, e *seam.AuditEvent) error {
	if e == nil {
		return seam.Errorf(seam.EINVALID, "append audit: no event")
	}
	if err := s.check(); err != nil {
		return err
	}
	at := auditTime(e.At, time.Now())
	var id int64
	err := s.pool.QueryRow(ctx, qInsertAudit, nanos(at), e.Actor, e.Action, e.Target, e.Reason, nullBytes(e.Detail)).Scan(&id)
	if err != nil {
		return fmt.Errorf("append audit: %w", mapErr(err))
	}
	e.ID, e.At = id, at.UTC()
	return nil
}

// queueAudit appends e to a batch, so it commits with the change it records.
// The caller learns the event's id (to cite it) once the batch is done.
func queueAudit(b *pgx.Batch, e *seam.AuditEvent, at time.Time) {
	b.Queue(qInsertAudit, nanos(at), e.Actor, e.Action, e.Target, e.Reason, nullBytes(e.Detail)).QueryRow(func(r pgx.Row) error {
		return r.Scan(&e.ID)
	})
}

// auditTime is an event's own time, or now when it carries none.
func auditTime(at, now time.Time) time.Time {
	if at.IsZero() {
		return now
	}
	return at
}
