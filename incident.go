package seam

import (
	"encoding/json"
	"time"
)

// IncidentState is where an incident stands.
type IncidentState string

const (
	// IncidentOpen: the rule's condition holds; the owner has been, or is
	// being, told.
	IncidentOpen IncidentState = "open"
	// IncidentResolved: the condition cleared. A resolved incident is never
	// reopened: the next breach is a new incident.
	IncidentResolved IncidentState = "resolved"
)

// NoticeKind is one kind of message sent to an incident's owner.
type NoticeKind string

const (
	// NoticeFiring is the first message of an incident.
	NoticeFiring NoticeKind = "firing"
	// NoticeReminder repeats a firing incident after the reminder interval.
	NoticeReminder NoticeKind = "reminder"
	// NoticeResolved says that the condition cleared.
	NoticeResolved NoticeKind = "resolved"
)

// Incident is one breach of an alert rule or one failed reconciliation,
// from the moment it is detected until it clears. The ledger keeps it so
// that every node of a cluster sees the same incidents and the owner is
// told once, not once per node.
//
// It lives in the domain package, beside Message and AuditEvent, because
// the store, the alert evaluator, the HTTP API and the CLI all speak it and
// none of them should import another to do so.
type Incident struct {
	ID int64 `json:"id"`
	// Flow is the flow whose rule fired.
	Flow string `json:"flow"`
	// Rule is the rule's name within the flow (its kind unless named), or
	// "reconcile:<check>" for a reconciliation. At most one incident of a
	// (Flow, Rule) is open at a time.
	Rule string `json:"rule"`
	// Kind is the rule's condition: silence, error_rate, dead_letters,
	// backlog_age, quarantine, circuit_open or reconcile.
	Kind     string        `json:"kind"`
	Severity string        `json:"severity"`
	State    IncidentState `json:"state"`
	// Summary is the one line people read first, e.g. "no records for 2h".
	// It is kept up to date while the incident is open.
	Summary string `json:"summary"`
	// Details holds the numbers behind the summary (rule-specific JSON),
	// e.g. both sides of a reconciliation and the keys that differ.
	Details    json.RawMessage `json:"details,omitempty"`
	OpenedAt   time.Time       `json:"opened_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	ResolvedAt time.Time       `json:"resolved_at,omitzero"`
	// Resolution says why it resolved, e.g. "a record arrived at 10:02".
	Resolution string `json:"resolution,omitempty"`

	// Notified is the last notice that reached every channel: "" (none
	// yet), firing (or a reminder) or resolved.
	Notified       NoticeKind `json:"notified,omitempty"`
	Notifications  int        `json:"notifications"`
	LastNotifiedAt time.Time  `json:"last_notified_at,omitzero"`
	// NoticeError is the last failure to notify, cleared by the next
	// success; the notice is retried at the next evaluation.
	NoticeError string `json:"notice_error,omitempty"`
	// NoticeKind and NoticeSent describe a notice in progress: the channels
	// it already reached, so that a retry after a partial failure does not
	// repeat the message on the channels that got it.
	NoticeKind NoticeKind `json:"-"`
	NoticeSent []string   `json:"-"`
}
