package ui

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seamhq/seam"
)

const (
	cookieName = "seam_session"
	csrfField  = "csrf"
)

// session is a signed-in user as a page sees it.
type session struct {
	Name     string // the token's name: the actor in the audit log
	Operator bool
	CSRF     string // the per-session token every form carries
	nonce    string
	expires  time.Time
}

// checkCSRF compares the form's token with the session's in constant time.
func (s *session) checkCSRF(got string) error {
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.CSRF)) != 1 {
		return seam.Errorf(seam.EFORBIDDEN, "the form's security token is missing or stale").
			WithHint("reload the page and try again")
	}
	return nil
}

// sessions issues and opens session cookies.
//
// A cookie is the API token itself, with an expiry and a random nonce,
// sealed with AES-GCM: the browser holds an opaque value it cannot read
// or alter, and every request is authenticated by the same check as the
// API with the token inside. So removing a token from seam.yaml, or
// changing its role, takes effect on the next click, with nothing stored
// server-side but the nonces of sessions that logged out early.
type sessions struct {
	aead cipher.AEAD
	mac  []byte // key of the CSRF tokens
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	revoked map[string]time.Time // nonce → when its cookie expires anyway
}

type sealed struct {
	Token   string `json:"t"`
	Expires int64  `json:"e"` // unix seconds
	Nonce   string `json:"n"`
}

func newSessions(key []byte, ttl time.Duration, now func() time.Time) (*sessions, error) {
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
	}
	// Separate keys for sealing and for CSRF tokens, both derived from the
	// one secret, so neither use can help attack the other.
	sealKey := derive(key, "seam dashboard session seal")
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sessions{aead: aead, mac: derive(key, "seam dashboard csrf"), ttl: ttl, now: now, revoked: map[string]time.Time{}}, nil
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// issue returns the cookie for a token that has just been checked.
func (ss *sessions) issue(r *http.Request, token string) (*http.Cookie, error) {
	n := make([]byte, 16)
	if _, err := rand.Read(n); err != nil {
		return nil, err
	}
	exp := ss.now().Add(ss.ttl)
	plain, _ := json.Marshal(sealed{Token: token, Expires: exp.Unix(), Nonce: base64.RawURLEncoding.EncodeToString(n)})
	iv := make([]byte, ss.aead.NonceSize())
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	box := ss.aead.Seal(iv, iv, plain, []byte(cookieName))
	return &http.Cookie{
		Name: cookieName, Value: base64.RawURLEncoding.EncodeToString(box), Path: "/",
		Expires: exp, MaxAge: int(ss.ttl.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r),
	}, nil
}

// secure reports whether the browser reached us over TLS: directly, or
// through a proxy that ended it and says so. Trusting the header is safe
// here: a client that lies only makes its own cookie unusable over HTTP.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

var errNoSession = errors.New("no session")

// open returns the sealed content of the request's cookie if it is
// authentic, not expired and not logged out.
func (ss *sessions) open(r *http.Request) (*sealed, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil, errNoSession
	}
	box, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil || len(box) < ss.aead.NonceSize() {
		return nil, errNoSession
	}
	plain, err := ss.aead.Open(nil, box[:ss.aead.NonceSize()], box[ss.aead.NonceSize():], []byte(cookieName))
	if err != nil {
		return nil, errNoSession
	}
	var s sealed
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, errNoSession
	}
	if ss.now().Unix() >= s.Expires {
		return nil, errNoSession
	}
	ss.mu.Lock()
	_, gone := ss.revoked[s.Nonce]
	ss.mu.Unlock()
	if gone {
		return nil, errNoSession
	}
	return &s, nil
}

// get authenticates the request's session with auth, the API's check.
func (ss *sessions) get(r *http.Request, auth AuthFunc) (*session, error) {
	s, err := ss.open(r)
	if err != nil {
		return nil, err
	}
	name, operator, err := auth(s.Token)
	if err != nil {
		return nil, err
	}
	return &session{Name: name, Operator: operator, CSRF: ss.csrf(s.Nonce), nonce: s.Nonce, expires: time.Unix(s.Expires, 0)}, nil
}

func (ss *sessions) csrf(nonce string) string {
	m := hmac.New(sha256.New, ss.mac)
	m.Write([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// revoke ends a session before its cookie expires (logout), and forgets
// nonces whose cookies have expired anyway, so the set stays small.
func (ss *sessions) revoke(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for n, exp := range ss.revoked {
		if now.After(exp) {
			delete(ss.revoked, n)
		}
	}
	ss.revoked[s.nonce] = s.expires
}

// sameOrigin refuses a state-changing request that did not come from a
// page of this server: the Origin header (sent by browsers with every
// POST), or failing that the Referer, must name this host. Together with
// the CSRF token and SameSite=Strict this is defence in depth.
func sameOrigin(r *http.Request) error {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" || src == "null" {
		return seam.Errorf(seam.EFORBIDDEN, "the request does not say which page it came from (no Origin or Referer)")
	}
	u, err := url.Parse(src)
	// The host is compared, not the scheme: behind a proxy that ends TLS
	// the browser says https while this server sees plain HTTP.
	if err != nil || u.Host == "" || !strings.EqualFold(u.Host, r.Host) {
		return seam.Errorf(seam.EFORBIDDEN, "the request came from another site (%s)", src)
	}
	return nil
}

// loginView is the login page's view model.
type loginView struct {
	layout
	Next  string
	Error string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if _, err := u.sessions.get(r, u.opts.Authenticate); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := &loginView{Next: next}
	v.layout = u.bareLayout("Sign in")
	u.render(w, http.StatusOK, "login", v)
}

func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	next := safeNext(r.PostFormValue("next"))
	v := &loginView{Next: next}
	v.layout = u.bareLayout("Sign in")
	if err := sameOrigin(r); err != nil {
		v.Error = seam.ErrorMessage(err)
		u.render(w, http.StatusForbidden, "login", v)
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	name, _, err := u.opts.Authenticate(token)
	if token == "" || err != nil {
		v.Error = "That token is not valid. Use one of the API tokens from seam.yaml (api.tokens), or the one seam run printed."
		u.log.WarnContext(r.Context(), "dashboard sign-in refused", "remote", r.RemoteAddr)
		u.render(w, http.StatusUnauthorized, "login", v)
		return
	}
	c, err := u.sessions.issue(r, token)
	if err != nil {
		u.fail(w, r, nil, err)
		return
	}
	http.SetCookie(w, c)
	u.log.InfoContext(r.Context(), "dashboard sign-in", "actor", name)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	s, err := u.sessions.get(r, u.opts.Authenticate)
	if err == nil {
		if err := sameOrigin(r); err != nil {
			u.fail(w, r, s, err)
			return
		}
		if err := s.checkCSRF(r.PostFormValue(csrfField)); err != nil {
			u.fail(w, r, s, err)
			return
		}
		u.sessions.revoke(s)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site: a path, never
// "//other.example" or an absolute URL.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) {
		return "/"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
