package engine

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/seamhq/seam"
)

// Span attribute keys.
const (
	attrFlow       = attribute.Key("seam.flow")
	attrRoute      = attribute.Key("seam.route")
	attrKey        = attribute.Key("seam.key")
	attrMessage    = attribute.Key("seam.message_id")
	attrDelivery   = attribute.Key("seam.delivery_id")
	attrAttempt    = attribute.Key("seam.attempt")
	attrOutcome    = attribute.Key("seam.outcome")
	attrHTTPStatus = attribute.Key("http.response.status_code")
)

// propagator is W3C Trace Context, always: passing the sender's trace on
// to destinations is part of the contract, with or without a collector.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// startIntake starts the intake span, continuing the sender's trace when
// its request carries a W3C traceparent.
func (e *Engine) startIntake(r *http.Request, flow string) (context.Context, trace.Span) {
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	return e.tracer.Start(ctx, "seam.intake "+flow, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attrFlow.String(flow)))
}

// traceparent renders ctx's span context for storing with the message.
func traceparent(ctx context.Context) string {
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// startAttempt starts an attempt's span as a child of the intake that
// created the delivery, and returns the headers that carry it on to the
// destination.
func (e *Engine) startAttempt(ctx context.Context, d *seam.Delivery) (context.Context, trace.Span, http.Header) {
	tp := ""
	if v, ok := e.traceparents.LoadAndDelete(d.ID); ok {
		tp = v.(string)
	} else if e.recording {
		// A retry, or a delivery taken over from another node: its trace
		// context is with the message. Read it only when spans are really
		// recorded; otherwise it would cost a ledger read per attempt.
		if m, err := e.store.MessageGet(ctx, d.MessageID); err == nil {
			tp = m.TraceID
		}
	}
	if tp != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": tp})
	}
	ctx, span := e.tracer.Start(ctx, "seam.deliver "+d.Flow+"/"+d.Route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attrFlow.String(d.Flow), attrRoute.String(d.Route), attrKey.String(d.Key),
			attrDelivery.Int64(d.ID), attrAttempt.Int(d.Attempts+1)))
	h := http.Header{}
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
	if h.Get("Traceparent") == "" {
		// No tracing and no incoming trace: nothing to pass on.
		h = nil
	}
	return ctx, span, h
}

func endSpan(span trace.Span, outcome string, status int, err error) {
	span.SetAttributes(attrOutcome.String(outcome))
	if status != 0 {
		span.SetAttributes(attrHTTPStatus.Int(status))
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, outcome)
	}
	span.End()
}
