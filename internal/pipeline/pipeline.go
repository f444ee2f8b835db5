// Package pipeline pushes one decoded record through a flow: key, inbound
// mapping, validation against the model, and each route's `when:` and
// outbound mapping. It does no I/O, so intake, `seam try`, `seam test` and
// the dry-run of a redrive all share exactly the same path.
package pipeline

import (
	"time"

	"fmt"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/validate"
	"github.com/seamhq/seam/mapping"
)

// XRefFunc finds another system's id for the same entity.
type XRefFunc = func(system, entity, key string) (string, bool)

// Result is what a flow makes of one record.
type Result struct {
	Flow string
	Key  string
	// Event identifies this event for deduplication and idempotency:
	// "<source system>:<event id>".
	Event string
	// Canonical is the validated canonical record (typed values).
	Canonical     map[string]any
	CanonicalJSON []byte
	Routes        []*RouteResult
	// Links are the other business keys the record refers to (the flow's
	// links:), as cross-references to record with the message.
	Links []*seam.XRef
	// Stage and Reasons are set when the record is refused.
	Stage   seam.Stage
	Reasons []seam.Reason
}

// Accepted reports whether the record passed mapping and validation and
// every route could be prepared.
func (r *Result) Accepted() bool { return len(r.Reasons) == 0 }

// RouteResult is what one route would send.
type RouteResult struct {
	Name, To string
	Route    *catalog.Route
	// Skipped is true when `when:` was false; nothing is sent.
	Skipped bool
	// Fields is the mapped payload as typed values; Payload is its bytes,
	// written with the destination's conventions.
	Fields  map[string]any
	Payload []byte
}

// Process runs input through flow f of catalog c. The flow must have
// compiled (f.Compiled != nil).
func Process(c *catalog.Catalog, f *catalog.Flow, input any, xref XRefFunc) *Result {
	res := &Result{Flow: f.Name}
	cf := f.Compiled
	if cf == nil {
		res.refuse(seam.StageMap, seam.Reason{Message: fmt.Sprintf("flow %s did not compile; run seam validate", f.Name)})
		return res
	}
	env := &mapping.Env{In: input, XRef: xref}

	key, err := cf.Key.Eval(env)
	if err != nil {
		res.refuse(seam.StageMap, seam.Reason{Field: "key", Rule: "key", Message: fmt.Sprintf("cannot read the key (%s): %v", f.Key.Src, err)})
		return res
	}
	res.Key = scalarString(key)
	if res.Key == "" {
		res.refuse(seam.StageMap, seam.Reason{Field: "key", Rule: "required", Message: fmt.Sprintf("the key (%s) is empty; every record needs one for deduplication and trace", f.Key.Src)})
		return res
	}
	event := res.Key
	if cf.Event != nil {
		v, err := cf.Event.Eval(env)
		if err != nil || scalarString(v) == "" {
			res.refuse(seam.StageMap, seam.Reason{Field: "event", Rule: "event", Message: fmt.Sprintf("cannot read the event id (%s): %v", f.Event.Src, err)})
			return res
		}
		event = scalarString(v)
	}
	res.Event = f.Source.System + ":" + event

	rec, reasons := cf.Inbound.Apply(env)
	if len(reasons) > 0 {
		res.refuse(seam.StageMap, reasons...)
		return res
	}
	rec, reasons = validate.Record(c, f.Model, rec)
	if len(reasons) > 0 {
		res.refuse(seam.StageValidate, reasons...)
		return res
	}
	res.Canonical = rec
	if cf.Links != nil {
		links, reasons := cf.Links.Apply(env)
		if len(reasons) > 0 {
			res.refuse(seam.StageMap, reasons...)
			return res
		}
		for _, fe := range f.Links {
			if v := scalarString(links[fe.Target]); v != "" {
				res.Links = append(res.Links, &seam.XRef{Entity: f.Model, Key: res.Key, System: f.Source.System, Name: fe.Target, Value: v})
			}
		}
	}
	b, err := mapping.CanonicalJSON(rec)
	if err != nil {
		res.refuse(seam.StageValidate, seam.Reason{Message: fmt.Sprintf("cannot encode the canonical record: %v", err)})
		return res
	}
	res.CanonicalJSON = b

	out := &mapping.Env{Record: rec, XRef: xref}
	for _, rt := range f.Routes {
		cr := cf.Routes[rt.Name]
		rr := &RouteResult{Name: rt.Name, To: rt.To, Route: rt}
		res.Routes = append(res.Routes, rr)
		if cr.When != nil {
			v, err := cr.When.Eval(out)
			if err != nil {
				res.refuse(seam.StageRoute, seam.Reason{Field: "routes." + rt.Name + ".when", Rule: "when", Message: err.Error()})
				continue
			}
			b, ok := v.(bool)
			if !ok {
				res.refuse(seam.StageRoute, seam.Reason{Field: "routes." + rt.Name + ".when", Rule: "when", Message: fmt.Sprintf("when: must be true or false, got %v", v)})
				continue
			}
			if !b {
				rr.Skipped = true
				continue
			}
		}
		fields, reasons := cr.Outbound.Apply(out)
		if len(reasons) > 0 {
			for i := range reasons {
				reasons[i].Stage = seam.StageRoute
				reasons[i].Field = rt.Name + "." + reasons[i].Field
			}
			res.refuse(seam.StageRoute, reasons...)
			continue
		}
		var conv mapping.Conventions
		if cr.Dest != nil {
			conv = cr.Dest.Conventions.MappingConventions()
		}
		payload, err := mapping.EncodeJSON(fields, conv)
		if err != nil {
			res.refuse(seam.StageRoute, seam.Reason{Field: rt.Name, Message: fmt.Sprintf("cannot write the payload for %s: %v", rt.To, err)})
			continue
		}
		rr.Fields, rr.Payload = fields, payload
	}
	return res
}

func (r *Result) refuse(stage seam.Stage, reasons ...seam.Reason) {
	if r.Stage == "" {
		r.Stage = stage
	}
	for _, rs := range reasons {
		if rs.Stage == "" {
			rs.Stage = stage
		}
		r.Reasons = append(r.Reasons, rs)
	}
}

// scalarString renders a key value: text as is, numbers without exponent.
func scalarString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case fmt.Stringer:
		return t.String()
	case float64:
		return fmt.Sprintf("%v", t)
	}
	return fmt.Sprint(v)
}

// Deliveries turns an accepted result into one delivery per route, due at
// now: skipped routes are recorded as skipped, so the ledger shows that the
// route was considered. Every delivery carries the event's idempotency key.
//
// The idempotency key is "<source system>:<event>". When a flow sends one
// event to the same system by two routes (a sales order and its customer,
// say), each of those routes adds ":<route>": a destination that honours
// the key must not take the second effect for a repeat of the first.
func (r *Result) Deliveries(now time.Time) []*seam.Delivery {
	perSystem := make(map[string]int, len(r.Routes))
	for _, rr := range r.Routes {
		perSystem[rr.To]++
	}
	out := make([]*seam.Delivery, 0, len(r.Routes))
	for _, rr := range r.Routes {
		key := r.Event
		if perSystem[rr.To] > 1 {
			key += ":" + rr.Name
		}
		d := &seam.Delivery{
			Flow: r.Flow, Route: rr.Name, Key: r.Key, State: seam.DeliveryPending,
			IdempotencyKey: key, Ordered: rr.Route.Ordering == "by-key", Payload: rr.Payload, NextAt: now,
		}
		if rr.Skipped {
			d.State = seam.DeliverySkipped
		}
		out = append(out, d)
	}
	return out
}
