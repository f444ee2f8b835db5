package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// DeliveryComplete implements store.Store.
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
	var (
		number int
		next   *seam.Delivery
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		number, next, err = tx.complete(p)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("complete delivery %d: %w", p.DeliveryID, err)
	}
	p.Attempt.DeliveryID, p.Attempt.Number = p.DeliveryID, number
	res := &store.CompleteResult{}
	if next != nil {
		res.Next = []*seam.Delivery{next}
	}
	return res, nil
}

// complete records the attempt and moves the delivery on; it returns the
// attempt's number and the next delivery of an ordered key, if this
// completion unblocked one and it could be claimed.
func (tx *wtx) complete(p *store.CompleteParams) (int, *seam.Delivery, error) {
	ctx := context.Background()
	now := nanos(p.Now)
	a := p.Attempt
	nextAt := now
	if p.State == seam.DeliveryRetrying && !p.NextAt.IsZero() {
		nextAt = nanos(p.NextAt)
	}
	var (
		flow, route, key, idemKey string
		number                    int
		ordered, found            bool
	)
	err := tx.hot(func() error {
		err := tx.st.raw.complete.queryRow([]any{string(p.State), nextAt, a.Status, a.Error, now, p.DeliveryID, p.Node},
			&number, &flow, &route, &key, &ordered, &idemKey)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("update delivery: %w", err)
		}
		found = true

		startedAt := nanos(a.StartedAt)
		if startedAt == 0 {
			startedAt = now
		}
		var response any
		if len(a.Response) > 0 {
			response = a.Response
		}
		if _, err := tx.st.raw.insertAttempt.insert(p.DeliveryID, number, startedAt, int64(a.Duration),
			a.Status, a.Error, response); err != nil {
			return fmt.Errorf("insert attempt: %w", err)
		}
		if p.State != seam.DeliveryDelivered {
			return nil
		}
		// The effect is what every later replay consults, so it is recorded
		// on every success; p.Effect only overrides what the delivery implies.
		e := seam.Effect{Flow: flow, Route: route, Key: idemKey, At: p.Now}
		if p.Effect != nil {
			e.Flow, e.Route, e.Key = orDefault(p.Effect.Flow, flow), orDefault(p.Effect.Route, route), orDefault(p.Effect.Key, idemKey)
			if !p.Effect.At.IsZero() {
				e.At = p.Effect.At
			}
		}
		if e.Key != "" {
			if _, err := tx.st.raw.upsertEffect.insert(e.Flow, e.Route, e.Key, p.DeliveryID, nanos(e.At)); err != nil {
				return fmt.Errorf("record effect: %w", err)
			}
		}
		tx.countFinal(flow, route, p.State, 1, now)
		return nil
	})
	if err != nil {
		return 0, nil, err
	}
	if !found {
		return 0, nil, tx.whyNotComplete(p)
	}
	if p.State != seam.DeliveryDelivered {
		// retrying and dead keep the key blocked: nothing is unblocked.
		return number, nil, nil
	}

	for _, x := range p.XRefs {
		createdAt := now
		if !x.CreatedAt.IsZero() {
			createdAt = nanos(x.CreatedAt)
		}
		if _, err := tx.st.insertXRef.ExecContext(ctx, x.Entity, x.Key, x.System, x.Name, x.Value, createdAt); err != nil {
			return 0, nil, fmt.Errorf("record xref: %w", err)
		}
	}

	if !ordered || p.Lease <= 0 {
		return number, nil, nil
	}
	var head int64
	err = tx.st.head.QueryRowContext(ctx, flow, route, key).Scan(&head)
	if errors.Is(err, sql.ErrNoRows) {
		return number, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("find next delivery: %w", err)
	}
	rows, err := tx.st.claimHead.QueryContext(ctx, p.Node, now+int64(p.Lease), now, head, now)
	if err != nil {
		return 0, nil, fmt.Errorf("claim next delivery: %w", err)
	}
	next, err := scanDeliveries(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("claim next delivery: %w", err)
	}
	if len(next) == 0 {
		return number, nil, nil // the head is not due yet
	}
	return number, next[0], nil
}

// whyNotComplete says why qComplete matched no row: the delivery is gone,
// or it is no longer leased to p.Node (once another node took it over,
// that node's attempt is the one that counts). Nothing has been written.
func (tx *wtx) whyNotComplete(p *store.CompleteParams) error {
	var state string
	err := tx.st.loadForComplete.QueryRowContext(context.Background(), p.DeliveryID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("load delivery: %w", err)
	}
	return &seam.Error{Code: seam.ECONFLICT,
		Message: fmt.Sprintf("delivery %d is not leased to %s (it is %s)", p.DeliveryID, p.Node, state)}
}

// DeliveryPostpone implements store.Store.
func (s *Store) DeliveryPostpone(ctx context.Context, p *store.PostponeParams) error {
	if p == nil || p.Node == "" || p.Now.IsZero() {
		return seam.Errorf(seam.EINVALID, "postpone delivery: node and time are required")
	}
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.st.postpone.ExecContext(context.Background(), nanos(p.NextAt), nanos(p.Now), p.DeliveryID, p.Node)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return &seam.Error{Code: seam.ECONFLICT, Message: fmt.Sprintf("delivery %d is not leased to %s", p.DeliveryID, p.Node)}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postpone delivery %d: %w", p.DeliveryID, err)
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
	var flows []byte
	if len(p.Flows) > 0 {
		var err error
		if flows, err = json.Marshal(p.Flows); err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
	}
	now := nanos(p.Now)
	var out []*seam.Delivery
	err := s.w.do(ctx, func(tx *wtx) error {
		var (
			rows *sql.Rows
			err  error
		)
		if flows == nil {
			rows, err = tx.st.claim.QueryContext(context.Background(), p.Node, now+int64(p.Lease), now, p.Limit)
		} else {
			rows, err = tx.st.claimFlows.QueryContext(context.Background(), p.Node, now+int64(p.Lease), now, p.Limit, string(flows))
		}
		if err != nil {
			return err
		}
		out, err = scanDeliveries(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
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

// DeliveryReleaseLeases implements store.Store.
func (s *Store) DeliveryReleaseLeases(ctx context.Context, node string) error {
	var released int64
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.st.releaseLeases.ExecContext(context.Background(), node)
		if err != nil {
			return err
		}
		released, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("release leases: %w", err)
	}
	if released > 0 {
		s.signal()
	}
	return nil
}

// DeliveryRequeue implements store.Store. Deliveries being sent under a
// live lease are left alone and not counted; so are unknown IDs.
func (s *Store) DeliveryRequeue(ctx context.Context, p *store.RequeueParams) (int, error) {
	if p == nil || p.Now.IsZero() {
		return 0, seam.Errorf(seam.EINVALID, "requeue deliveries: no time")
	}
	var n int
	err := s.w.do(ctx, func(tx *wtx) error {
		n = 0
		for _, id := range p.DeliveryIDs {
			var payload any
			if b, ok := p.Payloads[id]; ok {
				payload = nonNil(b)
			}
			var flow, route, from string
			err := tx.st.requeueFrom.QueryRowContext(context.Background(), id).Scan(&flow, &route, &from)
			if errors.Is(err, sql.ErrNoRows) {
				continue // requeued nothing: RequeueParams may name deliveries pruned since
			}
			if err != nil {
				return err
			}
			res, err := tx.st.requeue.ExecContext(context.Background(), nanos(p.Now), payload, id)
			if err != nil {
				return err
			}
			c, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if c > 0 {
				tx.countFinal(flow, route, seam.DeliveryState(from), -1, 0)
			}
			n += int(c)
		}
		return tx.audit(p.Audit, p.Now)
	})
	if err != nil {
		return 0, fmt.Errorf("requeue deliveries: %w", err)
	}
	if n > 0 {
		s.signal()
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
	err := s.w.do(ctx, func(tx *wtx) error {
		res, err := tx.st.quarantineStatus.ExecContext(context.Background(), string(p.Status), nanos(p.Now), p.ID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound // nothing was written, so the batch may go on
		}
		return tx.audit(p.Audit, p.Now)
	})
	if err != nil {
		return fmt.Errorf("set quarantine %d status: %w", p.ID, err)
	}
	return nil
}

// AuditAppend implements store.Store. A zero At is stamped with the
// current time, since an operator action happens now.
func (s *Store) AuditAppend(ctx context.Context, e *seam.AuditEvent) error {
	if e == nil {
		return seam.Errorf(seam.EINVALID, "append audit: no event")
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	var id int64
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		id, err = tx.insertAudit(e, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	e.ID, e.At = id, at.UTC()
	return nil
}

// audit appends e, if any, stamped at now when it carries no time of its own.
func (tx *wtx) audit(e *seam.AuditEvent, now time.Time) error {
	if e == nil {
		return nil
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	// The caller waits for this write, so it may read the id once the
	// call returns: the audit event of a replay is then cited by its id.
	id, err := tx.insertAudit(e, at)
	if err == nil {
		e.ID = id
	}
	return err
}

func (tx *wtx) insertAudit(e *seam.AuditEvent, at time.Time) (int64, error) {
	var detail any
	if len(e.Detail) > 0 {
		detail = []byte(e.Detail)
	}
	res, err := tx.st.insertAudit.ExecContext(context.Background(), nanos(at), e.Actor, e.Action, e.Target, e.Reason, detail)
	if err != nil {
		return 0, fmt.Errorf("insert audit: %w", err)
	}
	return res.LastInsertId()
}
