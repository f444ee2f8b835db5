package multinode

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/postgres"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// `seam store copy` moves a SQLite ledger of copyMessages messages (with
// their deliveries, attempts, links, effects and some quarantine; see
// fillLedger) to
// PostgreSQL and back: the counts of every table are identical at each
// step, and so is the trace of every key sampled. Copying again into the
// same target is refused, and with --resume copies nothing twice.
func TestStoreCopy(t *testing.T) {
	t.Parallel()
	db := newDB(t)
	dir := t.TempDir()
	from := "sqlite:" + filepath.Join(dir, "from.db")
	back := "sqlite:" + filepath.Join(dir, "back.db")
	keys := fillLedger(t, from, copyMessages)

	run := func(args ...string) (string, error) {
		cmd := exec.Command(seamBin, append([]string{"store", "copy"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	began := time.Now()
	out, err := run(from, db.DSN())
	require.NoError(t, err, out)
	t.Logf("SQLite → PostgreSQL, %d messages, in %s:\n%s", copyMessages, time.Since(began).Round(time.Millisecond), out)
	require.NotContains(t, out, "DIFFERS")

	out, err = run(from, db.DSN())
	require.Error(t, err, "a non-empty target is refused")
	require.Contains(t, out, "--resume")
	out, err = run("--resume", from, db.DSN())
	require.NoError(t, err, out)
	require.Contains(t, out, "copied 0 rows", "a resumed complete copy copies nothing twice")

	began = time.Now()
	out, err = run(db.DSN(), back)
	require.NoError(t, err, out)
	t.Logf("PostgreSQL → SQLite in %s", time.Since(began).Round(time.Millisecond))

	ctx := context.Background()
	src, err := sqlite.Open(ctx, strings.TrimPrefix(from, "sqlite:"), sqlite.Options{})
	require.NoError(t, err)
	defer src.Close()
	pg, err := postgres.Open(ctx, db.DSN(), postgres.Options{})
	require.NoError(t, err)
	defer pg.Close()
	bk, err := sqlite.Open(ctx, strings.TrimPrefix(back, "sqlite:"), sqlite.Options{})
	require.NoError(t, err)
	defer bk.Close()

	for _, tb := range store.CopyTables {
		want, err := src.ExportCount(ctx, tb.Name)
		require.NoError(t, err)
		for name, st := range map[string]store.Exporter{"postgres": pg, "back": bk} {
			got, err := st.ExportCount(ctx, tb.Name)
			require.NoError(t, err)
			require.Equal(t, want, got, "%s in %s", tb.Name, name)
		}
	}
	ms, err := src.MessageList(ctx, &store.MessageFilter{Limit: 1})
	require.NoError(t, err)
	require.Equal(t, int64(copyMessages), ms[0].ID)

	for i := 0; i < len(keys); i += len(keys)/25 + 1 {
		want := trace(t, src, keys[i])
		require.NotEmpty(t, want.messages)
		require.Equal(t, want, trace(t, pg, keys[i]), keys[i])
		require.Equal(t, want, trace(t, bk, keys[i]), keys[i])
	}
}

// keyTrace is what `seam trace` shows of a key: its messages, deliveries,
// attempts and cross-references.
type keyTrace struct {
	messages   []*seam.Message
	deliveries []*seam.Delivery
	attempts   [][]*seam.Attempt
	xrefs      []*seam.XRef
}

func trace(t *testing.T, st store.Store, key string) keyTrace {
	t.Helper()
	ctx := context.Background()
	var tr keyTrace
	var err error
	tr.messages, err = st.MessageList(ctx, &store.MessageFilter{Key: key})
	require.NoError(t, err)
	// By message and by (entity, key): the lookups a trace makes, which
	// the indexes serve.
	for _, m := range tr.messages {
		ds, err := st.DeliveryList(ctx, &store.DeliveryFilter{MessageID: m.ID})
		require.NoError(t, err)
		tr.deliveries = append(tr.deliveries, ds...)
	}
	for _, d := range tr.deliveries {
		as, err := st.AttemptList(ctx, d.ID)
		require.NoError(t, err)
		tr.attempts = append(tr.attempts, as)
	}
	tr.xrefs, err = st.XRefList(ctx, &store.XRefFilter{Entity: "order", Key: key})
	require.NoError(t, err)
	return tr
}

// fillLedger writes n records into a new SQLite ledger and returns their
// keys. The first realRecords go through the store API as intake and
// delivery write them: an ordered delivery leased at intake; three in four
// delivered with an attempt, an effect and a cross-reference, one in eight
// failing once first; one in a hundred quarantined instead; each with a
// link. The rest, the bulk, are written through the importer in the same
// shapes, so that a 100,000-message ledger takes seconds to build, not
// minutes.
func fillLedger(t *testing.T, dsn string, n int) []string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite:"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("CP-%06d", i)
	}
	t0 := time.Date(2026, 3, 4, 10, 0, 0, 123456789, time.UTC)
	viaAPI := min(n, realRecords)
	const workers = 32
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < viaAPI; i += workers {
				if errs[w] = fillOne(ctx, st, keys[i], i, t0.Add(time.Duration(i)*time.Millisecond)); errs[w] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}

	// The bulk: rows in store.CopyTables' layout, ids after the real ones.
	next := map[string]int64{}
	for _, tb := range store.CopyTables {
		next[tb.Name], err = st.ImportMaxID(ctx, tb.Name)
		require.NoError(t, err)
	}
	id := func(table string) int64 { next[table]++; return next[table] }
	rows := map[string][][]any{}
	flush := func() {
		for _, tb := range store.CopyTables {
			if len(rows[tb.Name]) > 0 {
				require.NoError(t, st.ImportRows(ctx, tb.Name, rows[tb.Name]))
			}
		}
		clear(rows)
	}
	for i := viaAPI; i < n; i++ {
		key, at := keys[i], t0.Add(time.Duration(i)*time.Millisecond).UnixNano()
		mid := id("messages")
		body := fmt.Appendf(nil, `{"order_no":%q,"total_gross":"1210.00","note":"copied record number %d"}`, key, i)
		if i%100 == 99 {
			rows["messages"] = append(rows["messages"], []any{mid, "orders", "shop", key, "quarantined", at, "application/json",
				body, nil, "4bf92f3577b34da6a3ce929d0e0e4736", int64(0), nil})
			rows["quarantine"] = append(rows["quarantine"], []any{id("quarantine"), mid, "orders", key, "map",
				`[{"stage":"map","field":"total","message":"not money"}]`, "open", at, at})
			continue
		}
		rows["messages"] = append(rows["messages"], []any{mid, "orders", "shop", key, "accepted", at, "application/json", body,
			fmt.Appendf(nil, `{"id":%q,"total":{"gross":"1210.00","net":"1000.00"}}`, key), "4bf92f3577b34da6a3ce929d0e0e4736",
			int64(0), "shop:" + key})
		rows["xrefs"] = append(rows["xrefs"], []any{id("xrefs"), "order", key, "shop", "customer", fmt.Sprintf("C-%d", i%1000), at})
		did := id("deliveries")
		state, attempts, owner, until, status, delivered := "in_flight", int64(0), any("n1"), any(at+int64(time.Minute)), int64(0), int64(0)
		if i%4 != 3 {
			state, attempts, owner, until, status, delivered = "delivered", 1, nil, nil, 201, at
			if i%8 == 0 {
				attempts = 2
				rows["attempts"] = append(rows["attempts"], []any{id("attempts"), did, int64(1), at, int64(time.Millisecond),
					int64(503), "unavailable", nil})
			}
			rows["attempts"] = append(rows["attempts"], []any{id("attempts"), did, attempts, at, int64(2 * time.Millisecond),
				int64(201), "", []byte(`{"id":"E1"}`)})
			rows["effects"] = append(rows["effects"], []any{id("effects"), "orders", "sink", "shop:" + key, did, at})
			rows["xrefs"] = append(rows["xrefs"], []any{id("xrefs"), "order", key, "sink", "sink_id", "E-" + key, at})
		}
		rows["deliveries"] = append(rows["deliveries"], []any{did, mid, "orders", "sink", key, state, "shop:" + key, int64(1),
			fmt.Appendf(nil, `{"OrderRef":%q,"Net":"1000.00"}`, key), attempts, at, owner, until, status, "", at, at, delivered})
		if len(rows["messages"]) >= 5000 {
			flush()
		}
	}
	flush()
	return keys
}

func fillOne(ctx context.Context, st store.Store, key string, i int, now time.Time) error {
	m := &seam.Message{Flow: "orders", System: "shop", Key: key, ContentType: "application/json",
		Body:      fmt.Appendf(nil, `{"order_no":%q,"total_gross":"1210.00","note":"copied record number %d"}`, key, i),
		Canonical: fmt.Appendf(nil, `{"id":%q,"total":{"gross":"1210.00","net":"1000.00"}}`, key), TraceID: "4bf92f3577b34da6a3ce929d0e0e4736"}
	p := &store.IngestParams{Message: m, DedupeKey: "shop:" + key, DedupeWindow: 24 * time.Hour, Now: now}
	if i%100 == 99 {
		p.DedupeKey = ""
		p.Quarantine = &seam.Quarantined{Stage: seam.StageMap, Reasons: []seam.Reason{{Stage: seam.StageMap, Field: "total", Message: "not money"}}}
		_, err := st.MessageIngest(ctx, p)
		return err
	}
	p.Node, p.Lease = "n1", time.Minute
	p.Deliveries = []*seam.Delivery{{Route: "sink", State: seam.DeliveryPending, Ordered: true, IdempotencyKey: "shop:" + key,
		Payload: fmt.Appendf(nil, `{"OrderRef":%q,"Net":"1000.00"}`, key)}}
	p.XRefs = []*seam.XRef{{Entity: "order", Name: "customer", Value: fmt.Sprintf("C-%d", i%1000)}}
	res, err := st.MessageIngest(ctx, p)
	if err != nil || i%4 == 3 {
		return err
	}
	id := res.Claimed[0].ID
	if i%8 == 0 {
		if _, err := st.DeliveryComplete(ctx, &store.CompleteParams{DeliveryID: id, Node: "n1", State: seam.DeliveryRetrying,
			NextAt: now, Now: now, Attempt: &seam.Attempt{StartedAt: now, Duration: time.Millisecond, Status: 503, Error: "unavailable"}}); err != nil {
			return err
		}
		if _, err := st.DeliveryClaim(ctx, &store.ClaimParams{Node: "n1", Limit: 1, Lease: time.Minute, Now: now, Flows: []string{"orders"}}); err != nil {
			return err
		}
		d, err := st.DeliveryGet(ctx, id)
		if err != nil || d.State != seam.DeliveryInFlight {
			return err // another worker's claim took it: it stays retrying
		}
	}
	_, err = st.DeliveryComplete(ctx, &store.CompleteParams{DeliveryID: id, Node: "n1", State: seam.DeliveryDelivered, Now: now,
		Attempt: &seam.Attempt{StartedAt: now, Duration: 2 * time.Millisecond, Status: 201, Response: []byte(`{"id":"E1"}`)},
		XRefs:   []*seam.XRef{{Entity: "order", Key: key, System: "sink", Name: "sink_id", Value: "E-" + key}}})
	return err
}
