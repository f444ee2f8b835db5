// Package seam holds Seam's domain: the records the ledger keeps (messages,
// deliveries, attempts, quarantine, cross-references, effects, audit events),
// their states, and the error type every layer speaks.
//
// It does no I/O and imports only the standard library, so every other package
// (the mapping language, the store drivers, the engine, the HTTP API, the CLI)
// can depend on it without depending on each other.
package seam

import (
	"encoding/json"
	"time"
)

// MessageStatus is where an inbound record stands as a whole.
type MessageStatus string

const (
	// MessageAccepted: mapped and validated; its deliveries carry it on.
	MessageAccepted MessageStatus = "accepted"
	// MessageQuarantined: decoding, mapping or validation failed; kept with
	// its reasons for a fix and a replay.
	MessageQuarantined MessageStatus = "quarantined"
	// MessageDuplicate: the idempotency key was seen within the dedupe
	// window; the first message is the one that counts.
	MessageDuplicate MessageStatus = "duplicate"
)

// DeliveryState is the state machine of one message to one route.
//
//	pending → in_flight → delivered
//	               ↘ retrying → in_flight … → dead
//
// skipped is final for a route whose `when:` did not match.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"
	DeliveryInFlight  DeliveryState = "in_flight"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryRetrying  DeliveryState = "retrying"
	DeliveryDead      DeliveryState = "dead"
	DeliverySkipped   DeliveryState = "skipped"
)

// Final reports whether no further attempt will be made without an operator.
func (s DeliveryState) Final() bool {
	return s == DeliveryDelivered || s == DeliveryDead || s == DeliverySkipped
}

// Message is one inbound record, stored once, before the sender gets a 2xx.
type Message struct {
	ID          int64         `json:"id"`
	Flow        string        `json:"flow"`
	System      string        `json:"system"` // the source system
	Key         string        `json:"key"`    // the business/idempotency key, e.g. ES-1042
	Status      MessageStatus `json:"status"`
	ReceivedAt  time.Time     `json:"received_at"`
	ContentType string        `json:"content_type,omitempty"`
	// Body is the raw body exactly as received, so a replay after a catalog
	// fix starts from what the sender really sent.
	Body []byte `json:"-"`
	// Canonical is the canonical record as JSON (ISO dates, decimal strings,
	// explicit currency and basis); empty when quarantined.
	Canonical json.RawMessage `json:"canonical,omitempty"`
	TraceID   string          `json:"trace_id,omitempty"`
	// ReplayOf links a message created by a replay to the one it replays.
	ReplayOf int64 `json:"replay_of,omitempty"`
}

// Delivery is one message on its way to one route's destination.
type Delivery struct {
	ID        int64         `json:"id"`
	MessageID int64         `json:"message_id"`
	Flow      string        `json:"flow"`
	Route     string        `json:"route"` // unique within the flow, e.g. "erp"
	Key       string        `json:"key"`
	State     DeliveryState `json:"state"`
	// IdempotencyKey is sent as the Idempotency-Key header on every attempt;
	// it stays the same across retries, restarts and replays.
	IdempotencyKey string `json:"idempotency_key"`
	// Ordered deliveries of one (route, key) go out strictly in Seq order.
	Ordered     bool      `json:"ordered"`
	Seq         int64     `json:"seq"`
	Payload     []byte    `json:"-"` // exactly what is sent, computed at intake
	Attempts    int       `json:"attempts"`
	NextAt      time.Time `json:"next_at"`
	LastStatus  int       `json:"last_status,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	DeliveredAt time.Time `json:"delivered_at,omitzero"`
}

// Attempt is one try of a delivery, kept as evidence ("the invoice never came").
type Attempt struct {
	ID         int64         `json:"id"`
	DeliveryID int64         `json:"delivery_id"`
	Number     int           `json:"number"`
	StartedAt  time.Time     `json:"started_at"`
	Duration   time.Duration `json:"duration_ns"`
	Status     int           `json:"status,omitempty"` // HTTP status, 0 when none came back
	Error      string        `json:"error,omitempty"`
	// Response is the start of the destination's answer (bounded).
	Response []byte `json:"response,omitempty"`
}

// Stage names where in the pipeline a record was refused.
type Stage string

const (
	StageDecode   Stage = "decode"   // the body is not valid JSON/XML/form
	StageMap      Stage = "map"      // an expression failed on this input
	StageValidate Stage = "validate" // the canonical record breaks the model
	StageRoute    Stage = "route"    // an outbound mapping failed
)

// Reason is one precise, actionable explanation of a refusal, e.g.
// {Field: "total.vat_rate", Value: "2100", Rule: "range", Message: "2100 is not a VAT rate (0–100)"}.
type Reason struct {
	Stage   Stage  `json:"stage"`
	Field   string `json:"field,omitempty"` // a path such as lines[2].qty
	Value   string `json:"value,omitempty"` // the offending value, shortened
	Rule    string `json:"rule,omitempty"`  // required, type, enum, range, format, date, money, …
	Message string `json:"message"`
}

// String formats the reason the way the CLI prints it.
func (r Reason) String() string {
	if r.Field == "" {
		return r.Message
	}
	return r.Field + ": " + r.Message
}

// QuarantineStatus tracks a quarantined record through its fix.
type QuarantineStatus string

const (
	QuarantineOpen      QuarantineStatus = "open"
	QuarantineReplayed  QuarantineStatus = "replayed"
	QuarantineDiscarded QuarantineStatus = "discarded"
)

// Quarantined is a record that could not be decoded, mapped or validated,
// kept with every reason so that it can be fixed and replayed.
type Quarantined struct {
	ID          int64            `json:"id"`
	MessageID   int64            `json:"message_id"`
	Flow        string           `json:"flow"`
	Key         string           `json:"key,omitempty"` // empty when the key itself could not be read
	Stage       Stage            `json:"stage"`
	Reasons     []Reason         `json:"reasons"`
	Status      QuarantineStatus `json:"status"`
	ReceivedAt  time.Time        `json:"received_at"`
	ContentType string           `json:"content_type,omitempty"`
	Body        []byte           `json:"-"`
}

// XRef records that one entity is known under an id in a system: e-shop
// order ES-1042 is ERP order 55012. Entries sharing Entity and Key form the
// cross-reference of one business object.
type XRef struct {
	Entity    string    `json:"entity"` // canonical model, e.g. order
	Key       string    `json:"key"`    // the canonical business key, e.g. ES-1042
	System    string    `json:"system"`
	Name      string    `json:"name"` // what was remembered, e.g. erp_order_id
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at"`
}

// Effect records "route R delivered key K": retries, replays and redrives
// consult it so a second invoice e-mail is not sent unless an operator forces it.
type Effect struct {
	Flow       string    `json:"flow"`
	Route      string    `json:"route"`
	Key        string    `json:"key"`
	DeliveryID int64     `json:"delivery_id"`
	At         time.Time `json:"at"`
}

// AuditEvent is one operator action: who did what to which records, and why.
type AuditEvent struct {
	ID     int64           `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`
	Action string          `json:"action"` // replay, redrive, discard, reload, …
	Target string          `json:"target"` // e.g. delivery:42, flow:eshop-orders
	Reason string          `json:"reason,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`
}
