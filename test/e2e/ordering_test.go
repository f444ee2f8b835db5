package e2e

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Guarantee 4: with ordering on, deliveries of one key go out in intake
// order, even when the destination fails at random. 1,000 updates over 50
// keys (each update its own event, numbered by seq); the destination
// answers 503 to 20 % of requests (15 % before taking effect, 5 % after, so
// that the answer is lost and the retry must not take effect twice). At the
// end each key's updates took effect in intake order, all 1,000 of them.
func TestPerKeyOrderingWithRandomFailures(t *testing.T) {
	t.Parallel()
	const (
		keys    = 50
		updates = 20 // per key: 1,000 in all
		senders = 10
	)
	seed := uint64(time.Now().UnixNano())
	t.Logf("sink failure seed: %d", seed)
	sink := newSink(t)
	sink.SetFailures(0.15, 0.05, seed)
	// The breaker is set out of reach: this test is about ordering, and a
	// run of five random failures would otherwise open it and add seconds
	// of cool-down (TestDestinationDownForAWhile covers the breaker).
	p := newProject(t, sink, Catalog{Ordering: true, Event: true, BreakerFailures: 1_000_000})
	hub, _ := startInProcess(t, p)

	refs := orderRefs("ORD", keys)
	// Each sender owns some keys and sends each key's updates one after
	// the other, waiting for the 2xx: that fixes the intake order of a key.
	// Keys are interleaved, so many keys are in flight at once.
	errs := make(chan error, senders)
	var wg sync.WaitGroup
	start := time.Now()
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 1; seq <= updates; seq++ {
				for k := s; k < keys; k += senders {
					r, err := hub.Send(t.Context(), order(refs[k], seq).JSON())
					if err == nil && !r.OK() {
						err = fmt.Errorf("%s #%d: %d %s", refs[k], seq, r.Status, r.Body)
					}
					if err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	t.Logf("intake of %d updates: %s", keys*updates, time.Since(start).Round(time.Millisecond))

	waitFor(t, 60*time.Second, "every update to take effect", func() (bool, string) {
		n := len(sink.Stats().Effects)
		return n == keys*updates, fmt.Sprintf("%d of %d", n, keys*updates)
	})
	hub.waitLedgerDelivered(t, keys*updates, 10*time.Second)
	t.Logf("all delivered %s after the first post", time.Since(start).Round(time.Millisecond))

	st := sink.Stats()
	want := make([]int, updates)
	for i := range want {
		want[i] = i + 1
	}
	var wrong []string
	for _, ref := range refs {
		if !slices.Equal(st.Seqs[ref], want) {
			wrong = append(wrong, fmt.Sprintf("%s took effect in the order %v", ref, st.Seqs[ref]))
		}
		require.Len(t, st.ByOrder[ref], updates, "%s: one effect per update", ref)
	}
	require.Empty(t, wrong, "each key's updates must take effect in intake order")
	failed := 0
	for _, r := range st.Requests {
		if r.Status >= 500 {
			failed++
		}
	}
	t.Logf("sink: %d requests, %d answered 503", len(st.Requests), failed)
	require.NotZero(t, failed, "the sink was meant to fail some requests")
}
