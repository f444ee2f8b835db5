// Package breaker is a per-destination circuit breaker. When a destination is
// down, every delivery to it would otherwise spend one of its limited attempts
// on a request that cannot succeed, and a long outage would push healthy
// records into the dead letters. The breaker notices the outage once, parks
// the deliveries without charging them an attempt, and lets a single probe
// find out when the destination is back.
package breaker

import (
	"fmt"
	"sync"
	"time"
)

// State is where a breaker stands.
type State int

const (
	// Closed lets every request through: the destination is healthy.
	Closed State = iota
	// Open refuses requests until the cool-down has passed.
	Open
	// HalfOpen lets one probe through at a time to test the destination.
	HalfOpen
)

var _ fmt.Stringer = State(0)

// String returns the state as metrics and the API show it.
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half_open"
	default:
		return fmt.Sprintf("state(%d)", int(s))
	}
}

// Defaults for a zero Config.
const (
	DefaultFailures     = 5
	DefaultCoolDown     = 30 * time.Second
	DefaultMaxCoolDown  = 5 * time.Minute
	DefaultWindow       = time.Minute
	DefaultMinSamples   = 20
	DefaultProbeTimeout = time.Minute
)

// probeRecheck is how long a caller refused because another probe is in
// flight should wait before asking again: short, because the probe usually
// answers within one request's time and then everyone may go.
const probeRecheck = time.Second

// windowBuckets is the resolution of the failure-ratio window.
const windowBuckets = 10

// Config tunes a breaker; the zero value is usable.
type Config struct {
	// Failures is how many consecutive failures open the breaker (default 5).
	Failures int
	// Ratio, when above 0, also opens the breaker when at least this share
	// of the outcomes within Window failed (e.g. 0.5), so that a destination
	// failing every other request is caught even though failures are never
	// consecutive.
	Ratio float64
	// Window is the span the ratio is measured over (default 1m).
	Window time.Duration
	// MinSamples is the fewest outcomes in Window before Ratio applies
	// (default 20), so that two failures out of three do not trip it.
	MinSamples int
	// CoolDown is how long the breaker stays open the first time (default 30s).
	CoolDown time.Duration
	// MaxCoolDown caps the cool-down, which doubles each time a probe fails
	// (default 5m).
	MaxCoolDown time.Duration
	// ProbeTimeout is how long a probe may go unreported before another is
	// let through (default 1m); a probe whose caller crashed must not keep
	// the destination blocked forever.
	ProbeTimeout time.Duration
	// OnChange, when set, is called after every state change, outside the
	// breaker's lock, for metrics and alerts. Calls for concurrent changes
	// may arrive out of order; State gives the current state.
	OnChange func(from, to State)
}

type bucket struct {
	start     time.Time
	successes int
	failures  int
}

// Breaker is a circuit breaker for one destination. It is safe for
// concurrent use.
type Breaker struct {
	cfg Config
	now func() time.Time

	mu          sync.Mutex
	state       State
	consecutive int
	buckets     [windowBuckets]bucket
	coolDown    time.Duration // the current one, doubled by failed probes
	openUntil   time.Time
	probing     bool
	probeStart  time.Time
}

// New returns a closed breaker. now is the clock (time.Now when nil), so
// tests can drive the cool-down without sleeping.
func New(cfg Config, now func() time.Time) *Breaker {
	if cfg.Failures <= 0 {
		cfg.Failures = DefaultFailures
	}
	if cfg.CoolDown <= 0 {
		cfg.CoolDown = DefaultCoolDown
	}
	if cfg.MaxCoolDown <= 0 {
		cfg.MaxCoolDown = DefaultMaxCoolDown
	}
	cfg.MaxCoolDown = max(cfg.MaxCoolDown, cfg.CoolDown)
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.MinSamples <= 0 {
		cfg.MinSamples = DefaultMinSamples
	}
	if cfg.ProbeTimeout <= 0 {
		cfg.ProbeTimeout = DefaultProbeTimeout
	}
	if now == nil {
		now = time.Now
	}
	return &Breaker{cfg: cfg, now: now, coolDown: cfg.CoolDown}
}

// Allow reports whether a request may go to the destination now. When it
// may not, retryAt says when to ask again; the caller should reschedule the
// delivery for then without counting an attempt. A caller that is allowed
// must report the outcome with Success or Failure.
func (b *Breaker) Allow() (ok bool, retryAt time.Time) {
	now := b.now()
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		ok = true
	case Open:
		if now.Before(b.openUntil) {
			retryAt = b.openUntil
			break
		}
		b.state = HalfOpen
		b.probing, b.probeStart = true, now
		ok = true
	case HalfOpen:
		if b.probing && now.Sub(b.probeStart) < b.cfg.ProbeTimeout {
			retryAt = now.Add(probeRecheck)
			break
		}
		b.probing, b.probeStart = true, now
		ok = true
	}
	to := b.state
	b.mu.Unlock()
	b.notify(from, to)
	return ok, retryAt
}

// Success reports that an allowed request succeeded. A successful probe
// closes the breaker and resets the cool-down.
func (b *Breaker) Success() {
	now := b.now()
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		b.consecutive = 0
		b.bucketAt(now).successes++
	case HalfOpen:
		b.close()
	case Open:
		// A straggler allowed before the breaker opened: the probe, not
		// an old request, decides when the destination is back.
	}
	to := b.state
	b.mu.Unlock()
	b.notify(from, to)
}

// Failure reports that an allowed request failed because of the destination
// (an outage, a timeout, a 5xx); a record the destination refused (4xx) is
// not the destination's failure and should not be reported. A failed probe
// reopens the breaker with a doubled cool-down.
func (b *Breaker) Failure() {
	now := b.now()
	b.mu.Lock()
	from := b.state
	switch b.state {
	case Closed:
		b.consecutive++
		b.bucketAt(now).failures++
		if b.consecutive >= b.cfg.Failures || b.ratioTripped(now) {
			b.coolDown = b.cfg.CoolDown
			b.open(now)
		}
	case HalfOpen:
		b.coolDown = min(b.coolDown*2, b.cfg.MaxCoolDown)
		b.open(now)
	case Open:
		// A straggler from before the breaker opened; it tells nothing new.
	}
	to := b.state
	b.mu.Unlock()
	b.notify(from, to)
}

// State returns the current state. An open breaker whose cool-down has
// passed still reads Open until the next Allow turns it half-open.
func (b *Breaker) State() State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// Reset closes the breaker at once, e.g. when an operator knows the
// destination is back and does not want to wait for the cool-down.
func (b *Breaker) Reset() {
	b.mu.Lock()
	from := b.state
	b.close()
	b.mu.Unlock()
	b.notify(from, Closed)
}

func (b *Breaker) open(now time.Time) {
	b.state = Open
	b.openUntil = now.Add(b.coolDown)
	b.probing = false
}

func (b *Breaker) close() {
	b.state = Closed
	b.consecutive = 0
	b.coolDown = b.cfg.CoolDown
	b.probing = false
	// The outcomes before the outage must not trip the ratio again.
	b.buckets = [windowBuckets]bucket{}
}

// bucketAt returns the window bucket for now, recycling a stale one.
func (b *Breaker) bucketAt(now time.Time) *bucket {
	width := b.cfg.Window / windowBuckets
	if width <= 0 {
		width = 1
	}
	start := now.Truncate(width)
	i := int((start.UnixNano() / int64(width)) % windowBuckets)
	if i < 0 {
		i += windowBuckets
	}
	bk := &b.buckets[i]
	if !bk.start.Equal(start) {
		*bk = bucket{start: start}
	}
	return bk
}

func (b *Breaker) ratioTripped(now time.Time) bool {
	if b.cfg.Ratio <= 0 {
		return false
	}
	var ok, failed int
	for _, bk := range b.buckets {
		if !bk.start.IsZero() && now.Sub(bk.start) < b.cfg.Window {
			ok += bk.successes
			failed += bk.failures
		}
	}
	total := ok + failed
	return total >= b.cfg.MinSamples && float64(failed) >= b.cfg.Ratio*float64(total)
}

func (b *Breaker) notify(from, to State) {
	if from != to && b.cfg.OnChange != nil {
		b.cfg.OnChange(from, to)
	}
}
