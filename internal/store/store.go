// Package store defines the ledger: the one interface every storage driver
// (sqlite, the embedded default; postgres, for several nodes) implements,
// and that the engine, the HTTP API and the CLI use. Drivers live in
// sub-packages and pass one conformance suite, storetest.Exercise.
//
// Methods are named Noun+Verb and take a *Params struct (River's habit) so
// a field can be added without touching every caller. Every method that
// depends on the current time takes it as a parameter, so tests control
// time down to the SQL.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/seamhq/seam"
)

// ErrNotFound is returned when the requested record does not exist. It
// carries seam.ENOTFOUND so the HTTP API answers 404.
var ErrNotFound = &seam.Error{Code: seam.ENOTFOUND, Message: "not found"}

// ErrClosed is returned by a store that has been closed.
var ErrClosed = errors.New("store closed")

// Store is the ledger. Implementations must be safe for concurrent use.
//
// MessageIngest and DeliveryComplete are on the hot path: drivers are
// expected to group-commit concurrent calls (one transaction and one fsync
// for every caller waiting), and to return only once the data is durable.
type Store interface {
	// MessageIngest durably stores one inbound record with its deliveries
	// (or its quarantine entry), unless its dedupe key was already seen
	// within the window. It returns only after the commit is on disk:
	// this is what allows intake to answer 2xx.
	MessageIngest(ctx context.Context, p *IngestParams) (*IngestResult, error)

	// DeliveryComplete records one attempt and moves the delivery to its
	// next state; on success it also records the effect and the
	// cross-references. When the delivery was the head of an ordered key,
	// the next delivery of that key is claimed for the caller and returned,
	// so it can go out at once without waiting for a poll.
	DeliveryComplete(ctx context.Context, p *CompleteParams) (*CompleteResult, error)

	// DeliveryPostpone gives a leased delivery back, due at NextAt, without
	// recording an attempt: used while a destination's circuit is open, so
	// an outage does not burn every message's attempts.
	DeliveryPostpone(ctx context.Context, p *PostponeParams) error

	// DeliveryClaim leases up to Limit due deliveries (pending or retrying,
	// NextAt <= Now, no live lease, and for ordered deliveries only the
	// head of their key) to Node until Now+Lease.
	DeliveryClaim(ctx context.Context, p *ClaimParams) ([]*seam.Delivery, error)

	// DeliveryReleaseLeases gives up every lease held by Node (graceful
	// shutdown), or, with Node empty, every lease (start of a single-node
	// store, whose previous process is known to be gone).
	DeliveryReleaseLeases(ctx context.Context, node string) error

	// DeliveryRequeue makes deliveries due again (replay of a dead letter,
	// redrive after a fix), optionally with a new payload, and appends the
	// audit event in the same transaction. Attempt numbering continues.
	// It returns how many it requeued: a delivery being sent under a live
	// lease, or an unknown ID, is left alone and not counted.
	DeliveryRequeue(ctx context.Context, p *RequeueParams) (int, error)

	DeliveryGet(ctx context.Context, id int64) (*seam.Delivery, error)
	DeliveryList(ctx context.Context, f *DeliveryFilter) ([]*seam.Delivery, error)
	// DeliveryPayload returns the exact body a delivery sends.
	DeliveryPayload(ctx context.Context, id int64) ([]byte, error)
	AttemptList(ctx context.Context, deliveryID int64) ([]*seam.Attempt, error)

	MessageGet(ctx context.Context, id int64) (*seam.Message, error)
	MessageList(ctx context.Context, f *MessageFilter) ([]*seam.Message, error)

	QuarantineGet(ctx context.Context, id int64) (*seam.Quarantined, error)
	QuarantineList(ctx context.Context, f *QuarantineFilter) ([]*seam.Quarantined, error)
	QuarantineSetStatus(ctx context.Context, p *QuarantineStatusParams) error

	// XRefList finds cross-references by any combination of entity, key,
	// system and value (so an ERP id leads back to the business key).
	XRefList(ctx context.Context, f *XRefFilter) ([]*seam.XRef, error)

	// EffectGet reports whether route (Flow, Route) already delivered the
	// effect with this idempotency key; ErrNotFound when it did not.
	EffectGet(ctx context.Context, flow, route, idempotencyKey string) (*seam.Effect, error)

	AuditAppend(ctx context.Context, e *seam.AuditEvent) error
	AuditList(ctx context.Context, f *AuditFilter) ([]*seam.AuditEvent, error)

	// RouteStats summarises deliveries per flow and route for metrics,
	// the dashboard and the audit.
	RouteStats(ctx context.Context, p *StatsParams) ([]*RouteStats, error)

	// Prune deletes what retention no longer keeps: messages whose
	// deliveries are all final (with their deliveries and attempts) received
	// before MessagesBefore, and effects, cross-references and audit events
	// older than EvidenceBefore. Open quarantine entries and deliveries that
	// are not final are never pruned.
	Prune(ctx context.Context, p *PruneParams) (*PruneResult, error)

	Close() error
}

// IngestParams is one inbound record and what follows from it.
type IngestParams struct {
	Message *seam.Message // ID, Seq and times are filled by the driver
	// DedupeKey identifies the event for deduplication (usually
	// "<system>:<key>"); empty disables deduplication for this record.
	// Only accepted messages are originals: a quarantined record does not
	// turn away its corrected resend.
	DedupeKey    string
	DedupeWindow time.Duration
	// Deliveries to create, one per route; their MessageID is filled in.
	// State must be pending (or skipped for a route whose `when:` is false).
	Deliveries []*seam.Delivery
	// Quarantine, when set, is stored instead of deliveries.
	Quarantine *seam.Quarantined
	// XRefs are the record's links to other business keys (a flow's
	// `links:`, e.g. an invoice naming its order), recorded with the
	// message so that a trace can follow the chain; Key and System default
	// to the message's. Not written for a duplicate.
	XRefs []*seam.XRef
	// Lease, when Node is set, claims the created deliveries that are ready
	// (the head of their key, for ordered ones) for the intaking node, so it
	// can send them without a round trip through DeliveryClaim.
	Node  string
	Lease time.Duration
	Now   time.Time
}

// IngestResult says what happened to one record.
type IngestResult struct {
	MessageID int64
	// Duplicate is true when DedupeKey was seen within the window; MessageID
	// is then the original message and nothing was written.
	Duplicate bool
	// Claimed are the created deliveries leased to IngestParams.Node, ready
	// to send now. Deliveries behind an unfinished head of their key are not
	// among them.
	Claimed []*seam.Delivery
}

// CompleteParams is the outcome of one attempt.
type CompleteParams struct {
	DeliveryID int64
	Node       string // must hold the lease; a stale completion is refused with ECONFLICT
	Attempt    *seam.Attempt
	State      seam.DeliveryState // delivered, retrying or dead
	NextAt     time.Time          // when retrying
	// Effect and XRefs are recorded only when State is delivered.
	Effect *seam.Effect
	XRefs  []*seam.XRef
	Lease  time.Duration // lease for the next delivery of an ordered key; 0 leaves it to DeliveryClaim
	Now    time.Time
}

// CompleteResult carries the deliveries unblocked by this completion.
type CompleteResult struct {
	Next []*seam.Delivery // claimed for CompleteParams.Node
}

// PostponeParams gives a delivery back without an attempt.
type PostponeParams struct {
	DeliveryID int64
	Node       string // must hold the lease; otherwise ECONFLICT
	NextAt     time.Time
	Now        time.Time
}

// ClaimParams selects due deliveries for a node.
type ClaimParams struct {
	Node  string
	Limit int
	Lease time.Duration
	Now   time.Time
	// Flows restricts the claim to these flows; empty means all.
	Flows []string
}

// RequeueParams makes deliveries due again.
type RequeueParams struct {
	DeliveryIDs []int64
	// Payloads optionally replaces the body per delivery ID (redrive through
	// a fixed catalog).
	Payloads map[int64][]byte
	Audit    *seam.AuditEvent
	Now      time.Time
}

// DeliveryFilter selects deliveries; zero fields do not filter.
type DeliveryFilter struct {
	MessageID     int64
	Flow          string
	Route         string
	Key           string
	States        []seam.DeliveryState
	Since, Until  time.Time // on CreatedAt
	ErrorContains string
	BeforeID      int64 // keyset pagination: only IDs below this
	Limit         int   // 0 means 100
}

// MessageFilter selects messages; zero fields do not filter.
type MessageFilter struct {
	Flow         string
	Key          string
	Status       seam.MessageStatus
	Since, Until time.Time // on ReceivedAt
	BeforeID     int64
	Limit        int // 0 means 100
}

// QuarantineFilter selects quarantine entries; zero fields do not filter.
type QuarantineFilter struct {
	Flow         string
	Key          string
	Status       seam.QuarantineStatus
	Since, Until time.Time
	BeforeID     int64
	Limit        int // 0 means 100
}

// QuarantineStatusParams marks a quarantine entry replayed or discarded.
type QuarantineStatusParams struct {
	ID     int64
	Status seam.QuarantineStatus
	Audit  *seam.AuditEvent
	Now    time.Time
}

// XRefFilter selects cross-references; zero fields do not filter.
type XRefFilter struct {
	Entity, Key, System, Value string
	Limit                      int // 0 means 100
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	Actor, Action, Target string
	Since, Until          time.Time
	BeforeID              int64
	Limit                 int // 0 means 100
}

// StatsParams scopes RouteStats.
type StatsParams struct {
	Flow string // empty: all flows
	Now  time.Time
}

// RouteStats is the state of one route of one flow.
type RouteStats struct {
	Flow  string `json:"flow"`
	Route string `json:"route"`
	// Counts by delivery state.
	Counts map[seam.DeliveryState]int64 `json:"counts"`
	// OldestDue is when the oldest delivery that is neither final nor in
	// flight was created; zero when there is none. Its age is the backlog age.
	OldestDue       time.Time `json:"oldest_due,omitzero"`
	LastDeliveredAt time.Time `json:"last_delivered_at,omitzero"`
	LastDeadAt      time.Time `json:"last_dead_at,omitzero"`
}

// PruneParams bounds retention.
type PruneParams struct {
	MessagesBefore time.Time
	EvidenceBefore time.Time
	Limit          int // rows per batch, so pruning never holds the writer for long; 0 means 10,000
}

// PruneResult counts what was removed.
type PruneResult struct {
	Messages, Deliveries, Attempts, Effects, XRefs, Audit int64
}

// Leaser is the optional capability of a store that several nodes share
// at once (PostgreSQL): it elects, among the nodes, the one leader that
// runs the work that must happen once per cluster (retention, alert
// evaluation, reconciliation schedules).
//
// A store without it serves one node at a time (SQLite): that node is
// always the leader, and when it starts no other node can hold a live
// lease, so it may release every lease left by its previous process. A
// node on a store with Leaser must never do that: the other nodes' leases
// are live.
//
// Leadership is a lease like a delivery's: it lasts until Now+TTL unless
// the leader renews it, so a leader that dies is replaced once its lease
// expires. Times come from the caller, so the nodes' clocks must agree to
// well within the TTL (NTP does).
type Leaser interface {
	// LeaderAttemptElect makes Node the leader of Name when nobody is, or
	// when the leader's lease has expired, and renews the lease when Node
	// already leads. It reports whether Node leads until Now+TTL.
	LeaderAttemptElect(ctx context.Context, p *LeaderParams) (bool, error)

	// LeaderResign gives up Name's leadership if Node holds it (graceful
	// shutdown), so another node takes over without waiting for the lease
	// to expire. Resigning what one does not hold is not an error.
	LeaderResign(ctx context.Context, p *LeaderParams) error
}

// LeaderParams names a leadership and the node that wants it.
type LeaderParams struct {
	// Name is what is led; one cluster has one leader per name (the app
	// uses "maintenance").
	Name string
	Node string
	TTL  time.Duration // ignored by LeaderResign
	Now  time.Time     // ignored by LeaderResign
}

// Notifier is the optional capability of a store that can tell a node when
// deliveries became due through something other than its own intake: a
// record stored without a node to send it, a replay, another node giving
// its leases back. The node's poller then claims them at once instead of
// at its next tick.
//
// Wake-ups are hints, not messages: several may arrive as one, and one may
// be lost (a dropped connection), so the poll stays as the fallback.
type Notifier interface {
	// DeliveryWakeups returns the channel on which the store signals that
	// deliveries may be due. It is the same channel on every call, has one
	// consumer (the engine's poller), and is never closed.
	DeliveryWakeups() <-chan struct{}
}

// Writer is the optional capability of a store whose writes all pass
// through one serial writer that group-commits them (SQLite). That writer
// is what bounds such a ledger's throughput: when it is busy nearly all
// the time, more load only queues behind it. PostgreSQL has no such single
// point and does not implement it.
type Writer interface {
	// WriterStats returns the writer's counters since the store opened.
	WriterStats() WriterStats
}

// WriterStats are a serial writer's cumulative counters. Requests over
// Transactions is the group-commit batch size; the growth of Busy over
// wall time is how busy the writer is; Commit is the part of Busy spent
// making transactions durable (the fsync).
type WriterStats struct {
	Transactions uint64        // transactions committed
	Requests     uint64        // write requests in them (an intake, a completion, …)
	Busy         time.Duration // time spent running transactions, COMMIT included
	Commit       time.Duration // time spent in COMMIT
}

// CopyTable is one table of the ledger as Exporter and Importer move it.
type CopyTable struct {
	Name string
	// Columns in the order every row's values come in; "id" is first.
	Columns []string
}

// CopyTables is the ledger's layout for `seam store copy`: every table
// that holds history, parents before the tables that refer to them, with
// the columns both drivers store. Values travel as int64 (integers,
// booleans as 0 or 1, times as unix nanoseconds, 0 for "never"), string,
// []byte, or nil for NULL, so that a row leaves one driver and enters the
// other unchanged.
var CopyTables = []CopyTable{
	{Name: "messages", Columns: []string{"id", "flow", "system", "key", "status", "received_at", "content_type",
		"body", "canonical", "trace_id", "replay_of", "dedupe_key"}},
	{Name: "deliveries", Columns: []string{"id", "message_id", "flow", "route", "key", "state", "idempotency_key",
		"ordered", "payload", "attempts", "next_at", "lease_owner", "lease_until", "last_status", "last_error",
		"created_at", "updated_at", "delivered_at"}},
	{Name: "attempts", Columns: []string{"id", "delivery_id", "number", "started_at", "duration", "status", "error",
		"response"}},
	{Name: "quarantine", Columns: []string{"id", "message_id", "flow", "key", "stage", "reasons", "status",
		"received_at", "updated_at"}},
	{Name: "xrefs", Columns: []string{"id", "entity", "key", "system", "name", "value", "created_at"}},
	{Name: "effects", Columns: []string{"id", "flow", "route", "idempotency_key", "delivery_id", "at"}},
	{Name: "audit", Columns: []string{"id", "at", "actor", "action", "target", "reason", "detail"}},
	// incidents (store.Incidents) refer to nothing; a claim in progress
	// travels like a delivery's lease, and expires as it would have.
	{Name: "incidents", Columns: []string{"id", "flow", "rule", "kind", "severity", "state", "summary", "details",
		"opened_at", "updated_at", "resolved_at", "resolution", "notified", "notifications", "last_notified_at",
		"notice_kind", "notice_sent", "notice_owner", "notice_until", "notice_error"}},
}

// CopyTableByName returns the CopyTables entry of name.
func CopyTableByName(name string) (CopyTable, bool) {
	for _, t := range CopyTables {
		if t.Name == name {
			return t, true
		}
	}
	return CopyTable{}, false
}

// Exporter is the optional capability of a store whose rows can be read
// out in bulk, table by table, in id order (the source of `seam store
// copy`). It is kept out of Store because only the copy needs it.
type Exporter interface {
	// ExportCount returns how many rows table holds.
	ExportCount(ctx context.Context, table string) (int64, error)
	// ExportRows returns up to limit rows of table whose id is above
	// afterID, in id order, each with the values of the table's
	// CopyTables columns in that order.
	ExportRows(ctx context.Context, table string, afterID int64, limit int) ([][]any, error)
}

// Importer is the optional capability of a store that can take rows in
// bulk, keeping their ids (the target of `seam store copy`).
type Importer interface {
	// ImportMaxID returns the largest id in table, 0 when it is empty: a
	// copy that was interrupted resumes after it.
	ImportMaxID(ctx context.Context, table string) (int64, error)
	// ImportRows inserts rows into table, all or none, as ExportRows
	// returns them. Tables are imported in CopyTables order so that every
	// row's parent is already there.
	ImportRows(ctx context.Context, table string, rows [][]any) error
	// ImportDone makes new ids continue after the largest imported one,
	// so the ledger keeps its ids monotonic and never reused.
	ImportDone(ctx context.Context) error
}

// Incidents is the optional capability of a store that keeps the alert
// incidents (internal/alert) and reconciliation mismatches. It is kept out
// of Store so that a driver can be written, and pass Exercise, without it;
// storetest.ExerciseIncidents is its conformance suite.
//
// The store is the arbiter between nodes: at most one incident of a (Flow,
// Rule) is open at a time, and each notice (firing, reminder, resolved) is
// claimed by one node before it is sent, so that several nodes evaluating
// the same rules tell the owner once.
//
// Prune also removes resolved incidents older than EvidenceBefore; open
// ones are never pruned.
type Incidents interface {
	// IncidentOpen opens an incident of (Flow, Rule) unless one is open
	// already. It returns the open incident and whether this call opened
	// it. When one was open, its summary, details and severity are brought
	// up to date (the latest numbers) and nothing else changes.
	IncidentOpen(ctx context.Context, p *IncidentOpenParams) (*seam.Incident, bool, error)

	// IncidentResolve resolves the open incident of (Flow, Rule), and
	// returns it; ErrNotFound when none is open.
	IncidentResolve(ctx context.Context, p *IncidentResolveParams) (*seam.Incident, error)

	// IncidentClaimNotice gives Node the right to send one notice of the
	// incident, until Now+Lease, if that notice is due and no other node
	// holds a live claim: a firing notice of an open incident that has had
	// none, a reminder of an open incident last notified at or before
	// RemindBefore, a resolved notice of a resolved incident that has not
	// had one. It reports false, without error, when the notice is not
	// (or no longer) due or another node is sending it. The incident
	// returned carries the channels a previous, partly failed, attempt at
	// the same notice already reached (NoticeSent).
	IncidentClaimNotice(ctx context.Context, p *NoticeClaimParams) (*seam.Incident, bool, error)

	// IncidentRecordNotice records what a claimed notice reached and
	// releases the claim. With Done, the notice is complete: the count of
	// notifications goes up and the next notice (a reminder, the resolve)
	// becomes due in its time. Without Done, the notice stays due and is
	// retried, and only the channels it has not reached are sent to again.
	// It fails with ECONFLICT when Node no longer holds the claim.
	IncidentRecordNotice(ctx context.Context, p *NoticeRecordParams) (*seam.Incident, error)

	IncidentGet(ctx context.Context, id int64) (*seam.Incident, error)

	// IncidentList returns incidents newest first (by id).
	IncidentList(ctx context.Context, f *IncidentFilter) ([]*seam.Incident, error)
}

// IncidentOpenParams describes a rule in breach.
type IncidentOpenParams struct {
	Flow, Rule, Kind, Severity string
	Summary                    string
	Details                    []byte // JSON, may be nil
	Now                        time.Time
}

// IncidentResolveParams says which incident cleared, and why.
type IncidentResolveParams struct {
	Flow, Rule string
	Resolution string
	Now        time.Time
}

// NoticeClaimParams asks for the right to send one notice.
type NoticeClaimParams struct {
	ID   int64
	Kind seam.NoticeKind
	Node string
	// Lease bounds how long the claim lasts if Node dies while sending.
	Lease time.Duration
	// RemindBefore: a reminder is due only when the last notice went out
	// at or before it (Now minus the reminder interval).
	RemindBefore time.Time
	Now          time.Time
}

// NoticeRecordParams is the outcome of sending a claimed notice.
type NoticeRecordParams struct {
	ID   int64
	Kind seam.NoticeKind
	Node string
	// Sent are the channels this attempt reached; they are added to those
	// an earlier attempt at the same notice reached.
	Sent []string
	// Done says the notice reached every channel it had to.
	Done bool
	// Error is the failure to report (empty on success); it is kept on the
	// incident until a notice succeeds.
	Error string
	Now   time.Time
}

// IncidentFilter selects incidents; zero fields do not filter.
type IncidentFilter struct {
	Flow  string
	Rule  string
	State seam.IncidentState
	// NoticePending selects incidents with a notice still to send: open
	// ones never notified and resolved ones whose resolve was not sent.
	// (Reminders depend on the interval, which is the caller's to judge.)
	NoticePending bool
	Since, Until  time.Time // on OpenedAt
	BeforeID      int64
	Limit         int // 0 means 100
}

// Series is the optional capability of a store that can count, per time
// bucket, what happened to each flow: the dashboard's charts of throughput
// and errors over the last hour or day. It is kept out of Store because
// only the dashboard needs it; a store without it shows no charts.
type Series interface {
	// FlowSeries counts, per flow (or only p.Flow) and per bucket of
	// p.Step from p.Since to p.Until, the records received and refused,
	// the attempts that delivered and that failed, and the deliveries that
	// went dead. Buckets where nothing happened are left out; the caller
	// fills the gaps.
	FlowSeries(ctx context.Context, p *SeriesParams) ([]*SeriesPoint, error)
}

// SeriesParams scopes FlowSeries.
type SeriesParams struct {
	Flow         string // empty: every flow
	Since, Until time.Time
	Step         time.Duration // bucket width; 0 means one minute
}

// SeriesPoint is one flow's counts in one bucket.
type SeriesPoint struct {
	Flow string    `json:"flow"`
	At   time.Time `json:"at"` // start of the bucket: Since + n*Step
	// Received counts records stored at intake in the bucket (accepted or
	// quarantined); Refused those of them that were quarantined.
	Received int64 `json:"received"`
	Refused  int64 `json:"refused"`
	// Delivered counts attempts the destination accepted; Failed those it
	// did not (each retry counts); Dead the attempts after which a
	// delivery was dead-lettered (and is still dead).
	Delivered int64 `json:"delivered"`
	Failed    int64 `json:"failed"`
	Dead      int64 `json:"dead"`
}

// RouteStatsFolder folds the per-(flow, route, state) rows a driver reads
// into RouteStats, so that every driver reports them the same way. Rows
// must arrive ordered by flow and route.
type RouteStatsFolder struct {
	out []*RouteStats
}

// Add folds one row: n deliveries of (flow, route) in state; oldestDue is
// the earliest creation time among them (used for pending and retrying),
// lastDelivered and lastUpdated the latest delivery and update times.
func (f *RouteStatsFolder) Add(flow, route string, state seam.DeliveryState, n int64, oldestDue, lastDelivered, lastUpdated time.Time) {
	if len(f.out) == 0 || f.out[len(f.out)-1].Flow != flow || f.out[len(f.out)-1].Route != route {
		f.out = append(f.out, &RouteStats{Flow: flow, Route: route, Counts: map[seam.DeliveryState]int64{}})
	}
	rs := f.out[len(f.out)-1]
	rs.Counts[state] = n
	switch state {
	case seam.DeliveryPending, seam.DeliveryRetrying:
		if rs.OldestDue.IsZero() || oldestDue.Before(rs.OldestDue) {
			rs.OldestDue = oldestDue
		}
	case seam.DeliveryDelivered:
		rs.LastDeliveredAt = lastDelivered
	case seam.DeliveryDead:
		rs.LastDeadAt = lastUpdated
	}
}

// Stats returns the folded stats.
func (f *RouteStatsFolder) Stats() []*RouteStats { return f.out }

// XRefLookup gives the mapping language's xref(system, entity, key) over a
// ledger's cross-references: the id another system gave the same entity.
// An entity not (yet) known there, or a failed read, is "not found"; the
// mapping then refuses the record with that reason.
func XRefLookup(ctx context.Context, s interface {
	XRefList(ctx context.Context, f *XRefFilter) ([]*seam.XRef, error)
}) func(system, entity, key string) (string, bool) {
	return func(system, entity, key string) (string, bool) {
		refs, err := s.XRefList(ctx, &XRefFilter{System: system, Entity: entity, Key: key, Limit: 1})
		if err != nil || len(refs) == 0 {
			return "", false
		}
		return refs[0].Value, true
	}
}
