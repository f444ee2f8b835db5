// Package ops holds the operator actions on the ledger — look up messages
// and deliveries, replay dead letters, redrive after a fix with a dry run
// first, replay or discard quarantined records — with the audit trail every
// one of them leaves. The HTTP API and the dashboard are thin layers over it.
package ops

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/connector/webhook"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/pipeline"
	"github.com/seamhq/seam/internal/store"
)

// Service runs operator actions against a store and the running catalog.
type Service struct {
	Store store.Store
	// Catalog returns the catalog now running, so a redrive goes through
	// the mapping as it is after the fix.
	Catalog func() *catalog.Catalog
	Now     func() time.Time
}

// MessageDetail is a message with everything that happened to it.
type MessageDetail struct {
	Message    *seam.Message       `json:"message"`
	Deliveries []*DeliveryDetail   `json:"deliveries"`
	Quarantine []*seam.Quarantined `json:"quarantine,omitempty"`
}

// DeliveryDetail is a delivery with its attempts and payload.
type DeliveryDetail struct {
	*seam.Delivery
	Payload json.RawMessage `json:"payload,omitempty"`
	// AttemptLog is every attempt; Delivery.Attempts is their count.
	AttemptLog []*seam.Attempt `json:"attempt_log"`
}

// Message returns one message with its deliveries and their attempts.
func (s *Service) Message(ctx context.Context, id int64) (*MessageDetail, error) {
	m, err := s.Store.MessageGet(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &MessageDetail{Message: m}
	ds, err := s.Store.DeliveryList(ctx, &store.DeliveryFilter{MessageID: id, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		dd, err := s.detail(ctx, d)
		if err != nil {
			return nil, err
		}
		out.Deliveries = append(out.Deliveries, dd)
	}
	sort.Slice(out.Deliveries, func(i, j int) bool { return out.Deliveries[i].ID < out.Deliveries[j].ID })
	if m.Status == seam.MessageQuarantined {
		q, err := s.Store.QuarantineList(ctx, &store.QuarantineFilter{Flow: m.Flow, Key: m.Key, Limit: 100})
		if err != nil {
			return nil, err
		}
		for _, e := range q {
			if e.MessageID == m.ID {
				out.Quarantine = append(out.Quarantine, e)
			}
		}
	}
	return out, nil
}

// Delivery returns one delivery with its attempts and payload.
func (s *Service) Delivery(ctx context.Context, id int64) (*DeliveryDetail, error) {
	d, err := s.Store.DeliveryGet(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.detail(ctx, d)
}

func (s *Service) detail(ctx context.Context, d *seam.Delivery) (*DeliveryDetail, error) {
	atts, err := s.Store.AttemptList(ctx, d.ID)
	if err != nil {
		return nil, err
	}
	payload := d.Payload
	if payload == nil {
		if payload, err = s.Store.DeliveryPayload(ctx, d.ID); err != nil {
			return nil, err
		}
	}
	dd := &DeliveryDetail{Delivery: d, AttemptLog: atts}
	if json.Valid(payload) {
		dd.Payload = payload
	}
	return dd, nil
}

// ReplayParams selects deliveries to send again. With DeliveryIDs set, the
// other filters are ignored.
type ReplayParams struct {
	DeliveryIDs []int64 `json:"delivery_ids,omitempty"`
	Flow        string  `json:"flow,omitempty"`
	Route       string  `json:"route,omitempty"`
	Key         string  `json:"key,omitempty"`
	// State selects which deliveries a filter matches (default dead).
	State         seam.DeliveryState `json:"state,omitempty"`
	Since         time.Time          `json:"since,omitzero"`
	Until         time.Time          `json:"until,omitzero"`
	ErrorContains string             `json:"error,omitempty"`
	Limit         int                `json:"limit,omitempty"` // default 1,000
	// DryRun computes what would be sent now, through the running catalog,
	// and the difference from what was sent before; it changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
	// Force replays deliveries whose effect was already delivered.
	Force  bool   `json:"force,omitempty"`
	Reason string `json:"reason,omitempty"`
	Actor  string `json:"-"`
}

// ReplayItem is what a replay does, or would do, to one delivery.
type ReplayItem struct {
	DeliveryID int64    `json:"delivery_id"`
	Flow       string   `json:"flow"`
	Route      string   `json:"route"`
	Key        string   `json:"key"`
	State      string   `json:"state"`
	Action     string   `json:"action"` // replay, refused
	Why        string   `json:"why,omitempty"`
	Changes    []Change `json:"changes,omitempty"`
}

// Change is one field that the current catalog sends differently.
type Change struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// ReplayResult summarises a replay.
type ReplayResult struct {
	DryRun   bool          `json:"dry_run"`
	Matched  int           `json:"matched"`
	Replayed int           `json:"replayed"`
	Refused  int           `json:"refused"`
	Changed  int           `json:"changed"`
	Items    []*ReplayItem `json:"items"`
	AuditID  int64         `json:"audit_id,omitempty"`
}

// Replay sends selected deliveries again through the running catalog. It
// keeps each delivery's idempotency key, refuses deliveries whose effect
// was already delivered unless forced, refuses records the current catalog
// now rejects, and records one audit event for the whole operation.
func (s *Service) Replay(ctx context.Context, p *ReplayParams) (*ReplayResult, error) {
	if p.Actor == "" {
		return nil, seam.Errorf(seam.EUNAUTHORIZED, "a replay needs an actor for the audit log")
	}
	ds, err := s.select_(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &ReplayResult{DryRun: p.DryRun, Matched: len(ds)}
	payloads := map[int64][]byte{}
	var ids []int64
	msgs := map[int64]*pipeline.Result{}
	for _, d := range ds {
		it := &ReplayItem{DeliveryID: d.ID, Flow: d.Flow, Route: d.Route, Key: d.Key, State: string(d.State), Action: "replay"}
		res.Items = append(res.Items, it)
		if d.State == seam.DeliveryInFlight || d.State == seam.DeliveryPending || d.State == seam.DeliveryRetrying {
			it.Action, it.Why = "refused", "the delivery is still being delivered"
			continue
		}
		if !p.Force {
			if _, err := s.Store.EffectGet(ctx, d.Flow, d.Route, d.IdempotencyKey); err == nil {
				it.Action, it.Why = "refused", "already delivered (effect recorded); use force to send it again"
				continue
			} else if seam.ErrorCode(err) != seam.ENOTFOUND {
				return nil, err
			}
		}
		pr, ok := msgs[d.MessageID]
		if !ok {
			pr, err = s.reprocess(ctx, d.MessageID)
			if err != nil {
				return nil, err
			}
			msgs[d.MessageID] = pr
		}
		if !pr.Accepted() {
			it.Action, it.Why = "refused", fmt.Sprintf("the current catalog refuses the record: %s", pr.Reasons[0].String())
			continue
		}
		var now []byte
		for _, rr := range pr.Routes {
			if rr.Name == d.Route {
				now = rr.Payload
				if rr.Skipped {
					it.Action, it.Why = "refused", "the route's when: is now false for this record"
				}
			}
		}
		if it.Action == "refused" {
			continue
		}
		if now == nil {
			it.Action, it.Why = "refused", fmt.Sprintf("flow %s has no route %s any more", d.Flow, d.Route)
			continue
		}
		before, err := s.Store.DeliveryPayload(ctx, d.ID)
		if err != nil {
			return nil, err
		}
		it.Changes = JSONDiff(before, now)
		if len(it.Changes) > 0 {
			res.Changed++
			payloads[d.ID] = now
		}
		ids = append(ids, d.ID)
	}
	for _, it := range res.Items {
		if it.Action == "refused" {
			res.Refused++
		}
	}
	if p.DryRun || len(ids) == 0 {
		return res, nil
	}
	detail, _ := json.Marshal(map[string]any{"filter": p, "delivery_ids": ids, "changed": res.Changed})
	ev := &seam.AuditEvent{At: s.Now(), Actor: p.Actor, Action: "replay", Target: target(p), Reason: p.Reason, Detail: detail}
	n, err := s.Store.DeliveryRequeue(ctx, &store.RequeueParams{DeliveryIDs: ids, Payloads: payloads, Audit: ev, Now: s.Now()})
	if err != nil {
		return nil, err
	}
	res.Replayed, res.AuditID = n, ev.ID
	return res, nil
}

func target(p *ReplayParams) string {
	switch {
	case len(p.DeliveryIDs) == 1:
		return fmt.Sprintf("delivery:%d", p.DeliveryIDs[0])
	case len(p.DeliveryIDs) > 1:
		return fmt.Sprintf("deliveries:%d", len(p.DeliveryIDs))
	case p.Key != "":
		return "key:" + p.Key
	case p.Flow != "":
		return "flow:" + p.Flow
	}
	return "deliveries"
}

func (s *Service) select_(ctx context.Context, p *ReplayParams) ([]*seam.Delivery, error) {
	if len(p.DeliveryIDs) > 0 {
		var out []*seam.Delivery
		for _, id := range p.DeliveryIDs {
			d, err := s.Store.DeliveryGet(ctx, id)
			if err != nil {
				return nil, err
			}
			out = append(out, d)
		}
		return out, nil
	}
	if p.Flow == "" && p.Key == "" && p.ErrorContains == "" && p.Since.IsZero() {
		return nil, seam.Errorf(seam.EINVALID, "say which deliveries to replay: ids, or a flow, key, error or time range")
	}
	state := p.State
	if state == "" {
		state = seam.DeliveryDead
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 1000
	}
	var out []*seam.Delivery
	f := &store.DeliveryFilter{Flow: p.Flow, Route: p.Route, Key: p.Key, States: []seam.DeliveryState{state},
		Since: p.Since, Until: p.Until, ErrorContains: p.ErrorContains, Limit: min(limit, 500)}
	for len(out) < limit {
		page, err := s.Store.DeliveryList(ctx, f)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < f.Limit {
			break
		}
		f.BeforeID = page[len(page)-1].ID
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// reprocess runs a stored message's raw body through the running catalog.
func (s *Service) reprocess(ctx context.Context, messageID int64) (*pipeline.Result, error) {
	m, err := s.Store.MessageGet(ctx, messageID)
	if err != nil {
		return nil, err
	}
	return s.process(ctx, m.Flow, m.ContentType, m.Body)
}

func (s *Service) process(ctx context.Context, flowName, contentType string, body []byte) (*pipeline.Result, error) {
	c := s.Catalog()
	f, ok := c.Flows[flowName]
	if !ok {
		return nil, seam.Errorf(seam.ECONFLICT, "flow %s is no longer in the catalog", flowName)
	}
	in, err := webhook.Decode(contentType, body, webhook.Limits{})
	if err != nil {
		r := &pipeline.Result{Flow: flowName, Stage: seam.StageDecode}
		r.Reasons = []seam.Reason{{Stage: seam.StageDecode, Message: seam.ErrorMessage(err)}}
		return r, nil
	}
	return pipeline.Process(c, f, in, store.XRefLookup(ctx, s.Store)), nil
}

// JSONDiff lists the fields whose values differ between two JSON payloads,
// by dot path, in order.
func JSONDiff(before, after []byte) []Change {
	if bytes.Equal(before, after) {
		return nil
	}
	var a, b any
	_ = json.Unmarshal(before, &a)
	_ = json.Unmarshal(after, &b)
	fa, fb := map[string]any{}, map[string]any{}
	flatten("", a, fa)
	flatten("", b, fb)
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	var out []Change
	for k := range keys {
		va, oka := fa[k]
		vb, okb := fb[k]
		if oka && okb && fmt.Sprint(va) == fmt.Sprint(vb) {
			continue
		}
		out = append(out, Change{Field: k, Before: va, After: vb})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

func flatten(prefix string, v any, out map[string]any) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, x, out)
		}
	case []any:
		for i, x := range t {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), x, out)
		}
	default:
		out[prefix] = v
	}
}
