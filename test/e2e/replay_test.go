package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// replayReply is POST /api/replay's answer.
type replayReply struct {
	DryRun   bool  `json:"dry_run"`
	Matched  int   `json:"matched"`
	Replayed int   `json:"replayed"`
	Refused  int   `json:"refused"`
	AuditID  int64 `json:"audit_id"`
	Items    []struct {
		DeliveryID int64  `json:"delivery_id"`
		Key        string `json:"key"`
		State      string `json:"state"`
		Action     string `json:"action"`
		Why        string `json:"why"`
	} `json:"items"`
}

// Guarantee 5 and 2: a destination that refuses a record (400) dead-letters
// it with the answer kept as evidence; after the fix an operator replays it,
// first as a dry run; the replay keeps the idempotency key; replaying an
// effect already delivered is refused unless forced; the audit log says who
// replayed.
func TestReplayOfADeadLetter(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	sink.SetMode(SinkReject400)
	hub, _ := startInProcess(t, newProject(t, sink, Catalog{}))

	hub.MustSend(t, order("RP-1", 1))
	var dead Delivery
	waitFor(t, 10*time.Second, "the delivery to be dead", func() (bool, string) {
		ds := hub.Deliveries(t, "state=dead")
		if len(ds) == 1 {
			dead = ds[0]
			return true, ""
		}
		return false, fmt.Sprintf("%d dead", len(ds))
	})
	require.Equal(t, "RP-1", dead.Key)
	require.Equal(t, http.StatusBadRequest, dead.LastStatus)
	require.Equal(t, 1, dead.Attempts, "a 400 is not retried: the destination refused the record")
	refused := sink.Stats().Requests
	require.Len(t, refused, 1)
	key := refused[0].IdemKey
	require.Equal(t, "shop:RP-1", key)
	require.Equal(t, dead.IdempotencyKey, key)

	var detail DeliveryDetail
	status, body := hub.API(t, http.MethodGet, fmt.Sprintf("/api/deliveries/%d", dead.ID), nil, &detail)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Len(t, detail.AttemptLog, 1)
	require.Equal(t, http.StatusBadRequest, detail.AttemptLog[0].Status)
	require.Contains(t, string(detail.AttemptLog[0].Response), "unknown in the sink", "the destination's answer is kept")
	require.NotEmpty(t, detail.Payload, "the payload sent is kept")

	// The sink is fixed.
	sink.SetMode(SinkUp)
	replay := func(t *testing.T, req map[string]any) replayReply {
		t.Helper()
		var out replayReply
		status, body := hub.API(t, http.MethodPost, "/api/replay", req, &out)
		require.Equal(t, http.StatusOK, status, "%s", body)
		return out
	}

	dry := replay(t, map[string]any{"delivery_ids": []int64{dead.ID}, "dry_run": true, "reason": "check first"})
	require.True(t, dry.DryRun)
	require.Equal(t, 1, dry.Matched)
	require.Zero(t, dry.Replayed, "a dry run changes nothing")
	require.Len(t, dry.Items, 1)
	require.Equal(t, dead.ID, dry.Items[0].DeliveryID)
	require.Equal(t, "replay", dry.Items[0].Action)
	ds := hub.Deliveries(t, "key=RP-1")
	require.Len(t, ds, 1)
	require.Equal(t, "dead", ds[0].State, "a dry run leaves the dead letter as it is")
	require.Equal(t, 1, sink.RequestCount(), "a dry run sends nothing")

	done := replay(t, map[string]any{"delivery_ids": []int64{dead.ID}, "reason": "sink fixed"})
	require.False(t, done.DryRun)
	require.Equal(t, 1, done.Replayed)
	// Not fatal, so the rest of the replay is still checked.
	assert.NotZero(t, done.AuditID, "the answer names the audit event recording the replay (audit_id)")
	sink.waitDelivered(t, 10*time.Second, []string{"RP-1"})
	st := sink.Stats()
	require.Equal(t, []string{key}, st.ByOrder["RP-1"], "the replay sends the same Idempotency-Key")
	waitFor(t, 10*time.Second, "the delivery to be recorded delivered", func() (bool, string) {
		ds := hub.Deliveries(t, "key=RP-1")
		return len(ds) == 1 && ds[0].State == "delivered", fmt.Sprintf("%+v", ds)
	})

	again := replay(t, map[string]any{"delivery_ids": []int64{dead.ID}, "reason": "once more"})
	require.Zero(t, again.Replayed, "an effect already delivered is not replayed")
	require.Equal(t, 1, again.Refused)
	require.Equal(t, "refused", again.Items[0].Action)
	require.Contains(t, again.Items[0].Why, "already delivered")

	before := sink.RequestCount()
	forced := replay(t, map[string]any{"delivery_ids": []int64{dead.ID}, "force": true, "reason": "customer asked"})
	require.Equal(t, 1, forced.Replayed, "force replays a delivered effect")
	waitFor(t, 10*time.Second, "the forced replay to reach the sink", func() (bool, string) {
		return sink.RequestCount() > before, ""
	})
	last := sink.Stats().Requests[before]
	require.Equal(t, key, last.IdemKey, "a forced replay keeps the idempotency key too")

	var audit struct {
		Audit []struct {
			Actor  string `json:"actor"`
			Action string `json:"action"`
			Target string `json:"target"`
			Reason string `json:"reason"`
		} `json:"audit"`
	}
	status, body = hub.API(t, http.MethodGet, "/api/audit?action=replay", nil, &audit)
	require.Equal(t, http.StatusOK, status, "%s", body)
	reasons := map[string]bool{}
	for _, e := range audit.Audit {
		require.Equal(t, tokenName, e.Actor, "the audit names who replayed")
		require.Equal(t, fmt.Sprintf("delivery:%d", dead.ID), e.Target)
		reasons[e.Reason] = true
	}
	require.Equal(t, map[string]bool{"sink fixed": true, "customer asked": true}, reasons,
		"one audit event per replay that did something; dry runs and refusals change nothing: %s", body)
}
