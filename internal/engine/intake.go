package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"

	"go.opentelemetry.io/otel/trace"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/connector/webhook"
	"github.com/seamhq/seam/internal/pipeline"
	"github.com/seamhq/seam/internal/problem"
	"github.com/seamhq/seam/internal/redact"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/mapping"
)

// IntakeResponse is the JSON body of a successful intake.
type IntakeResponse struct {
	Status     string `json:"status"` // accepted, duplicate
	MessageID  int64  `json:"message_id"`
	Key        string `json:"key"`
	Deliveries int    `json:"deliveries"`
}

// Handles reports whether path is a webhook intake of the running catalog.
func (e *Engine) Handles(path string) bool {
	_, ok := e.graph.Load().byPath[path]
	return ok
}

// ServeHTTP is the webhook intake of every flow. A record is answered 2xx
// only once it is durably in the ledger; everything refused gets a 4xx with
// an RFC 9457 problem body saying why, and what can be read and stored of a
// refused record goes to the quarantine.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g := e.graph.Load()
	fl, ok := g.byPath[r.URL.Path]
	if !ok {
		problem.Write(w, r, seam.Errorf(seam.ENOTFOUND, "no flow receives records at %s", r.URL.Path))
		return
	}
	ctx, span := e.startIntake(r, fl.spec.Name)
	outcome := e.intake(w, r.WithContext(ctx), g, fl)
	endSpan(span, outcome, 0, nil)
	e.opts.Observer.Received(fl.spec.Name, outcome)
}

// intake handles one request and returns its outcome for the metrics.
func (e *Engine) intake(w http.ResponseWriter, r *http.Request, g *graph, fl *flow) string {
	fail := func(err error) string {
		problem.Write(w, r, err)
		return seam.ErrorCode(err)
	}
	if g.closing.Load() {
		w.Header().Set("Retry-After", "5")
		return fail(seam.Errorf(seam.EUNAVAILABLE, "Seam is shutting down; send the record again in a few seconds"))
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		w.Header().Set("Allow", "POST, PUT")
		return fail(seam.Errorf(seam.EMETHOD, "%s is not accepted here; send the record with POST", r.Method))
	}
	ct := r.Header.Get("Content-Type")
	if len(fl.contentTypes) > 0 {
		mt, _, _ := mime.ParseMediaType(ct)
		if !slices.Contains(fl.contentTypes, mt) {
			return fail(seam.Errorf(seam.EUNSUPPORTED, "content type %q is not accepted by flow %s", ct, fl.spec.Name).
				WithHint(fmt.Sprintf("send one of: %v", fl.contentTypes)))
		}
	}
	if _, err := webhook.Format(ct); err != nil {
		return fail(err)
	}
	body, err := webhook.ReadBody(r, fl.maxBody)
	if err != nil {
		return fail(err)
	}
	now := e.opts.Now()
	if fl.verifier != nil {
		if err := fl.verifier.Verify(r.Header, body, now); err != nil {
			return fail(err)
		}
	}
	msg := &seam.Message{
		Flow: fl.spec.Name, System: fl.spec.Source.System, ContentType: ct, Body: body, ReceivedAt: now,
		TraceID: traceparent(r.Context()),
	}
	input, err := webhook.Decode(ct, body, webhook.Limits{})
	if err != nil {
		// Malformed, but signed and within limits: keep it so the sender's
		// bug can be seen and the record replayed once it is understood.
		reason := seam.Reason{Stage: seam.StageDecode, Rule: "decode", Message: seam.ErrorMessage(err)}
		qid := e.quarantine(r.Context(), msg, seam.StageDecode, []seam.Reason{reason})
		fail(problem.WithErrors(err, map[string]any{"quarantine_id": qid}))
		return "refused_decode"
	}

	res := pipeline.Process(g.cat, fl.spec, input, store.XRefLookup(r.Context(), e.store))
	msg.Key = res.Key
	if !res.Accepted() {
		qid := e.quarantine(r.Context(), msg, res.Stage, res.Reasons)
		list := make([]any, 0, len(res.Reasons)+1)
		for _, rs := range res.Reasons {
			list = append(list, rs)
		}
		err := seam.Errorf(seam.EREFUSED, "the record was refused at %s and kept in quarantine #%d: %s", res.Stage, qid, res.Reasons[0].String()).
			WithHint(fmt.Sprintf("fix the sender or the flow's mapping, then: seam quarantine replay %d", qid))
		fail(problem.WithErrors(err, list...))
		return "refused_" + string(res.Stage)
	}
	msg.Status = seam.MessageAccepted
	msg.Canonical = res.CanonicalJSON
	p := &store.IngestParams{
		Message: msg, DedupeKey: e.dedupeKey(fl, r, res), DedupeWindow: fl.dedupe,
		Node: e.opts.Node, Lease: e.opts.Lease, Now: now,
	}
	p.Deliveries = res.Deliveries(now)
	p.XRefs = res.Links
	out, err := e.store.MessageIngest(r.Context(), p)
	if err != nil && r.Context().Err() != nil {
		// The sender hung up before the commit: nothing was acknowledged,
		// and a sender that still wants it sends it again. Expected when a
		// load generator stops; not an error worth an operator's time.
		e.log.Debug("sender gave up before the record was stored", "flow", fl.spec.Name, "key", res.Key)
		return "abandoned"
	}
	if err != nil {
		e.log.Error("store record", "flow", fl.spec.Name, "key", res.Key, "err", err)
		w.Header().Set("Retry-After", "1")
		return fail(&seam.Error{Code: seam.EUNAVAILABLE, Message: "the record could not be stored; nothing was acknowledged, send it again", Err: err})
	}
	resp := IntakeResponse{Status: "accepted", MessageID: out.MessageID, Key: res.Key, Deliveries: len(p.Deliveries)}
	code := http.StatusAccepted
	if out.Duplicate {
		resp.Status, resp.Deliveries, code = "duplicate", 0, http.StatusOK
	}
	outcome := resp.Status
	trace.SpanFromContext(r.Context()).SetAttributes(attrKey.String(res.Key), attrMessage.Int64(out.MessageID))
	if e.opts.LogRecords && !out.Duplicate {
		rec := any(mapping.ToPlain(res.Canonical))
		if !e.opts.LogPersonal {
			rec = redact.Record(g.cat, fl.spec.Model, res.Canonical)
		}
		e.log.Info("record accepted", "flow", fl.spec.Name, "key", res.Key, "message_id", out.MessageID, "record", rec)
	}
	for _, d := range out.Claimed {
		// Stored even when empty: the first attempt then knows there is no
		// trace to continue without asking the ledger.
		e.traceparents.Store(d.ID, msg.TraceID)
		e.dispatch(d)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
	return outcome
}

// dedupeKey identifies the event for deduplication: the sender's delivery
// id header when the flow names one, else "<system>:<event id>".
func (e *Engine) dedupeKey(fl *flow, r *http.Request, res *pipeline.Result) string {
	if fl.dedupe <= 0 {
		return ""
	}
	if fl.dedupeHeader != "" {
		if v := r.Header.Get(fl.dedupeHeader); v != "" {
			return fl.spec.Source.System + ":" + v
		}
	}
	return res.Event
}

// quarantine stores a refused record and returns its quarantine id; 0 when
// even that failed (the sender still gets the refusal, and the log has the
// storage error). Senders that retry every non-2xx (many webhook senders
// do, for hours) must not fill the quarantine with copies: the same body
// under the same key, while its entry is still open, is that entry.
func (e *Engine) quarantine(ctx context.Context, msg *seam.Message, stage seam.Stage, reasons []seam.Reason) int64 {
	if msg.Key != "" {
		open, err := e.store.QuarantineList(ctx, &store.QuarantineFilter{Flow: msg.Flow, Key: msg.Key, Status: seam.QuarantineOpen, Limit: 20})
		if err == nil {
			for _, q := range open {
				if bytes.Equal(q.Body, msg.Body) {
					return q.ID
				}
			}
		}
	}
	msg.Status = seam.MessageQuarantined
	q := &seam.Quarantined{
		Flow: msg.Flow, Key: msg.Key, Stage: stage, Reasons: reasons, Status: seam.QuarantineOpen,
		ReceivedAt: msg.ReceivedAt, ContentType: msg.ContentType, Body: msg.Body,
	}
	if _, err := e.store.MessageIngest(ctx, &store.IngestParams{Message: msg, Quarantine: q, Now: msg.ReceivedAt}); err != nil {
		e.log.Error("store quarantined record", "flow", msg.Flow, "err", err)
		return 0
	}
	return q.ID
}
