package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
	"github.com/seamhq/seam/internal/store/storetest"
)

func openTemp(tb testing.TB) *sqlite.Store {
	tb.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "seam.db"), sqlite.Options{})
	require.NoError(tb, err)
	tb.Cleanup(func() { require.NoError(tb, st.Close()) })
	return st
}

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestIncidents(t *testing.T) {
	t.Parallel()
	storetest.ExerciseIncidents(t, func(t *testing.T) storetest.IncidentStore { return openTemp(t) })
}

func TestOpen(t *testing.T) {
	t.Parallel()

	t.Run("DSNForms", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		for _, dsn := range []string{
			filepath.Join(dir, "plain.db"),
			"sqlite:" + filepath.Join(dir, "scheme.db"),
			"file:" + filepath.Join(dir, "file.db"),
			"sqlite:" + filepath.Join(dir, "params.db") + "?_pragma=cache_size(-4000)",
		} {
			st, err := sqlite.Open(t.Context(), dsn, sqlite.Options{})
			require.NoError(t, err, dsn)
			require.NoError(t, st.Close())
		}
		for _, f := range []string{"plain.db", "scheme.db", "file.db", "params.db"} {
			require.FileExists(t, filepath.Join(dir, f))
		}
	})

	t.Run("MemoryRefused", func(t *testing.T) {
		t.Parallel()
		for _, dsn := range []string{"", ":memory:", "sqlite::memory:", "file:x?mode=memory"} {
			_, err := sqlite.Open(t.Context(), dsn, sqlite.Options{})
			require.Equal(t, seam.EINVALID, seam.ErrorCode(err), dsn)
		}
	})

	t.Run("ReopenKeepsDataAndMigrationsIdempotent", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "seam.db")
		st, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		require.NoError(t, err)
		res, err := st.MessageIngest(t.Context(), &store.IngestParams{Now: time.Now(),
			Message: &seam.Message{Flow: "f", Key: "k", Body: []byte("x")}})
		require.NoError(t, err)
		require.NoError(t, st.Close())

		for range 2 {
			st, err = sqlite.Open(t.Context(), path, sqlite.Options{})
			require.NoError(t, err)
			_, err = st.MessageGet(t.Context(), res.MessageID)
			require.NoError(t, err)
			require.NoError(t, st.Close())
		}
	})
}

// TestCrashSafety kills a process that is ingesting (kill -9, mid-flight)
// and checks that every record it acknowledged is in the file afterwards.
func TestCrashSafety(t *testing.T) {
	if path := os.Getenv("SEAM_CRASH_CHILD"); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "seam.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashSafety$")
	cmd.Env = append(os.Environ(), "SEAM_CRASH_CHILD="+path)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var (
		acked    []int64
		deadline time.Time
	)
	lines := bufio.NewScanner(out)
	for lines.Scan() {
		id, err := strconv.ParseInt(lines.Text(), 10, 64)
		require.NoError(t, err, lines.Text())
		acked = append(acked, id)
		if deadline.IsZero() {
			deadline = time.Now().Add(time.Second)
		}
		if time.Now().After(deadline) {
			require.NoError(t, cmd.Process.Kill())
			break
		}
	}
	// What the child wrote before it died was acknowledged too.
	for lines.Scan() {
		if id, err := strconv.ParseInt(lines.Text(), 10, 64); err == nil {
			acked = append(acked, id)
		}
	}
	_ = cmd.Wait() // killed: the error is expected
	require.NotEmpty(t, acked)

	st, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	// Two list queries rather than one per record keep this fast under -race.
	ms, err := st.MessageList(t.Context(), &store.MessageFilter{Limit: len(acked) + 100_000})
	require.NoError(t, err)
	ds, err := st.DeliveryList(t.Context(), &store.DeliveryFilter{Limit: len(acked) + 100_000})
	require.NoError(t, err)
	stored, delivered := map[int64]bool{}, map[int64]bool{}
	for _, m := range ms {
		stored[m.ID] = true
	}
	for _, d := range ds {
		delivered[d.MessageID] = true
	}
	for _, id := range acked {
		require.True(t, stored[id], "acknowledged message %d lost", id)
		require.True(t, delivered[id], "acknowledged message %d lost its delivery", id)
	}
	t.Logf("%d acknowledged records survived kill -9", len(acked))
}

// crashChild ingests until it is killed, printing each acknowledged ID.
func crashChild(path string) {
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("G%d-%d", g, i)
				res, err := st.MessageIngest(context.Background(), recordParams(key, time.Now(), ""))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintln(os.Stdout, res.MessageID) // unbuffered: one write per acknowledgement
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestWriterStats checks what /metrics shows of the writer: every write
// request counted once, grouped into transactions, and the time in COMMIT
// part of the time busy.
func TestWriterStats(t *testing.T) {
	t.Parallel()
	st := openTemp(t)
	before := st.WriterStats()
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := st.MessageIngest(t.Context(), recordParams(fmt.Sprintf("ES-%d", i), time.Now(), "n1"))
			require.NoError(t, err)
		})
	}
	wg.Wait()
	// A duplicate is a write request too: it waits for the writer's answer.
	res, err := st.MessageIngest(t.Context(), recordParams("ES-0", time.Now(), "n1"))
	require.NoError(t, err)
	require.True(t, res.Duplicate)

	after := st.WriterStats()
	require.Equal(t, uint64(n+1), after.Requests-before.Requests)
	tx := after.Transactions - before.Transactions
	require.GreaterOrEqual(t, tx, uint64(1))
	require.LessOrEqual(t, tx, uint64(n+1))
	require.Positive(t, after.Commit-before.Commit)
	require.GreaterOrEqual(t, after.Busy-before.Busy, after.Commit-before.Commit)
}

// recordParams is one record like the reference flow's: an e-shop order of
// about 500 bytes, its canonical form, and one ordered delivery to the ERP
// of about 400 bytes.
func recordParams(key string, now time.Time, node string) *store.IngestParams {
	body := fmt.Appendf(nil, `{"order_no":%q,"customer_name":"Acme s.r.o.","email":"Buyer@Acme.cz ",`+
		`"order_date":"27/11/2026","total_gross":"1210.00","vat_rate":21,"currency":"CZK",`+
		`"items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"},{"sku":"B-7","qty":1,"unit_price_gross":"0.00"}],`+
		`"shipping":{"street":"Na Příkopě 12","city":"Praha","zip":"110 00","country":"CZ"},`+
		`"note":"Please deliver between 8 and 16, ring twice at the gate; thank you very much"}`, key)
	canonical := fmt.Appendf(nil, `{"id":%q,"ordered_on":"2026-11-27","customer":{"company_name":"Acme s.r.o.",`+
		`"email":"buyer@acme.cz"},"total":{"gross":"1210.00","net":"1000.00","vat_rate":21,"currency":"CZK"}}`, key)
	payload := fmt.Appendf(nil, `{"order_no":%q,"company_name":"Acme s.r.o.","email":"buyer@acme.cz",`+
		`"order_date":"2026-11-27","total_gross":"1210.00","vat_rate":21,"total_net":"1000.00","currency":"CZK",`+
		`"items":[{"sku":"A-1","qty":2,"unit_price_gross":"605.00"},{"sku":"B-7","qty":1,"unit_price_gross":"0.00"}],`+
		`"idempotency_key":"eshop:%s"}`, key, key)
	return &store.IngestParams{
		Message: &seam.Message{Flow: "eshop-orders", System: "eshop", Key: key, ContentType: "application/json",
			Body: body, Canonical: canonical, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"},
		DedupeKey:    "eshop:" + key,
		DedupeWindow: 24 * time.Hour,
		Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, Ordered: true,
			IdempotencyKey: "eshop:" + key, Payload: payload}},
		Node:  node,
		Lease: time.Minute,
		Now:   now,
	}
}
