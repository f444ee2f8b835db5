package sqlite_test

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// The benchmarks run 64 concurrent callers (as many as the reference load
// has senders) against a real file with real fsyncs; records/s is the
// figure to compare with the engine's budget.

func BenchmarkIngest(b *testing.B) {
	st := openTemp(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtimeProcs()))
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := fmt.Sprintf("ES-%d", n.Add(1))
			if _, err := st.MessageIngest(b.Context(), recordParams(key, time.Now(), "n1")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "CPU-µs/record")
}

// BenchmarkIngestComplete is the real cost of one record in the ledger:
// its intake, then its delivery's success with the effect and one
// cross-reference, as the engine records it.
func BenchmarkIngestComplete(b *testing.B) {
	st := openTemp(b)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(max(1, 64/runtimeProcs()))
	cpu := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := deliverRecord(b, st, fmt.Sprintf("ES-%d", n.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "CPU-µs/record")
}

// deliverRecord writes one record as the engine does on the reference
// flow: its intake (leased to n1), then its delivery's success with the
// effect and one cross-reference.
func deliverRecord(tb testing.TB, st *sqlite.Store, key string) error {
	res, err := st.MessageIngest(tb.Context(), recordParams(key, time.Now(), "n1"))
	if err != nil {
		return err
	}
	if len(res.Claimed) != 1 {
		return fmt.Errorf("ingest %s: %d claimed", key, len(res.Claimed))
	}
	now := time.Now()
	_, err = st.DeliveryComplete(tb.Context(), &store.CompleteParams{
		DeliveryID: res.Claimed[0].ID, Node: "n1", State: seam.DeliveryDelivered, Lease: time.Minute, Now: now,
		Attempt: &seam.Attempt{StartedAt: now, Duration: time.Millisecond, Status: 201, Response: []byte(`{"id":"55012"}`)},
		XRefs:   []*seam.XRef{{Entity: "order", Key: key, System: "erp", Name: "erp_order_id", Value: "E" + key}},
	})
	return err
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// cpuTime is the CPU time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouteStats is what every /metrics scrape and alert round pays
// for the route counts, on a ledger holding 50,000 delivered records: it
// must not grow with the retention.
func BenchmarkRouteStats(b *testing.B) {
	st := openTemp(b)
	const records = 50_000
	var n atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for {
				i := n.Add(1)
				if i > records {
					return
				}
				if err := deliverRecord(b, st, fmt.Sprintf("ES-%d", i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ResetTimer()
	for b.Loop() {
		rs, err := st.RouteStats(b.Context(), &store.StatsParams{Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if len(rs) != 1 || rs[0].Counts[seam.DeliveryDelivered] != records {
			b.Fatalf("route stats %+v", rs)
		}
	}
}
