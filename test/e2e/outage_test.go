package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// outage is how long the destination is down in TestDestinationDownForAWhile.
// The guarantee is about outages of a minute and more; CI runs 10 s to keep
// the package fast. SEAM_E2E_OUTAGE=1m runs the full minute.
func outage(t *testing.T) time.Duration {
	d := 10 * time.Second
	if v := os.Getenv("SEAM_E2E_OUTAGE"); v != "" {
		var err error
		d, err = time.ParseDuration(v)
		require.NoError(t, err, "SEAM_E2E_OUTAGE")
	}
	return d
}

// Guarantee 2 through an outage: the destination is down (503, or hanging
// up without an answer) while 300 records arrive. The route allows 20
// attempts 50–500 ms apart, which an outage of 10 s would exhaust for every
// record; the circuit breaker must hold the deliveries back without
// charging them attempts. After the destination comes back, everything is
// delivered, nothing is dead, and the destination saw far fewer requests
// during the outage than there were records.
func TestDestinationDownForAWhile(t *testing.T) {
	t.Parallel()
	down := outage(t)
	for _, tc := range []struct {
		name string
		mode SinkMode
	}{
		{"503", SinkDown},
		{"hang-up", SinkHangUp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const records = 300
			sink := newSink(t)
			sink.SetMode(tc.mode)
			p := newProject(t, sink, Catalog{}) // attempts 20, 50ms–500ms; breaker 5 failures, 1s
			hub, _ := startInProcess(t, p)

			start := time.Now()
			refs := orderRefs("OUT", records)
			// The records arrive spread over the first 80 % of the outage.
			every := down * 8 / 10 / records
			for i, ref := range refs {
				if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
					time.Sleep(d)
				}
				hub.MustSend(t, order(ref, 1))
			}
			if d := time.Until(start.Add(down)); d > 0 {
				time.Sleep(d) // the outage lasts its full length
			}
			during := sink.RequestCount()
			sink.SetMode(SinkUp)
			back := time.Now()
			t.Logf("destination down %s: it saw %d requests for %d records", down, during, records)

			// Recovery may wait for the breaker's cool-down, which doubles
			// with each failed probe (so up to about the outage's length).
			sink.waitDelivered(t, down+30*time.Second, refs)
			t.Logf("all delivered %s after the destination came back", time.Since(back).Round(time.Millisecond))

			require.Less(t, during, records, "the breaker must hold deliveries back during an outage, not try each record")
			// Nothing dead under a 20-attempt policy, nothing left behind.
			hub.waitLedgerDelivered(t, records, 10*time.Second)
			requireEachEffectOnce(t, sink.Stats(), refs)
		})
	}
}
