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
