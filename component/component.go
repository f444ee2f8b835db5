// Package component is the contract between the delivery engine and the
// connectors that deliver: what an attempt returns, and whether a failure is
// worth another attempt. Keeping the classification here, in one place, means
// every connector (HTTP today, SQL or queues later) retries the same way and
// the engine never has to know which protocol produced an error.
package component

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
)

// MaxResponseBody is how much of a destination's answer is kept as evidence.
// Enough for an error message or a created id; not so much that a destination
// returning megabytes fills the ledger.
const MaxResponseBody = 4 << 10

// MaxRetryAfter caps a destination's Retry-After. A misconfigured destination
// answering "Retry-After: 99999999" must not park a delivery for years, and
// the cap also keeps the seconds-to-Duration conversion from overflowing.
const MaxRetryAfter = 24 * time.Hour

// Result is what came back from one delivery attempt, successful or not.
type Result struct {
	// Status is the protocol status (HTTP status code); 0 when none came back.
	Status int
	// Header holds the response headers, e.g. for cross-references.
	Header http.Header
	// Body is the start of the response, at most MaxResponseBody bytes.
	Body []byte
	// Duration is the time from sending the request to reading the answer.
	Duration time.Duration
}

// Error is a failed delivery attempt, classified. The engine reads only
// Retryable and RetryAfter; Status and Err are evidence for the attempt log.
type Error struct {
	// Retryable says whether a later attempt could succeed unchanged.
	Retryable bool
	// RetryAfter is the delay the destination asked for; 0 lets the
	// route's backoff decide.
	RetryAfter time.Duration
	// Status is the protocol status that caused the failure, 0 for none.
	Status int
	// Err is the cause. Connectors must keep secrets out of it.
	Err error
}

var _ error = (*Error)(nil)

// Error implements error. It does not say whether a retry follows: that
// depends on the attempts left, which only the engine knows.
func (e *Error) Error() string {
	switch {
	case e.Err != nil:
		return e.Err.Error()
	case e.Status != 0:
		return fmt.Sprintf("status %d %s", e.Status, http.StatusText(e.Status))
	default:
		return "delivery failed"
	}
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Permanent marks err as not worth retrying: the destination refused the
// record itself, so the delivery should go to the dead letters at once.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &Error{Err: err, Status: statusOf(err)}
}

// Transient marks err as worth retrying, after at least the given delay
// (0 lets the route's backoff decide).
func Transient(err error, after time.Duration) error {
	if err == nil {
		return nil
	}
	return &Error{Retryable: true, RetryAfter: max(after, 0), Err: err, Status: statusOf(err)}
}

func statusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// Retryable reports whether a delivery that failed with err should be tried
// again. A classified *Error decides for itself; any other error goes through
// ClassifyErr. A nil error is a success, not something to retry.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Retryable
	}
	return ClassifyErr(err)
}

// RetryAfter returns the delay a destination asked for, or 0.
func RetryAfter(err error) time.Duration {
	if e, ok := errors.AsType[*Error](err); ok && e.Retryable {
		return e.RetryAfter
	}
	return 0
}

// ClassifyHTTP classifies an HTTP status: a 2xx is a success (false, 0);
// 5xx, 408 Request Timeout and 429 Too Many Requests are worth retrying,
// honouring Retry-After; every other status, notably the rest of 4xx and
// unfollowed 3xx, is a refusal that retrying unchanged would only repeat.
func ClassifyHTTP(status int, h http.Header, now time.Time) (retry bool, after time.Duration) {
	switch {
	case status >= 200 && status <= 299:
		return false, 0
	case status >= 500 && status <= 599,
		status == http.StatusRequestTimeout,
		status == http.StatusTooManyRequests:
		return true, ParseRetryAfter(h.Get("Retry-After"), now)
	default:
		return false, 0
	}
}

// ParseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): delay
// seconds or an HTTP-date. Anything unreadable, or a date already past,
// gives 0 so the route's own backoff applies; the result is capped at
// MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs >= int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter)
}

// ClassifyErr reports whether an error that is not a classified *Error is
// worth retrying. Failing to reach a destination (refused or reset
// connections, DNS failures, timeouts, TLS failures, a shutdown interrupting
// the attempt) says nothing about the record, and the outage may be fixed
// while the delivery waits, so all of those retry; the route's attempt limit
// still ends in the dead letters. Only a *seam.Error whose code says the
// request itself is wrong (invalid, unsupported, too large, refused) is
// permanent, because no later attempt would build it differently.
func ClassifyErr(err error) bool {
	if err == nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Retryable
	}
	if e, ok := errors.AsType[*seam.Error](err); ok {
		switch e.Code {
		case seam.EINVALID, seam.EUNSUPPORTED, seam.ETOOLARGE, seam.EUNAUTHORIZED,
			seam.EFORBIDDEN, seam.ENOTFOUND, seam.ECONFLICT:
			return false
		}
	}
	return true
}

// Backoff kinds.
const (
	BackoffExponential = "exponential"
	BackoffConstant    = "constant"
	BackoffLinear      = "linear"
)

// Backoff defaults, matching the catalog's documented defaults.
const (
	DefaultInitial    = time.Second
	DefaultMax        = 30 * time.Minute
	DefaultMultiplier = 2.0
)

// Backoff computes the delay before the next attempt of a delivery.
// The zero value is a valid exponential backoff with the defaults.
type Backoff struct {
	// Kind is exponential (the default), constant or linear.
	Kind string
	// Initial is the delay after the first failure (default 1s).
	Initial time.Duration
	// Max caps every delay (default 30m).
	Max time.Duration
	// Multiplier is the growth factor of the exponential kind (default 2).
	Multiplier float64
	// Jitter spreads delays so that many deliveries failing together do
	// not retry together: the delay is drawn from [d·(1−Jitter), d].
	// 0 disables it and 1 is "full jitter". Values outside 0..1 are clamped.
	Jitter float64
}

// Validate reports a backoff the catalog should refuse.
func (b Backoff) Validate() error {
	switch b.Kind {
	case "", BackoffExponential, BackoffConstant, BackoffLinear:
	default:
		return seam.Errorf(seam.EINVALID, "unknown backoff %q", b.Kind).
			WithHint("use exponential, constant or linear")
	}
	if b.Initial < 0 || b.Max < 0 {
		return seam.Errorf(seam.EINVALID, "backoff durations must not be negative")
	}
	if b.Max > 0 && b.Initial > b.Max {
		return seam.Errorf(seam.EINVALID, "backoff initial %s is above max %s", b.Initial, b.Max)
	}
	if b.Multiplier != 0 && (b.Multiplier < 1 || math.IsNaN(b.Multiplier) || math.IsInf(b.Multiplier, 0)) {
		return seam.Errorf(seam.EINVALID, "backoff multiplier %v must be at least 1", b.Multiplier)
	}
	if b.Jitter < 0 || b.Jitter > 1 || math.IsNaN(b.Jitter) {
		return seam.Errorf(seam.EINVALID, "backoff jitter %v must be between 0 and 1", b.Jitter)
	}
	return nil
}

// Next returns the delay after the given failed attempt (1 for the first).
// rnd supplies the jitter in [0, 1); pass a fixed function in tests. A nil
// rnd, or Jitter 0, gives the undisturbed delay. Without jitter the delays
// never decrease and never exceed Max.
func (b Backoff) Next(attempt int, rnd func() float64) time.Duration {
	initial, maxD, mult := b.Initial, b.Max, b.Multiplier
	if initial <= 0 {
		initial = DefaultInitial
	}
	if maxD <= 0 {
		maxD = DefaultMax
	}
	if mult < 1 || math.IsNaN(mult) || math.IsInf(mult, 0) {
		mult = DefaultMultiplier
	}
	attempt = max(attempt, 1)

	// Float arithmetic so that large attempt numbers saturate at Max
	// instead of overflowing int64.
	var d float64
	switch b.Kind {
	case BackoffConstant:
		d = float64(initial)
	case BackoffLinear:
		d = float64(initial) * float64(attempt)
	default:
		d = float64(initial) * math.Pow(mult, float64(attempt-1))
	}
	if math.IsNaN(d) || d > float64(maxD) {
		d = float64(maxD)
	}

	jitter := b.Jitter
	if math.IsNaN(jitter) {
		jitter = 0
	}
	jitter = min(max(jitter, 0), 1)
	if jitter > 0 && rnd != nil {
		r := rnd()
		if math.IsNaN(r) {
			r = 0
		}
		r = min(max(r, 0), 1)
		d -= d * jitter * r
	}
	return time.Duration(d)
}
