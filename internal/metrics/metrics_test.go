package metrics_test

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/metrics"
	"github.com/seamhq/seam/internal/store"
)

type fakeStats struct{ rs []*store.RouteStats }

func (f *fakeStats) RouteStats(context.Context, *store.StatsParams) ([]*store.RouteStats, error) {
	return f.rs, nil
}

// fakeWriterStats is a ledger with a serial writer (SQLite's).
type fakeWriterStats struct {
	fakeStats
	ws store.WriterStats
}

func (f *fakeWriterStats) WriterStats() store.WriterStats { return f.ws }

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	require.Equal(t, 200, rec.Code)
	b, err := io.ReadAll(rec.Body)
	require.NoError(t, err)
	return string(b)
}

func TestExposition(t *testing.T) {
	t.Parallel()
	oldest := time.Now().Add(-90 * time.Second)
	m := metrics.New(&fakeStats{rs: []*store.RouteStats{{
		Flow: "orders", Route: "erp",
		Counts:    map[seam.DeliveryState]int64{seam.DeliveryDead: 2, seam.DeliveryDelivered: 40},
		OldestDue: oldest, LastDeliveredAt: time.Unix(1_800_000_000, 0),
	}}}, nil)
	m.Received("orders", "accepted")
	m.Received("orders", "accepted")
	m.Received("orders", "refused_map")
	m.Attempted("orders", "erp", "delivered", 20*time.Millisecond)
	m.Attempted("orders", "erp", "postponed", 0)
	m.BreakerChanged("orders", "erp", true)
	m.Reloaded(false, time.Unix(1_800_000_000, 0))

	out := scrape(t, m)
	for _, want := range []string{
		`seam_intake_records_total{flow="orders",outcome="accepted"} 2`,
		`seam_intake_records_total{flow="orders",outcome="refused_map"} 1`,
		`seam_delivery_attempts_total{flow="orders",outcome="delivered",route="erp"} 1`,
		`seam_delivery_attempts_total{flow="orders",outcome="postponed",route="erp"} 1`,
		`seam_delivery_attempt_duration_seconds_count{flow="orders",route="erp"} 1`,
		`seam_circuit_breaker_open{flow="orders",route="erp"} 1`,
		`seam_deliveries{flow="orders",route="erp",state="dead"} 2`,
		`seam_deliveries{flow="orders",route="erp",state="delivered"} 40`,
		`seam_delivery_last_success_timestamp_seconds{flow="orders",route="erp"} 1.8e+09`,
		`seam_catalog_last_reload_successful 0`,
		`seam_catalog_reloads_total{result="refused"} 1`,
		`seam_ledger_scrape_error 0`,
	} {
		require.Contains(t, out, want)
	}
	// Only a ledger with a serial writer has writer metrics.
	require.NotContains(t, out, "seam_ledger_writer_busy_seconds_total")
	// The backlog age is measured at scrape time: about 90 s.
	require.Regexp(t, `seam_delivery_backlog_age_seconds\{flow="orders",route="erp"\} (89|9[0-9])\.`, out)
}

func TestWriterExposition(t *testing.T) {
	t.Parallel()
	m := metrics.New(&fakeWriterStats{ws: store.WriterStats{
		Transactions: 400, Requests: 12_000, Busy: 950 * time.Millisecond, Commit: 300 * time.Millisecond,
	}}, nil)
	out := scrape(t, m)
	for _, want := range []string{
		"seam_ledger_write_transactions_total 400",
		"seam_ledger_write_requests_total 12000",
		"seam_ledger_writer_busy_seconds_total 0.95",
		"seam_ledger_commit_seconds_total 0.3",
	} {
		require.Contains(t, out, want)
	}
}

// TestPromtool checks the exposition with Prometheus's own linter
// (conventional names, units, help texts). CI sets SEAM_TEST_PROMTOOL=1
// and installs promtool, so there it cannot be skipped.
func TestPromtool(t *testing.T) {
	t.Parallel()
	path, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("SEAM_TEST_PROMTOOL") != "" {
			t.Fatal("SEAM_TEST_PROMTOOL is set but promtool is not on PATH (apt-get install prometheus)")
		}
		t.Skip("promtool not installed; set SEAM_TEST_PROMTOOL=1 and install the Debian package prometheus to run it")
	}
	m := metrics.New(&fakeWriterStats{fakeStats: fakeStats{rs: []*store.RouteStats{{Flow: "orders", Route: "erp",
		Counts: map[seam.DeliveryState]int64{seam.DeliveryPending: 1}, OldestDue: time.Now()}}},
		ws: store.WriterStats{Transactions: 1, Requests: 2, Busy: time.Millisecond, Commit: time.Millisecond / 2}}, nil)
	m.Received("orders", "accepted")
	m.Attempted("orders", "erp", "retry", time.Second)
	m.BreakerChanged("orders", "erp", false)
	m.Reloaded(true, time.Now())
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, m))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	require.NoError(t, cmd.Run(), "promtool check metrics:\n%s", out.String())
}
