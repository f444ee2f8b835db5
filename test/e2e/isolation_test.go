package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Per-key ordering with failure isolation (SPEC, "beyond every existing
// tool" 5): when one key's update is refused for good, only that key's
// later updates wait; every other key keeps flowing. After the fix and a
// replay, the waiting key goes on, still in order.
func TestFailingKeyWaitsOthersFlow(t *testing.T) {
	t.Parallel()
	const updates = 3
	sink := newSink(t)
	sink.Reject(func(ref string, seq int) bool { return ref == "ISO-A" && seq == 1 })
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{Ordering: true, Event: true}))

	keys := []string{"ISO-A", "ISO-B", "ISO-C"}
	for seq := 1; seq <= updates; seq++ {
		for _, k := range keys {
			hub.MustSend(t, order(k, seq))
		}
	}
	want := []int{1, 2, 3}
	waitFor(t, 10*time.Second, "the healthy keys to be delivered", func() (bool, string) {
		st := sink.Stats()
		return slices.Equal(st.Seqs["ISO-B"], want) && slices.Equal(st.Seqs["ISO-C"], want),
			fmt.Sprintf("B %v, C %v", st.Seqs["ISO-B"], st.Seqs["ISO-C"])
	})
	var states []string
	waitFor(t, 10*time.Second, "ISO-A's first update to be dead", func() (bool, string) {
		states = states[:0]
		for _, d := range hub.Deliveries(t, "key=ISO-A") {
			states = append(states, d.State)
		}
		// Newest first.
		return slices.Equal(states, []string{"pending", "pending", "dead"}), fmt.Sprintf("%v", states)
	})
	for _, r := range sink.Stats().Requests {
		if r.OrderRef == "ISO-A" {
			require.Equal(t, 1, r.Seq, "ISO-A's later updates must wait behind its dead first update")
		}
	}

	// Fixed at the destination; the operator replays the dead letter.
	sink.Reject(nil)
	var out replayReply
	status, body := hub.API(t, http.MethodPost, "/api/replay", map[string]any{"flow": flowName, "key": "ISO-A", "reason": "customer created"}, &out)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Equal(t, 1, out.Replayed, "%s", body)
	waitFor(t, 10*time.Second, "ISO-A to go on", func() (bool, string) {
		s := sink.Stats().Seqs["ISO-A"]
		return slices.Equal(s, want), fmt.Sprintf("%v", s)
	})
}

// A flow with two routes to the same destination system (say, an ERP that
// takes the order at one endpoint and the invoice request at another).
// Each delivery is a different effect and must carry its own idempotency
// key: a destination that honours Idempotency-Key, as Stripe-like APIs do
// (keys scoped to the client, not to the endpoint), would otherwise answer
// the second route with the first route's result, and the second effect
// would silently never happen while Seam records it delivered.
func TestTwoRoutesToOneDestination(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{SecondRoutePath: "/invoices"}))
	hub.MustSend(t, order("TR-1", 1))
	waitFor(t, 10*time.Second, "both deliveries to be recorded", func() (bool, string) {
		ds := hub.Deliveries(t, "key=TR-1")
		c := countStates(ds)
		return len(ds) == 2 && c["delivered"] == 2, fmt.Sprintf("%v", c)
	})
	st := sink.Stats()
	paths := map[string]bool{}
	keys := map[string]bool{}
	for _, r := range st.Requests {
		require.Equal(t, "TR-1", r.OrderRef)
		keys[r.IdemKey] = true
	}
	for _, e := range st.Effects {
		paths[e.Path] = true
	}
	require.Len(t, keys, 2, "two effects, two idempotency keys; sent: %v", keys)
	require.Equal(t, map[string]bool{"/orders": true, "/invoices": true}, paths, "both effects took place at the destination")
}
