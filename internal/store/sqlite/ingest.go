package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// MessageIngest implements store.Store.
func (s *Store) MessageIngest(ctx context.Context, p *store.IngestParams) (*store.IngestResult, error) {
	if err := checkIngest(p); err != nil {
		return nil, err
	}
	var reasons []byte
	if p.Quarantine != nil {
		var err error
		if reasons, err = json.Marshal(p.Quarantine.Reasons); err != nil {
			return nil, seam.Errorf(seam.EINVALID, "ingest message: quarantine reasons: %v", err)
		}
	}
	m := p.Message
	receivedAt := m.ReceivedAt
	if receivedAt.IsZero() {
		receivedAt = p.Now
	}

	// What the writer decides; the caller's structs are filled in only
	// after the commit, in this goroutine, so a caller that gave up
	// waiting never races the writer.
	var (
		messageID int64
		qID       int64
		dup       bool
		ids       = make([]int64, len(p.Deliveries))
		claimed   = make([]bool, len(p.Deliveries))
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		messageID, dup, err = tx.ingest(p, receivedAt, reasons, &qID, ids, claimed)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("ingest message: %w", err)
	}
	if dup {
		return &store.IngestResult{MessageID: messageID, Duplicate: true}, nil
	}

	m.ID = messageID
	m.ReceivedAt = receivedAt
	m.Status = seam.MessageAccepted
	res := &store.IngestResult{MessageID: messageID}
	if q := p.Quarantine; q != nil {
		m.Status = seam.MessageQuarantined
		q.ID, q.MessageID = qID, messageID
		q.Flow, q.Key = orDefault(q.Flow, m.Flow), orDefault(q.Key, m.Key)
		q.Status = openIfEmpty(q.Status)
		q.ReceivedAt = receivedAt
		q.ContentType, q.Body = m.ContentType, m.Body
		return res, nil
	}
	wake := false
	for i, d := range p.Deliveries {
		d.ID, d.Seq, d.MessageID = ids[i], ids[i], messageID
		d.Flow, d.Key = orDefault(d.Flow, m.Flow), orDefault(d.Key, m.Key)
		if d.NextAt.IsZero() {
			d.NextAt = p.Now
		}
		d.CreatedAt, d.UpdatedAt = p.Now, p.Now
		if claimed[i] {
			d.State = seam.DeliveryInFlight
			res.Claimed = append(res.Claimed, d)
		}
		// Due now with no node to send it: the poller is told at once.
		wake = wake || (p.Node == "" && d.State == seam.DeliveryPending && !d.NextAt.After(p.Now))
	}
	if wake {
		s.signal()
	}
	return res, nil
}

// ingest writes one record and returns its message ID and whether it is a
// duplicate. qID receives the quarantine entry's ID; ids and claimed
// receive, per delivery, its ID and whether it was leased to p.Node.
func (tx *wtx) ingest(p *store.IngestParams, receivedAt time.Time, reasons []byte, qID *int64, ids []int64, claimed []bool) (int64, bool, error) {
	m := p.Message
	now := nanos(p.Now)
	var (
		id  int64
		dup bool
	)
	err := tx.hot(func() error {
		var err error
		id, dup, err = tx.ingestHot(p, receivedAt, ids, claimed)
		return err
	})
	if err != nil || dup {
		return id, dup, err
	}

	if q := p.Quarantine; q != nil {
		res, err := tx.st.insertQuarantine.ExecContext(context.Background(), id, orDefault(q.Flow, m.Flow), orDefault(q.Key, m.Key),
			string(q.Stage), reasons, string(openIfEmpty(q.Status)), nanos(receivedAt), now)
		if err != nil {
			return 0, false, fmt.Errorf("insert quarantine: %w", err)
		}
		if *qID, err = res.LastInsertId(); err != nil {
			return 0, false, fmt.Errorf("insert quarantine: %w", err)
		}
		return id, false, nil
	}
	for _, x := range p.XRefs {
		if _, err := tx.st.insertXRef.ExecContext(context.Background(), x.Entity, orDefault(x.Key, m.Key), orDefault(x.System, m.System),
			x.Name, x.Value, now); err != nil {
			return 0, false, fmt.Errorf("record link: %w", err)
		}
	}
	return id, false, nil
}

// ingestHot is what every record runs: the dedupe check, the message and
// (unless it is quarantined) its deliveries. It runs inside wtx.hot.
func (tx *wtx) ingestHot(p *store.IngestParams, receivedAt time.Time, ids []int64, claimed []bool) (int64, bool, error) {
	m := p.Message
	now := nanos(p.Now)
	raw := &tx.st.raw

	// Only accepted records are dedupe originals: a sender who fixes a
	// refused record and sends it again under the same key must be heard.
	var dedupeKey any
	if p.DedupeKey != "" && p.Quarantine == nil {
		var orig int64
		system, key, _ := strings.Cut(p.DedupeKey, ":")
		err := raw.dedupe.queryRow([]any{p.DedupeKey, system, key, now - int64(p.DedupeWindow)}, &orig)
		switch {
		case err == nil:
			return orig, true, nil
		case !errors.Is(err, sql.ErrNoRows):
			return 0, false, fmt.Errorf("check dedupe: %w", err)
		}
		dedupeKey = p.DedupeKey
	}

	status := seam.MessageAccepted
	var canonical any
	if p.Quarantine != nil {
		status = seam.MessageQuarantined
	} else if len(m.Canonical) > 0 {
		canonical = []byte(m.Canonical)
	}
	id, err := raw.insertMessage.insert(m.Flow, m.System, m.Key, string(status), nanos(receivedAt),
		m.ContentType, nonNil(m.Body), canonical, m.TraceID, m.ReplayOf, dedupeKey)
	if err != nil {
		return 0, false, fmt.Errorf("insert message: %w", err)
	}
	if p.Quarantine != nil {
		return id, false, nil
	}

	for i, d := range p.Deliveries {
		flow, key := orDefault(d.Flow, m.Flow), orDefault(d.Key, m.Key)
		nextAt := now
		if !d.NextAt.IsZero() {
			nextAt = nanos(d.NextAt)
		}
		state := d.State
		var leaseOwner, leaseUntil any
		claimed[i] = false
		if p.Node != "" && state == seam.DeliveryPending && nextAt <= now {
			ready := true
			if d.Ordered {
				// Any open delivery of the key was created earlier, so it
				// is ahead of this one.
				var one int64
				err := raw.headOpen.queryRow([]any{flow, d.Route, key}, &one)
				switch {
				case err == nil:
					ready = false
				case !errors.Is(err, sql.ErrNoRows):
					return 0, false, fmt.Errorf("check ordered head: %w", err)
				}
			}
			if ready {
				state, leaseOwner, leaseUntil = seam.DeliveryInFlight, p.Node, now+int64(p.Lease)
				claimed[i] = true
			}
		}
		if ids[i], err = raw.insertDelivery.insert(id, flow, d.Route, key, string(state), d.IdempotencyKey,
			d.Ordered, nonNil(d.Payload), nextAt, leaseOwner, leaseUntil, now, now); err != nil {
			return 0, false, fmt.Errorf("insert delivery: %w", err)
		}
		tx.countFinal(flow, d.Route, state, 1, 0) // a route skipped at intake
	}
	return id, false, nil
}

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

// orDefault returns v, or def when v is empty: deliveries and quarantine entries
// default to their message's flow and key.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func openIfEmpty(s seam.QuarantineStatus) seam.QuarantineStatus {
	if s == "" {
		return seam.QuarantineOpen
	}
	return s
}

// nonNil keeps NOT NULL blob columns satisfied by an empty body.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
