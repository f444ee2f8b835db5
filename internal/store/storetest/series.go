package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// ExerciseSeries is the conformance suite of the optional store.Series
// capability; a driver that implements it calls this beside Exercise.
func ExerciseSeries(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("CountsPerFlowAndBucket", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		series, ok := st.(store.Series)
		require.True(t, ok, "the store implements store.Series")
		base := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
		at := func(min, sec int) time.Time {
			return base.Add(time.Duration(min)*time.Minute + time.Duration(sec)*time.Second)
		}

		// Minute 0: two orders in; one delivered at once, one fails and
		// is delivered on its retry in minute 1.
		a := ingest(t, st, &store.IngestParams{Message: newMessage("orders", "A"), Now: at(0, 5), Node: "n", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		b := ingest(t, st, &store.IngestParams{Message: newMessage("orders", "B"), Now: at(0, 10), Node: "n", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		complete(t, st, a.Claimed[0].ID, "n", seam.DeliveryDelivered, at(0, 6))
		complete(t, st, b.Claimed[0].ID, "n", seam.DeliveryRetrying, at(0, 11))
		require.Len(t, claim(t, st, "n", 10, at(1, 0)), 1)
		complete(t, st, b.Claimed[0].ID, "n", seam.DeliveryDelivered, at(1, 1))

		// Minute 2: one order that dies on its first attempt, one
		// refused at intake, and one of another flow.
		c := ingest(t, st, &store.IngestParams{Message: newMessage("orders", "C"), Now: at(2, 0), Node: "n", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		complete(t, st, c.Claimed[0].ID, "n", seam.DeliveryDead, at(2, 1))
		q := newMessage("orders", "Q")
		q.Status, q.Canonical = seam.MessageQuarantined, nil
		ingest(t, st, &store.IngestParams{Message: q, Now: at(2, 30),
			Quarantine: &seam.Quarantined{Flow: "orders", Key: "Q", Stage: seam.StageMap, Status: seam.QuarantineOpen,
				Reasons: []seam.Reason{{Stage: seam.StageMap, Message: "bad date"}}}})
		ingest(t, st, &store.IngestParams{Message: newMessage("invoices", "I"), Now: at(2, 40)})
		// Outside the window: not counted.
		ingest(t, st, &store.IngestParams{Message: newMessage("orders", "LATE"), Now: at(5, 0)})

		p := &store.SeriesParams{Since: base, Until: at(3, 0), Step: time.Minute}
		pts, err := series.FlowSeries(t.Context(), p)
		require.NoError(t, err)
		got := map[string]store.SeriesPoint{}
		for _, pt := range pts {
			got[pt.Flow+"@"+pt.At.Sub(base).String()] = *pt
		}
		require.Len(t, got, 4, "one point per flow and bucket where something happened: %v", got)
		require.Equal(t, store.SeriesPoint{Received: 2, Delivered: 1, Failed: 1}, zeroKey(got["orders@0s"]))
		require.Equal(t, store.SeriesPoint{Delivered: 1}, zeroKey(got["orders@1m0s"]))
		require.Equal(t, store.SeriesPoint{Received: 2, Refused: 1, Failed: 1, Dead: 1}, zeroKey(got["orders@2m0s"]))
		require.Equal(t, store.SeriesPoint{Received: 1}, zeroKey(got["invoices@2m0s"]))

		p.Flow = "invoices"
		pts, err = series.FlowSeries(t.Context(), p)
		require.NoError(t, err)
		require.Len(t, pts, 1)
		require.Equal(t, "invoices", pts[0].Flow)
		require.True(t, pts[0].At.Equal(at(2, 0)), "a bucket starts at Since + n*Step: %s", pts[0].At)
	})

	t.Run("BucketEdgesAndDeadLetters", func(t *testing.T) {
		t.Parallel()
		st := newStore(t)
		series := st.(store.Series)
		// t0 is not on a minute: buckets start at Since, not at the clock's
		// minutes.
		base := t0
		at := func(d time.Duration) time.Time { return base.Add(d) }
		in := func(flow, key string, now time.Time) {
			ingest(t, st, &store.IngestParams{Message: newMessage(flow, key), Now: now})
		}

		// A bucket holds [start, start+Step); the window [Since, Until).
		in("edges", "before", at(-time.Nanosecond))
		in("edges", "first", at(0))
		in("edges", "last-of-first", at(time.Minute-time.Nanosecond))
		in("edges", "second", at(time.Minute))
		in("edges", "until", at(3*time.Minute))

		// A dead letter that was replayed and delivered is no longer
		// dead: its failed attempt stays a failure, not a death.
		rv := ingest(t, st, &store.IngestParams{Message: newMessage("revived", "R"), Now: at(0), Node: "n", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		complete(t, st, rv.Claimed[0].ID, "n", seam.DeliveryDead, at(time.Second))
		n, err := st.DeliveryRequeue(t.Context(), &store.RequeueParams{DeliveryIDs: []int64{rv.Claimed[0].ID}, Now: at(70 * time.Second)})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Len(t, claim(t, st, "n", 10, at(70*time.Second)), 1)
		complete(t, st, rv.Claimed[0].ID, "n", seam.DeliveryDelivered, at(80*time.Second))

		// A delivery that fails, is retried and dies: two failures, one
		// death, counted on the attempt after which it died.
		rt := ingest(t, st, &store.IngestParams{Message: newMessage("retries", "T"), Now: at(2 * time.Minute), Node: "n", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		complete(t, st, rt.Claimed[0].ID, "n", seam.DeliveryRetrying, at(2*time.Minute+time.Second))
		require.Len(t, claim(t, st, "n", 10, at(2*time.Minute+2*time.Second)), 1)
		complete(t, st, rt.Claimed[0].ID, "n", seam.DeliveryDead, at(2*time.Minute+3*time.Second))

		// Step 0 is one minute.
		pts, err := series.FlowSeries(t.Context(), &store.SeriesParams{Since: base, Until: at(3 * time.Minute)})
		require.NoError(t, err)
		got := map[string]store.SeriesPoint{}
		for _, pt := range pts {
			got[pt.Flow+"@"+pt.At.Sub(base).String()] = *pt
			require.Equal(t, time.UTC, pt.At.Location(), "times come back in UTC")
		}
		require.Equal(t, map[string]store.SeriesPoint{
			"edges@0s":     {Received: 2},
			"edges@1m0s":   {Received: 1},
			"revived@0s":   {Received: 1, Failed: 1},
			"revived@1m0s": {Delivered: 1},
			"retries@2m0s": {Received: 1, Failed: 2, Dead: 1},
		}, zeroKeys(got))
		require.True(t, got["edges@1m0s"].At.Equal(at(time.Minute)))

		// One wide bucket sums them.
		pts, err = series.FlowSeries(t.Context(), &store.SeriesParams{Since: base, Until: at(3 * time.Minute), Step: time.Hour})
		require.NoError(t, err)
		got = map[string]store.SeriesPoint{}
		for _, pt := range pts {
			got[pt.Flow+"@"+pt.At.Sub(base).String()] = *pt
		}
		require.Equal(t, map[string]store.SeriesPoint{
			"edges@0s":   {Received: 3},
			"revived@0s": {Received: 1, Failed: 1, Delivered: 1},
			"retries@0s": {Received: 1, Failed: 2, Dead: 1},
		}, zeroKeys(got))

		// A window with nothing in it.
		pts, err = series.FlowSeries(t.Context(), &store.SeriesParams{Since: at(time.Hour), Until: at(2 * time.Hour)})
		require.NoError(t, err)
		require.Empty(t, pts)
	})

	t.Run("EmptyWindow", func(t *testing.T) {
		t.Parallel()
		series := newStore(t).(store.Series)
		now := time.Now()
		pts, err := series.FlowSeries(t.Context(), &store.SeriesParams{Since: now, Until: now})
		require.NoError(t, err)
		require.Empty(t, pts)
	})
}

func zeroKeys(m map[string]store.SeriesPoint) map[string]store.SeriesPoint {
	out := make(map[string]store.SeriesPoint, len(m))
	for k, p := range m {
		out[k] = zeroKey(p)
	}
	return out
}

func zeroKey(p store.SeriesPoint) store.SeriesPoint {
	p.Flow, p.At = "", time.Time{}
	return p
}
