package component_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/component"
)

var now = time.Date(2026, 4, 3, 12, 0, 0, 0, time.UTC)

func TestClassifyHTTP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		header http.Header
		retry  bool
		after  time.Duration
	}{
		{name: "200 ok", status: 200},
		{name: "201 created", status: 201},
		{name: "204 no content", status: 204},
		{name: "301 redirect is permanent", status: 301},
		{name: "304 not modified is permanent", status: 304},
		{name: "400 bad request", status: 400},
		{name: "401 unauthorized", status: 401},
		{name: "403 forbidden", status: 403},
		{name: "404 not found", status: 404},
		{name: "409 conflict", status: 409},
		{name: "422 unprocessable", status: 422},
		{name: "408 request timeout retries", status: 408, retry: true},
		{name: "429 retries", status: 429, retry: true},
		{name: "429 with Retry-After seconds", status: 429, header: http.Header{"Retry-After": {"120"}}, retry: true, after: 2 * time.Minute},
		{name: "500 retries", status: 500, retry: true},
		{name: "502 retries", status: 502, retry: true},
		{name: "503 with Retry-After date", status: 503, header: http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, retry: true, after: 90 * time.Second},
		{name: "504 retries", status: 504, retry: true},
		{name: "599 retries", status: 599, retry: true},
		{name: "Retry-After on a permanent status is ignored", status: 400, header: http.Header{"Retry-After": {"10"}}},
		{name: "0 (no response) is not a success", status: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.header
			if h == nil {
				h = http.Header{}
			}
			retry, after := component.ClassifyHTTP(tc.status, h, now)
			require.Equal(t, tc.retry, retry)
			require.Equal(t, tc.after, after)
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		value string
		want  time.Duration
	}{
		{name: "empty", value: "", want: 0},
		{name: "seconds", value: "30", want: 30 * time.Second},
		{name: "seconds with spaces", value: " 5 ", want: 5 * time.Second},
		{name: "zero", value: "0", want: 0},
		{name: "negative", value: "-5", want: 0},
		{name: "huge is capped", value: "99999999999999999", want: component.MaxRetryAfter},
		{name: "overflowing int is garbage", value: "999999999999999999999999", want: 0},
		{name: "IMF-fixdate", value: now.Add(time.Hour).Format(http.TimeFormat), want: time.Hour},
		{name: "RFC 850 date", value: now.Add(time.Minute).Format(time.RFC850), want: time.Minute},
		{name: "asctime date", value: now.Add(2 * time.Minute).Format(time.ANSIC), want: 2 * time.Minute},
		{name: "date in the past", value: now.Add(-time.Hour).Format(http.TimeFormat), want: 0},
		{name: "date far ahead is capped", value: now.AddDate(1, 0, 0).Format(http.TimeFormat), want: component.MaxRetryAfter},
		{name: "fraction is garbage", value: "1.5", want: 0},
		{name: "garbage", value: "soon", want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, component.ParseRetryAfter(tc.value, now))
		})
	}
}

func TestClassifyErr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		err   error
		retry bool
	}{
		{name: "nil", err: nil, retry: false},
		{name: "deadline", err: context.DeadlineExceeded, retry: true},
		{name: "canceled", err: context.Canceled, retry: true},
		{name: "connection refused", err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, retry: true},
		{name: "connection reset", err: fmt.Errorf("read: %w", syscall.ECONNRESET), retry: true},
		{name: "unexpected EOF", err: io.ErrUnexpectedEOF, retry: true},
		{name: "dns", err: &net.DNSError{Err: "no such host", Name: "erp.invalid"}, retry: true},
		{name: "unknown error", err: errors.New("boom"), retry: true},
		{name: "seam invalid", err: seam.Errorf(seam.EINVALID, "no value for {id}"), retry: false},
		{name: "seam unavailable", err: seam.Errorf(seam.EUNAVAILABLE, "shutting down"), retry: true},
		{name: "classified permanent", err: component.Permanent(errors.New("no")), retry: false},
		{name: "classified transient", err: component.Transient(errors.New("later"), 0), retry: true},
		{name: "wrapped permanent", err: fmt.Errorf("route erp: %w", component.Permanent(errors.New("no"))), retry: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.retry, component.ClassifyErr(tc.err))
			require.Equal(t, tc.retry, component.Retryable(tc.err))
		})
	}
}

func TestErrorHelpers(t *testing.T) {
	t.Parallel()
	cause := errors.New("destination answered 503")

	tr := component.Transient(cause, 3*time.Second)
	require.True(t, component.Retryable(tr))
	require.Equal(t, 3*time.Second, component.RetryAfter(tr))
	require.ErrorIs(t, tr, cause)
	require.Equal(t, cause.Error(), tr.Error())

	p := component.Permanent(tr)
	require.False(t, component.Retryable(p))
	require.Zero(t, component.RetryAfter(p))
	require.ErrorIs(t, p, cause)

	require.NoError(t, component.Permanent(nil))
	require.NoError(t, component.Transient(nil, time.Second))
	require.Zero(t, component.RetryAfter(component.Transient(cause, -time.Second)))

	withStatus := &component.Error{Retryable: true, Status: 503}
	require.Equal(t, 503, component.Permanent(fmt.Errorf("x: %w", withStatus)).(*component.Error).Status)
	require.Contains(t, withStatus.Error(), "503 Service Unavailable")
	require.Contains(t, (&component.Error{}).Error(), "delivery failed")
}

func TestBackoffExponential(t *testing.T) {
	t.Parallel()
	b := component.Backoff{Initial: time.Second, Max: 30 * time.Second, Multiplier: 2}
	want := []time.Duration{1, 2, 4, 8, 16, 30, 30, 30}
	for i, w := range want {
		require.Equal(t, w*time.Second, b.Next(i+1, nil), "attempt %d", i+1)
	}
	require.Equal(t, time.Second, b.Next(0, nil), "attempt 0 counts as the first")
	require.Equal(t, 30*time.Second, b.Next(1_000_000, nil), "huge attempts saturate")
}

func TestBackoffKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    component.Backoff
		want []time.Duration
	}{
		{name: "zero value uses defaults", b: component.Backoff{}, want: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{name: "constant", b: component.Backoff{Kind: "constant", Initial: 5 * time.Second}, want: []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}},
		{name: "linear", b: component.Backoff{Kind: "linear", Initial: 2 * time.Second, Max: 5 * time.Second}, want: []time.Duration{2 * time.Second, 4 * time.Second, 5 * time.Second}},
		{name: "multiplier 3", b: component.Backoff{Initial: time.Second, Multiplier: 3}, want: []time.Duration{time.Second, 3 * time.Second, 9 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for i, w := range tc.want {
				require.Equal(t, w, tc.b.Next(i+1, nil), "attempt %d", i+1)
			}
		})
	}
}

func TestBackoffMonotoneAndCapped(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"exponential", "constant", "linear"} {
		b := component.Backoff{Kind: kind, Initial: 250 * time.Millisecond, Max: time.Minute, Multiplier: 1.7}
		prev := time.Duration(0)
		for attempt := 1; attempt <= 200; attempt++ {
			d := b.Next(attempt, nil)
			require.GreaterOrEqual(t, d, prev, "%s attempt %d", kind, attempt)
			require.LessOrEqual(t, d, time.Minute, "%s attempt %d", kind, attempt)
			prev = d
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	b := component.Backoff{Initial: 10 * time.Second, Max: time.Minute, Jitter: 0.5}
	require.Equal(t, 10*time.Second, b.Next(1, func() float64 { return 0 }))
	require.Equal(t, 5*time.Second, b.Next(1, func() float64 { return 1 }))
	require.Equal(t, 7500*time.Millisecond, b.Next(1, func() float64 { return 0.5 }))

	full := component.Backoff{Initial: 10 * time.Second, Jitter: 1}
	require.Equal(t, 2500*time.Millisecond, full.Next(1, func() float64 { return 0.75 }))

	// Out-of-range inputs are clamped rather than producing negative delays.
	wild := component.Backoff{Initial: 10 * time.Second, Jitter: 7}
	require.Equal(t, time.Duration(0), wild.Next(1, func() float64 { return 3 }))
	require.Equal(t, 10*time.Second, wild.Next(1, func() float64 { return -1 }))

	// Deterministic with an injected source.
	seq := func() func() float64 {
		v := []float64{0.1, 0.9, 0.3}
		i := 0
		return func() float64 { r := v[i%len(v)]; i++; return r }
	}
	a, c := seq(), seq()
	for attempt := 1; attempt < 10; attempt++ {
		require.Equal(t, b.Next(attempt, a), b.Next(attempt, c))
	}
}

func TestBackoffValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    component.Backoff
		ok   bool
	}{
		{name: "zero", b: component.Backoff{}, ok: true},
		{name: "full", b: component.Backoff{Kind: "linear", Initial: time.Second, Max: time.Minute, Multiplier: 2, Jitter: 0.2}, ok: true},
		{name: "unknown kind", b: component.Backoff{Kind: "fibonacci"}},
		{name: "negative", b: component.Backoff{Initial: -time.Second}},
		{name: "initial above max", b: component.Backoff{Initial: time.Hour, Max: time.Minute}},
		{name: "shrinking multiplier", b: component.Backoff{Multiplier: 0.5}},
		{name: "jitter above 1", b: component.Backoff{Jitter: 1.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.b.Validate()
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
		})
	}
}
