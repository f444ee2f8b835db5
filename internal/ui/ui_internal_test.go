package ui

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Ensure the health rules give the level and the reasons docs/dashboard.md
// promises.
func TestFlowHealth(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		f     flowFacts
		level string
		why   string
	}{
		{"Quiet", flowFacts{}, "ok", ""},
		{"Healthy", flowFacts{Delivered: 100, Failed: 2, Routes: []*routeFacts{{Delivered: 100}}}, "ok", ""},
		{"DeadLetter", flowFacts{Routes: []*routeFacts{{Dead: 1}}}, "fail", "1 dead letter"},
		{"HighErrorRate", flowFacts{Delivered: 70, Failed: 30}, "fail", "30 % of attempts failed"},
		{"SomeErrors", flowFacts{Delivered: 90, Failed: 10}, "warn", "10 % of attempts failed"},
		{"TooFewAttemptsToJudge", flowFacts{Delivered: 1, Failed: 2}, "ok", ""},
		{"Retrying", flowFacts{Routes: []*routeFacts{{Retrying: 3, OldestDue: now.Add(-30 * time.Second)}}}, "warn", "3 retrying"},
		{"OldBacklog", flowFacts{Routes: []*routeFacts{{Pending: 5, OldestDue: now.Add(-20 * time.Minute)}}}, "fail", "oldest waiting 20 min"},
		{"Quarantine", flowFacts{Quarantined: 2}, "warn", "2 in quarantine"},
		{"CriticalIncident", flowFacts{Incidents: []*seam.Incident{{Severity: "critical", Summary: "no records for 2h"}}}, "fail", "alert: no records for 2h"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := tc.f.assess(now, true)
			require.Equal(t, tc.level, h.Level)
			require.Contains(t, h.Why, tc.why)
			require.NotEmpty(t, h.Label, "health is always a word too")
			require.NotEmpty(t, h.Icon)
		})
	}
}

// Ensure a span's buckets cover the window, end with the current step and
// sum the points that fall in them.
func TestBuckets(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 4, 3, 10, 17, 30, 0, time.UTC)
	sp := spanOf("1h")
	since, until := sp.window(now)
	require.Equal(t, time.Date(2026, 4, 3, 9, 18, 0, 0, time.UTC), since)
	require.Equal(t, time.Date(2026, 4, 3, 10, 18, 0, 0, time.UTC), until)
	bs := sp.buckets(now, "orders", []*store.SeriesPoint{
		{Flow: "orders", At: time.Date(2026, 4, 3, 10, 17, 0, 0, time.UTC), Received: 3, Failed: 1},
		{Flow: "other", At: time.Date(2026, 4, 3, 10, 17, 0, 0, time.UTC), Received: 9},
		{Flow: "orders", At: since, Delivered: 2},
	})
	require.Len(t, bs, 60)
	require.Equal(t, int64(3), bs[59].Received)
	require.Equal(t, int64(1), bs[59].Failed)
	require.Equal(t, int64(2), bs[0].Delivered)
	require.Equal(t, "24h", spanOf("24h").Key)
	require.Equal(t, "1h", spanOf("nonsense").Key)

	c := throughputChart("tp", bs, sp, time.UTC)
	require.Contains(t, string(c.SVG), `role="img"`)
	require.Contains(t, string(c.SVG), "3 records received, 2 delivered")
	require.True(t, strings.HasSuffix(string(c.SVG), "</svg>"))
}

func TestNiceTop(t *testing.T) {
	t.Parallel()
	for in, want := range map[int64]int64{0: 4, 3: 4, 7: 10, 12: 20, 23: 25, 47: 50, 51: 100, 180: 200, 1234: 2000} {
		require.Equal(t, want, niceTop(in), in)
	}
}

func TestSameOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		origin, referer string
		ok              bool
	}{
		{"http://seam.local:8080", "", true},
		{"", "http://seam.local:8080/dlq", true},
		{"https://seam.local:8080", "", true}, // TLS ended by a proxy
		{"http://evil.example", "http://seam.local:8080/dlq", false},
		{"null", "", false},
		{"", "", false},
		{"http://seam.local:9999", "", false},
	} {
		r := httptest.NewRequest("POST", "http://seam.local:8080/dlq/replay", nil)
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		if tc.referer != "" {
			r.Header.Set("Referer", tc.referer)
		}
		require.Equal(t, tc.ok, sameOrigin(r) == nil, "%+v", tc)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	require.Equal(t, "12\u202f480", count(12480))
	require.Equal(t, "999", count(999))
	require.Equal(t, "1\u202f000\u202f000", count(1000000))
	require.Equal(t, "—", percent(1, 0))
	require.Equal(t, "2.5 %", percent(1, 40))
	require.Equal(t, "2h", compactDuration(2*time.Hour))
	require.Equal(t, "15m", compactDuration(15*time.Minute))
	require.Equal(t, "1h30m", compactDuration(90*time.Minute))
	require.Equal(t, "2d", compactDuration(48*time.Hour))
	require.Equal(t, "3 h 10 min", humanDuration(190*time.Minute))
	require.Equal(t, "/", safeNext("//evil.example"))
	require.Equal(t, "/dlq?x=1", safeNext("/dlq?x=1"))
}
