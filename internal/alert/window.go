package alert

import (
	"sync"
	"time"
)

// bucketWidth is the resolution of the attempt window: an error rate over
// 15m is measured over 15m give or take 10s.
const bucketWidth = 10 * time.Second

// attempts counts delivery attempts per flow in buckets of bucketWidth, so
// that an error rate over any window up to keep is a sum of buckets. It is
// this process's view: every node counts the attempts it made.
type attempts struct {
	mu    sync.Mutex
	flows map[string][]bucket
	keep  time.Duration
}

type bucket struct {
	slot     int64 // unix time / bucketWidth
	ok, fail int64
}

func newAttempts() *attempts {
	return &attempts{flows: map[string][]bucket{}, keep: time.Hour}
}

// setKeep makes the window remember at least d (the longest rule's).
func (a *attempts) setKeep(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.keep = max(d, time.Hour)
}

// add counts one attempt at t.
func (a *attempts) add(flow string, ok bool, t time.Time) {
	slot := t.UnixNano() / int64(bucketWidth)
	a.mu.Lock()
	defer a.mu.Unlock()
	bs := a.flows[flow]
	// A clock that steps back counts into the newest bucket rather than
	// reordering the series.
	if n := len(bs); n == 0 || bs[n-1].slot < slot {
		bs = append(bs, bucket{slot: slot})
	}
	if ok {
		bs[len(bs)-1].ok++
	} else {
		bs[len(bs)-1].fail++
	}
	// Forget what no rule looks at any more.
	oldest := slot - int64(a.keep/bucketWidth) - 1
	i := 0
	for i < len(bs) && bs[i].slot < oldest {
		i++
	}
	a.flows[flow] = bs[i:]
}

// count returns the successes and failures of flow since t.
func (a *attempts) count(flow string, since time.Time) (ok, fail int64) {
	slot := since.UnixNano() / int64(bucketWidth)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, b := range a.flows[flow] {
		if b.slot >= slot {
			ok += b.ok
			fail += b.fail
		}
	}
	return ok, fail
}

// breakers remembers which routes have an open circuit, per flow.
type breakers struct {
	mu   sync.Mutex
	open map[string]map[string]bool
}

func (b *breakers) set(flow, route string, open bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open == nil {
		b.open = map[string]map[string]bool{}
	}
	if open {
		if b.open[flow] == nil {
			b.open[flow] = map[string]bool{}
		}
		b.open[flow][route] = true
		return
	}
	delete(b.open[flow], route)
}

// routes returns the routes of flow whose circuit is open.
func (b *breakers) routes(flow string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for r := range b.open[flow] {
		out = append(out, r)
	}
	return out
}
