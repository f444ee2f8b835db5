// Package audittest builds the ledger of the messy test project: a real
// SQLite ledger with traffic planted so that each ledger rule of the audit
// has exactly one thing to find (see ../testdata/messy/README.md). Tests of
// the audit, the docs and the CLI share it.
package audittest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// Now is the time the planted traffic is relative to: tests audit "now".
var Now = time.Date(2026, 4, 15, 12, 0, 0, 0, time.UTC)

// MessyDir is the messy project, relative to a package under internal/.
const MessyDir = "../audit/testdata/messy"

// MessyLedger writes the planted traffic of the messy project into a new
// SQLite ledger at path and returns it open; the test closes it.
//
// Every flow gets one record an hour ago, delivered everywhere in two
// seconds, except what is planted:
//   - crm-contacts: its only record is 12 days old (silent-flow);
//   - erp-orders → invoicing: 40 records in the last 6 h, 8 dead and 4
//     retrying (error-hot-spot, 30 %);
//   - eshop-orders → erp: 3 records from 3 days ago, dead (old-dead-letters);
//   - pim-products → marketplace: 10 records, each delivered after 20
//     minutes (slow-route).
func MessyLedger(t testing.TB, c *catalog.Catalog, path string) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	p := &planter{t: t, st: st, c: c}
	for _, name := range c.FlowNames() {
		switch name {
		case "crm-contacts":
			p.record(name, Now.Add(-12*24*time.Hour), nil)
		default:
			p.record(name, Now.Add(-time.Hour), nil)
		}
	}
	for i := range 40 {
		at := Now.Add(-6 * time.Hour).Add(time.Duration(i) * 9 * time.Minute)
		state := seam.DeliveryDelivered
		switch {
		case i%5 == 1:
			state = seam.DeliveryDead
		case i%10 == 3:
			state = seam.DeliveryRetrying
		}
		p.record("erp-orders", at, map[string]outcome{"invoicing": {state: state, after: 3 * time.Second}})
	}
	for i := range 3 {
		p.record("eshop-orders", Now.Add(-72*time.Hour).Add(time.Duration(i)*time.Minute),
			map[string]outcome{"erp": {state: seam.DeliveryDead, after: 30 * time.Minute}})
	}
	for i := range 10 {
		p.record("pim-products", Now.Add(-10*time.Hour).Add(time.Duration(i)*time.Hour),
			map[string]outcome{"marketplace": {state: seam.DeliveryDelivered, after: 20 * time.Minute}})
	}
	return st
}

type outcome struct {
	state seam.DeliveryState
	after time.Duration
}

type planter struct {
	t   testing.TB
	st  *sqlite.Store
	c   *catalog.Catalog
	seq int
}

// record ingests one record of flow at time at and completes each of its
// routes: delivered after two seconds unless outcomes says otherwise.
func (p *planter) record(flow string, at time.Time, outcomes map[string]outcome) {
	p.t.Helper()
	ctx := context.Background()
	f := p.c.Flows[flow]
	p.seq++
	key := fmt.Sprintf("K-%d", p.seq)
	var ds []*seam.Delivery
	for _, r := range f.Routes {
		ds = append(ds, &seam.Delivery{Route: r.Name, State: seam.DeliveryPending, IdempotencyKey: flow + ":" + r.Name + ":" + key, Payload: []byte(`{}`)})
	}
	res, err := p.st.MessageIngest(ctx, &store.IngestParams{
		Message:    &seam.Message{Flow: flow, System: f.Source.System, Key: key, ReceivedAt: at, ContentType: "application/json", Body: []byte(`{}`), Canonical: []byte(`{}`)},
		Deliveries: ds, Node: "planter", Lease: time.Hour, Now: at,
	})
	require.NoError(p.t, err)
	require.Len(p.t, res.Claimed, len(ds))
	for _, d := range res.Claimed {
		o, ok := outcomes[d.Route]
		if !ok {
			o = outcome{state: seam.DeliveryDelivered, after: 2 * time.Second}
		}
		done := at.Add(o.after)
		cp := &store.CompleteParams{DeliveryID: d.ID, Node: "planter", State: o.state, Now: done,
			Attempt: &seam.Attempt{StartedAt: done.Add(-time.Second), Duration: time.Second, Status: 200}}
		switch o.state {
		case seam.DeliveryDead:
			cp.Attempt.Status, cp.Attempt.Error = 422, "refused: unknown customer"
		case seam.DeliveryRetrying:
			cp.Attempt.Status, cp.Attempt.Error = 503, "service unavailable"
			cp.NextAt = Now.Add(time.Hour)
		case seam.DeliveryDelivered:
			cp.Effect = &seam.Effect{Flow: flow, Route: d.Route, Key: key, DeliveryID: d.ID, At: done}
		}
		_, err := p.st.DeliveryComplete(ctx, cp)
		require.NoError(p.t, err)
	}
}
