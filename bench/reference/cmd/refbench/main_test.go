package main

import (
	"fmt"
	"math"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestParseWrk(t *testing.T) {
	out := `Running 25s test @ http://127.0.0.1:41000/in/eshop/orders
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.71ms   10.39ms 159.14ms   94.50%
    Req/Sec     6.12k     1.60k    9.32k    69.80%
  Latency Distribution
     50%  870.00us
     75%    6.20ms
     90%    9.10ms
     99%    1.06s
  304973 requests in 25.07s, 57.24MB read
  Socket errors: connect 0, read 3, write 0, timeout 5
  Non-2xx or 3xx responses: 76
Requests/sec:  12165.09
Transfer/sec:      2.28MB
`
	w, err := parseWrk(out)
	if err != nil {
		t.Fatal(err)
	}
	if w.requests != 304973 || w.seconds != 25.07 || w.sockErrs != 8 || w.non2xx != 76 || w.acked() != 304973-84 {
		t.Errorf("counts: %+v", w)
	}
	if w.p50 != 0.87 || w.p99 != 1060 {
		t.Errorf("latency: p50 %v p99 %v", w.p50, w.p99)
	}
	if _, err := parseWrk("unable to connect"); err == nil {
		t.Error("garbage parsed")
	}
}

func TestQuantilesMerge(t *testing.T) {
	// Two wrk processes: one uniform over 1..1000 µs, one ten times slower.
	dist := func(scale float64, requests int64) *wrkResult {
		w := &wrkResult{requests: requests, seconds: 10, threads: 1}
		var out strings.Builder
		fmt.Fprintf(&out, "  %d requests in 10.00s, 1.00MB read\n", requests)
		for i := 1; i <= 1000; i++ {
			fmt.Fprintf(&out, "refbench-quantile %.1f %d\n", float64(i)/10, int(float64(i)*scale))
		}
		p, err := parseWrk(out.String())
		if err != nil {
			t.Fatal(err)
		}
		w.quantiles = p.quantiles
		w.p50, w.p99 = float64(500)*scale/1000, float64(990)*scale/1000
		return w
	}
	a, b := dist(1, 3000), dist(10, 1000)
	if len(a.quantiles) != 1000 || a.quantiles[499] != (quantile{50, 0.5}) {
		t.Fatalf("quantiles parsed: %d, [499] %+v", len(a.quantiles), a.quantiles[499])
	}
	// One part gives its own percentiles back.
	for _, pct := range []float64{50, 99, 99.9} {
		if v, ok := mergedPercentile([]*wrkResult{a}, pct); !ok || math.Abs(v-pct/100) > 1e-9 {
			t.Errorf("p%v of one part: %v %v", pct, v, ok)
		}
	}
	m := mergeWrk([]*wrkResult{a, b})
	if m.requests != 4000 || m.threads != 2 || m.rps != 400 || m.seconds != 10 {
		t.Errorf("sums: %+v", m)
	}
	// Merged: 3,000 requests spread over 0..1 ms, 1,000 over 0..10 ms.
	// The median is where 2,000 are faster: 3,000x + 100x = 2,000 at
	// x = 0.645 ms.
	if math.Abs(m.p50-0.645) > 0.002 {
		t.Errorf("merged p50 %v ms", m.p50)
	}
	if m.p99 != 9.9 || m.p99Merged >= m.p99 || m.p99Merged < 9 {
		t.Errorf("p99 %v, merged %v", m.p99, m.p99Merged)
	}
	// Without the distributions, the worse of each.
	a.quantiles = nil
	if m := mergeWrk([]*wrkResult{a, b}); m.p50 != 5 || m.p99Merged != 9.9 {
		t.Errorf("no distributions: p50 %v, p99 merged %v", m.p50, m.p99Merged)
	}
}

func TestLedgerDSN(t *testing.T) {
	u, _ := url.Parse("postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	l := &ledger{admin: &pgAdmin{dsn: u}, schema: "refbench_x_1_seampg2"}
	got := l.dsn("n2")
	want := "postgres://postgres@127.0.0.1:5432/test?application_name=rb_refbench_x_1_seampg2_n2&search_path=refbench_x_1_seampg2&sslmode=disable"
	if got != want {
		t.Errorf("dsn %s, want %s", got, want)
	}
}

func TestPrintBudget(t *testing.T) {
	cpus := float64(runtime.NumCPU())
	proxy := &result{system: "proxy", intakeRPS: 10000, acked: 1, cpuPerRec: 80}
	// At 7,000 rec/s the machine has cpus/7000 s per record.
	perRec := cpus * 1e6 / 7000
	heavy := &result{system: "seam", acked: 1, loadCPUPerRec: 60, cpuPerRec: perRec - 60 + 25}
	light := &result{system: "seam-base", acked: 1, loadCPUPerRec: 60, cpuPerRec: perRec - 60 - 5}
	pg := &result{system: "seam-pg", acked: 1, loadCPUPerRec: 60, cpuPerRec: perRec / 2, pgCPUOK: true, pgCPUPerRec: perRec / 2}

	var b strings.Builder
	printBudget(&b, proxy, []*result{proxy, heavy, light, pg})
	out := b.String()
	for _, want := range []string{
		fmt.Sprintf("%.0f µs per record for everything", perRec),
		"seam: wrk and the sink took 60 µs",
		"— 25 µs over: no overlap can reach the target",
		"seam-base: wrk and the sink took 60 µs",
		"with PostgreSQL's — 60 µs over",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("budget lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "within it") != 1 {
		t.Errorf("want exactly seam-base within the budget:\n%s", out)
	}
	if strings.Contains(out, "proxy:") {
		t.Errorf("the proxy is the reference, not a system to budget:\n%s", out)
	}
}

func TestWriterStats(t *testing.T) {
	at := func(tx, req, busy, commit float64) string {
		return fmt.Sprintf(`# HELP seam_ledger_write_transactions_total Transactions.
# TYPE seam_ledger_write_transactions_total counter
seam_ledger_write_transactions_total %g
seam_ledger_write_requests_total %g
seam_ledger_writer_busy_seconds_total %g
seam_ledger_commit_seconds_total %g
seam_deliveries{flow="orders",route="erp",state="dead"} 0
`, tx, req, busy, commit)
	}
	s0, ok := parseWriterStats(at(100, 3000, 1.5, 0.5))
	if !ok {
		t.Fatal("the four writer counters were not found")
	}
	s1, ok := parseWriterStats(at(2100, 63000, 10.5, 3.5))
	if !ok {
		t.Fatal("the four writer counters were not found")
	}
	got := s1.since(s0, 10*time.Second)
	want := writerLoad{ok: true, busyPct: 90, batch: 30, commitPct: 100.0 / 3, transactionsPerSec: 200}
	if !got.ok || math.Abs(got.busyPct-want.busyPct) > 1e-9 || got.batch != want.batch ||
		math.Abs(got.commitPct-want.commitPct) > 1e-9 || got.transactionsPerSec != want.transactionsPerSec {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s := got.String(); !strings.Contains(s, "busy 90 %") || !strings.Contains(s, "200 commits/s of 30.0 requests") {
		t.Errorf("summary %q", s)
	}

	// A PostgreSQL ledger (or an older Seam) has no writer counters.
	if _, ok := parseWriterStats("seam_deliveries{flow=\"orders\"} 1\n"); ok {
		t.Error("writer counters reported where there are none")
	}
	if l := s0.since(s0, time.Second); l.ok {
		t.Error("a writer that committed nothing reported a load")
	}
}

func TestRoundOrder(t *testing.T) {
	systems := []string{"proxy", "seam-base", "seam"}
	for round, want := range map[int]string{
		1: "proxy seam-base seam",
		2: "proxy seam seam-base",
		3: "proxy seam-base seam",
	} {
		if got := strings.Join(roundOrder(systems, round), " "); got != want {
			t.Errorf("round %d: %s, want %s", round, got, want)
		}
	}
	roundOrder(systems, 2)
	if got := strings.Join(systems, " "); got != "proxy seam-base seam" {
		t.Errorf("roundOrder changed its argument: %s", got)
	}
}
