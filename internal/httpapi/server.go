// Package httpapi is Seam's HTTP surface: the flows' webhook intakes, the
// JSON API under /api (behind a token), /healthz and /readyz. Errors are
// RFC 9457 problems, mapped from seam error codes in one table.
package httpapi

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/problem"
	"github.com/seamhq/seam/internal/store"
)

// Intake receives webhook records; the engine implements it.
type Intake interface {
	http.Handler
	Handles(path string) bool
}

// Ledger is what the API reads from the store.
type Ledger interface {
	MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error)
	DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error)
	QuarantineList(ctx context.Context, f *store.QuarantineFilter) ([]*seam.Quarantined, error)
	QuarantineGet(ctx context.Context, id int64) (*seam.Quarantined, error)
	AuditList(ctx context.Context, f *store.AuditFilter) ([]*seam.AuditEvent, error)
	RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error)
}

// Operator runs operator actions.
type Operator interface {
	Message(ctx context.Context, id int64) (*ops.MessageDetail, error)
	Delivery(ctx context.Context, id int64) (*ops.DeliveryDetail, error)
	Replay(ctx context.Context, p *ops.ReplayParams) (*ops.ReplayResult, error)
	QuarantineReplay(ctx context.Context, id int64, actor, reason string, dryRun bool) (*ops.QuarantineResult, error)
	QuarantineDiscard(ctx context.Context, id int64, actor, reason string) error
	Trace(ctx context.Context, key string) (*ops.Trace, error)
}

// Alerts lists alert incidents; the store implements it when it keeps
// them (store.Incidents).
type Alerts interface {
	IncidentList(ctx context.Context, f *store.IncidentFilter) ([]*seam.Incident, error)
}

// Role is what a token may do.
type Role string

const (
	// RoleViewer reads.
	RoleViewer Role = "viewer"
	// RoleOperator also replays, redrives, discards and reloads.
	RoleOperator Role = "operator"
)

// Token is one accepted API token.
type Token struct {
	Name  string
	Value string
	Role  Role
}

// Server serves the HTTP surface.
type Server struct {
	Intake Intake
	Ledger Ledger
	Ops    Operator
	// Alerts serves /api/alerts; nil answers 503 (the store keeps no
	// incidents).
	Alerts Alerts
	Tokens []Token
	Reload func(ctx context.Context, actor string) error
	Ready  func() error
	// Metrics serves /metrics (Prometheus) without a token, like every
	// exporter: it holds counts and flow names, no records.
	Metrics http.Handler
	// UI serves the dashboard (internal/ui) at every path that is neither
	// the API nor a flow's intake; nil answers 404 there.
	UI     http.Handler
	Logger *slog.Logger
	mux    *http.ServeMux
}

//go:embed openapi.json
var openAPI []byte

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	m := http.NewServeMux()
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	m.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if s.Ready != nil {
			if err := s.Ready(); err != nil {
				problem.Write(w, r, &seam.Error{Code: seam.EUNAVAILABLE, Message: err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	if s.Metrics != nil {
		m.Handle("GET /metrics", s.Metrics)
	}
	m.HandleFunc("GET /api/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	api := func(pattern string, role Role, h func(w http.ResponseWriter, r *http.Request, actor string) error) {
		m.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			actor, err := s.authorize(r, role)
			if err != nil {
				if seam.ErrorCode(err) == seam.EUNAUTHORIZED {
					w.Header().Set("WWW-Authenticate", `Bearer realm="seam"`)
				}
				problem.Write(w, r, err)
				return
			}
			if err := h(w, r, actor); err != nil {
				problem.Write(w, r, err)
			}
		})
	}
	api("GET /api/flows", RoleViewer, s.flows)
	api("GET /api/messages", RoleViewer, s.messages)
	api("GET /api/messages/{id}", RoleViewer, s.message)
	api("GET /api/deliveries", RoleViewer, s.deliveries)
	api("GET /api/deliveries/{id}", RoleViewer, s.delivery)
	api("GET /api/quarantine", RoleViewer, s.quarantineList)
	api("GET /api/quarantine/{id}", RoleViewer, s.quarantineGet)
	api("POST /api/quarantine/{id}/replay", RoleOperator, s.quarantineReplay)
	api("POST /api/quarantine/{id}/discard", RoleOperator, s.quarantineDiscard)
	api("POST /api/replay", RoleOperator, s.replay)
	api("GET /api/audit", RoleViewer, s.audit)
	api("GET /api/alerts", RoleViewer, s.alerts)
	api("GET /api/trace/{key}", RoleViewer, func(w http.ResponseWriter, r *http.Request, _ string) error {
		t, err := s.Ops.Trace(r.Context(), r.PathValue("key"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, t)
		return nil
	})
	api("POST /api/reload", RoleOperator, func(w http.ResponseWriter, r *http.Request, actor string) error {
		if s.Reload == nil {
			return seam.Errorf(seam.EUNAVAILABLE, "reload is not available")
		}
		if err := s.Reload(r.Context(), actor); err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"reloaded": true})
		return nil
	})
	m.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, seam.Errorf(seam.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path).WithHint("see /api/openapi.json"))
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.Intake != nil && s.Intake.Handles(r.URL.Path) {
			s.Intake.ServeHTTP(w, r)
			return
		}
		if s.UI != nil {
			s.UI.ServeHTTP(w, r)
			return
		}
		problem.Write(w, r, seam.Errorf(seam.ENOTFOUND, "nothing at %s", r.URL.Path).
			WithHint("webhook intakes are declared by flows (source.webhook.path); the API is under /api"))
	})
	s.mux = m
	return m
}

// authorize checks the bearer token against the configured ones in
// constant time and returns the token's name as the actor.
func (s *Server) authorize(r *http.Request, need Role) (string, error) {
	h := r.Header.Get("Authorization")
	given, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || given == "" {
		return "", seam.Errorf(seam.EUNAUTHORIZED, "missing bearer token").WithHint("send Authorization: Bearer <token> (seam run prints one, or set api.tokens in seam.yaml)")
	}
	var found *Token
	for i := range s.Tokens {
		t := &s.Tokens[i]
		if subtle.ConstantTimeCompare([]byte(t.Value), []byte(given)) == 1 {
			found = t
		}
	}
	if found == nil {
		return "", seam.Errorf(seam.EUNAUTHORIZED, "the token is not valid")
	}
	if need == RoleOperator && found.Role != RoleOperator {
		return "", seam.Errorf(seam.EFORBIDDEN, "token %q is read-only (viewer); this action needs an operator token", found.Name)
	}
	return found.Name, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, seam.Errorf(seam.EINVALID, "%q is not an id", r.PathValue("id"))
	}
	return id, nil
}

// query reads the common list parameters, refusing malformed ones rather
// than silently ignoring them.
type query struct {
	r   *http.Request
	err error
}

func (q *query) str(name string) string { return q.r.URL.Query().Get(name) }

func (q *query) int(name string) int64 {
	v := q.str(name)
	if v == "" || q.err != nil {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		q.err = seam.Errorf(seam.EINVALID, "%s=%q is not a number", name, v)
	}
	return n
}

func (q *query) time(name string) time.Time {
	v := q.str(name)
	if v == "" || q.err != nil {
		return time.Time{}
	}
	t, err := ParseWhen(v)
	if err != nil {
		q.err = seam.Errorf(seam.EINVALID, "%s=%v", name, err)
	}
	return t
}

// ParseWhen reads a point in time as the API and the CLI take it: an RFC
// 3339 time, or a duration meaning that long ago ("2h"); "" is no time.
func ParseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time nor a duration such as 2h", s)
	}
	return time.Now().Add(-d), nil
}

func decodeBody(r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && err.Error() != "EOF" {
		return seam.Errorf(seam.EINVALID, "bad request body: %v", err)
	}
	return nil
}
