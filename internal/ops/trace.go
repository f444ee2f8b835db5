package ops

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// TraceEvent is one thing that happened to a business key, anywhere.
type TraceEvent struct {
	At         time.Time     `json:"at"`
	Kind       string        `json:"kind"` // received, quarantined, attempt, skipped, operator
	Flow       string        `json:"flow,omitempty"`
	Route      string        `json:"route,omitempty"`
	System     string        `json:"system,omitempty"` // the sender for received, the destination for attempts
	Key        string        `json:"key,omitempty"`
	MessageID  int64         `json:"message_id,omitempty"`
	DeliveryID int64         `json:"delivery_id,omitempty"`
	Attempt    int           `json:"attempt,omitempty"`
	Status     int           `json:"status,omitempty"`
	Outcome    string        `json:"outcome,omitempty"` // delivered, retrying, dead, refused
	Duration   time.Duration `json:"duration_ns,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Actor      string        `json:"actor,omitempty"`
}

// Trace is everything one business key touched across flows.
type Trace struct {
	Key string `json:"key"`
	// Keys are every key found to belong to the same business object
	// through cross-references: the ERP's order id, the invoice number…
	Keys     []string      `json:"keys"`
	Links    []*seam.XRef  `json:"links"`
	Messages int           `json:"messages"`
	Events   []*TraceEvent `json:"events"`
	// State summarises where each route of each message stands.
	Routes []*TraceRoute `json:"routes"`
}

// TraceRoute is the current state of one delivery in the trace.
type TraceRoute struct {
	Flow       string             `json:"flow"`
	Route      string             `json:"route"`
	Key        string             `json:"key"`
	DeliveryID int64              `json:"delivery_id"`
	State      seam.DeliveryState `json:"state"`
	Attempts   int                `json:"attempts"`
}

// traceLimits keep a trace bounded when a key is very busy.
const (
	traceMaxKeys     = 50
	traceMaxMessages = 500
)

// Trace follows key across flows: the messages received under it, the
// cross-references that name it (links declared by flows, ids remembered
// from destinations), the messages under those keys, and every delivery,
// attempt and operator action on them, as one timeline.
func (s *Service) Trace(ctx context.Context, key string) (*Trace, error) {
	if strings.TrimSpace(key) == "" {
		return nil, seam.Errorf(seam.EINVALID, "give a business key, e.g. ES-1042")
	}
	t := &Trace{Key: key}
	seen := map[string]bool{key: true}
	queue := []string{key}
	linkSeen := map[string]bool{}
	addLink := func(x *seam.XRef) {
		id := x.Entity + "\x00" + x.Key + "\x00" + x.System + "\x00" + x.Name + "\x00" + x.Value
		if !linkSeen[id] {
			linkSeen[id] = true
			t.Links = append(t.Links, x)
		}
	}
	for len(queue) > 0 && len(seen) <= traceMaxKeys {
		k := queue[0]
		queue = queue[1:]
		t.Keys = append(t.Keys, k)
		for _, f := range []*store.XRefFilter{{Key: k, Limit: 100}, {Value: k, Limit: 100}} {
			refs, err := s.Store.XRefList(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, x := range refs {
				addLink(x)
				for _, other := range []string{x.Key, x.Value} {
					if !seen[other] {
						seen[other] = true
						queue = append(queue, other)
					}
				}
			}
		}
	}
	c := s.Catalog()
	destOf := func(flow, route string) string {
		if f, ok := c.Flows[flow]; ok {
			for _, r := range f.Routes {
				if r.Name == route {
					return r.To
				}
			}
		}
		return ""
	}
	for _, k := range t.Keys {
		msgs, err := s.Store.MessageList(ctx, &store.MessageFilter{Key: k, Limit: traceMaxMessages})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if t.Messages >= traceMaxMessages {
				break
			}
			t.Messages++
			if err := s.traceMessage(ctx, t, m, destOf); err != nil {
				return nil, err
			}
		}
	}
	sort.SliceStable(t.Events, func(i, j int) bool { return t.Events[i].At.Before(t.Events[j].At) })
	if t.Links == nil {
		t.Links = []*seam.XRef{}
	}
	if t.Events == nil {
		t.Events = []*TraceEvent{}
	}
	return t, nil
}

func (s *Service) traceMessage(ctx context.Context, t *Trace, m *seam.Message, destOf func(flow, route string) string) error {
	ev := &TraceEvent{At: m.ReceivedAt, Kind: "received", Flow: m.Flow, System: m.System, Key: m.Key, MessageID: m.ID}
	if m.ReplayOf != 0 {
		ev.Detail = fmt.Sprintf("replay of message %d", m.ReplayOf)
	}
	t.Events = append(t.Events, ev)
	if m.Status == seam.MessageQuarantined {
		qs, err := s.Store.QuarantineList(ctx, &store.QuarantineFilter{Flow: m.Flow, Key: m.Key, Limit: 50})
		if err != nil {
			return err
		}
		for _, q := range qs {
			if q.MessageID != m.ID {
				continue
			}
			var reasons []string
			for _, r := range q.Reasons {
				reasons = append(reasons, r.String())
			}
			t.Events = append(t.Events, &TraceEvent{At: q.ReceivedAt, Kind: "quarantined", Flow: m.Flow, Key: m.Key,
				MessageID: m.ID, Outcome: string(q.Status), Detail: fmt.Sprintf("refused at %s: %s", q.Stage, strings.Join(reasons, "; "))})
		}
		return nil
	}
	ds, err := s.Store.DeliveryList(ctx, &store.DeliveryFilter{MessageID: m.ID, Limit: 100})
	if err != nil {
		return err
	}
	for _, d := range ds {
		dest := destOf(d.Flow, d.Route)
		t.Routes = append(t.Routes, &TraceRoute{Flow: d.Flow, Route: d.Route, Key: d.Key, DeliveryID: d.ID, State: d.State, Attempts: d.Attempts})
		if d.State == seam.DeliverySkipped {
			t.Events = append(t.Events, &TraceEvent{At: d.CreatedAt, Kind: "skipped", Flow: d.Flow, Route: d.Route, System: dest,
				Key: d.Key, MessageID: m.ID, DeliveryID: d.ID, Detail: "the route's when: was false"})
			continue
		}
		atts, err := s.Store.AttemptList(ctx, d.ID)
		if err != nil {
			return err
		}
		for i, a := range atts {
			outcome := "retrying"
			switch {
			case a.Error == "" && a.Status >= 200 && a.Status < 300:
				outcome = "delivered"
			case i == len(atts)-1 && d.State == seam.DeliveryDead:
				outcome = "dead"
			}
			detail := a.Error
			if detail == "" && len(a.Response) > 0 {
				detail = shortResponse(a.Response)
			}
			t.Events = append(t.Events, &TraceEvent{At: a.StartedAt, Kind: "attempt", Flow: d.Flow, Route: d.Route, System: dest,
				Key: d.Key, MessageID: m.ID, DeliveryID: d.ID, Attempt: a.Number, Status: a.Status, Outcome: outcome,
				Duration: a.Duration, Detail: detail})
		}
		audits, err := s.Store.AuditList(ctx, &store.AuditFilter{Target: fmt.Sprintf("delivery:%d", d.ID), Limit: 50})
		if err != nil {
			return err
		}
		for _, e := range audits {
			t.Events = append(t.Events, &TraceEvent{At: e.At, Kind: "operator", Flow: d.Flow, Route: d.Route, Key: d.Key,
				DeliveryID: d.ID, Outcome: e.Action, Actor: e.Actor, Detail: e.Reason})
		}
	}
	return nil
}

func shortResponse(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
