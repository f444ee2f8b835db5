package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Incidents (store.Incidents) with the SQLite driver's semantics. There,
// one writer serialises every change; here several nodes write at once,
// and the database arbitrates: the partial unique index incidents_open
// keeps one open incident per (flow, rule), on which opening is one
// upsert, and a notice is claimed by a conditional UPDATE that only one
// node's call can match (query.go).

// scanIncident reads the incidentCols of r, then any extra columns into
// extra.
func scanIncident(r pgx.Row, extra ...any) (*seam.Incident, error) {
	var (
		in                                            seam.Incident
		state, notified, noticeKind, noticeSent       string
		details                                       []byte
		openedAt, updatedAt, resolvedAt, lastNotified int64
	)
	err := r.Scan(append([]any{&in.ID, &in.Flow, &in.Rule, &in.Kind, &in.Severity, &state, &in.Summary, &details,
		&openedAt, &updatedAt, &resolvedAt, &in.Resolution, &notified, &in.Notifications, &lastNotified,
		&noticeKind, &noticeSent, &in.NoticeError}, extra...)...)
	if err != nil {
		return nil, err
	}
	in.State, in.Notified, in.NoticeKind = seam.IncidentState(state), seam.NoticeKind(notified), seam.NoticeKind(noticeKind)
	if len(details) > 0 {
		in.Details = details
	}
	in.OpenedAt, in.UpdatedAt, in.ResolvedAt = fromNanos(openedAt), fromNanos(updatedAt), fromNanos(resolvedAt)
	in.LastNotifiedAt = fromNanos(lastNotified)
	if err := json.Unmarshal([]byte(noticeSent), &in.NoticeSent); err != nil {
		return nil, fmt.Errorf("incident %d: notice_sent: %w", in.ID, err)
	}
	if len(in.NoticeSent) == 0 {
		in.NoticeSent = nil
	}
	return &in, nil
}

// IncidentOpen implements store.Incidents in one statement
// (qIncidentOpen), which also says whether it opened the incident.
func (s *Store) IncidentOpen(ctx context.Context, p *store.IncidentOpenParams) (*seam.Incident, bool, error) {
	switch {
	case p == nil || p.Flow == "" || p.Rule == "":
		return nil, false, seam.Errorf(seam.EINVALID, "open incident: flow and rule are required")
	case p.Now.IsZero():
		return nil, false, seam.Errorf(seam.EINVALID, "open incident %s/%s: no time", p.Flow, p.Rule)
	case len(p.Details) > 0 && !json.Valid(p.Details):
		return nil, false, seam.Errorf(seam.EINVALID, "open incident %s/%s: details are not JSON", p.Flow, p.Rule)
	}
	if err := s.check(); err != nil {
		return nil, false, err
	}
	var opened bool
	in, err := scanIncident(s.pool.QueryRow(ctx, qIncidentOpen,
		p.Flow, p.Rule, p.Kind, p.Severity, p.Summary, nullBytes(p.Details), nanos(p.Now)), &opened)
	if err != nil {
		return nil, false, fmt.Errorf("open incident %s/%s: %w", p.Flow, p.Rule, mapErr(err))
	}
	return in, opened, nil
}

// IncidentResolve implements store.Incidents.
func (s *Store) IncidentResolve(ctx context.Context, p *store.IncidentResolveParams) (*seam.Incident, error) {
	switch {
	case p == nil || p.Flow == "" || p.Rule == "":
		return nil, seam.Errorf(seam.EINVALID, "resolve incident: flow and rule are required")
	case p.Now.IsZero():
		return nil, seam.Errorf(seam.EINVALID, "resolve incident %s/%s: no time", p.Flow, p.Rule)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	in, err := scanIncident(s.pool.QueryRow(ctx, qIncidentResolve, p.Flow, p.Rule, nanos(p.Now), p.Resolution))
	if err != nil {
		return nil, fmt.Errorf("resolve incident %s/%s: %w", p.Flow, p.Rule, mapErr(err))
	}
	return in, nil
}

// IncidentClaimNotice implements store.Incidents: one conditional UPDATE
// (qNoticeClaim), which only one of several racing nodes can match.
func (s *Store) IncidentClaimNotice(ctx context.Context, p *store.NoticeClaimParams) (*seam.Incident, bool, error) {
	switch {
	case p == nil || p.Node == "":
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice: no node")
	case p.Now.IsZero() || p.Lease <= 0:
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice of incident %d: no time or lease", p.ID)
	case p.Kind != seam.NoticeFiring && p.Kind != seam.NoticeReminder && p.Kind != seam.NoticeResolved:
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice of incident %d: unknown kind %q", p.ID, p.Kind)
	}
	if err := s.check(); err != nil {
		return nil, false, err
	}
	in, err := scanIncident(s.pool.QueryRow(ctx, qNoticeClaim,
		p.Node, nanos(p.Now.Add(p.Lease)), string(p.Kind), p.ID, nanos(p.Now), nanos(p.RemindBefore)))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		// Not due, no longer due, claimed by a live node, or no such
		// incident: in every case there is nothing for this node to send.
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("claim notice of incident %d: %w", p.ID, mapErr(err))
	}
	return in, true, nil
}

// IncidentRecordNotice implements store.Incidents. It runs in one
// transaction that locks the incident first (qNoticeLoad), so that the
// claim it checks cannot be taken over before the outcome is written,
// and the channels reached are merged in Go as SQLite's driver does.
func (s *Store) IncidentRecordNotice(ctx context.Context, p *store.NoticeRecordParams) (*seam.Incident, error) {
	switch {
	case p == nil || p.Node == "":
		return nil, seam.Errorf(seam.EINVALID, "record notice: no node")
	case p.Now.IsZero():
		return nil, seam.Errorf(seam.EINVALID, "record notice of incident %d: no time", p.ID)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	var in *seam.Incident
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var owner, kind, sentJSON string
		if err := tx.QueryRow(ctx, qNoticeLoad, p.ID).Scan(&owner, &kind, &sentJSON); err != nil {
			return mapErr(err)
		}
		if owner != p.Node || kind != string(p.Kind) {
			return &seam.Error{Code: seam.ECONFLICT,
				Message: fmt.Sprintf("the %s notice of incident %d is not claimed by %s", p.Kind, p.ID, p.Node)}
		}
		var err error
		if p.Done {
			notified := seam.NoticeFiring // a reminder repeats the firing notice
			if p.Kind == seam.NoticeResolved {
				notified = seam.NoticeResolved
			}
			in, err = scanIncident(tx.QueryRow(ctx, qNoticeDone, p.ID, string(notified), nanos(p.Now), p.Error))
			return mapErr(err)
		}
		var sent []string
		if err := json.Unmarshal([]byte(sentJSON), &sent); err != nil {
			return fmt.Errorf("notice_sent: %w", err)
		}
		for _, ch := range p.Sent {
			if !slices.Contains(sent, ch) {
				sent = append(sent, ch)
			}
		}
		b, err := json.Marshal(append([]string{}, sent...)) // [] rather than null when none
		if err != nil {
			return err
		}
		in, err = scanIncident(tx.QueryRow(ctx, qNoticePartial, p.ID, string(b), p.Error))
		return mapErr(err)
	})
	if err != nil {
		return nil, fmt.Errorf("record notice of incident %d: %w", p.ID, err)
	}
	return in, nil
}

// IncidentGet implements store.Incidents.
func (s *Store) IncidentGet(ctx context.Context, id int64) (*seam.Incident, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	in, err := scanIncident(s.pool.QueryRow(ctx, qIncidentGet, id))
	if err != nil {
		return nil, fmt.Errorf("get incident %d: %w", id, mapErr(err))
	}
	return in, nil
}

// IncidentList implements store.Incidents: newest first, by id.
func (s *Store) IncidentList(ctx context.Context, f *store.IncidentFilter) ([]*seam.Incident, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	if f == nil {
		f = &store.IncidentFilter{}
	}
	var w where
	w.addString("flow", f.Flow)
	w.addString("rule", f.Rule)
	w.addString("state", string(f.State))
	if f.NoticePending {
		w.cond(fNoticePending)
	}
	w.addRange("opened_at", f.Since, f.Until)
	rows, err := s.pool.Query(ctx, qIncidentList+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", mapErr(err))
	}
	out, err := scanAll(rows, func(r pgx.Row) (*seam.Incident, error) { return scanIncident(r) })
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", mapErr(err))
	}
	return out, nil
}
