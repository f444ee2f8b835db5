package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// exerciseCapabilities checks the optional interfaces of store.go
// (Notifier, Leaser, Exporter and Importer) on drivers that implement
// them; a driver that does not implement one skips its subtests, saying so.
func exerciseCapabilities(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()

	notifier := func(t *testing.T) (store.Store, <-chan struct{}) {
		t.Helper()
		st := newStore(t)
		n, ok := st.(store.Notifier)
		if !ok {
			t.Skip("the store does not implement store.Notifier; its nodes find work by polling only")
		}
		ch := n.DeliveryWakeups()
		// Wake-ups are hints and may come spuriously: start from none.
		select {
		case <-ch:
		default:
		}
		return st, ch
	}
	requireWake := func(t *testing.T, ch <-chan struct{}, what string) {
		t.Helper()
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatalf("no wake-up within 10s of %s", what)
		}
	}

	t.Run("Notify", func(t *testing.T) {
		t.Parallel()

		t.Run("Requeue", func(t *testing.T) {
			t.Parallel()
			st, ch := notifier(t)
			res := ingest(t, st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			complete(t, st, res.Claimed[0].ID, "n1", seam.DeliveryDead, t0)
			select {
			case <-ch:
			default:
			}
			n, err := st.DeliveryRequeue(t.Context(), &store.RequeueParams{DeliveryIDs: []int64{res.Claimed[0].ID}, Now: t0})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			requireWake(t, ch, "a replay")
		})

		t.Run("ReleaseLeases", func(t *testing.T) {
			t.Parallel()
			st, ch := notifier(t)
			ingest(t, st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			select {
			case <-ch:
			default:
			}
			require.NoError(t, st.DeliveryReleaseLeases(t.Context(), "n1"))
			requireWake(t, ch, "a node giving its leases back")
		})

		t.Run("IngestWithoutNode", func(t *testing.T) {
			t.Parallel()
			st, ch := notifier(t)
			ingest(t, st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0,
				Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			requireWake(t, ch, "a record stored with no node to send it")
		})
	})

	leaser := func(t *testing.T) store.Leaser {
		t.Helper()
		l, ok := newStore(t).(store.Leaser)
		if !ok {
			t.Skip("the store does not implement store.Leaser: it serves one node, which always leads")
		}
		return l
	}
	elect := func(t *testing.T, l store.Leaser, node string, now time.Time) bool {
		t.Helper()
		ok, err := l.LeaderAttemptElect(t.Context(), &store.LeaderParams{Name: "maintenance", Node: node, TTL: time.Minute, Now: now})
		require.NoError(t, err)
		return ok
	}

	t.Run("Leader", func(t *testing.T) {
		t.Parallel()

		t.Run("OneAtATimeAndTakeover", func(t *testing.T) {
			t.Parallel()
			l := leaser(t)
			require.True(t, elect(t, l, "n1", t0))
			require.False(t, elect(t, l, "n2", t0.Add(time.Second)), "n1 leads")
			require.True(t, elect(t, l, "n1", t0.Add(30*time.Second)), "the leader renews")
			require.False(t, elect(t, l, "n2", t0.Add(61*time.Second)), "renewed until 1m30s")
			require.True(t, elect(t, l, "n2", t0.Add(91*time.Second)), "expired: taken over")
			require.False(t, elect(t, l, "n1", t0.Add(92*time.Second)), "the old leader is out")
			ok, err := l.LeaderAttemptElect(t.Context(), &store.LeaderParams{Name: "other", Node: "n1", TTL: time.Minute, Now: t0.Add(92 * time.Second)})
			require.NoError(t, err)
			require.True(t, ok, "each name has its own leader")
		})

		t.Run("Resign", func(t *testing.T) {
			t.Parallel()
			l := leaser(t)
			require.True(t, elect(t, l, "n1", t0))
			require.NoError(t, l.LeaderResign(t.Context(), &store.LeaderParams{Name: "maintenance", Node: "n2"}), "not held: no error")
			require.False(t, elect(t, l, "n2", t0.Add(time.Second)))
			require.NoError(t, l.LeaderResign(t.Context(), &store.LeaderParams{Name: "maintenance", Node: "n1"}))
			require.True(t, elect(t, l, "n2", t0.Add(2*time.Second)), "a resigned leadership is free at once")
		})

		t.Run("ConcurrentElectionHasOneWinner", func(t *testing.T) {
			t.Parallel()
			l := leaser(t)
			const nodes = 8
			won := make([]bool, nodes)
			errs := make([]error, nodes)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range nodes {
				wg.Go(func() {
					<-start
					won[i], errs[i] = l.LeaderAttemptElect(t.Context(), &store.LeaderParams{Name: "maintenance",
						Node: fmt.Sprintf("n%d", i), TTL: time.Minute, Now: t0})
				})
			}
			close(start)
			wg.Wait()
			winners := 0
			for i := range nodes {
				require.NoError(t, errs[i])
				if won[i] {
					winners++
				}
			}
			require.Equal(t, 1, winners)
		})
	})

	t.Run("Copy", func(t *testing.T) {
		t.Parallel()
		src := newStore(t)
		exp, ok := src.(store.Exporter)
		if !ok {
			t.Skip("the store does not implement store.Exporter")
		}
		dst := newStore(t)
		imp, ok := dst.(store.Importer)
		if !ok {
			t.Skip("the store does not implement store.Importer")
		}

		// A ledger with a bit of everything: ordered and unordered
		// deliveries in every state, attempts, effects, links and
		// cross-references, a quarantined record, an audit event.
		var keys []string
		for i := range 12 {
			key := fmt.Sprintf("ES-%d", i)
			keys = append(keys, key)
			res := ingest(t, src, &store.IngestParams{Message: newMessage("eshop-orders", key), Now: t0.Add(time.Duration(i) * time.Second),
				DedupeKey: "eshop:" + key, DedupeWindow: time.Hour, Node: "n1", Lease: time.Minute,
				Deliveries: []*seam.Delivery{newDelivery("erp", true), newDelivery("mailing", false)},
				XRefs:      []*seam.XRef{{Entity: "order", Name: "customer", Value: "C-" + key}}})
			switch i % 4 {
			case 0:
				_, err := src.DeliveryComplete(t.Context(), &store.CompleteParams{DeliveryID: res.Claimed[0].ID, Node: "n1",
					State: seam.DeliveryDelivered, Now: t0.Add(time.Minute), Attempt: &seam.Attempt{Status: 201, Response: []byte(`{"id":1}`)},
					XRefs: []*seam.XRef{{Entity: "order", Key: key, System: "erp", Name: "erp_order_id", Value: "E" + key}}})
				require.NoError(t, err)
			case 1:
				complete(t, src, res.Claimed[0].ID, "n1", seam.DeliveryRetrying, t0.Add(time.Minute))
			case 2:
				complete(t, src, res.Claimed[1].ID, "n1", seam.DeliveryDead, t0.Add(time.Minute))
			}
		}
		q := &seam.Quarantined{Stage: seam.StageMap, Reasons: []seam.Reason{{Stage: seam.StageMap, Field: "total", Message: "not money"}}}
		ingest(t, src, &store.IngestParams{Message: newMessage("eshop-orders", "BAD"), Quarantine: q, Now: t0})
		require.NoError(t, src.AuditAppend(t.Context(), &seam.AuditEvent{At: t0, Actor: "alice", Action: "replay", Target: "delivery:1", Detail: []byte(`{"n":1}`)}))
		// Incidents, when the store keeps them (store.CopyTables has their
		// table, so an exporting store must): one resolved after its
		// firing notice went out, its resolve still to send; one open
		// whose firing notice reached one channel of two.
		srcInc, withIncidents := src.(store.Incidents)
		var openInc *seam.Incident
		if withIncidents {
			openInc = copyIncidents(t, srcInc)
		}

		for _, tb := range store.CopyTables {
			n, err := exp.ExportCount(t.Context(), tb.Name)
			require.NoError(t, err)
			max, err := imp.ImportMaxID(t.Context(), tb.Name)
			require.NoError(t, err)
			require.Zero(t, max, tb.Name)
			var after int64
			copied := int64(0)
			for {
				rows, err := exp.ExportRows(t.Context(), tb.Name, after, 5)
				require.NoError(t, err)
				if len(rows) == 0 {
					break
				}
				for _, r := range rows {
					require.Len(t, r, len(tb.Columns))
					for i, v := range r {
						switch v.(type) {
						case nil, int64, string, []byte:
						default:
							t.Fatalf("%s.%s travels as %T", tb.Name, tb.Columns[i], v)
						}
					}
				}
				require.NoError(t, imp.ImportRows(t.Context(), tb.Name, rows))
				after = rows[len(rows)-1][0].(int64)
				copied += int64(len(rows))
			}
			require.Equal(t, n, copied, tb.Name)
			got, err := dst.(store.Exporter).ExportCount(t.Context(), tb.Name)
			require.NoError(t, err)
			require.Equal(t, n, got, tb.Name)
		}
		require.NoError(t, imp.ImportDone(t.Context()))

		// The same route counts in both (a driver may keep them apart from
		// the rows, and must then count the imported ones).
		srs, err := src.RouteStats(t.Context(), &store.StatsParams{Now: t0})
		require.NoError(t, err)
		drs, err := dst.RouteStats(t.Context(), &store.StatsParams{Now: t0})
		require.NoError(t, err)
		require.NotEmpty(t, srs)
		require.Equal(t, srs, drs)

		// The same trace in both.
		for _, key := range append(keys, "BAD") {
			sm, err := src.MessageList(t.Context(), &store.MessageFilter{Key: key})
			require.NoError(t, err)
			dm, err := dst.MessageList(t.Context(), &store.MessageFilter{Key: key})
			require.NoError(t, err)
			require.Equal(t, sm, dm, key)
			sd, err := src.DeliveryList(t.Context(), &store.DeliveryFilter{Key: key})
			require.NoError(t, err)
			dd, err := dst.DeliveryList(t.Context(), &store.DeliveryFilter{Key: key})
			require.NoError(t, err)
			require.Equal(t, sd, dd, key)
			for _, d := range sd {
				sa, err := src.AttemptList(t.Context(), d.ID)
				require.NoError(t, err)
				da, err := dst.AttemptList(t.Context(), d.ID)
				require.NoError(t, err)
				require.Equal(t, sa, da, key)
			}
			sx, err := src.XRefList(t.Context(), &store.XRefFilter{Key: key})
			require.NoError(t, err)
			dx, err := dst.XRefList(t.Context(), &store.XRefFilter{Key: key})
			require.NoError(t, err)
			require.Equal(t, sx, dx, key)
		}
		sq, err := src.QuarantineList(t.Context(), nil)
		require.NoError(t, err)
		dq, err := dst.QuarantineList(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, sq, dq)
		sa, err := src.AuditList(t.Context(), nil)
		require.NoError(t, err)
		da, err := dst.AuditList(t.Context(), nil)
		require.NoError(t, err)
		require.Equal(t, sa, da)
		_, err = dst.EffectGet(t.Context(), "eshop-orders", "erp", "eshop:ES-0:erp")
		require.NoError(t, err)
		if withIncidents {
			dstInc, ok := dst.(store.Incidents)
			require.True(t, ok, "the target keeps incidents too")
			si, err := srcInc.IncidentList(t.Context(), nil)
			require.NoError(t, err)
			require.Len(t, si, 2)
			di, err := dstInc.IncidentList(t.Context(), nil)
			require.NoError(t, err)
			require.Equal(t, si, di, "incidents, notices in progress included")

			// They keep their rules: the open incident still blocks a
			// second one of its rule, its notice resumes where it
			// stopped, and new ids follow the copied ones.
			again, opened, err := dstInc.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: openInc.Flow, Rule: openInc.Rule,
				Kind: openInc.Kind, Severity: openInc.Severity, Summary: openInc.Summary, Details: openInc.Details, Now: t0.Add(10 * time.Minute)})
			require.NoError(t, err)
			require.False(t, opened, "one open incident per rule, after the copy too")
			require.Equal(t, openInc.ID, again.ID)
			resumed, ok, err := dstInc.IncidentClaimNotice(t.Context(), &store.NoticeClaimParams{ID: openInc.ID, Kind: seam.NoticeFiring,
				Node: "n2", Lease: time.Minute, Now: t0.Add(10 * time.Minute)})
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, []string{"chat"}, resumed.NoticeSent)
			fresh, opened, err := dstInc.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: "crm-customers", Rule: "silence",
				Kind: "silence", Severity: "warning", Summary: "quiet", Now: t0.Add(10 * time.Minute)})
			require.NoError(t, err)
			require.True(t, opened)
			require.Greater(t, fresh.ID, si[0].ID, "incident ids continue after the copied ones")
		}

		// The copy keeps its semantics: dedupe still holds, per-key order
		// still blocks behind the retrying head, and new ids follow.
		dup := ingest(t, dst, &store.IngestParams{Message: newMessage("eshop-orders", "ES-3"), Now: t0.Add(10 * time.Minute),
			DedupeKey: "eshop:ES-3", DedupeWindow: time.Hour})
		require.True(t, dup.Duplicate, "dedupe keys are copied")
		next := ingest(t, dst, &store.IngestParams{Message: newMessage("eshop-orders", "ES-1"), Now: t0.Add(10 * time.Minute),
			Node: "n2", Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", true)}})
		require.Empty(t, next.Claimed, "ES-1's retrying head still blocks its key")
		fresh := ingest(t, dst, &store.IngestParams{Message: newMessage("eshop-orders", "NEW"), Now: t0,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		maxMsg, err := imp.ImportMaxID(t.Context(), "messages")
		require.NoError(t, err)
		require.Equal(t, maxMsg, fresh.MessageID, "ids continue after the copied ones")
		require.Greater(t, fresh.MessageID, sm0(t, src))
	})
}

// sm0 is the largest message id in st.
func sm0(t *testing.T, st store.Store) int64 {
	t.Helper()
	ms, err := st.MessageList(t.Context(), &store.MessageFilter{Limit: 1})
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	return ms[0].ID
}

// copyIncidents writes the incidents of the Copy subtest into st and
// returns the open one.
func copyIncidents(t *testing.T, st store.Incidents) *seam.Incident {
	t.Helper()
	ctx := t.Context()
	done, _, err := st.IncidentOpen(ctx, &store.IncidentOpenParams{Flow: "eshop-orders", Rule: "silence", Kind: "silence",
		Severity: "critical", Summary: "no records for 2h", Now: t0})
	require.NoError(t, err)
	_, ok, err := st.IncidentClaimNotice(ctx, &store.NoticeClaimParams{ID: done.ID, Kind: seam.NoticeFiring, Node: "n1",
		Lease: time.Minute, Now: t0})
	require.NoError(t, err)
	require.True(t, ok)
	_, err = st.IncidentRecordNotice(ctx, &store.NoticeRecordParams{ID: done.ID, Kind: seam.NoticeFiring, Node: "n1",
		Sent: []string{"chat"}, Done: true, Now: t0.Add(time.Second)})
	require.NoError(t, err)
	_, err = st.IncidentResolve(ctx, &store.IncidentResolveParams{Flow: "eshop-orders", Rule: "silence",
		Resolution: "a record arrived", Now: t0.Add(time.Hour)})
	require.NoError(t, err)

	open, _, err := st.IncidentOpen(ctx, &store.IncidentOpenParams{Flow: "eshop-orders", Rule: "dead_letters",
		Kind: "dead_letters", Severity: "warning", Summary: "3 dead letters", Details: []byte(`{"dead":3}`), Now: t0})
	require.NoError(t, err)
	_, ok, err = st.IncidentClaimNotice(ctx, &store.NoticeClaimParams{ID: open.ID, Kind: seam.NoticeFiring, Node: "n1",
		Lease: time.Minute, Now: t0})
	require.NoError(t, err)
	require.True(t, ok)
	open, err = st.IncidentRecordNotice(ctx, &store.NoticeRecordParams{ID: open.ID, Kind: seam.NoticeFiring, Node: "n1",
		Sent: []string{"chat"}, Error: "email: connection refused", Now: t0})
	require.NoError(t, err)
	return open
}
