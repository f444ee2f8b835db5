// Package ui is Seam's dashboard: server-rendered HTML pages over the same
// ledger and the same operator service (internal/ops) as the JSON API, so
// a replay from the dashboard and a replay from `seam replay` are one
// implementation.
//
// Every page is built in two steps: a handler gathers what it needs into a
// small view model (a Go struct of strings, numbers and links, computed
// here), and an embedded html/template only lays it out. Charts and the
// map are inline SVG drawn in Go. The pages work without JavaScript; the
// one small script refreshes the health regions and helps select rows.
//
// Access is by the API's tokens: the login page turns a token into a
// session cookie, viewers read, operators may also replay, redrive and
// discard. Every POST carries a per-session CSRF token and must come from
// the dashboard's own origin.
package ui

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/problem"
	"github.com/seamhq/seam/internal/store"
)

// Ledger is what the dashboard reads from the store.
type Ledger interface {
	MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error)
	DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error)
	QuarantineList(ctx context.Context, f *store.QuarantineFilter) ([]*seam.Quarantined, error)
	QuarantineGet(ctx context.Context, id int64) (*seam.Quarantined, error)
	AuditList(ctx context.Context, f *store.AuditFilter) ([]*seam.AuditEvent, error)
	RouteStats(ctx context.Context, p *store.StatsParams) ([]*store.RouteStats, error)
}

// Operator runs operator actions: the ops.Service the API uses too.
type Operator interface {
	Message(ctx context.Context, id int64) (*ops.MessageDetail, error)
	Replay(ctx context.Context, p *ops.ReplayParams) (*ops.ReplayResult, error)
	QuarantineReplay(ctx context.Context, id int64, actor, reason string, dryRun bool) (*ops.QuarantineResult, error)
	QuarantineDiscard(ctx context.Context, id int64, actor, reason string) error
	Trace(ctx context.Context, key string) (*ops.Trace, error)
}

// IncidentLister lists alert incidents (store.Incidents).
type IncidentLister interface {
	IncidentList(ctx context.Context, f *store.IncidentFilter) ([]*seam.Incident, error)
}

// AuthFunc checks an API token exactly as the API does, and returns the
// token's name (the actor in the audit log) and whether it may act.
type AuthFunc func(token string) (name string, operator bool, err error)

// MapFunc draws the landscape map as inline SVG, for a drawing other than
// the built-in one (such as `seam map`'s). Health says, per flow, "ok",
// "warn" or "fail"; link gives each system's and flow's page ("" for none).
type MapFunc func(c *catalog.Catalog, health map[string]string, link func(kind, name string) string) (template.HTML, error)

// Options are the dashboard's dependencies. Ledger, Ops, Catalog and
// Authenticate are required; the rest is optional and the pages say what
// is missing.
type Options struct {
	Ledger Ledger
	Ops    Operator
	// Catalog returns the catalog now running (it changes on reload).
	Catalog      func() *catalog.Catalog
	Authenticate AuthFunc
	// SessionKey seals the session cookies (32 bytes). Nodes that share it
	// accept each other's sessions, and a restart keeps them; nil means a
	// random key per process.
	SessionKey []byte
	// SessionTTL is how long a login lasts (default 12h).
	SessionTTL time.Duration
	// Series draws the charts; nil (a store without it) shows none.
	Series store.Series
	// Incidents shows alert incidents; nil shows the declared rules only.
	Incidents IncidentLister
	// Audit runs the landscape audit; nil says it is not available.
	Audit func(ctx context.Context) (*audit.Report, error)
	// Docs serves the generated documentation under /docs/; nil shows a
	// placeholder.
	Docs http.Handler
	// Map draws the map; nil uses the built-in drawing, which also shows
	// each system's and route's health.
	Map      MapFunc
	Logger   *slog.Logger
	Now      func() time.Time
	Location *time.Location // for times on the pages (default time.Local)
}

// UI is the dashboard's http.Handler.
type UI struct {
	opts     Options
	mux      *http.ServeMux
	pages    map[string]*template.Template
	sessions *sessions
	assetV   string // a hash of the assets, so browsers cache them safely
	log      *slog.Logger
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New builds the dashboard.
func New(opts Options) (*UI, error) {
	if opts.Ledger == nil || opts.Ops == nil || opts.Catalog == nil || opts.Authenticate == nil {
		return nil, errors.New("ui: Ledger, Ops, Catalog and Authenticate are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	sess, err := newSessions(opts.SessionKey, opts.SessionTTL, opts.Now)
	if err != nil {
		return nil, err
	}
	u := &UI{opts: opts, sessions: sess, log: opts.Logger}
	if err := u.parse(); err != nil {
		return nil, err
	}
	u.assetV = assetVersion()
	u.routes()
	return u, nil
}

// ServeHTTP implements http.Handler.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The pages embed no third-party content and need no inline script or
	// style: a strict policy makes an injected tag inert.
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	// same-origin keeps the Referer for our own POSTs (the CSRF check's
	// fallback) and sends nothing to other sites.
	h.Set("Referrer-Policy", "same-origin")
	u.mux.ServeHTTP(w, r)
}

func (u *UI) routes() {
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", u.static()))
	// Browsers ask for /favicon.ico on pages that name none (the docs).
	m.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/static/favicon.svg?v="+u.assetV, http.StatusMovedPermanently)
	})
	m.HandleFunc("GET /login", u.loginPage)
	m.HandleFunc("POST /login", u.login)
	m.HandleFunc("POST /logout", u.logout)

	m.HandleFunc("GET /{$}", u.page(u.overview))
	m.HandleFunc("GET /flows/{name}", u.page(u.flow))
	m.HandleFunc("GET /messages", u.page(u.messages))
	m.HandleFunc("GET /messages/{id}", u.page(u.message))
	m.HandleFunc("GET /trace", u.page(u.trace))
	m.HandleFunc("GET /dlq", u.page(u.dlq))
	m.HandleFunc("POST /dlq/replay", u.action(u.dlqReplay))
	m.HandleFunc("GET /quarantine", u.page(u.quarantine))
	m.HandleFunc("GET /quarantine/{id}", u.page(u.quarantineEntry))
	m.HandleFunc("POST /quarantine/{id}/replay", u.action(u.quarantineReplay))
	m.HandleFunc("POST /quarantine/{id}/discard", u.action(u.quarantineDiscard))
	m.HandleFunc("GET /audit", u.page(u.auditPage))
	m.HandleFunc("GET /docs/", u.page(u.docs))
	m.HandleFunc("GET /docs", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/docs/", http.StatusMovedPermanently)
	})
	notFound := u.page(func(w http.ResponseWriter, r *http.Request, s *session) error {
		return seam.Errorf(seam.ENOTFOUND, "there is no page at %s", r.URL.Path)
	})
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// A webhook sender that got its path wrong is a program, not a
		// person: it gets the API's 404 problem, not the sign-in page.
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || strings.HasPrefix(r.URL.Path, "/in/") {
			problem.Write(w, r, seam.Errorf(seam.ENOTFOUND, "nothing at %s %s", r.Method, r.URL.Path).
				WithHint("webhook intakes are declared by flows (source.webhook.path); the API is under /api"))
			return
		}
		notFound(w, r)
	})
	u.mux = m
}

// pageFunc renders one page for a signed-in user.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// page wraps a read-only page: it needs a session (any role) and renders
// errors as an error page.
func (u *UI) page(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := u.sessions.get(r, u.opts.Authenticate)
		if err != nil {
			u.toLogin(w, r)
			return
		}
		if err := h(w, r, s); err != nil {
			u.fail(w, r, s, err)
		}
	}
}

// action wraps a POST that changes something: a session, a request from
// our own origin carrying the session's CSRF token, and the operator
// role, checked in that order and refused with 403 (401 for no session).
func (u *UI) action(h pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		s, err := u.sessions.get(r, u.opts.Authenticate)
		if err != nil {
			u.fail(w, r, nil, seam.Errorf(seam.EUNAUTHORIZED, "sign in first; your session may have expired"))
			return
		}
		if err := sameOrigin(r); err != nil {
			u.fail(w, r, s, err)
			return
		}
		if err := s.checkCSRF(r.PostFormValue(csrfField)); err != nil {
			u.fail(w, r, s, err)
			return
		}
		if !s.Operator {
			u.fail(w, r, s, seam.Errorf(seam.EFORBIDDEN, "%s is read-only (viewer); replay, redrive and discard need an operator token", s.Name))
			return
		}
		if err := h(w, r, s); err != nil {
			u.fail(w, r, s, err)
		}
	}
}

func (u *UI) toLogin(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if next == "/" {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/login?next="+urlQueryEscape(next), http.StatusSeeOther)
}

// errorPage is the view model of a page that failed.
type errorPage struct {
	layout
	Status           int
	Heading, Message string
	Hint             string
	SignIn           bool
}

var errorHeadings = map[int]string{
	http.StatusBadRequest:   "That did not work",
	http.StatusUnauthorized: "Sign in first",
	http.StatusForbidden:    "Not allowed",
	http.StatusNotFound:     "Not found",
	http.StatusConflict:     "That cannot be done now",
}

func (u *UI) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	code := seam.ErrorCode(err)
	status := problem.StatusFor(code)
	if status >= 500 {
		u.log.ErrorContext(r.Context(), "dashboard page failed", "path", r.URL.Path, "err", err)
	}
	p := &errorPage{Status: status, Message: seam.ErrorMessage(err), Heading: or(errorHeadings[status], "Something went wrong"),
		SignIn: status == http.StatusUnauthorized}
	var se *seam.Error
	if errors.As(err, &se) {
		p.Hint = se.Hint
	}
	p.layout = u.layoutFor(r, s, http.StatusText(status))
	u.render(w, status, "error", p)
}

// parse reads every page template: each page is the shared layout plus
// its own "content".
func (u *UI) parse() error {
	u.pages = map[string]*template.Template{}
	base, err := template.New("layout").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("ui: parse layout: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return fmt.Errorf("ui: parse %s: %w", n, err)
		}
		u.pages[name] = t
	}
	return nil
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (u *UI) render(w http.ResponseWriter, status int, name string, data any) {
	t, ok := u.pages[name]
	if !ok {
		http.Error(w, "no template "+name, http.StatusInternalServerError)
		return
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", data); err != nil {
		u.log.Error("render dashboard page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (u *UI) static() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Links carry ?v=<hash of the assets>: a new build changes the
		// URL, so the assets can be cached for long.
		if r.URL.Query().Get("v") != "" {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fsrv.ServeHTTP(w, r)
	})
}

func assetVersion() string {
	h := sha256.New()
	_ = fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := staticFS.ReadFile(p)
		h.Write([]byte(p))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
