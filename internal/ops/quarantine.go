package ops

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// QuarantineResult says what a quarantine replay did.
type QuarantineResult struct {
	QuarantineID int64           `json:"quarantine_id"`
	Accepted     bool            `json:"accepted"`
	MessageID    int64           `json:"message_id,omitempty"` // the new message, when accepted
	Key          string          `json:"key,omitempty"`
	Deliveries   int             `json:"deliveries,omitempty"`
	Reasons      []seam.Reason   `json:"reasons,omitempty"` // why it is still refused
	DryRun       bool            `json:"dry_run,omitempty"`
	Canonical    json.RawMessage `json:"canonical,omitempty"`
}

// QuarantineReplay runs a quarantined record's raw body through the running
// catalog (after a fix to the mapping, or to the sender). When it is now
// accepted, it becomes a new message linked to the original, with the same
// idempotency key, and the entry is marked replayed; when it is still
// refused, nothing changes and the reasons say why.
func (s *Service) QuarantineReplay(ctx context.Context, id int64, actor, reason string, dryRun bool) (*QuarantineResult, error) {
	q, err := s.Store.QuarantineGet(ctx, id)
	if err != nil {
		return nil, err
	}
	if q.Status != seam.QuarantineOpen {
		return nil, seam.Errorf(seam.ECONFLICT, "quarantine entry %d is already %s", id, q.Status)
	}
	res, err := s.process(ctx, q.Flow, q.ContentType, q.Body)
	if err != nil {
		return nil, err
	}
	out := &QuarantineResult{QuarantineID: id, Accepted: res.Accepted(), Key: res.Key, Reasons: res.Reasons, DryRun: dryRun}
	if !res.Accepted() || dryRun {
		if res.Accepted() {
			out.Canonical = res.CanonicalJSON
		}
		return out, nil
	}
	// A copy of a record that was accepted since (the sender fixed it and
	// sent it again) must not be delivered a second time.
	if res.Key != "" {
		done, err := s.Store.MessageList(ctx, &store.MessageFilter{Flow: q.Flow, Key: res.Key, Status: seam.MessageAccepted, Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(done) > 0 {
			return nil, seam.Errorf(seam.ECONFLICT, "key %s of flow %s was accepted since, as message %d; replaying this copy would deliver it twice", res.Key, q.Flow, done[0].ID).
				WithHint(fmt.Sprintf("discard it: seam quarantine discard %d --reason \"accepted as message %d\"", id, done[0].ID))
		}
	}
	now := s.Now()
	c := s.Catalog()
	msg := &seam.Message{
		Flow: q.Flow, System: c.Flows[q.Flow].Source.System, Key: res.Key, Status: seam.MessageAccepted,
		ReceivedAt: now, ContentType: q.ContentType, Body: q.Body, Canonical: res.CanonicalJSON, ReplayOf: q.MessageID,
	}
	// No dedupe key: the original is in the ledger under the same event,
	// and this replay is an explicit operator decision.
	ing, err := s.Store.MessageIngest(ctx, &store.IngestParams{Message: msg, Deliveries: res.Deliveries(now), XRefs: res.Links, Now: now})
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"message_id": ing.MessageID})
	err = s.Store.QuarantineSetStatus(ctx, &store.QuarantineStatusParams{
		ID: id, Status: seam.QuarantineReplayed, Now: now,
		Audit: &seam.AuditEvent{At: now, Actor: actor, Action: "quarantine.replay", Target: fmt.Sprintf("quarantine:%d", id), Reason: reason, Detail: detail},
	})
	if err != nil {
		return nil, err
	}
	out.MessageID, out.Deliveries = ing.MessageID, len(res.Routes)
	return out, nil
}

// QuarantineDiscard closes a quarantine entry without replaying it: the
// record is known to be garbage, and the audit log says who decided so.
func (s *Service) QuarantineDiscard(ctx context.Context, id int64, actor, reason string) error {
	if reason == "" {
		return seam.Errorf(seam.EINVALID, "say why the record is discarded; the reason goes to the audit log")
	}
	q, err := s.Store.QuarantineGet(ctx, id)
	if err != nil {
		return err
	}
	if q.Status != seam.QuarantineOpen {
		return seam.Errorf(seam.ECONFLICT, "quarantine entry %d is already %s", id, q.Status)
	}
	now := s.Now()
	return s.Store.QuarantineSetStatus(ctx, &store.QuarantineStatusParams{
		ID: id, Status: seam.QuarantineDiscarded, Now: now,
		Audit: &seam.AuditEvent{At: now, Actor: actor, Action: "quarantine.discard", Target: fmt.Sprintf("quarantine:%d", id), Reason: reason},
	})
}
