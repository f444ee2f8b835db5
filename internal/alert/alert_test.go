package alert_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/alert"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/notify/notifytest"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// clock is the injected time: tests move it, nothing sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var prague = func() *time.Location {
	l, err := time.LoadLocation("Europe/Prague")
	if err != nil {
		panic(err)
	}
	return l
}()

// monday is Monday 2026-03-09, 10:00 in Prague.
var monday = time.Date(2026, 3, 9, 10, 0, 0, 0, prague)

const (
	seamYAML = `project: alerts-test
listen: 127.0.0.1:8080
owners:
  ecommerce: {name: E-commerce team, email: eshop@acme.example, alert: [chat, email]}
  quiet: {name: Nobody in particular}
alerts:
  remind: 1h
  dashboard_url: https://seam.acme.example/
  channels:
    chat: {webhook: {url: "${CHAT_URL}"}}
    email: {smtp: {host: 127.0.0.1, port: %d, from: seam@acme.example, to: [ops@acme.example]}}
`
	flowYAML = `flow: eshop-orders
owner: %s
runbook: |
  ERP answers 409 when the customer does not exist yet: check flow crm-customers.
source: {system: eshop, webhook: {path: /in/eshop/orders}}
model: note
key: in.id
map: {id: in.id}
routes:
  - to: erp
    http: {path: /api/orders}
    map: {OrderRef: id}
alerts:
%s`
)

type testBundle struct {
	ctx   context.Context
	dir   string
	st    *sqlite.Store
	clock *clock
	chat  *notifytest.Webhook
	mail  *notifytest.SMTPServer
	cat   *catalog.Catalog
	catMu sync.Mutex
	env   map[string]string
}

// setup builds a project whose flow eshop-orders has the alert rules given
// (YAML list items, indented by two), a ledger, a chat webhook and an SMTP
// server, with the clock at start.
func setup(t *testing.T, rules string, start time.Time) *testBundle {
	t.Helper()
	b := &testBundle{ctx: t.Context(), dir: t.TempDir(), clock: &clock{t: start},
		chat: notifytest.NewWebhook(t), mail: notifytest.NewSMTPServer(t, notifytest.SMTPOptions{})}
	b.env = map[string]string{"CHAT_URL": b.chat.URL}
	st, err := sqlite.Open(b.ctx, filepath.Join(b.dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	b.st = st
	b.load(t, "ecommerce", rules, "")
	return b
}

// load (re)writes the project and loads it, as a reload does.
func (b *testBundle) load(t *testing.T, owner, rules, extra string) {
	t.Helper()
	proj := filepath.Join(b.dir, "project")
	for name, body := range map[string]string{
		"seam.yaml":               fmt.Sprintf(seamYAML, b.mail.Port),
		"systems/eshop.yaml":      "system: eshop\nowner: ecommerce\n",
		"systems/erp.yaml":        "system: erp\nowner: ecommerce\nbase_url: http://erp.invalid\n",
		"models/note.yaml":        "model: note\nfields:\n  id: {type: id, required: true}\n",
		"flows/eshop-orders.yaml": fmt.Sprintf(flowYAML, owner, rules) + extra,
	} {
		p := filepath.Join(proj, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	c, diags := catalog.Load(proj, &catalog.Options{Env: b.lookup})
	require.Zero(t, diags.Errors(), "%v", diags)
	b.catMu.Lock()
	b.cat = c
	b.catMu.Unlock()
}

func (b *testBundle) catalog() *catalog.Catalog {
	b.catMu.Lock()
	defer b.catMu.Unlock()
	return b.cat
}

func (b *testBundle) lookup(name string) (string, bool) {
	v, ok := b.env[name]
	return v, ok
}

func (b *testBundle) evaluator(t *testing.T, node string) *alert.Evaluator {
	t.Helper()
	e, err := alert.New(alert.Options{Store: b.st, Catalog: b.catalog, Env: b.lookup, Node: node, Now: b.clock.Now,
		SleepFunc: func(context.Context, time.Duration) error { return nil }})
	require.NoError(t, err)
	return e
}

// receive stores one record of eshop-orders, received now.
func (b *testBundle) receive(t *testing.T, key string) *store.IngestResult {
	t.Helper()
	res, err := b.st.MessageIngest(b.ctx, &store.IngestParams{
		Message:    &seam.Message{Flow: "eshop-orders", System: "eshop", Key: key, Body: []byte(`{}`), Canonical: []byte(`{}`)},
		Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, IdempotencyKey: "eshop:" + key, Payload: []byte(`{}`)}},
		Node:       "engine", Lease: time.Minute, Now: b.clock.Now(),
	})
	require.NoError(t, err)
	return res
}

func (b *testBundle) incidents(t *testing.T, state seam.IncidentState) []*seam.Incident {
	t.Helper()
	list, err := b.st.IncidentList(b.ctx, &store.IncidentFilter{State: state})
	require.NoError(t, err)
	return list
}

// evaluate runs one round at the clock's time.
func (b *testBundle) evaluate(t *testing.T, e *alert.Evaluator) {
	t.Helper()
	require.NoError(t, e.Evaluate(b.ctx))
}

func (b *testBundle) subjects() []string {
	var out []string
	for _, m := range b.mail.Mails() {
		out = append(out, m.Subject)
	}
	return out
}

func TestSilence(t *testing.T) {
	t.Parallel()
	const rules = `  - silence: {for: 2h, during: "Mon-Fri 08:00-20:00 Europe/Prague"}
`
	friday := time.Date(2026, 3, 6, 19, 0, 0, 0, prague)

	t.Run("FiresWithinTheScheduleAndResolvesOnARecord", func(t *testing.T) {
		t.Parallel()
		b := setup(t, rules, friday)
		e := b.evaluator(t, "node-a")
		b.receive(t, "ES-1") // Friday 19:00: one hour of schedule left

		for _, at := range []time.Time{
			friday.Add(59 * time.Minute),                // Friday 19:59
			time.Date(2026, 3, 7, 12, 0, 0, 0, prague),  // Saturday noon: 17h of silence, but only 1h within the schedule
			time.Date(2026, 3, 9, 7, 59, 0, 0, prague),  // Monday before the schedule
			time.Date(2026, 3, 9, 8, 59, 59, 0, prague), // Monday, 1h59m59s within the schedule
		} {
			b.clock.Set(at)
			b.evaluate(t, e)
			require.Empty(t, b.incidents(t, ""), "no incident at %s", at)
		}

		b.clock.Set(time.Date(2026, 3, 9, 9, 0, 0, 0, prague)) // Monday 09:00: two hours within the schedule
		b.evaluate(t, e)
		open := b.incidents(t, seam.IncidentOpen)
		require.Len(t, open, 1)
		in := open[0]
		require.Equal(t, "eshop-orders", in.Flow)
		require.Equal(t, "silence", in.Rule)
		require.Equal(t, "no records for 2h", in.Summary)
		require.Equal(t, time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC), in.OpenedAt)
		require.Equal(t, 1, in.Notifications)

		require.Equal(t, []string{"[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)"}, b.chat.Titles())
		text := b.chat.Posts()[0].Text
		require.Contains(t, text, "No record arrived for 2h within Mon-Fri 08:00-20:00 Europe/Prague; the last came at 2026-03-06 18:00 UTC.")
		require.Contains(t, text, "ERP answers 409")
		require.Contains(t, text, "Dashboard: https://seam.acme.example/flows/eshop-orders")
		require.Contains(t, text, "seam messages --flow eshop-orders")
		require.Equal(t, []string{"[Seam] FIRING: eshop-orders: no records for 2h"}, b.subjects())
		require.Equal(t, []string{"eshop@acme.example", "ops@acme.example"}, b.mail.Mails()[0].To)

		// Still silent a few evaluations later: nothing new is sent.
		for range 3 {
			b.clock.Add(15 * time.Second)
			b.evaluate(t, e)
		}
		require.Len(t, b.chat.Posts(), 1)

		b.clock.Set(time.Date(2026, 3, 9, 9, 30, 0, 0, prague))
		b.receive(t, "ES-2")
		b.evaluate(t, e)
		require.Empty(t, b.incidents(t, seam.IncidentOpen))
		resolved := b.incidents(t, seam.IncidentResolved)
		require.Len(t, resolved, 1)
		require.Equal(t, "a record arrived at 2026-03-09 08:30 UTC", resolved[0].Resolution)
		require.Equal(t, seam.NoticeResolved, resolved[0].Notified)
		require.Equal(t, []string{
			"[FIRING] eshop-orders: no records for 2h (owner: E-commerce team)",
			"[RESOLVED] eshop-orders: no records for 2h (owner: E-commerce team)",
		}, b.chat.Titles())
		require.Equal(t, []string{"[Seam] FIRING: eshop-orders: no records for 2h", "[Seam] RESOLVED: eshop-orders: no records for 2h"}, b.subjects())
		require.Contains(t, b.chat.Posts()[1].Text, "Resolved after 30m")

		b.clock.Add(time.Hour)
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 2, "nothing after the resolve")
	})

	t.Run("NeverReceivedCountsFromStart", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "  - silence: {for: 30m}\n", monday)
		e := b.evaluator(t, "node-a")
		b.clock.Add(29 * time.Minute)
		b.evaluate(t, e)
		require.Empty(t, b.incidents(t, ""))
		b.clock.Add(time.Minute)
		b.evaluate(t, e)
		require.Len(t, b.incidents(t, seam.IncidentOpen), 1)
		require.Contains(t, b.chat.Posts()[0].Text, "none has arrived since Seam started watching")
	})

	t.Run("RemindsOnlyWithinTheSchedule", func(t *testing.T) {
		t.Parallel()
		start := time.Date(2026, 3, 6, 17, 0, 0, 0, prague) // Friday
		b := setup(t, rules, start)
		e := b.evaluator(t, "node-a")
		b.receive(t, "ES-1")
		b.clock.Set(time.Date(2026, 3, 6, 19, 0, 0, 0, prague))
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 1)
		b.clock.Set(time.Date(2026, 3, 6, 19, 59, 0, 0, prague))
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 1, "not an hour yet")
		b.clock.Set(time.Date(2026, 3, 6, 20, 0, 0, 0, prague))
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 1, "an hour on, but the schedule ended at 20:00")
		b.clock.Set(time.Date(2026, 3, 7, 3, 0, 0, 0, prague)) // Saturday night
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 1, "nobody is woken up for a silence outside its schedule")
		b.clock.Set(time.Date(2026, 3, 9, 8, 0, 0, 0, prague)) // Monday morning
		b.evaluate(t, e)
		require.Len(t, b.chat.Posts(), 2)
		require.Contains(t, b.chat.Posts()[1].Text, "Still firing after 2d13h")
		require.Contains(t, b.chat.Posts()[1].Text, "reminder 1")
	})
}

func TestErrorRate(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - error_rate: {above: 5%, over: 15m}\n    severity: critical\n", monday)
	e := b.evaluator(t, "node-a")
	for i := range 20 {
		outcome := "delivered"
		if i%10 == 0 {
			outcome = "retry" // 2 of 20: 10%
		}
		e.Attempted("eshop-orders", "erp", outcome, time.Millisecond)
		e.Attempted("eshop-orders", "erp", "postponed", 0) // not tried: not counted
	}
	e.Attempted("other-flow", "erp", "dead", time.Millisecond)
	b.evaluate(t, e)
	open := b.incidents(t, seam.IncidentOpen)
	require.Len(t, open, 1)
	require.Equal(t, "error rate 10% over 15m", open[0].Summary)
	require.Equal(t, "critical", open[0].Severity)
	require.Contains(t, b.chat.Posts()[0].Text, "2 of 20 delivery attempts failed in the last 15m (10%); the rule fires above 5%.")
	require.Contains(t, b.chat.Posts()[0].Text, "Severity: critical")

	// Ten minutes on, the failures are still within the window.
	b.clock.Add(10 * time.Minute)
	for range 10 {
		e.Attempted("eshop-orders", "erp", "delivered", time.Millisecond)
	}
	b.evaluate(t, e)
	require.Equal(t, "error rate 7% over 15m", b.incidents(t, seam.IncidentOpen)[0].Summary)
	require.Len(t, b.chat.Posts(), 1, "new numbers are no new incident")

	// Sixteen minutes after the failures they left the window.
	b.clock.Add(6 * time.Minute)
	b.evaluate(t, e)
	require.Empty(t, b.incidents(t, seam.IncidentOpen))
	require.Equal(t, "error rate down to 0% over 15m", b.incidents(t, seam.IncidentResolved)[0].Resolution)
	require.Equal(t, []string{
		"[FIRING] eshop-orders: error rate 10% over 15m (owner: E-commerce team)",
		"[RESOLVED] eshop-orders: error rate 7% over 15m (owner: E-commerce team)",
	}, b.chat.Titles())
}

func TestDeadLettersBacklogQuarantineCircuit(t *testing.T) {
	t.Parallel()

	t.Run("DeadLetters", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "  - dead_letters: {above: 0}\n", monday)
		e := b.evaluator(t, "node-a")
		res := b.receive(t, "ES-1")
		b.evaluate(t, e)
		require.Empty(t, b.incidents(t, ""))

		_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: res.Claimed[0].ID, Node: "engine",
			Attempt: &seam.Attempt{StartedAt: b.clock.Now(), Status: 422, Error: "refused"}, State: seam.DeliveryDead, Now: b.clock.Now()})
		require.NoError(t, err)
		b.clock.Add(15 * time.Second)
		b.evaluate(t, e)
		require.Equal(t, []string{"[FIRING] eshop-orders: 1 dead letter (owner: E-commerce team)"}, b.chat.Titles())
		require.Contains(t, b.chat.Posts()[0].Text, "1 delivery ran out of attempts and wait for an operator (erp: 1)")
		require.Contains(t, b.chat.Posts()[0].Text, "seam dlq --flow eshop-orders")

		n, err := b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{res.Claimed[0].ID}, Now: b.clock.Now(),
			Audit: &seam.AuditEvent{At: b.clock.Now(), Actor: "alice", Action: "replay", Target: "delivery"}})
		require.NoError(t, err)
		require.Equal(t, 1, n)
		b.clock.Add(15 * time.Second)
		b.evaluate(t, e)
		require.Equal(t, "[RESOLVED] eshop-orders: 1 dead letter (owner: E-commerce team)", b.chat.Titles()[1])
		require.Equal(t, "dead letters down to 0", b.incidents(t, seam.IncidentResolved)[0].Resolution)
	})

	t.Run("BacklogAge", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "  - backlog_age: {above: 10m}\n", monday)
		e := b.evaluator(t, "node-a")
		_, err := b.st.MessageIngest(b.ctx, &store.IngestParams{Now: b.clock.Now(),
			Message:    &seam.Message{Flow: "eshop-orders", System: "eshop", Key: "ES-1", Body: []byte(`{}`)},
			Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, IdempotencyKey: "k", Payload: []byte(`{}`)}}})
		require.NoError(t, err)
		b.clock.Add(10 * time.Minute)
		b.evaluate(t, e)
		require.Empty(t, b.incidents(t, ""))
		b.clock.Add(time.Second)
		b.evaluate(t, e)
		require.Equal(t, []string{"[FIRING] eshop-orders: backlog older than 10m (owner: E-commerce team)"}, b.chat.Titles())
		require.Contains(t, b.chat.Posts()[0].Text, "has been waiting since 2026-03-09 09:00 UTC")
	})

	t.Run("Quarantine", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "  - quarantine: {above: 0}\n", monday)
		e := b.evaluator(t, "node-a")
		_, err := b.st.MessageIngest(b.ctx, &store.IngestParams{Now: b.clock.Now(),
			Message: &seam.Message{Flow: "eshop-orders", System: "eshop", Key: "ES-1", Body: []byte(`{"id":`)},
			Quarantine: &seam.Quarantined{Flow: "eshop-orders", Key: "ES-1", Stage: seam.StageDecode, Status: seam.QuarantineOpen,
				Reasons: []seam.Reason{{Stage: seam.StageDecode, Message: "unexpected end of JSON input"}}}})
		require.NoError(t, err)
		b.evaluate(t, e)
		require.Equal(t, []string{"[FIRING] eshop-orders: 1 record in quarantine (owner: E-commerce team)"}, b.chat.Titles())
		require.Contains(t, b.chat.Posts()[0].Text, "Latest reason: unexpected end of JSON input.")
	})

	t.Run("CircuitOpen", func(t *testing.T) {
		t.Parallel()
		b := setup(t, "  - circuit_open: {}\n", monday)
		e := b.evaluator(t, "node-a")
		e.BreakerChanged("eshop-orders", "erp", true)
		b.evaluate(t, e)
		require.Equal(t, []string{"[FIRING] eshop-orders: circuit open to erp (owner: E-commerce team)"}, b.chat.Titles())
		e.BreakerChanged("eshop-orders", "erp", false)
		b.clock.Add(15 * time.Second)
		b.evaluate(t, e)
		require.Equal(t, "[RESOLVED] eshop-orders: circuit open to erp (owner: E-commerce team)", b.chat.Titles()[1])
	})
}

// TestOneNotificationAcrossNodes is the multi-node guarantee: evaluators on
// two nodes share one ledger, evaluate the same rules at the same moments
// (even at once), and the owner hears of each incident once, and of its end
// once.
func TestOneNotificationAcrossNodes(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - dead_letters: {above: 0}\n  - circuit_open: {}\n", monday)
	nodes := []*alert.Evaluator{b.evaluator(t, "node-a"), b.evaluator(t, "node-b")}
	res := b.receive(t, "ES-1")
	_, err := b.st.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: res.Claimed[0].ID, Node: "engine",
		Attempt: &seam.Attempt{StartedAt: b.clock.Now(), Status: 500}, State: seam.DeliveryDead, Now: b.clock.Now()})
	require.NoError(t, err)
	for _, e := range nodes {
		e.BreakerChanged("eshop-orders", "erp", true) // both nodes saw the ERP fail
	}

	round := func() {
		var wg sync.WaitGroup
		for _, e := range nodes {
			wg.Go(func() { require.NoError(t, e.Evaluate(b.ctx)) })
		}
		wg.Wait()
	}
	for range 5 {
		round()
		b.clock.Add(15 * time.Second)
	}
	require.Len(t, b.incidents(t, seam.IncidentOpen), 2)
	require.ElementsMatch(t, []string{
		"[FIRING] eshop-orders: 1 dead letter (owner: E-commerce team)",
		"[FIRING] eshop-orders: circuit open to erp (owner: E-commerce team)",
	}, b.chat.Titles())
	require.ElementsMatch(t, []string{
		"[Seam] FIRING: eshop-orders: 1 dead letter",
		"[Seam] FIRING: eshop-orders: circuit open to erp",
	}, b.subjects())

	// An hour on, one reminder each.
	b.clock.Add(time.Hour)
	for range 3 {
		round()
		b.clock.Add(15 * time.Second)
	}
	require.Len(t, b.chat.Posts(), 4)
	require.Len(t, b.mail.Mails(), 4)
	require.Equal(t, "[Seam] FIRING: eshop-orders: 1 dead letter (reminder)", reminderSubject(b.subjects(), "dead letter"))

	// Both clear: one resolve each.
	_, err = b.st.DeliveryRequeue(b.ctx, &store.RequeueParams{DeliveryIDs: []int64{res.Claimed[0].ID}, Now: b.clock.Now(),
		Audit: &seam.AuditEvent{At: b.clock.Now(), Actor: "alice", Action: "replay", Target: "delivery"}})
	require.NoError(t, err)
	for _, e := range nodes {
		e.BreakerChanged("eshop-orders", "erp", false)
	}
	for range 5 {
		round()
		b.clock.Add(15 * time.Second)
	}
	var resolved []string
	for _, title := range b.chat.Titles() {
		if strings.HasPrefix(title, "[RESOLVED]") {
			resolved = append(resolved, title)
		}
	}
	require.ElementsMatch(t, []string{
		"[RESOLVED] eshop-orders: 1 dead letter (owner: E-commerce team)",
		"[RESOLVED] eshop-orders: circuit open to erp (owner: E-commerce team)",
	}, resolved)
	require.Len(t, b.chat.Posts(), 6)
	require.Len(t, b.mail.Mails(), 6)
	for _, in := range b.incidents(t, seam.IncidentResolved) {
		require.Equal(t, 3, in.Notifications, "firing, one reminder, resolved")
	}
}

func reminderSubject(subjects []string, what string) string {
	for _, s := range subjects {
		if strings.Contains(s, "(reminder)") && strings.Contains(s, what) {
			return s
		}
	}
	return ""
}

func TestReminders(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - circuit_open: {}\n", monday)
	e := b.evaluator(t, "node-a")
	e.BreakerChanged("eshop-orders", "erp", true)
	b.evaluate(t, e)
	for _, d := range []time.Duration{30 * time.Minute, 29*time.Minute + 59*time.Second} {
		b.clock.Add(d)
		b.evaluate(t, e)
	}
	require.Len(t, b.chat.Posts(), 1, "59m59s is not yet an hour")
	b.clock.Add(time.Second)
	b.evaluate(t, e)
	b.clock.Add(time.Hour)
	b.evaluate(t, e)
	titles := b.chat.Titles()
	require.Len(t, titles, 3)
	require.Contains(t, b.chat.Posts()[1].Text, "Still firing after 1h (since 2026-03-09 09:00 UTC); reminder 1.")
	require.Contains(t, b.chat.Posts()[2].Text, "Still firing after 2h (since 2026-03-09 09:00 UTC); reminder 2.")
}

// TestFailedNoticeIsRetried: a channel that is down gets the notice at a
// later evaluation; the channel that got it is not sent it twice.
func TestFailedNoticeIsRetried(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - circuit_open: {}\n", monday)
	e := b.evaluator(t, "node-a")
	e.BreakerChanged("eshop-orders", "erp", true)
	b.chat.Fail(502, 502, 502) // every attempt of this evaluation
	err := e.Evaluate(b.ctx)
	require.NoError(t, err, "a failed notice is logged, counted and retried, not an evaluation error")
	require.Empty(t, b.chat.Posts())
	require.Len(t, b.mail.Mails(), 1)
	in := b.incidents(t, seam.IncidentOpen)[0]
	require.Equal(t, 0, in.Notifications)
	require.Contains(t, in.NoticeError, "chat: webhook http://127.0.0.1")
	require.NotContains(t, in.NoticeError, "s3cr3t-token")
	failed := findCollector(t, e, "seam_alert_notifications_total")
	require.Equal(t, 1.0, counterValue(t, failed.WithLabelValues("chat", "firing", "failed")))

	b.clock.Add(15 * time.Second)
	b.evaluate(t, e)
	require.Equal(t, []string{"[FIRING] eshop-orders: circuit open to erp (owner: E-commerce team)"}, b.chat.Titles())
	require.Len(t, b.mail.Mails(), 1, "the e-mail had gone out already")
	in = b.incidents(t, seam.IncidentOpen)[0]
	require.Equal(t, 1, in.Notifications)
	require.Empty(t, in.NoticeError)
	require.Equal(t, 1.0, counterValue(t, failed.WithLabelValues("chat", "firing", "sent")))
	require.Equal(t, 1.0, counterValue(t, failed.WithLabelValues("email", "firing", "sent")))
}

// findCollector returns the evaluator's counter vector of that name.
func findCollector(t *testing.T, e *alert.Evaluator, name string) *prometheus.CounterVec {
	t.Helper()
	for _, c := range e.Collectors() {
		cv, ok := c.(*prometheus.CounterVec)
		if !ok {
			continue
		}
		descs := make(chan *prometheus.Desc, 1)
		cv.Describe(descs)
		if strings.Contains((<-descs).String(), `"`+name+`"`) {
			return cv
		}
	}
	t.Fatalf("no collector %s", name)
	return nil
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	require.NoError(t, c.Write(&m))
	return m.GetCounter().GetValue()
}

func TestReconcileIncident(t *testing.T) {
	t.Parallel()
	b := setup(t, "", monday)
	path := filepath.Join(b.dir, "erp.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE orders (ref TEXT, created_at TEXT)")
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO orders VALUES ('ES-1', ?), ('ES-2', ?)", "2026-03-09 08:00:00", "2026-03-09 08:30:00")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	b.env["ERP_DB"] = "sqlite:" + path
	b.load(t, "ecommerce", "", `reconcile:
  - name: orders-reach-erp
    severity: critical
    left: {ledger: {route: erp}}
    right: {name: ERP, sql: {dsn: "${ERP_DB}", query: "SELECT count(*) FROM orders WHERE created_at >= :from AND created_at < :to",
            keys: "SELECT ref FROM orders WHERE created_at >= :from AND created_at < :to"}}
`)
	e := b.evaluator(t, "node-a")
	b.clock.Set(time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC))
	b.receive(t, "ES-1")
	b.clock.Set(time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC))

	require.NoError(t, e.Reconcile(b.ctx))
	open := b.incidents(t, seam.IncidentOpen)
	require.Len(t, open, 1)
	require.Equal(t, "reconcile:orders-reach-erp", open[0].Rule)
	require.Equal(t, "reconcile", open[0].Kind)
	require.Equal(t, "critical", open[0].Severity)
	require.Equal(t, "reconciliation orders-reach-erp: ledger 1 ≠ ERP 2", open[0].Summary)
	var details struct {
		Result struct {
			OnlyRight []string `json:"only_right"`
		} `json:"result"`
	}
	require.NoError(t, json.Unmarshal(open[0].Details, &details))
	require.Equal(t, []string{"ES-2"}, details.Result.OnlyRight)

	b.evaluate(t, e)
	require.Equal(t, []string{"[FIRING] eshop-orders: reconciliation orders-reach-erp: ledger 1 ≠ ERP 2 (owner: E-commerce team)"}, b.chat.Titles())
	text := b.chat.Posts()[0].Text
	require.Contains(t, text, "Only in ERP: ES-2.")
	require.Contains(t, text, "seam reconcile --check orders-reach-erp")

	// Not due again for an hour, whatever happens meanwhile.
	b.receive(t, "ES-2")
	b.clock.Add(59 * time.Minute)
	require.NoError(t, e.Reconcile(b.ctx))
	require.Len(t, b.incidents(t, seam.IncidentOpen), 1)

	b.clock.Add(time.Minute)
	require.NoError(t, e.Reconcile(b.ctx))
	require.Empty(t, b.incidents(t, seam.IncidentOpen))
	require.Equal(t, "the numbers agree again: orders-reach-erp: ledger 2 = ERP 2", b.incidents(t, seam.IncidentResolved)[0].Resolution)
	b.evaluate(t, e)
	require.Equal(t, "[RESOLVED] eshop-orders: reconciliation orders-reach-erp: ledger 1 ≠ ERP 2 (owner: E-commerce team)", b.chat.Titles()[1])
}

func TestRuleRemovedFromTheCatalogResolves(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - circuit_open: {}\n", monday)
	e := b.evaluator(t, "node-a")
	e.BreakerChanged("eshop-orders", "erp", true)
	b.evaluate(t, e)
	require.Len(t, b.incidents(t, seam.IncidentOpen), 1)

	b.load(t, "ecommerce", "", "") // the reload drops the rule
	b.clock.Add(15 * time.Second)
	b.evaluate(t, e)
	require.Empty(t, b.incidents(t, seam.IncidentOpen))
	require.Equal(t, "the rule was removed from the catalog", b.incidents(t, seam.IncidentResolved)[0].Resolution)
	require.Equal(t, "[RESOLVED] eshop-orders: circuit open to erp (owner: E-commerce team)", b.chat.Titles()[1])
}

func TestNobodyToTell(t *testing.T) {
	t.Parallel()
	b := setup(t, "", monday)
	b.load(t, "quiet", "  - circuit_open: {}\n", "")
	e := b.evaluator(t, "node-a")
	e.BreakerChanged("eshop-orders", "erp", true)
	b.evaluate(t, e)
	in := b.incidents(t, seam.IncidentOpen)
	require.Len(t, in, 1, "the incident is kept, for seam alerts and the dashboard")
	require.Equal(t, 0, in[0].Notifications)
	require.Empty(t, b.chat.Posts())
	require.Empty(t, b.mail.Mails())
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	b := setup(t, "  - circuit_open: {}\n", monday)
	e, err := alert.New(alert.Options{Store: b.st, Catalog: b.catalog, Env: b.lookup, Now: b.clock.Now,
		Interval: 5 * time.Millisecond, ReconcileInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	e.Stop(b.ctx) // never started: nothing to do
	e.BreakerChanged("eshop-orders", "erp", true)
	e.Start(b.ctx)
	require.Eventually(t, func() bool { return len(b.chat.Posts()) == 1 }, 5*time.Second, 5*time.Millisecond)
	e.Stop(b.ctx)
	e.Stop(b.ctx)
	require.Len(t, b.chat.Posts(), 1)
}
