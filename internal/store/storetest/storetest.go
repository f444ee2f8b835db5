// Package storetest is the conformance suite every store.Store driver must
// pass. Each driver's tests call Exercise with a constructor of fresh,
// empty stores; the suite holds no assumption about the engine behind them.
//
// Drivers must return times in UTC (the suite compares whole records), and
// keep them to the nanosecond.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Exercise runs the conformance suite. newStore must return a new, empty
// store each call and close it when the test ends; subtests run in parallel.
func Exercise(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()

	type testBundle struct {
		ctx context.Context
		st  store.Store
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{ctx: t.Context(), st: newStore(t)}
	}

	exerciseCapabilities(t, newStore)

	t.Run("Ingest", func(t *testing.T) {
		t.Parallel()

		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := newMessage("eshop-orders", "ES-1042")
			m.ReplayOf = 7
			erp := newDelivery("erp", true)
			mailing := newDelivery("mailing", false)
			mailing.State = seam.DeliverySkipped
			res := ingest(t, b.st, &store.IngestParams{Message: m, Deliveries: []*seam.Delivery{erp, mailing}, Now: t0})
			require.False(t, res.Duplicate)
			require.NotZero(t, res.MessageID)
			require.Empty(t, res.Claimed)
			require.Equal(t, res.MessageID, m.ID)

			want := newMessage("eshop-orders", "ES-1042")
			want.ID, want.ReplayOf, want.Status, want.ReceivedAt = res.MessageID, 7, seam.MessageAccepted, t0
			got, err := b.st.MessageGet(b.ctx, res.MessageID)
			require.NoError(t, err)
			require.Equal(t, want, got)
			list, err := b.st.MessageList(b.ctx, &store.MessageFilter{})
			require.NoError(t, err)
			require.Equal(t, []*seam.Message{want}, list)

			require.NotZero(t, erp.ID)
			require.Greater(t, mailing.ID, erp.ID)
			wantErp := &seam.Delivery{ID: erp.ID, MessageID: res.MessageID, Flow: "eshop-orders", Route: "erp",
				Key: "ES-1042", State: seam.DeliveryPending, IdempotencyKey: "eshop:ES-1042:erp", Ordered: true,
				Seq: erp.ID, Payload: []byte(`{"OrderRef":"ES-1042","route":"erp"}`), NextAt: t0, CreatedAt: t0, UpdatedAt: t0}
			gotErp, err := b.st.DeliveryGet(b.ctx, erp.ID)
			require.NoError(t, err)
			require.Equal(t, wantErp, gotErp)
			gotMailing, err := b.st.DeliveryGet(b.ctx, mailing.ID)
			require.NoError(t, err)
			require.Equal(t, seam.DeliverySkipped, gotMailing.State)
			require.Equal(t, mailing.ID, gotMailing.Seq)

			ds, err := b.st.DeliveryList(b.ctx, &store.DeliveryFilter{MessageID: res.MessageID})
			require.NoError(t, err)
			require.Len(t, ds, 2)
			require.Equal(t, wantErp, ds[1], "newest first")
			payload, err := b.st.DeliveryPayload(b.ctx, erp.ID)
			require.NoError(t, err)
			require.Equal(t, wantErp.Payload, payload)
		})

		t.Run("BodyBytesExact", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := newMessage("f", "k")
			m.Body = []byte{0, 0xff, 0xfe, '\n', 'x', 0, 0x80} // not UTF-8, with NULs
			m.Canonical = nil
			res := ingest(t, b.st, &store.IngestParams{Message: m, Now: t0})
			got, err := b.st.MessageGet(b.ctx, res.MessageID)
			require.NoError(t, err)
			require.Equal(t, m.Body, got.Body)
			require.Nil(t, got.Canonical)
		})

		t.Run("IDsIncrease", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var last, lastDelivery int64
			for i := range 5 {
				d := newDelivery("erp", true)
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprint(i)),
					Deliveries: []*seam.Delivery{d}, Now: t0})
				require.Greater(t, res.MessageID, last)
				require.Greater(t, d.Seq, lastDelivery)
				last, lastDelivery = res.MessageID, d.Seq
			}
		})

		t.Run("Invalid", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for name, p := range map[string]*store.IngestParams{
				"NoMessage": {Now: t0},
				"NoTime":    {Message: newMessage("f", "k")},
				"BadState": {Message: newMessage("f", "k"), Now: t0,
					Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryDelivered}}},
				"NodeWithoutLease": {Message: newMessage("f", "k"), Now: t0, Node: "n1"},
			} {
				_, err := b.st.MessageIngest(b.ctx, p)
				require.Error(t, err, name)
				require.Equal(t, seam.EINVALID, seam.ErrorCode(err), name)
			}
			list, err := b.st.MessageList(b.ctx, nil)
			require.NoError(t, err)
			require.Empty(t, list)
		})
	})

	t.Run("Dedupe", func(t *testing.T) {
		t.Parallel()

		t.Run("WithinWindow", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first := ingest(t, b.st, dedupeParams("eshop:ES-1", t0))
			again := ingest(t, b.st, dedupeParams("eshop:ES-1", t0.Add(59*time.Minute)))
			require.True(t, again.Duplicate)
			require.Equal(t, first.MessageID, again.MessageID)
			require.Empty(t, again.Claimed)
			requireCounts(t, b.st, 1, 1)
		})

		t.Run("OutsideWindow", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first := ingest(t, b.st, dedupeParams("eshop:ES-1", t0))
			later := ingest(t, b.st, dedupeParams("eshop:ES-1", t0.Add(61*time.Minute)))
			require.False(t, later.Duplicate)
			require.NotEqual(t, first.MessageID, later.MessageID)
			// The new message opens a window of its own.
			again := ingest(t, b.st, dedupeParams("eshop:ES-1", t0.Add(62*time.Minute)))
			require.True(t, again.Duplicate)
			require.Equal(t, later.MessageID, again.MessageID)
			requireCounts(t, b.st, 2, 2)
		})

		t.Run("ConcurrentSameKey", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			// Released together, these land in one group commit where the
			// driver batches: the second must see the first inside it.
			const n = 20
			results := make([]*store.IngestResult, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					<-start
					res, err := b.st.MessageIngest(b.ctx, dedupeParams("eshop:ES-9", t0))
					if err == nil {
						results[i] = res
					}
				})
			}
			close(start)
			wg.Wait()
			originals := 0
			for _, r := range results {
				require.NotNil(t, r)
				require.Equal(t, results[0].MessageID, r.MessageID)
				if !r.Duplicate {
					originals++
				}
			}
			require.Equal(t, 1, originals)
			requireCounts(t, b.st, 1, 1)
		})

		// Most dedupe keys are the record's own `system:key` (the event id
		// defaults to the key); others come from an event expression or a
		// delivery-id header. A driver may index the two kinds apart (the
		// SQLite one does), but a dedupe key is one namespace: whichever
		// way the original got its key, a later record with the same one
		// is its duplicate.
		t.Run("KeyDerivedOrNot", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			send := func(system, key, dedupe string, at time.Time) *store.IngestResult {
				t.Helper()
				m := newMessage("eshop-orders", key)
				m.System = system
				return ingest(t, b.st, &store.IngestParams{Message: m, DedupeKey: dedupe, DedupeWindow: time.Hour, Now: at,
					Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			}
			byKey := send("eshop", "ES-5", "eshop:ES-5", t0)
			require.False(t, byKey.Duplicate)
			again := send("eshop", "ES-5", "eshop:ES-5", t0.Add(time.Minute))
			require.True(t, again.Duplicate)
			require.Equal(t, byKey.MessageID, again.MessageID)
			// A header's delivery id equal to that key, on another key.
			viaHeader := send("eshop", "OTHER", "eshop:ES-5", t0.Add(2*time.Minute))
			require.True(t, viaHeader.Duplicate)
			require.Equal(t, byKey.MessageID, viaHeader.MessageID)
			// Another key is another record.
			require.False(t, send("eshop", "ES-6", "eshop:ES-6", t0.Add(3*time.Minute)).Duplicate)
			// Not key-derived first, then a record whose key gives the same.
			header := send("eshop", "K-1", "eshop:D-7", t0)
			require.False(t, header.Duplicate)
			later := send("eshop", "D-7", "eshop:D-7", t0.Add(time.Minute))
			require.True(t, later.Duplicate)
			require.Equal(t, header.MessageID, later.MessageID)
			// A system name with a colon: "a:b" + ":" + "c" is also "a" + ":" + "b:c".
			colon := send("a:b", "c", "a:b:c", t0)
			require.False(t, colon.Duplicate)
			for _, s := range [][2]string{{"a", "b:c"}, {"a:b", "c"}} {
				r := send(s[0], s[1], "a:b:c", t0.Add(time.Minute))
				require.True(t, r.Duplicate, "system %q key %q", s[0], s[1])
				require.Equal(t, colon.MessageID, r.MessageID)
			}
			// Outside the window the key's record is an original again.
			require.False(t, send("eshop", "ES-5", "eshop:ES-5", t0.Add(61*time.Minute)).Duplicate)
		})

		t.Run("EmptyKeyNeverDedupes", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for range 3 {
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "same"), Now: t0,
					DedupeWindow: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
				require.False(t, res.Duplicate)
			}
			requireCounts(t, b.st, 3, 3)
		})

		t.Run("OtherKeys", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ingest(t, b.st, dedupeParams("eshop:ES-1", t0))
			res := ingest(t, b.st, dedupeParams("eshop:ES-2", t0))
			require.False(t, res.Duplicate)
		})
	})

	t.Run("Quarantine", func(t *testing.T) {
		t.Parallel()

		t.Run("IngestGetList", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			m := newMessage("eshop-orders", "ES-7")
			m.Canonical = nil
			reasons := []seam.Reason{
				{Stage: seam.StageValidate, Field: "total.vat_rate", Value: "2100", Rule: "range", Message: "2100 is not a VAT rate (0–100)"},
				{Stage: seam.StageValidate, Field: "email", Rule: "required", Message: "missing"},
			}
			q := &seam.Quarantined{Stage: seam.StageValidate, Reasons: reasons}
			res := ingest(t, b.st, &store.IngestParams{Message: m, Quarantine: q, Now: t0, DedupeKey: "eshop:ES-7",
				DedupeWindow: time.Hour})
			require.False(t, res.Duplicate)
			require.NotZero(t, q.ID)

			got, err := b.st.MessageGet(b.ctx, res.MessageID)
			require.NoError(t, err)
			require.Equal(t, seam.MessageQuarantined, got.Status)
			ds, err := b.st.DeliveryList(b.ctx, &store.DeliveryFilter{MessageID: res.MessageID})
			require.NoError(t, err)
			require.Empty(t, ds)

			want := &seam.Quarantined{ID: q.ID, MessageID: res.MessageID, Flow: "eshop-orders", Key: "ES-7",
				Stage: seam.StageValidate, Reasons: reasons, Status: seam.QuarantineOpen, ReceivedAt: t0,
				ContentType: "application/json", Body: m.Body}
			gotQ, err := b.st.QuarantineGet(b.ctx, q.ID)
			require.NoError(t, err)
			require.Equal(t, want, gotQ)

			for name, f := range map[string]*store.QuarantineFilter{
				"All":    {},
				"Flow":   {Flow: "eshop-orders"},
				"Key":    {Key: "ES-7"},
				"Status": {Status: seam.QuarantineOpen},
				"Since":  {Since: t0},
			} {
				list, err := b.st.QuarantineList(b.ctx, f)
				require.NoError(t, err, name)
				require.Equal(t, []*seam.Quarantined{want}, list, name)
			}
			for name, f := range map[string]*store.QuarantineFilter{
				"OtherFlow":   {Flow: "other"},
				"OtherStatus": {Status: seam.QuarantineDiscarded},
				"Until":       {Until: t0},
			} {
				list, err := b.st.QuarantineList(b.ctx, f)
				require.NoError(t, err, name)
				require.Empty(t, list, name)
			}

			// A fixed record sent again under the same key is heard.
			fixed := ingest(t, b.st, dedupeParams("eshop:ES-7", t0.Add(time.Minute)))
			require.False(t, fixed.Duplicate)
		})

		t.Run("SetStatusWithAudit", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			q := &seam.Quarantined{Stage: seam.StageDecode, Reasons: []seam.Reason{{Stage: seam.StageDecode, Message: "bad JSON"}}}
			ingest(t, b.st, &store.IngestParams{Message: newMessage("f", ""), Quarantine: q, Now: t0})
			err := b.st.QuarantineSetStatus(b.ctx, &store.QuarantineStatusParams{ID: q.ID, Status: seam.QuarantineDiscarded,
				Now: t0.Add(time.Hour), Audit: &seam.AuditEvent{Actor: "alice", Action: "discard",
					Target: fmt.Sprintf("quarantine:%d", q.ID), Reason: "test order"}})
			require.NoError(t, err)
			got, err := b.st.QuarantineGet(b.ctx, q.ID)
			require.NoError(t, err)
			require.Equal(t, seam.QuarantineDiscarded, got.Status)
			events, err := b.st.AuditList(b.ctx, &store.AuditFilter{Action: "discard"})
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, "alice", events[0].Actor)
			require.Equal(t, t0.Add(time.Hour), events[0].At)

			err = b.st.QuarantineSetStatus(b.ctx, &store.QuarantineStatusParams{ID: q.ID + 1000,
				Status: seam.QuarantineReplayed, Now: t0, Audit: &seam.AuditEvent{Actor: "bob", Action: "replay"}})
			require.ErrorIs(t, err, store.ErrNotFound)
			events, err = b.st.AuditList(b.ctx, &store.AuditFilter{Actor: "bob"})
			require.NoError(t, err)
			require.Empty(t, events, "no audit without the change it records")
		})
	})

	t.Run("Ordering", func(t *testing.T) {
		t.Parallel()

		t.Run("IngestClaimsReady", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			erp, mail, skipped := newDelivery("erp", true), newDelivery("mailing", false), newDelivery("crm", false)
			skipped.State = seam.DeliverySkipped
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "K1"), Now: t0, Node: "n1", Lease: time.Minute,
				Deliveries: []*seam.Delivery{erp, mail, skipped}})
			require.Equal(t, []int64{erp.ID, mail.ID}, ids(res.Claimed))
			for _, d := range res.Claimed {
				require.Equal(t, seam.DeliveryInFlight, d.State)
				require.NotEmpty(t, d.Payload)
				got, err := b.st.DeliveryGet(b.ctx, d.ID)
				require.NoError(t, err)
				require.Equal(t, seam.DeliveryInFlight, got.State)
			}
			// Leased: nobody else may claim them before the lease ends.
			require.Empty(t, claim(t, b.st, "n2", 10, t0.Add(30*time.Second)))
		})

		t.Run("BehindHeadUntilDelivered", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first, second, third := ingestOrdered(t, b.st, "K1", "n1"), ingestOrdered(t, b.st, "K1", "n1"), ingestOrdered(t, b.st, "K1", "n1")
			require.Len(t, first.Claimed, 1)
			require.Empty(t, second.Claimed, "behind an unfinished head")
			require.Empty(t, third.Claimed)
			require.Empty(t, claim(t, b.st, "n2", 10, t0.Add(time.Second)))

			next := complete(t, b.st, first.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0.Add(time.Second))
			require.Len(t, next.Next, 1)
			d2 := next.Next[0]
			require.Equal(t, second.MessageID, d2.MessageID)
			require.Equal(t, seam.DeliveryInFlight, d2.State)
			require.Equal(t, []byte(`{"OrderRef":"K1","route":"erp"}`), d2.Payload)

			next = complete(t, b.st, d2.ID, "n1", seam.DeliveryDelivered, t0.Add(2*time.Second))
			require.Len(t, next.Next, 1)
			require.Equal(t, third.MessageID, next.Next[0].MessageID)
			next = complete(t, b.st, next.Next[0].ID, "n1", seam.DeliveryDelivered, t0.Add(3*time.Second))
			require.Empty(t, next.Next)
		})

		t.Run("RetryingHeadBlocksThenClaimOrder", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first, second := ingestOrdered(t, b.st, "K1", "n1"), ingestOrdered(t, b.st, "K1", "n1")
			require.Empty(t, second.Claimed)
			res, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: first.Claimed[0].ID, Node: "n1",
				Attempt: &seam.Attempt{Status: 503, Error: "unavailable"}, State: seam.DeliveryRetrying,
				NextAt: t0.Add(time.Minute), Lease: time.Minute, Now: t0.Add(time.Second)})
			require.NoError(t, err)
			require.Empty(t, res.Next)
			require.Empty(t, claim(t, b.st, "n1", 10, t0.Add(30*time.Second)), "head not due, second blocked")
			got := claim(t, b.st, "n1", 10, t0.Add(time.Minute))
			require.Equal(t, []int64{first.Claimed[0].ID}, ids(got), "only the head")
		})

		t.Run("SkippedHeadDoesNotBlock", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			d := newDelivery("erp", true)
			d.State = seam.DeliverySkipped
			ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "K1"), Deliveries: []*seam.Delivery{d}, Now: t0})
			second := ingestOrdered(t, b.st, "K1", "n1")
			require.Len(t, second.Claimed, 1)
		})

		t.Run("DeadHeadBlocksItsKeyOnly", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			first, second := ingestOrdered(t, b.st, "K1", "n1"), ingestOrdered(t, b.st, "K1", "n1")
			other := ingestOrdered(t, b.st, "K2", "n1")
			require.Len(t, other.Claimed, 1, "other keys are never blocked")
			complete(t, b.st, other.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0)
			head := first.Claimed[0].ID
			res := complete(t, b.st, head, "n1", seam.DeliveryDead, t0.Add(time.Second))
			require.Empty(t, res.Next, "a dead head keeps its key waiting")
			require.Empty(t, claim(t, b.st, "n1", 10, t0.Add(time.Hour)), "still blocked")
			third := ingestOrdered(t, b.st, "K1", "n1")
			require.Empty(t, third.Claimed)

			n, err := b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{head}, Now: t0.Add(2 * time.Hour),
				Audit: &seam.AuditEvent{Actor: "alice", Action: "replay", Target: fmt.Sprintf("delivery:%d", head)}})
			require.NoError(t, err)
			require.Equal(t, 1, n)
			got := claim(t, b.st, "n1", 10, t0.Add(2*time.Hour))
			require.Equal(t, []int64{head}, ids(got), "the requeued head goes first")
			next := complete(t, b.st, head, "n1", seam.DeliveryDelivered, t0.Add(2*time.Hour))
			require.Len(t, next.Next, 1)
			require.Equal(t, second.MessageID, next.Next[0].MessageID)
		})

		t.Run("UnorderedNeverBlocked", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for range 3 {
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "K1"), Now: t0, Node: "n1",
					Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
				require.Len(t, res.Claimed, 1)
			}
		})

		t.Run("RoutesAreSeparate", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			ingestOrdered(t, b.st, "K1", "n1")
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "K1"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("invoicing", true)}})
			require.Len(t, res.Claimed, 1)
		})
	})

	t.Run("Claim", func(t *testing.T) {
		t.Parallel()

		t.Run("DueOnlyAndLimit", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for i := range 5 {
				d := newDelivery("erp", false)
				d.NextAt = t0.Add(time.Duration(i) * time.Minute)
				ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprint(i)), Deliveries: []*seam.Delivery{d}, Now: t0})
			}
			got := claim(t, b.st, "n1", 2, t0.Add(3*time.Minute))
			require.Len(t, got, 2)
			require.Equal(t, t0, got[0].NextAt, "oldest due first")
			for _, d := range got {
				require.Equal(t, seam.DeliveryInFlight, d.State)
				require.NotEmpty(t, d.Payload)
			}
			require.Len(t, claim(t, b.st, "n1", 10, t0.Add(3*time.Minute)), 2, "the other two due")
			require.Empty(t, claim(t, b.st, "n1", 10, t0.Add(3*time.Minute)))
			require.Len(t, claim(t, b.st, "n1", 10, t0.Add(4*time.Minute)), 1)
		})

		t.Run("Flows", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for _, flow := range []string{"a", "b", "c"} {
				ingest(t, b.st, &store.IngestParams{Message: newMessage(flow, "k"), Now: t0,
					Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			}
			got, err := b.st.DeliveryClaim(b.ctx, &store.ClaimParams{Node: "n1", Limit: 10, Lease: time.Minute, Now: t0,
				Flows: []string{"a", "c"}})
			require.NoError(t, err)
			require.Len(t, got, 2)
			require.ElementsMatch(t, []string{"a", "c"}, []string{got[0].Flow, got[1].Flow})
		})

		t.Run("ConcurrentClaimersDisjoint", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			const n = 60
			for i := range n {
				ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprint(i)), Now: t0,
					Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			}
			var (
				mu   sync.Mutex
				seen = map[int64]string{}
				wg   sync.WaitGroup
			)
			for w := range 4 {
				node := fmt.Sprintf("n%d", w)
				wg.Go(func() {
					for {
						got, err := b.st.DeliveryClaim(b.ctx, &store.ClaimParams{Node: node, Limit: 7, Lease: time.Minute, Now: t0})
						if err != nil || len(got) == 0 {
							return
						}
						mu.Lock()
						for _, d := range got {
							if prev, dup := seen[d.ID]; dup {
								seen[-d.ID] = prev // recorded as a failure below
							}
							seen[d.ID] = node
						}
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			require.Len(t, seen, n, "every delivery claimed exactly once")
		})

		t.Run("ExpiredLeaseTakeover", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1", Lease: time.Minute,
				Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			id := res.Claimed[0].ID
			require.Empty(t, claim(t, b.st, "n2", 10, t0.Add(59*time.Second)), "live lease")
			got := claim(t, b.st, "n2", 10, t0.Add(61*time.Second))
			require.Equal(t, []int64{id}, ids(got))

			// n1 comes back from a pause: its completion is refused, and
			// changes nothing.
			before, err := b.st.DeliveryGet(b.ctx, id)
			require.NoError(t, err)
			_, err = b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: id, Node: "n1",
				Attempt: &seam.Attempt{Status: 200}, State: seam.DeliveryDelivered, Now: t0.Add(62 * time.Second)})
			require.Error(t, err)
			require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err))
			after, err := b.st.DeliveryGet(b.ctx, id)
			require.NoError(t, err)
			require.Equal(t, before, after)
			attempts, err := b.st.AttemptList(b.ctx, id)
			require.NoError(t, err)
			require.Empty(t, attempts)
			_, err = b.st.EffectGet(b.ctx, "f", "erp", "eshop:k:erp")
			require.ErrorIs(t, err, store.ErrNotFound)

			complete(t, b.st, id, "n2", seam.DeliveryDelivered, t0.Add(63*time.Second))
		})

		t.Run("ExpiredLeaseSameNodeMayComplete", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1", Lease: time.Minute,
				Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0.Add(time.Hour))
		})
	})

	t.Run("Complete", func(t *testing.T) {
		t.Parallel()

		t.Run("RetryThenDeliver", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("eshop-orders", "ES-1"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			id := res.Claimed[0].ID

			a1 := &seam.Attempt{StartedAt: t0.Add(time.Second), Duration: 1500 * time.Millisecond, Status: 503,
				Error: "Service Unavailable", Response: []byte("try later")}
			_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: id, Node: "n1", Attempt: a1,
				State: seam.DeliveryRetrying, NextAt: t0.Add(time.Minute), Now: t0.Add(3 * time.Second)})
			require.NoError(t, err)
			d, err := b.st.DeliveryGet(b.ctx, id)
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryRetrying, d.State)
			require.Equal(t, t0.Add(time.Minute), d.NextAt)
			require.Equal(t, 1, d.Attempts)
			require.Equal(t, 503, d.LastStatus)
			require.Equal(t, "Service Unavailable", d.LastError)
			require.Equal(t, t0.Add(3*time.Second), d.UpdatedAt)
			require.True(t, d.DeliveredAt.IsZero())

			require.Empty(t, claim(t, b.st, "n1", 10, t0.Add(59*time.Second)), "not due yet")
			got := claim(t, b.st, "n2", 10, t0.Add(time.Minute))
			require.Equal(t, []int64{id}, ids(got), "lease released, due again")

			at := t0.Add(61 * time.Second)
			_, err = b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: id, Node: "n2",
				Attempt: &seam.Attempt{StartedAt: at, Duration: time.Millisecond, Status: 201, Response: []byte(`{"id":"55012"}`)},
				State:   seam.DeliveryDelivered, Now: at,
				Effect: &seam.Effect{Flow: "eshop-orders", Route: "erp", Key: "eshop:ES-1:erp", At: at},
				XRefs: []*seam.XRef{
					{Entity: "order", Key: "ES-1", System: "erp", Name: "erp_order_id", Value: "55012"},
					{Entity: "order", Key: "ES-1", System: "eshop", Name: "order_no", Value: "ES-1"},
				}})
			require.NoError(t, err)
			d, err = b.st.DeliveryGet(b.ctx, id)
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryDelivered, d.State)
			require.Equal(t, 2, d.Attempts)
			require.Equal(t, at, d.DeliveredAt)
			require.Equal(t, 201, d.LastStatus)
			require.Empty(t, d.LastError)

			attempts, err := b.st.AttemptList(b.ctx, id)
			require.NoError(t, err)
			require.Len(t, attempts, 2)
			require.Equal(t, []int{1, 2}, []int{attempts[0].Number, attempts[1].Number})
			require.Equal(t, &seam.Attempt{ID: attempts[0].ID, DeliveryID: id, Number: 1, StartedAt: a1.StartedAt,
				Duration: a1.Duration, Status: 503, Error: "Service Unavailable", Response: []byte("try later")}, attempts[0])

			e, err := b.st.EffectGet(b.ctx, "eshop-orders", "erp", "eshop:ES-1:erp")
			require.NoError(t, err)
			require.Equal(t, &seam.Effect{Flow: "eshop-orders", Route: "erp", Key: "eshop:ES-1:erp", DeliveryID: id, At: at}, e)
			_, err = b.st.EffectGet(b.ctx, "eshop-orders", "mailing", "eshop:ES-1:erp")
			require.ErrorIs(t, err, store.ErrNotFound)

			xs, err := b.st.XRefList(b.ctx, &store.XRefFilter{Value: "55012"})
			require.NoError(t, err)
			require.Equal(t, []*seam.XRef{{Entity: "order", Key: "ES-1", System: "erp", Name: "erp_order_id",
				Value: "55012", CreatedAt: at}}, xs)
			xs, err = b.st.XRefList(b.ctx, &store.XRefFilter{Entity: "order", Key: "ES-1"})
			require.NoError(t, err)
			require.Len(t, xs, 2)
		})

		t.Run("EffectWithoutExplicitEffect", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0)
			e, err := b.st.EffectGet(b.ctx, "f", "erp", "eshop:k:erp")
			require.NoError(t, err)
			require.Equal(t, res.Claimed[0].ID, e.DeliveryID)
		})

		t.Run("Dead", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDead, t0)
			d, err := b.st.DeliveryGet(b.ctx, res.Claimed[0].ID)
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryDead, d.State)
			_, err = b.st.EffectGet(b.ctx, "f", "erp", "eshop:k:erp")
			require.ErrorIs(t, err, store.ErrNotFound, "no effect without a success")
			require.Empty(t, claim(t, b.st, "n1", 10, t0.Add(time.Hour)), "dead is final")
		})

		t.Run("NotLeased", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			d := newDelivery("erp", false)
			ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Deliveries: []*seam.Delivery{d}})
			_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: d.ID, Node: "n1",
				Attempt: &seam.Attempt{}, State: seam.DeliveryDelivered, Now: t0})
			require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err))

			_, err = b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: d.ID + 1000, Node: "n1",
				Attempt: &seam.Attempt{}, State: seam.DeliveryDelivered, Now: t0})
			require.ErrorIs(t, err, store.ErrNotFound)
		})

		t.Run("TwiceIsConflict", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0)
			_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: res.Claimed[0].ID, Node: "n1",
				Attempt: &seam.Attempt{}, State: seam.DeliveryDelivered, Now: t0})
			require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err))
		})
	})

	t.Run("Requeue", func(t *testing.T) {
		t.Parallel()

		t.Run("DeadToPending", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false), newDelivery("mailing", false)}})
			erp, mailing := res.Claimed[0].ID, res.Claimed[1].ID
			complete(t, b.st, erp, "n1", seam.DeliveryDead, t0.Add(time.Second))
			complete(t, b.st, mailing, "n1", seam.DeliveryDead, t0.Add(time.Second))

			later := t0.Add(24 * time.Hour)
			audit := &seam.AuditEvent{Actor: "alice", Action: "redrive", Target: "flow:f", Reason: "ERP fixed"}
			n, err := b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{erp, mailing}, Now: later,
				Payloads: map[int64][]byte{erp: []byte(`{"fixed":true}`)}, Audit: audit})
			require.NoError(t, err)
			require.Equal(t, 2, n)

			d, err := b.st.DeliveryGet(b.ctx, erp)
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryPending, d.State)
			require.Equal(t, later, d.NextAt)
			require.Equal(t, 1, d.Attempts)
			require.Equal(t, []byte(`{"fixed":true}`), d.Payload)
			p, err := b.st.DeliveryPayload(b.ctx, mailing)
			require.NoError(t, err)
			require.Equal(t, []byte(`{"OrderRef":"k","route":"mailing"}`), p, "untouched without a new payload")

			events, err := b.st.AuditList(b.ctx, &store.AuditFilter{Action: "redrive"})
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, later, events[0].At)
			require.Equal(t, events[0].ID, audit.ID, "the caller learns the audit event's id, to cite it")

			got := claim(t, b.st, "n1", 10, later)
			require.Len(t, got, 2)
			complete(t, b.st, erp, "n1", seam.DeliveryDelivered, later)
			attempts, err := b.st.AttemptList(b.ctx, erp)
			require.NoError(t, err)
			require.Equal(t, 2, attempts[1].Number, "numbering continues")
		})

		t.Run("LiveLeaseLeftAlone", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
				Lease: time.Minute, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			n, err := b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{res.Claimed[0].ID, 99999}, Now: t0})
			require.NoError(t, err)
			require.Zero(t, n)
			complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0)
		})
	})

	t.Run("ReleaseLeases", func(t *testing.T) {
		t.Parallel()

		t.Run("ByNodeAndAll", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var byNode = map[string]int64{}
			for _, node := range []string{"n1", "n2", "n3"} {
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", node), Now: t0, Node: node,
					Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
				byNode[node] = res.Claimed[0].ID
			}
			// n3's delivery failed once before its lease: it stays retrying.
			complete(t, b.st, byNode["n3"], "n3", seam.DeliveryRetrying, t0)
			require.Len(t, claim(t, b.st, "n3", 1, t0), 1)

			require.NoError(t, b.st.DeliveryReleaseLeases(b.ctx, "n1"))
			got := claim(t, b.st, "n9", 10, t0)
			require.Equal(t, []int64{byNode["n1"]}, ids(got))
			require.NoError(t, b.st.DeliveryReleaseLeases(b.ctx, "n9"))
			d, err := b.st.DeliveryGet(b.ctx, byNode["n1"])
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryPending, d.State)

			require.NoError(t, b.st.DeliveryReleaseLeases(b.ctx, ""))
			d, err = b.st.DeliveryGet(b.ctx, byNode["n3"])
			require.NoError(t, err)
			require.Equal(t, seam.DeliveryRetrying, d.State)
			require.Len(t, claim(t, b.st, "n9", 10, t0), 3)
		})
	})

	t.Run("IngestLinks", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		inv := newMessage("invoices", "2026-0042")
		inv.System = "erp"
		ingest(t, b.st, &store.IngestParams{Message: inv, Now: t0, DedupeKey: "erp:2026-0042", DedupeWindow: time.Hour,
			XRefs: []*seam.XRef{{Entity: "invoice", Name: "order", Value: "ES-1042"}}})
		refs, err := b.st.XRefList(b.ctx, &store.XRefFilter{Value: "ES-1042"})
		require.NoError(t, err)
		require.Len(t, refs, 1)
		require.Equal(t, "2026-0042", refs[0].Key, "the link is recorded under the message's key")
		require.Equal(t, "erp", refs[0].System)

		// A duplicate writes nothing, links included.
		dup := newMessage("invoices", "2026-0042")
		res := ingest(t, b.st, &store.IngestParams{Message: dup, Now: t0.Add(time.Minute), DedupeKey: "erp:2026-0042", DedupeWindow: time.Hour,
			XRefs: []*seam.XRef{{Entity: "invoice", Name: "order", Value: "ES-1042"}}})
		require.True(t, res.Duplicate)
		refs, err = b.st.XRefList(b.ctx, &store.XRefFilter{Value: "ES-1042"})
		require.NoError(t, err)
		require.Len(t, refs, 1)
	})

	t.Run("Postpone", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "k"), Now: t0, Node: "n1",
			Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		id := res.Claimed[0].ID

		// Only the lease holder may give it back.
		err := b.st.DeliveryPostpone(b.ctx, &store.PostponeParams{DeliveryID: id, Node: "n2", NextAt: t0.Add(time.Minute), Now: t0})
		require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err))

		require.NoError(t, b.st.DeliveryPostpone(b.ctx, &store.PostponeParams{DeliveryID: id, Node: "n1", NextAt: t0.Add(time.Minute), Now: t0}))
		d, err := b.st.DeliveryGet(b.ctx, id)
		require.NoError(t, err)
		require.Equal(t, seam.DeliveryPending, d.State, "no attempt was made, so it is still pending")
		require.Zero(t, d.Attempts)
		atts, err := b.st.AttemptList(b.ctx, id)
		require.NoError(t, err)
		require.Empty(t, atts, "postponing records no attempt")

		require.Empty(t, claim(t, b.st, "n2", 10, t0.Add(30*time.Second)), "not due before NextAt")
		require.Equal(t, []int64{id}, ids(claim(t, b.st, "n2", 10, t0.Add(time.Minute))))
	})

	t.Run("RouteStats", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		states := []seam.DeliveryState{seam.DeliveryPending, seam.DeliveryRetrying, seam.DeliveryDelivered,
			seam.DeliveryDelivered, seam.DeliveryDead, seam.DeliveryInFlight}
		for i, want := range states {
			now := t0.Add(time.Duration(i) * time.Minute)
			node := ""
			if want != seam.DeliveryPending {
				node = "n1"
			}
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprint(i)), Now: now, Node: node,
				Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			if want != seam.DeliveryPending && want != seam.DeliveryInFlight {
				complete(t, b.st, res.Claimed[0].ID, "n1", want, now.Add(time.Second))
			}
		}
		ingest(t, b.st, &store.IngestParams{Message: newMessage("g", "x"), Now: t0,
			Deliveries: []*seam.Delivery{newDelivery("crm", false)}})

		stats, err := b.st.RouteStats(b.ctx, &store.StatsParams{Flow: "f", Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, []*store.RouteStats{{
			Flow: "f", Route: "erp",
			Counts: map[seam.DeliveryState]int64{seam.DeliveryPending: 1, seam.DeliveryRetrying: 1,
				seam.DeliveryDelivered: 2, seam.DeliveryDead: 1, seam.DeliveryInFlight: 1},
			OldestDue:       t0,
			LastDeliveredAt: t0.Add(3*time.Minute + time.Second),
			LastDeadAt:      t0.Add(4*time.Minute + time.Second),
		}}, stats)

		all, err := b.st.RouteStats(b.ctx, &store.StatsParams{Now: t0})
		require.NoError(t, err)
		require.Len(t, all, 2)
	})

	// The counts follow every way a delivery enters or leaves a final state
	// (a driver may keep them as they change rather than count rows): a
	// record whose route is skipped at intake, a success, a replay of a
	// success, a second success, a delivered record pruned.
	t.Run("RouteStatsFollowChanges", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		counts := func() (map[seam.DeliveryState]int64, time.Time) {
			t.Helper()
			stats, err := b.st.RouteStats(b.ctx, &store.StatsParams{Flow: "f", Now: t0})
			require.NoError(t, err)
			if len(stats) == 0 {
				return map[seam.DeliveryState]int64{}, time.Time{}
			}
			require.Len(t, stats, 1)
			for s, n := range stats[0].Counts {
				if n == 0 {
					delete(stats[0].Counts, s)
				}
			}
			return stats[0].Counts, stats[0].LastDeliveredAt
		}
		type c = map[seam.DeliveryState]int64

		skipped := newDelivery("erp", false)
		skipped.State = seam.DeliverySkipped
		ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "S"), Now: t0, Deliveries: []*seam.Delivery{skipped}})
		got, _ := counts()
		require.Equal(t, c{seam.DeliverySkipped: 1}, got)

		old := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "OLD"), Now: t0, Node: "n1", Lease: time.Hour,
			Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		complete(t, b.st, old.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0.Add(time.Second))
		res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", "A"), Now: t0.Add(48 * time.Hour), Node: "n1",
			Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
		a := res.Claimed[0].ID
		complete(t, b.st, a, "n1", seam.DeliveryDelivered, t0.Add(48*time.Hour+time.Second))
		got, last := counts()
		require.Equal(t, c{seam.DeliverySkipped: 1, seam.DeliveryDelivered: 2}, got)
		require.Equal(t, t0.Add(48*time.Hour+time.Second), last)

		n, err := b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{a}, Now: t0.Add(49 * time.Hour)})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		got, _ = counts()
		require.Equal(t, c{seam.DeliverySkipped: 1, seam.DeliveryDelivered: 1, seam.DeliveryPending: 1}, got)

		require.Equal(t, []int64{a}, ids(claim(t, b.st, "n1", 10, t0.Add(49*time.Hour))))
		complete(t, b.st, a, "n1", seam.DeliveryDelivered, t0.Add(50*time.Hour))
		got, last = counts()
		require.Equal(t, c{seam.DeliverySkipped: 1, seam.DeliveryDelivered: 2}, got)
		require.Equal(t, t0.Add(50*time.Hour), last)

		pruned, err := b.st.Prune(b.ctx, &store.PruneParams{MessagesBefore: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, int64(2), pruned.Deliveries, "the old delivered and the skipped record")
		got, last = counts()
		require.Equal(t, c{seam.DeliveryDelivered: 1}, got)
		require.Equal(t, t0.Add(50*time.Hour), last)
	})

	// Readers of the stats while deliveries complete (every node scrapes
	// /metrics) must neither lose nor double a count.
	t.Run("RouteStatsWhileWriting", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const writers, each = 8, 25
		done := make(chan struct{})
		var readers sync.WaitGroup
		for range 2 {
			readers.Go(func() {
				for {
					select {
					case <-done:
						return
					default:
					}
					_, err := b.st.RouteStats(b.ctx, &store.StatsParams{Now: t0})
					require.NoError(t, err)
				}
			})
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprintf("W%d-%d", w, i)), Now: t0,
						Node: "n1", Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
					complete(t, b.st, res.Claimed[0].ID, "n1", seam.DeliveryDelivered, t0.Add(time.Duration(i)*time.Second))
				}
			})
		}
		wg.Wait()
		close(done)
		readers.Wait()
		stats, err := b.st.RouteStats(b.ctx, &store.StatsParams{Now: t0})
		require.NoError(t, err)
		require.Len(t, stats, 1)
		require.Equal(t, int64(writers*each), stats[0].Counts[seam.DeliveryDelivered])
		require.Equal(t, t0.Add((each-1)*time.Second), stats[0].LastDeliveredAt)
	})

	t.Run("Prune", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		old, recent := t0, t0.Add(48*time.Hour)
		withDelivery := func(key string, at time.Time, final seam.DeliveryState) (int64, int64) {
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", key), Now: at, Node: "n1",
				Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false)}})
			id := res.Claimed[0].ID
			if final != "" {
				complete(t, b.st, id, "n1", final, at)
			}
			return res.MessageID, id
		}
		quarantined := func(key string, status seam.QuarantineStatus) int64 {
			q := &seam.Quarantined{Stage: seam.StageMap, Reasons: []seam.Reason{{Stage: seam.StageMap, Message: "x"}}}
			res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", key), Now: old, Quarantine: q})
			if status != seam.QuarantineOpen {
				require.NoError(t, b.st.QuarantineSetStatus(b.ctx, &store.QuarantineStatusParams{ID: q.ID, Status: status, Now: old}))
			}
			return res.MessageID
		}
		delivered, deliveredD := withDelivery("delivered", old, seam.DeliveryDelivered)
		dead, _ := withDelivery("dead", old, seam.DeliveryDead)
		inFlight, inFlightD := withDelivery("in-flight", old, "")
		retrying, _ := withDelivery("retrying", old, seam.DeliveryRetrying)
		open := quarantined("open", seam.QuarantineOpen)
		discarded := quarantined("discarded", seam.QuarantineDiscarded)
		fresh, _ := withDelivery("fresh", recent, seam.DeliveryDelivered)
		require.NoError(t, b.st.AuditAppend(b.ctx, &seam.AuditEvent{At: old, Actor: "a", Action: "old"}))
		require.NoError(t, b.st.AuditAppend(b.ctx, &seam.AuditEvent{At: recent, Actor: "a", Action: "recent"}))

		res, err := b.st.Prune(b.ctx, &store.PruneParams{MessagesBefore: old.Add(time.Hour), Limit: 1})
		require.NoError(t, err)
		require.Equal(t, &store.PruneResult{Messages: 3, Deliveries: 2, Attempts: 2}, res)
		for _, id := range []int64{delivered, dead, discarded} {
			_, err := b.st.MessageGet(b.ctx, id)
			require.ErrorIs(t, err, store.ErrNotFound)
		}
		for _, id := range []int64{inFlight, retrying, open, fresh} {
			_, err := b.st.MessageGet(b.ctx, id)
			require.NoError(t, err)
		}
		_, err = b.st.DeliveryGet(b.ctx, deliveredD)
		require.ErrorIs(t, err, store.ErrNotFound)
		attempts, err := b.st.AttemptList(b.ctx, deliveredD)
		require.NoError(t, err)
		require.Empty(t, attempts)
		_, err = b.st.DeliveryGet(b.ctx, inFlightD)
		require.NoError(t, err)
		_, err = b.st.EffectGet(b.ctx, "f", "erp", "eshop:delivered:erp")
		require.NoError(t, err, "evidence outlives messages")

		res, err = b.st.Prune(b.ctx, &store.PruneParams{EvidenceBefore: old.Add(time.Hour), Limit: 1})
		require.NoError(t, err)
		require.Equal(t, &store.PruneResult{Effects: 1, Audit: 1}, res)
		_, err = b.st.EffectGet(b.ctx, "f", "erp", "eshop:delivered:erp")
		require.ErrorIs(t, err, store.ErrNotFound)
		_, err = b.st.EffectGet(b.ctx, "f", "erp", "eshop:fresh:erp")
		require.NoError(t, err)
		events, err := b.st.AuditList(b.ctx, nil)
		require.NoError(t, err)
		require.Len(t, events, 1)
		require.Equal(t, "recent", events[0].Action)

		res, err = b.st.Prune(b.ctx, &store.PruneParams{MessagesBefore: old.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, &store.PruneResult{}, res, "nothing left to prune")
	})

	t.Run("Filters", func(t *testing.T) {
		t.Parallel()

		t.Run("Messages", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var all []int64
			for i := range 10 {
				flow := "a"
				if i%2 == 1 {
					flow = "b"
				}
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage(flow, fmt.Sprintf("K%d", i%3)),
					Now: t0.Add(time.Duration(i) * time.Minute)})
				all = append(all, res.MessageID)
			}
			slices.Reverse(all)
			list := func(f *store.MessageFilter) []int64 {
				ms, err := b.st.MessageList(b.ctx, f)
				require.NoError(t, err)
				out := make([]int64, len(ms))
				for i, m := range ms {
					out[i] = m.ID
				}
				return out
			}
			require.Equal(t, all, list(&store.MessageFilter{}))
			require.Len(t, list(&store.MessageFilter{Flow: "a"}), 5)
			require.Len(t, list(&store.MessageFilter{Key: "K0"}), 4)
			require.Len(t, list(&store.MessageFilter{Flow: "a", Key: "K0"}), 2)
			require.Len(t, list(&store.MessageFilter{Status: seam.MessageAccepted}), 10)
			require.Empty(t, list(&store.MessageFilter{Status: seam.MessageQuarantined}))
			require.Equal(t, all[5:8], list(&store.MessageFilter{Since: t0.Add(2 * time.Minute), Until: t0.Add(5 * time.Minute)}))

			var paged []int64
			for before := int64(0); ; {
				page := list(&store.MessageFilter{BeforeID: before, Limit: 3})
				if len(page) == 0 {
					break
				}
				require.LessOrEqual(t, len(page), 3)
				paged = append(paged, page...)
				before = page[len(page)-1]
			}
			require.Equal(t, all, paged)
		})

		t.Run("Deliveries", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			var ids []int64
			for i := range 6 {
				res := ingest(t, b.st, &store.IngestParams{Message: newMessage("f", fmt.Sprint(i)), Now: t0, Node: "n1",
					Lease: time.Hour, Deliveries: []*seam.Delivery{newDelivery("erp", false), newDelivery("mailing", false)}})
				ids = append(ids, res.Claimed[0].ID)
			}
			_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: ids[0], Node: "n1", Now: t0,
				Attempt: &seam.Attempt{Error: "Timeout awaiting headers"}, State: seam.DeliveryDead})
			require.NoError(t, err)
			_, err = b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: ids[1], Node: "n1", Now: t0,
				Attempt: &seam.Attempt{Status: 409, Error: "customer does not exist"}, State: seam.DeliveryDead})
			require.NoError(t, err)

			list := func(f *store.DeliveryFilter) []*seam.Delivery {
				ds, err := b.st.DeliveryList(b.ctx, f)
				require.NoError(t, err)
				return ds
			}
			require.Len(t, list(&store.DeliveryFilter{}), 12)
			require.Len(t, list(&store.DeliveryFilter{Route: "erp"}), 6)
			require.Len(t, list(&store.DeliveryFilter{Flow: "f", Route: "mailing"}), 6)
			require.Len(t, list(&store.DeliveryFilter{Key: "3"}), 2)
			require.Len(t, list(&store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryDead}}), 2)
			require.Len(t, list(&store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryDead, seam.DeliveryInFlight}}), 12)
			got := list(&store.DeliveryFilter{ErrorContains: "timeout"})
			require.Len(t, got, 1)
			require.Equal(t, ids[0], got[0].ID)
			require.Empty(t, list(&store.DeliveryFilter{Since: t0.Add(time.Second)}))
			require.Len(t, list(&store.DeliveryFilter{Until: t0.Add(time.Second)}), 12)

			page1 := list(&store.DeliveryFilter{Limit: 5})
			page2 := list(&store.DeliveryFilter{Limit: 5, BeforeID: page1[4].ID})
			require.Len(t, page2, 5)
			require.Less(t, page2[0].ID, page1[4].ID)
		})

		t.Run("Audit", func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			for i := range 5 {
				e := &seam.AuditEvent{At: t0.Add(time.Duration(i) * time.Second), Actor: []string{"alice", "bob"}[i%2],
					Action: "replay", Target: fmt.Sprintf("delivery:%d", i), Detail: []byte(`{"dry_run":false}`)}
				require.NoError(t, b.st.AuditAppend(b.ctx, e))
				require.NotZero(t, e.ID)
			}
			events, err := b.st.AuditList(b.ctx, &store.AuditFilter{Actor: "alice"})
			require.NoError(t, err)
			require.Len(t, events, 3)
			require.Equal(t, "delivery:4", events[0].Target)
			require.JSONEq(t, `{"dry_run":false}`, string(events[0].Detail))
			events, err = b.st.AuditList(b.ctx, &store.AuditFilter{Target: "delivery:1"})
			require.NoError(t, err)
			require.Len(t, events, 1)
			events, err = b.st.AuditList(b.ctx, &store.AuditFilter{Since: t0.Add(time.Second), Until: t0.Add(3 * time.Second), Limit: 1})
			require.NoError(t, err)
			require.Len(t, events, 1)
			require.Equal(t, "delivery:2", events[0].Target)
			events, err = b.st.AuditList(b.ctx, &store.AuditFilter{BeforeID: events[0].ID})
			require.NoError(t, err)
			require.Len(t, events, 2)
		})
	})

	t.Run("ConcurrentIngest", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		const goroutines, each = 50, 200
		got := make([][]int64, goroutines)
		errs := make([]error, goroutines)
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range each {
					key := fmt.Sprintf("G%d-%d", g, i)
					res, err := b.st.MessageIngest(b.ctx, &store.IngestParams{Message: newMessage("f", key), Now: t0,
						DedupeKey: "eshop:" + key, DedupeWindow: time.Hour, Node: "n1", Lease: time.Minute,
						Deliveries: []*seam.Delivery{newDelivery("erp", true)}})
					if err != nil {
						errs[g] = err
						return
					}
					if res.Duplicate || len(res.Claimed) != 1 {
						errs[g] = fmt.Errorf("ingest %s: duplicate %v, %d claimed", key, res.Duplicate, len(res.Claimed))
						return
					}
					got[g] = append(got[g], res.MessageID)
				}
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		seen := map[int64]bool{}
		for _, ids := range got {
			for _, id := range ids {
				require.False(t, seen[id], "message ID %d returned twice", id)
				seen[id] = true
			}
		}
		require.Len(t, seen, goroutines*each)
		for id := range seen {
			if id%97 == 0 { // a sample: a full check costs 10,000 reads
				_, err := b.st.MessageGet(b.ctx, id)
				require.NoError(t, err)
			}
		}
		ms, err := b.st.MessageList(b.ctx, &store.MessageFilter{Limit: goroutines * each})
		require.NoError(t, err)
		require.Len(t, ms, goroutines*each)
	})

	t.Run("NotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		for name, get := range map[string]func() error{
			"Message":    func() error { _, err := b.st.MessageGet(b.ctx, 42); return err },
			"Delivery":   func() error { _, err := b.st.DeliveryGet(b.ctx, 42); return err },
			"Payload":    func() error { _, err := b.st.DeliveryPayload(b.ctx, 42); return err },
			"Quarantine": func() error { _, err := b.st.QuarantineGet(b.ctx, 42); return err },
			"Effect":     func() error { _, err := b.st.EffectGet(b.ctx, "f", "r", "k"); return err },
		} {
			err := get()
			require.ErrorIs(t, err, store.ErrNotFound, name)
			require.Equal(t, seam.ENOTFOUND, seam.ErrorCode(err), name)
		}
		attempts, err := b.st.AttemptList(b.ctx, 42)
		require.NoError(t, err)
		require.Empty(t, attempts)
	})

	t.Run("Close", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		require.NoError(t, b.st.Close())
		require.NoError(t, b.st.Close(), "idempotent")
		_, err := b.st.MessageIngest(b.ctx, &store.IngestParams{Message: newMessage("f", "k"), Now: t0})
		require.ErrorIs(t, err, store.ErrClosed)
	})
}

// t0 has nanoseconds, so a driver that rounds times fails the round trips.
var t0 = time.Date(2026, 3, 4, 10, 0, 0, 123456789, time.UTC)

func newMessage(flow, key string) *seam.Message {
	return &seam.Message{
		Flow:        flow,
		System:      "eshop",
		Key:         key,
		ContentType: "application/json",
		Body:        []byte(`{"order_no":"` + key + `","total_gross":"1210.00"}`),
		Canonical:   []byte(`{"id":"` + key + `","total":{"gross":"1210.00"}}`),
		TraceID:     "4bf92f3577b34da6a3ce929d0e0e4736",
	}
}

// newDelivery returns a pending delivery for route; flow and key come
// from its message.
func newDelivery(route string, ordered bool) *seam.Delivery {
	return &seam.Delivery{Route: route, State: seam.DeliveryPending, Ordered: ordered}
}

func ingest(t *testing.T, st store.Store, p *store.IngestParams) *store.IngestResult {
	t.Helper()
	for _, d := range p.Deliveries {
		if d.IdempotencyKey == "" {
			d.IdempotencyKey = "eshop:" + p.Message.Key + ":" + d.Route
		}
		if d.Payload == nil {
			d.Payload = []byte(`{"OrderRef":"` + p.Message.Key + `","route":"` + d.Route + `"}`)
		}
	}
	res, err := st.MessageIngest(t.Context(), p)
	require.NoError(t, err)
	return res
}

func dedupeParams(dedupeKey string, now time.Time) *store.IngestParams {
	return &store.IngestParams{Message: newMessage("eshop-orders", "ES"), DedupeKey: dedupeKey, DedupeWindow: time.Hour,
		Now: now, Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, IdempotencyKey: dedupeKey,
			Payload: []byte("{}")}}}
}

// ingestOrdered ingests one record of key with an ordered delivery to erp,
// leasing it to node when it is the head of its key.
func ingestOrdered(t *testing.T, st store.Store, key, node string) *store.IngestResult {
	t.Helper()
	return ingest(t, st, &store.IngestParams{Message: newMessage("f", key), Now: t0, Node: node, Lease: time.Hour,
		Deliveries: []*seam.Delivery{newDelivery("erp", true)}})
}

func claim(t *testing.T, st store.Store, node string, limit int, now time.Time) []*seam.Delivery {
	t.Helper()
	ds, err := st.DeliveryClaim(t.Context(), &store.ClaimParams{Node: node, Limit: limit, Lease: time.Hour, Now: now})
	require.NoError(t, err)
	return ds
}

func complete(t *testing.T, st store.Store, id int64, node string, state seam.DeliveryState, now time.Time) *store.CompleteResult {
	t.Helper()
	a := &seam.Attempt{StartedAt: now, Duration: time.Millisecond, Status: 200}
	if state != seam.DeliveryDelivered {
		a.Status, a.Error = 500, "boom"
	}
	res, err := st.DeliveryComplete(t.Context(), &store.CompleteParams{DeliveryID: id, Node: node, Attempt: a,
		State: state, NextAt: now, Lease: time.Hour, Now: now})
	require.NoError(t, err)
	return res
}

func ids(ds []*seam.Delivery) []int64 {
	out := make([]int64, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

// requireCounts checks how many messages and deliveries exist in all.
func requireCounts(t *testing.T, st store.Store, messages, deliveries int) {
	t.Helper()
	ms, err := st.MessageList(t.Context(), &store.MessageFilter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, ms, messages)
	ds, err := st.DeliveryList(t.Context(), &store.DeliveryFilter{Limit: 1000})
	require.NoError(t, err)
	require.Len(t, ds, deliveries)
}
