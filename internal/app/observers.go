package app

import (
	"time"

	"github.com/seamhq/seam/internal/engine"
)

// observers fans the engine's events out to several observers (the
// metrics, the alert evaluator). The list is complete before the engine
// starts and never changes after, so it needs no lock.
type observers []engine.Observer

func (o *observers) Received(flow, outcome string) {
	for _, x := range *o {
		x.Received(flow, outcome)
	}
}

func (o *observers) Attempted(flow, route, outcome string, d time.Duration) {
	for _, x := range *o {
		x.Attempted(flow, route, outcome, d)
	}
}

func (o *observers) BreakerChanged(flow, route string, open bool) {
	for _, x := range *o {
		x.BreakerChanged(flow, route, open)
	}
}

var _ engine.Observer = (*observers)(nil)
