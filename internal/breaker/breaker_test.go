package breaker_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/breaker"
)

// clock is a manual clock for driving cool-downs without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type change struct{ from, to breaker.State }

type recorder struct {
	mu      sync.Mutex
	changes []change
}

func (r *recorder) on(from, to breaker.State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, change{from, to})
}

func (r *recorder) all() []change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]change(nil), r.changes...)
}

func fail(b *breaker.Breaker, n int) {
	for range n {
		b.Failure()
	}
}

func TestStateString(t *testing.T) {
	t.Parallel()
	require.Equal(t, "closed", breaker.Closed.String())
	require.Equal(t, "open", breaker.Open.String())
	require.Equal(t, "half_open", breaker.HalfOpen.String())
	require.Equal(t, "state(9)", breaker.State(9).String())
}

func TestOpensAfterConsecutiveFailures(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 3, CoolDown: 10 * time.Second}, clk.Now)

	fail(b, 2)
	b.Success() // a success breaks the run
	fail(b, 2)
	require.Equal(t, breaker.Closed, b.State())
	ok, _ := b.Allow()
	require.True(t, ok)

	b.Failure()
	require.Equal(t, breaker.Open, b.State())
	ok, retryAt := b.Allow()
	require.False(t, ok)
	require.Equal(t, clk.Now().Add(10*time.Second), retryAt)
}

func TestHalfOpenAllowsOneProbe(t *testing.T) {
	t.Parallel()
	clk := newClock()
	rec := &recorder{}
	b := breaker.New(breaker.Config{Failures: 1, CoolDown: 10 * time.Second, OnChange: rec.on}, clk.Now)

	b.Failure()
	clk.Advance(9 * time.Second)
	ok, _ := b.Allow()
	require.False(t, ok, "still cooling down")

	clk.Advance(time.Second)
	ok, _ = b.Allow()
	require.True(t, ok, "the probe")
	require.Equal(t, breaker.HalfOpen, b.State())

	ok, retryAt := b.Allow()
	require.False(t, ok, "only one probe at a time")
	require.True(t, retryAt.After(clk.Now()))

	b.Success()
	require.Equal(t, breaker.Closed, b.State())
	ok, _ = b.Allow()
	require.True(t, ok)

	require.Equal(t, []change{
		{breaker.Closed, breaker.Open},
		{breaker.Open, breaker.HalfOpen},
		{breaker.HalfOpen, breaker.Closed},
	}, rec.all())
}

func TestFailedProbeDoublesCoolDownUpToMax(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 1, CoolDown: 10 * time.Second, MaxCoolDown: 35 * time.Second}, clk.Now)

	b.Failure()
	for _, wait := range []time.Duration{10, 20, 35, 35} {
		wait *= time.Second
		clk.Advance(wait - time.Nanosecond)
		ok, retryAt := b.Allow()
		require.False(t, ok, "cool-down %s", wait)
		require.Equal(t, clk.Now().Add(time.Nanosecond), retryAt)

		clk.Advance(time.Nanosecond)
		ok, _ = b.Allow()
		require.True(t, ok, "probe after %s", wait)
		b.Failure()
		require.Equal(t, breaker.Open, b.State())
	}

	// Recovery resets the cool-down to its initial value.
	clk.Advance(35 * time.Second)
	ok, _ := b.Allow()
	require.True(t, ok)
	b.Success()
	b.Failure()
	clk.Advance(10 * time.Second)
	ok, _ = b.Allow()
	require.True(t, ok)
}

func TestProbeTimeoutLetsAnotherProbeThrough(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 1, CoolDown: time.Second, ProbeTimeout: 5 * time.Second}, clk.Now)
	b.Failure()
	clk.Advance(time.Second)
	ok, _ := b.Allow()
	require.True(t, ok)
	// The probe's caller never reports.
	clk.Advance(4 * time.Second)
	ok, _ = b.Allow()
	require.False(t, ok)
	clk.Advance(time.Second)
	ok, _ = b.Allow()
	require.True(t, ok, "a lost probe must not block the destination forever")
}

func TestFailureRatio(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 100, Ratio: 0.5, Window: 10 * time.Second, MinSamples: 10}, clk.Now)

	// Alternating outcomes never reach 100 consecutive failures, but half fail.
	for range 4 {
		b.Failure()
		b.Success()
	}
	require.Equal(t, breaker.Closed, b.State(), "8 samples is below MinSamples")
	b.Failure()
	require.Equal(t, breaker.Closed, b.State(), "9 samples")
	b.Success()
	b.Failure()
	require.Equal(t, breaker.Open, b.State(), "6 of 11 failed")
}

func TestFailureRatioForgetsOldOutcomes(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 100, Ratio: 0.5, Window: 10 * time.Second, MinSamples: 4}, clk.Now)
	fail(b, 3)
	b.Success()
	clk.Advance(11 * time.Second)
	// The old failures are out of the window: 1 failure out of 4 now.
	for range 3 {
		b.Success()
	}
	b.Failure()
	require.Equal(t, breaker.Closed, b.State())
}

func TestStragglersWhileOpenAreIgnored(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 1, CoolDown: time.Minute}, clk.Now)
	b.Failure()
	b.Success()
	require.Equal(t, breaker.Open, b.State())
	b.Failure()
	clk.Advance(time.Minute)
	ok, _ := b.Allow()
	require.True(t, ok, "a straggler failure must not extend the cool-down")
}

func TestReset(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	b := breaker.New(breaker.Config{Failures: 1, OnChange: rec.on}, nil)
	b.Failure()
	b.Reset()
	b.Reset()
	require.Equal(t, breaker.Closed, b.State())
	require.Equal(t, []change{{breaker.Closed, breaker.Open}, {breaker.Open, breaker.Closed}}, rec.all())
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{}, clk.Now)
	fail(b, breaker.DefaultFailures-1)
	require.Equal(t, breaker.Closed, b.State())
	b.Failure()
	_, retryAt := b.Allow()
	require.Equal(t, clk.Now().Add(breaker.DefaultCoolDown), retryAt)
}

func TestOnChangeMayCallBack(t *testing.T) {
	t.Parallel()
	var b *breaker.Breaker
	seen := make(chan breaker.State, 1)
	b = breaker.New(breaker.Config{Failures: 1, OnChange: func(_, _ breaker.State) {
		seen <- b.State() // would deadlock if called under the lock
	}}, nil)
	b.Failure()
	require.Equal(t, breaker.Open, <-seen)
}

func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	clk := newClock()
	b := breaker.New(breaker.Config{Failures: 3, CoolDown: time.Millisecond}, clk.Now)
	var probes sync.WaitGroup
	for g := range 8 {
		probes.Go(func() {
			for i := range 500 {
				if ok, _ := b.Allow(); ok {
					if (i+g)%3 == 0 {
						b.Failure()
					} else {
						b.Success()
					}
				}
				clk.Advance(time.Microsecond)
			}
		})
	}
	probes.Wait()
	require.Contains(t, []breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen}, b.State())
}
