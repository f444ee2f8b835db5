package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// Incidents are rare writes (a handful per incident), so their statements
// are not prepared on the writer: they run on its connection as they come,
// like pruning's.

const (
	incidentCols = `id, flow, rule, kind, severity, state, summary, details, opened_at, updated_at,
		resolved_at, resolution, notified, notifications, last_notified_at, notice_kind, notice_sent, notice_error`

	// The conflict target repeats the partial index's WHERE so that SQLite
	// matches it to incidents_open: a second open incident of a rule is
	// then a no-op instead of a constraint error.
	qIncidentInsert = `INSERT INTO incidents
		(flow, rule, kind, severity, state, summary, details, opened_at, updated_at)
		VALUES (?1, ?2, ?3, ?4, 'open', ?5, ?6, ?7, ?7)
		ON CONFLICT (flow, rule) WHERE state = 'open' DO NOTHING
		RETURNING ` + incidentCols

	// qIncidentRefresh keeps updated_at when nothing changed, so that it
	// says when the numbers last moved. Every right-hand side reads the
	// row as it was before this UPDATE.
	qIncidentRefresh = `UPDATE incidents SET
		updated_at = CASE WHEN summary = ?3 AND severity = ?4 AND kind = ?5
			AND coalesce(details, x'') = coalesce(?6, x'') THEN updated_at ELSE ?7 END,
		summary = ?3, severity = ?4, kind = ?5, details = ?6
		WHERE flow = ?1 AND rule = ?2 AND state = 'open'
		RETURNING ` + incidentCols

	qIncidentResolve = `UPDATE incidents SET state = 'resolved', resolved_at = ?3, updated_at = ?3, resolution = ?4
		WHERE flow = ?1 AND rule = ?2 AND state = 'open'
		RETURNING ` + incidentCols

	// qNoticeClaim is the one place where two nodes race for a notice: the
	// row's own conditions decide, inside the writer's transaction, so only
	// one UPDATE matches. A claim for another kind of notice than the one
	// in progress starts its list of reached channels afresh.
	qNoticeClaim = `UPDATE incidents SET
		notice_owner = ?1, notice_until = ?2,
		notice_sent = CASE WHEN notice_kind = ?3 THEN notice_sent ELSE '[]' END,
		notice_kind = ?3
		WHERE id = ?4 AND notice_until <= ?5 AND (
			(?3 = 'firing' AND state = 'open' AND notified = '') OR
			(?3 = 'reminder' AND state = 'open' AND notified = 'firing' AND last_notified_at <= ?6) OR
			(?3 = 'resolved' AND state = 'resolved' AND notified <> 'resolved'))
		RETURNING ` + incidentCols

	qNoticeLoad = `SELECT notice_owner, notice_kind, notice_sent FROM incidents WHERE id = ?`

	qNoticeDone = `UPDATE incidents SET notified = ?2, notifications = notifications + 1, last_notified_at = ?3,
		notice_kind = '', notice_sent = '[]', notice_owner = '', notice_until = 0, notice_error = ?4
		WHERE id = ?1
		RETURNING ` + incidentCols

	qNoticePartial = `UPDATE incidents SET notice_sent = ?2, notice_owner = '', notice_until = 0, notice_error = ?3
		WHERE id = ?1
		RETURNING ` + incidentCols

	noticePending = `((state = 'open' AND notified = '') OR (state = 'resolved' AND notified <> 'resolved'))`
)

func scanIncident(r scanner) (*seam.Incident, error) {
	var (
		in                                            seam.Incident
		state, notified, noticeKind, noticeSent       string
		details                                       []byte
		openedAt, updatedAt, resolvedAt, lastNotified int64
	)
	err := r.Scan(&in.ID, &in.Flow, &in.Rule, &in.Kind, &in.Severity, &state, &in.Summary, &details,
		&openedAt, &updatedAt, &resolvedAt, &in.Resolution, &notified, &in.Notifications, &lastNotified,
		&noticeKind, &noticeSent, &in.NoticeError)
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

// nullBytes stores an absent JSON document as NULL, not as an empty blob.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// IncidentOpen implements store.Incidents.
func (s *Store) IncidentOpen(ctx context.Context, p *store.IncidentOpenParams) (*seam.Incident, bool, error) {
	switch {
	case p == nil || p.Flow == "" || p.Rule == "":
		return nil, false, seam.Errorf(seam.EINVALID, "open incident: flow and rule are required")
	case p.Now.IsZero():
		return nil, false, seam.Errorf(seam.EINVALID, "open incident %s/%s: no time", p.Flow, p.Rule)
	case len(p.Details) > 0 && !json.Valid(p.Details):
		return nil, false, seam.Errorf(seam.EINVALID, "open incident %s/%s: details are not JSON", p.Flow, p.Rule)
	}
	var (
		in     *seam.Incident
		opened bool
	)
	err := s.w.do(ctx, func(tx *wtx) error {
		ctx := context.Background()
		details := nullBytes(p.Details)
		var err error
		in, err = scanIncident(tx.st.conn.QueryRowContext(ctx, qIncidentInsert,
			p.Flow, p.Rule, p.Kind, p.Severity, p.Summary, details, nanos(p.Now)))
		opened = err == nil
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		in, err = scanIncident(tx.st.conn.QueryRowContext(ctx, qIncidentRefresh,
			p.Flow, p.Rule, p.Summary, p.Severity, p.Kind, details, nanos(p.Now)))
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("open incident %s/%s: %w", p.Flow, p.Rule, err)
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
	var in *seam.Incident
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		in, err = scanIncident(tx.st.conn.QueryRowContext(context.Background(), qIncidentResolve,
			p.Flow, p.Rule, nanos(p.Now), p.Resolution))
		return notFound(err)
	})
	if err != nil {
		return nil, fmt.Errorf("resolve incident %s/%s: %w", p.Flow, p.Rule, err)
	}
	return in, nil
}

// IncidentClaimNotice implements store.Incidents.
func (s *Store) IncidentClaimNotice(ctx context.Context, p *store.NoticeClaimParams) (*seam.Incident, bool, error) {
	switch {
	case p == nil || p.Node == "":
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice: no node")
	case p.Now.IsZero() || p.Lease <= 0:
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice of incident %d: no time or lease", p.ID)
	case p.Kind != seam.NoticeFiring && p.Kind != seam.NoticeReminder && p.Kind != seam.NoticeResolved:
		return nil, false, seam.Errorf(seam.EINVALID, "claim notice of incident %d: unknown kind %q", p.ID, p.Kind)
	}
	var in *seam.Incident
	err := s.w.do(ctx, func(tx *wtx) error {
		var err error
		in, err = scanIncident(tx.st.conn.QueryRowContext(context.Background(), qNoticeClaim,
			p.Node, nanos(p.Now.Add(p.Lease)), string(p.Kind), p.ID, nanos(p.Now), nanos(p.RemindBefore)))
		if errors.Is(err, sql.ErrNoRows) {
			in, err = nil, nil
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("claim notice of incident %d: %w", p.ID, err)
	}
	return in, in != nil, nil
}

// IncidentRecordNotice implements store.Incidents.
func (s *Store) IncidentRecordNotice(ctx context.Context, p *store.NoticeRecordParams) (*seam.Incident, error) {
	switch {
	case p == nil || p.Node == "":
		return nil, seam.Errorf(seam.EINVALID, "record notice: no node")
	case p.Now.IsZero():
		return nil, seam.Errorf(seam.EINVALID, "record notice of incident %d: no time", p.ID)
	}
	var in *seam.Incident
	err := s.w.do(ctx, func(tx *wtx) error {
		ctx := context.Background()
		var owner, kind, sentJSON string
		err := tx.st.conn.QueryRowContext(ctx, qNoticeLoad, p.ID).Scan(&owner, &kind, &sentJSON)
		if err != nil {
			return notFound(err)
		}
		if owner != p.Node || kind != string(p.Kind) {
			return &seam.Error{Code: seam.ECONFLICT,
				Message: fmt.Sprintf("the %s notice of incident %d is not claimed by %s", p.Kind, p.ID, p.Node)}
		}
		if p.Done {
			notified := seam.NoticeFiring
			if p.Kind == seam.NoticeResolved {
				notified = seam.NoticeResolved
			}
			in, err = scanIncident(tx.st.conn.QueryRowContext(ctx, qNoticeDone, p.ID, string(notified), nanos(p.Now), p.Error))
			return err
		}
		var sent []string
		if err := json.Unmarshal([]byte(sentJSON), &sent); err != nil {
			return err
		}
		for _, ch := range p.Sent {
			if !slices.Contains(sent, ch) {
				sent = append(sent, ch)
			}
		}
		b, err := json.Marshal(append([]string{}, sent...))
		if err != nil {
			return err
		}
		in, err = scanIncident(tx.st.conn.QueryRowContext(ctx, qNoticePartial, p.ID, string(b), p.Error))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("record notice of incident %d: %w", p.ID, err)
	}
	return in, nil
}

// IncidentGet implements store.Incidents.
func (s *Store) IncidentGet(ctx context.Context, id int64) (*seam.Incident, error) {
	in, err := scanIncident(s.rdb.QueryRowContext(ctx, "SELECT "+incidentCols+" FROM incidents WHERE id = ?", id))
	if err != nil {
		return nil, fmt.Errorf("get incident %d: %w", id, notFound(err))
	}
	return in, nil
}

// IncidentList implements store.Incidents.
func (s *Store) IncidentList(ctx context.Context, f *store.IncidentFilter) ([]*seam.Incident, error) {
	if f == nil {
		f = &store.IncidentFilter{}
	}
	var w where
	w.addString("flow = ?", f.Flow)
	w.addString("rule = ?", f.Rule)
	w.addString("state = ?", string(f.State))
	if f.NoticePending {
		w.add(noticePending)
	}
	w.addRange("opened_at", f.Since, f.Until)
	rows, err := s.rdb.QueryContext(ctx, "SELECT "+incidentCols+" FROM incidents"+w.page("id", f.BeforeID, f.Limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := scanAll(rows, scanIncident)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

var _ store.Incidents = (*Store)(nil)
