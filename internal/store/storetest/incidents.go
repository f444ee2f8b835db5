package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// IncidentStore is a store with the Incidents capability.
type IncidentStore interface {
	store.Store
	store.Incidents
}

// ExerciseIncidents runs the conformance suite of store.Incidents. Like
// Exercise, newStore must return a new, empty store each call and close it
// when the test ends.
func ExerciseIncidents(t *testing.T, newStore func(t *testing.T) IncidentStore) {
	t.Helper()

	type testBundle struct {
		ctx context.Context
		st  IncidentStore
	}
	setup := func(t *testing.T) *testBundle {
		t.Helper()
		return &testBundle{ctx: t.Context(), st: newStore(t)}
	}
	open := func(t *testing.T, st IncidentStore, flow, rule, summary string, now time.Time) (*seam.Incident, bool) {
		t.Helper()
		in, opened, err := st.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: flow, Rule: rule, Kind: "dead_letters",
			Severity: "warning", Summary: summary, Details: []byte(`{"dead":3}`), Now: now})
		require.NoError(t, err)
		return in, opened
	}
	claim := func(t *testing.T, st IncidentStore, id int64, kind seam.NoticeKind, node string, now time.Time) (*seam.Incident, bool) {
		t.Helper()
		in, ok, err := st.IncidentClaimNotice(t.Context(), &store.NoticeClaimParams{ID: id, Kind: kind, Node: node,
			Lease: time.Minute, RemindBefore: now.Add(-time.Hour), Now: now})
		require.NoError(t, err)
		return in, ok
	}
	record := func(t *testing.T, st IncidentStore, p *store.NoticeRecordParams) *seam.Incident {
		t.Helper()
		in, err := st.IncidentRecordNotice(t.Context(), p)
		require.NoError(t, err)
		return in
	}

	t.Run("OpenOncePerRule", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first, opened := open(t, b.st, "eshop-orders", "dead_letters", "3 dead letters", t0)
		require.True(t, opened)
		want := &seam.Incident{ID: first.ID, Flow: "eshop-orders", Rule: "dead_letters", Kind: "dead_letters",
			Severity: "warning", State: seam.IncidentOpen, Summary: "3 dead letters", Details: []byte(`{"dead":3}`),
			OpenedAt: t0, UpdatedAt: t0}
		require.Equal(t, want, first)

		// Same numbers later: the same incident, untouched.
		again, opened := open(t, b.st, "eshop-orders", "dead_letters", "3 dead letters", t0.Add(time.Minute))
		require.False(t, opened)
		require.Equal(t, want, again)

		// New numbers: the same incident, brought up to date.
		later, opened := open(t, b.st, "eshop-orders", "dead_letters", "5 dead letters", t0.Add(2*time.Minute))
		require.False(t, opened)
		require.Equal(t, first.ID, later.ID)
		require.Equal(t, "5 dead letters", later.Summary)
		require.Equal(t, t0, later.OpenedAt)
		require.Equal(t, t0.Add(2*time.Minute), later.UpdatedAt)

		// Another rule, another flow: incidents of their own.
		other, opened := open(t, b.st, "eshop-orders", "silence", "no records for 2h", t0)
		require.True(t, opened)
		require.NotEqual(t, first.ID, other.ID)
		_, opened = open(t, b.st, "crm-customers", "dead_letters", "1 dead letter", t0)
		require.True(t, opened)

		got, err := b.st.IncidentGet(b.ctx, first.ID)
		require.NoError(t, err)
		require.Equal(t, later, got)
		_, err = b.st.IncidentGet(b.ctx, 9999)
		require.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("ConcurrentOpenOpensOne", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var (
			mu     sync.Mutex
			opened int
			ids    = map[int64]bool{}
			wg     sync.WaitGroup
		)
		for range 8 {
			wg.Go(func() {
				in, ok, err := b.st.IncidentOpen(b.ctx, &store.IncidentOpenParams{Flow: "f", Rule: "silence",
					Kind: "silence", Severity: "warning", Summary: "quiet", Now: t0})
				require.NoError(t, err)
				mu.Lock()
				defer mu.Unlock()
				ids[in.ID] = true
				if ok {
					opened++
				}
			})
		}
		wg.Wait()
		require.Equal(t, 1, opened)
		require.Len(t, ids, 1)
	})

	t.Run("ResolveThenReopen", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		first, _ := open(t, b.st, "f", "silence", "no records for 2h", t0)
		res, err := b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "f", Rule: "silence",
			Resolution: "a record arrived", Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		require.Equal(t, first.ID, res.ID)
		require.Equal(t, seam.IncidentResolved, res.State)
		require.Equal(t, t0.Add(time.Hour), res.ResolvedAt)
		require.Equal(t, "a record arrived", res.Resolution)

		_, err = b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "f", Rule: "silence", Now: t0.Add(time.Hour)})
		require.ErrorIs(t, err, store.ErrNotFound, "nothing open any more")

		// The next breach is a new incident; the resolved one stays as it was.
		second, opened := open(t, b.st, "f", "silence", "no records for 2h", t0.Add(2*time.Hour))
		require.True(t, opened)
		require.Greater(t, second.ID, first.ID)
		got, err := b.st.IncidentGet(b.ctx, first.ID)
		require.NoError(t, err)
		require.Equal(t, res, got)
	})

	t.Run("List", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		a, _ := open(t, b.st, "f", "silence", "quiet", t0)
		c, _ := open(t, b.st, "g", "dead_letters", "dead", t0.Add(time.Minute))
		_, err := b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "f", Rule: "silence", Now: t0.Add(time.Hour)})
		require.NoError(t, err)

		all, err := b.st.IncidentList(b.ctx, nil)
		require.NoError(t, err)
		require.Equal(t, []int64{c.ID, a.ID}, incidentIDs(all), "newest first")
		for name, tc := range map[string]struct {
			f    *store.IncidentFilter
			want []int64
		}{
			"Open":       {&store.IncidentFilter{State: seam.IncidentOpen}, []int64{c.ID}},
			"Resolved":   {&store.IncidentFilter{State: seam.IncidentResolved}, []int64{a.ID}},
			"Flow":       {&store.IncidentFilter{Flow: "f"}, []int64{a.ID}},
			"Rule":       {&store.IncidentFilter{Rule: "dead_letters"}, []int64{c.ID}},
			"Since":      {&store.IncidentFilter{Since: t0.Add(time.Second)}, []int64{c.ID}},
			"Until":      {&store.IncidentFilter{Until: t0.Add(time.Second)}, []int64{a.ID}},
			"Before":     {&store.IncidentFilter{BeforeID: c.ID}, []int64{a.ID}},
			"Limit":      {&store.IncidentFilter{Limit: 1}, []int64{c.ID}},
			"Pending":    {&store.IncidentFilter{NoticePending: true}, []int64{c.ID, a.ID}},
			"NoneOfThem": {&store.IncidentFilter{Flow: "h"}, nil},
		} {
			got, err := b.st.IncidentList(b.ctx, tc.f)
			require.NoError(t, err, name)
			require.Equal(t, tc.want, incidentIDs(got), name)
		}
	})

	t.Run("NoticeClaimedOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		in, _ := open(t, b.st, "f", "dead_letters", "dead", t0)

		got, ok := claim(t, b.st, in.ID, seam.NoticeFiring, "node-a", t0)
		require.True(t, ok)
		require.Equal(t, seam.NoticeFiring, got.NoticeKind)
		_, ok = claim(t, b.st, in.ID, seam.NoticeFiring, "node-b", t0)
		require.False(t, ok, "node-a holds it")
		_, ok = claim(t, b.st, in.ID, seam.NoticeResolved, "node-b", t0)
		require.False(t, ok, "not resolved")
		_, ok = claim(t, b.st, in.ID, seam.NoticeReminder, "node-b", t0.Add(2*time.Hour))
		require.False(t, ok, "no firing notice went out yet")

		_, err := b.st.IncidentRecordNotice(b.ctx, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring,
			Node: "node-b", Done: true, Now: t0})
		require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err), "node-b has no claim")

		done := record(t, b.st, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring, Node: "node-a",
			Sent: []string{"chat", "email"}, Done: true, Now: t0.Add(time.Second)})
		require.Equal(t, seam.NoticeFiring, done.Notified)
		require.Equal(t, 1, done.Notifications)
		require.Equal(t, t0.Add(time.Second), done.LastNotifiedAt)
		require.Empty(t, done.NoticeSent)

		_, ok = claim(t, b.st, in.ID, seam.NoticeFiring, "node-b", t0.Add(time.Hour))
		require.False(t, ok, "firing was sent")
		pending, err := b.st.IncidentList(b.ctx, &store.IncidentFilter{NoticePending: true})
		require.NoError(t, err)
		require.Empty(t, pending)

		// A reminder is due once the last notice is old enough.
		_, ok = claim(t, b.st, in.ID, seam.NoticeReminder, "node-b", t0.Add(59*time.Minute))
		require.False(t, ok, "too early for a reminder")
		_, ok = claim(t, b.st, in.ID, seam.NoticeReminder, "node-b", t0.Add(time.Hour+time.Second))
		require.True(t, ok)
		rem := record(t, b.st, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeReminder, Node: "node-b",
			Sent: []string{"chat", "email"}, Done: true, Now: t0.Add(time.Hour + time.Second)})
		require.Equal(t, 2, rem.Notifications)
		require.Equal(t, seam.NoticeFiring, rem.Notified)

		_, err = b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "f", Rule: "dead_letters", Now: t0.Add(2 * time.Hour)})
		require.NoError(t, err)
		_, ok = claim(t, b.st, in.ID, seam.NoticeReminder, "node-a", t0.Add(5*time.Hour))
		require.False(t, ok, "no reminders once resolved")
		pending, err = b.st.IncidentList(b.ctx, &store.IncidentFilter{NoticePending: true})
		require.NoError(t, err)
		require.Equal(t, []int64{in.ID}, incidentIDs(pending), "the resolve is to be sent")
		_, ok = claim(t, b.st, in.ID, seam.NoticeResolved, "node-a", t0.Add(2*time.Hour))
		require.True(t, ok)
		res := record(t, b.st, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeResolved, Node: "node-a",
			Done: true, Now: t0.Add(2 * time.Hour)})
		require.Equal(t, seam.NoticeResolved, res.Notified)
		require.Equal(t, 3, res.Notifications)
		_, ok = claim(t, b.st, in.ID, seam.NoticeResolved, "node-b", t0.Add(3*time.Hour))
		require.False(t, ok, "resolve sent once")
	})

	t.Run("PartialNoticeKeepsReachedChannels", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		in, _ := open(t, b.st, "f", "dead_letters", "dead", t0)
		_, ok := claim(t, b.st, in.ID, seam.NoticeFiring, "node-a", t0)
		require.True(t, ok)
		part := record(t, b.st, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring, Node: "node-a",
			Sent: []string{"chat"}, Error: "email: connection refused", Now: t0})
		require.Equal(t, 0, part.Notifications)
		require.Equal(t, "email: connection refused", part.NoticeError)
		require.Empty(t, part.Notified)

		// The claim is released at once: the next evaluation, on any node,
		// retries, and knows the chat already has the message.
		again, ok := claim(t, b.st, in.ID, seam.NoticeFiring, "node-b", t0.Add(15*time.Second))
		require.True(t, ok)
		require.Equal(t, []string{"chat"}, again.NoticeSent)
		done := record(t, b.st, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring, Node: "node-b",
			Sent: []string{"email"}, Done: true, Now: t0.Add(15 * time.Second)})
		require.Equal(t, 1, done.Notifications)
		require.Empty(t, done.NoticeError)
		require.Empty(t, done.NoticeSent)
	})

	t.Run("ExpiredClaimIsTakenOver", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		in, _ := open(t, b.st, "f", "dead_letters", "dead", t0)
		_, ok := claim(t, b.st, in.ID, seam.NoticeFiring, "node-a", t0)
		require.True(t, ok)
		_, ok = claim(t, b.st, in.ID, seam.NoticeFiring, "node-b", t0.Add(59*time.Second))
		require.False(t, ok)
		_, ok = claim(t, b.st, in.ID, seam.NoticeFiring, "node-b", t0.Add(time.Minute))
		require.True(t, ok, "node-a's lease ran out")
		_, err := b.st.IncidentRecordNotice(b.ctx, &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring,
			Node: "node-a", Done: true, Now: t0.Add(time.Minute)})
		require.Equal(t, seam.ECONFLICT, seam.ErrorCode(err))
	})

	t.Run("ConcurrentClaimsOneWinner", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		in, _ := open(t, b.st, "f", "dead_letters", "dead", t0)
		var (
			mu   sync.Mutex
			wins int
			wg   sync.WaitGroup
		)
		for i := range 8 {
			wg.Go(func() {
				_, ok, err := b.st.IncidentClaimNotice(b.ctx, &store.NoticeClaimParams{ID: in.ID, Kind: seam.NoticeFiring,
					Node: "node-" + string(rune('a'+i)), Lease: time.Minute, Now: t0})
				require.NoError(t, err)
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		require.Equal(t, 1, wins)
	})

	t.Run("Invalid", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, _, err := b.st.IncidentOpen(b.ctx, &store.IncidentOpenParams{Rule: "r", Now: t0})
		require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
		_, _, err = b.st.IncidentOpen(b.ctx, &store.IncidentOpenParams{Flow: "f", Rule: "r"})
		require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
		_, _, err = b.st.IncidentOpen(b.ctx, &store.IncidentOpenParams{Flow: "f", Rule: "r", Now: t0, Details: []byte("{")})
		require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
		_, _, err = b.st.IncidentClaimNotice(b.ctx, &store.NoticeClaimParams{ID: 1, Kind: "shout", Node: "n", Lease: time.Minute, Now: t0})
		require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
		_, err = b.st.IncidentRecordNotice(b.ctx, &store.NoticeRecordParams{ID: 1, Kind: seam.NoticeFiring, Node: "n", Now: t0})
		require.ErrorIs(t, err, store.ErrNotFound)
	})

	t.Run("PruneKeepsOpenIncidents", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		old, _ := open(t, b.st, "f", "silence", "quiet", t0)
		_, err := b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "f", Rule: "silence", Now: t0.Add(time.Hour)})
		require.NoError(t, err)
		stillOpen, _ := open(t, b.st, "g", "silence", "quiet", t0)
		recent, _ := open(t, b.st, "h", "silence", "quiet", t0)
		_, err = b.st.IncidentResolve(b.ctx, &store.IncidentResolveParams{Flow: "h", Rule: "silence", Now: t0.Add(48 * time.Hour)})
		require.NoError(t, err)

		_, err = b.st.Prune(b.ctx, &store.PruneParams{EvidenceBefore: t0.Add(24 * time.Hour)})
		require.NoError(t, err)
		all, err := b.st.IncidentList(b.ctx, nil)
		require.NoError(t, err)
		require.Equal(t, []int64{recent.ID, stillOpen.ID}, incidentIDs(all))
		_, err = b.st.IncidentGet(b.ctx, old.ID)
		require.ErrorIs(t, err, store.ErrNotFound)
	})
}

func incidentIDs(in []*seam.Incident) []int64 {
	var out []int64
	for _, i := range in {
		out = append(out, i.ID)
	}
	return out
}
