// Package httpdest delivers records to a destination over HTTP.
//
// A Destination owns one connection pool, sized so that concurrent
// deliveries reuse warm connections instead of opening new ones (Go's
// default keeps two idle connections per host, which measurably halves
// throughput under load). It classifies every answer through package
// component, so the engine decides retries without knowing HTTP.
//
// Credentials arrive resolved in Config. They are sent, never shown: no
// error or log line built here contains a token, password, API key or
// client secret.
package httpdest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/component"
)

// Defaults for a zero Config.
const (
	DefaultMethod      = http.MethodPost
	DefaultTimeout     = 30 * time.Second
	DefaultMaxConns    = 64
	DefaultContentType = "application/json"
)

// drainLimit is how much of an unread response is discarded so that the
// connection can be reused; a larger rest costs more than a new connection.
const drainLimit = 64 << 10

const userAgent = "seam"

// Config describes one destination. Secret values (in Headers and Auth)
// arrive already resolved from the environment.
type Config struct {
	// Method is the HTTP method (default POST).
	Method string
	// URL is the base URL plus the route's path. It may hold {name}
	// placeholders in the path or query, filled from Request.Vars.
	URL string
	// Headers are sent with every request.
	Headers map[string]string
	// Auth is how Seam authenticates to the destination.
	Auth Auth
	// Timeout bounds one attempt, from connecting to reading the answer
	// (default 30s).
	Timeout time.Duration
	// MaxConns is how many idle connections are kept for reuse (default
	// 64). How many deliveries run at once is the engine's decision; this
	// only has to be at least that, or connections churn.
	MaxConns int
}

// Auth holds at most one way of authenticating.
type Auth struct {
	// Bearer is sent as "Authorization: Bearer <token>".
	Bearer string
	// Basic is HTTP basic authentication.
	Basic *BasicAuth
	// APIKey is a key sent in a header or a query parameter.
	APIKey *APIKey
	// OAuth2 fetches bearer tokens with the client-credentials grant.
	OAuth2 *OAuth2
}

// BasicAuth is HTTP basic authentication (RFC 7617).
type BasicAuth struct {
	User     string
	Password string
}

// APIKey is an API key sent in a header (e.g. X-API-Key) or a query
// parameter (e.g. api_key): exactly one of Header and Query is set.
type APIKey struct {
	Header string
	Query  string
	Value  string
}

// OAuth2 is the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).
type OAuth2 struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// Request is one delivery attempt's content.
type Request struct {
	// Body is sent as is.
	Body []byte
	// ContentType defaults to a Content-Type from Config.Headers, then to
	// application/json.
	ContentType string
	// IdempotencyKey is sent as Idempotency-Key; it must be the same on
	// every attempt of a delivery, so it is required.
	IdempotencyKey string
	// Vars fill the URL's placeholders.
	Vars map[string]string
	// Header holds extra headers for this attempt, e.g. traceparent.
	// Idempotency-Key, Content-Type and authentication cannot be
	// overridden through it.
	Header http.Header
}

// Destination sends deliveries to one HTTP endpoint. It is safe for
// concurrent use.
type Destination struct {
	method      string
	url         urlTemplate
	headers     http.Header
	contentType string // from Config.Headers, or the default
	authHeader  string // the header carrying the precomputed credential
	authValue   string
	timeout     time.Duration
	transport   *http.Transport
	client      *http.Client
	oauth       *tokenSource
}

// errTimeout is the cause of a context ended by the destination's own
// timeout, to tell it apart from the caller giving up. It still matches
// context.DeadlineExceeded and net.Error's Timeout for generic checks.
var errTimeout error = timeoutError{}

type timeoutError struct{}

var _ net.Error = timeoutError{}

func (timeoutError) Error() string        { return "timeout" }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Temporary() bool      { return true }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

var bufPool = sync.Pool{New: func() any { b := make([]byte, component.MaxResponseBody); return &b }}

// New checks cfg and returns a Destination. Errors are EINVALID and name the
// offending field, never its secret value.
func New(cfg Config) (*Destination, error) {
	method := strings.ToUpper(strings.TrimSpace(cfg.Method))
	if method == "" {
		method = DefaultMethod
	}
	if !isToken(method) {
		return nil, seam.Errorf(seam.EINVALID, "HTTP method %q is not valid", cfg.Method)
	}
	tmpl, err := parseURLTemplate(cfg.URL)
	if err != nil {
		return nil, err
	}
	if cfg.Timeout < 0 {
		return nil, seam.Errorf(seam.EINVALID, "timeout %s is negative", cfg.Timeout)
	}
	d := &Destination{
		method:      method,
		headers:     make(http.Header, len(cfg.Headers)),
		contentType: DefaultContentType,
		timeout:     cfg.Timeout,
	}
	if d.timeout == 0 {
		d.timeout = DefaultTimeout
	}
	for k, v := range cfg.Headers {
		if !isToken(k) {
			return nil, seam.Errorf(seam.EINVALID, "header name %q is not valid", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			// The value may be a secret: name the header only.
			return nil, seam.Errorf(seam.EINVALID, "header %s has a line break or NUL in its value", http.CanonicalHeaderKey(k))
		}
		if strings.EqualFold(k, "Content-Type") {
			d.contentType = v
			continue
		}
		d.headers.Set(k, v)
	}
	if err := d.setAuth(cfg.Auth, &tmpl); err != nil {
		return nil, err
	}
	d.url = tmpl

	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	dialer := &net.Dialer{Timeout: min(d.timeout, 10*time.Second), KeepAlive: 30 * time.Second}
	d.transport = &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          maxConns + 4, // room for the token endpoint
		MaxIdleConnsPerHost:   maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	d.client = &http.Client{
		Transport: d.transport,
		// A redirect is answered, not followed: following a 301/302
		// turns a POST into a GET and the record would silently not
		// arrive. The 3xx is reported so the route's URL gets fixed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cfg.Auth.OAuth2 != nil {
		d.oauth = newTokenSource(*cfg.Auth.OAuth2, &http.Client{Transport: d.transport, Timeout: d.timeout})
	}
	return d, nil
}

func (d *Destination) setAuth(a Auth, tmpl *urlTemplate) error {
	kinds := 0
	for _, set := range []bool{a.Bearer != "", a.Basic != nil, a.APIKey != nil, a.OAuth2 != nil} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return seam.Errorf(seam.EINVALID, "auth sets more than one of bearer, basic, api_key and oauth2").
			WithHint("keep exactly one")
	}
	switch {
	case a.Bearer != "":
		if strings.ContainsAny(a.Bearer, "\r\n\x00") {
			return seam.Errorf(seam.EINVALID, "auth.bearer has a line break or NUL")
		}
		d.authHeader, d.authValue = "Authorization", "Bearer "+a.Bearer
	case a.Basic != nil:
		if a.Basic.User == "" {
			return seam.Errorf(seam.EINVALID, "auth.basic.user is empty")
		}
		if strings.Contains(a.Basic.User, ":") {
			return seam.Errorf(seam.EINVALID, "auth.basic.user contains ':', which basic authentication cannot carry")
		}
		d.authHeader = "Authorization"
		d.authValue = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Basic.User+":"+a.Basic.Password))
	case a.APIKey != nil:
		k := a.APIKey
		switch {
		case k.Value == "":
			return seam.Errorf(seam.EINVALID, "auth.api_key.value is empty")
		case (k.Header == "") == (k.Query == ""):
			return seam.Errorf(seam.EINVALID, "auth.api_key needs exactly one of header and query")
		case k.Header != "" && !isToken(k.Header):
			return seam.Errorf(seam.EINVALID, "auth.api_key.header %q is not a valid header name", k.Header)
		case strings.ContainsAny(k.Value, "\r\n\x00"):
			return seam.Errorf(seam.EINVALID, "auth.api_key.value has a line break or NUL")
		case k.Header != "":
			d.authHeader, d.authValue = http.CanonicalHeaderKey(k.Header), k.Value
		default:
			tmpl.apiKeyName, tmpl.apiKeyValue = k.Query, k.Value
		}
	case a.OAuth2 != nil:
		o := a.OAuth2
		if o.ClientID == "" {
			return seam.Errorf(seam.EINVALID, "auth.oauth2.client_id is empty")
		}
		u, err := url.Parse(o.TokenURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return seam.Errorf(seam.EINVALID, "auth.oauth2.token_url %q is not an http(s) URL", safeURL(o.TokenURL))
		}
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Close releases idle connections. Deliveries still running finish.
func (d *Destination) Close() {
	d.transport.CloseIdleConnections()
}

// Deliver sends one attempt and returns what came back. A nil error means a
// 2xx. Any other outcome is a *component.Error: non-2xx answers classified
// by component.ClassifyHTTP (with their Result), transport failures and
// timeouts retryable, and requests that cannot be built from this record
// permanent.
func (d *Destination) Deliver(ctx context.Context, req Request) (component.Result, error) {
	if req.IdempotencyKey == "" {
		return component.Result{}, component.Permanent(seam.Errorf(seam.EINVALID, "delivery has no idempotency key"))
	}
	target, err := d.url.expand(lookup(req.Vars), false)
	if err != nil {
		return component.Result{}, component.Permanent(err)
	}
	ctx, cancel := context.WithTimeoutCause(ctx, d.timeout, errTimeout)
	defer cancel()

	hreq, err := http.NewRequestWithContext(ctx, d.method, target, bytes.NewReader(req.Body))
	if err != nil {
		// Placeholder values are escaped, so this is a broken template
		// that New let through; nothing a retry would change.
		return component.Result{}, component.Permanent(fmt.Errorf("%s %s: building the request failed", d.method, d.safeTarget(req.Vars)))
	}
	d.setHeaders(hreq.Header, req)

	var tok tokenUse
	if d.oauth != nil {
		tok, err = d.oauth.token(ctx)
		if err != nil {
			// Not the record's fault: once the token endpoint is back or
			// the credentials are fixed, this very request goes through.
			return component.Result{}, component.Transient(err, 0)
		}
		tok.token.SetAuthHeader(hreq)
	}

	start := time.Now()
	resp, err := d.client.Do(hreq)
	if err != nil {
		return component.Result{Duration: time.Since(start)}, d.transportError(ctx, err, req.Vars)
	}
	body := readBody(resp.Body)
	resp.Body.Close()
	res := component.Result{Status: resp.StatusCode, Header: resp.Header, Body: body, Duration: time.Since(start)}

	// A 2xx whose body could not be read in full is still a success: the
	// destination has acted, and a retry could only repeat the effect.
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return res, nil
	}
	cause := fmt.Errorf("%s %s: %d %s", d.method, d.safeTarget(req.Vars), resp.StatusCode, http.StatusText(resp.StatusCode))
	if resp.StatusCode >= 300 && resp.StatusCode <= 399 {
		cause = fmt.Errorf("%w; redirects are not followed, so set the route's URL to where it points", cause)
	}
	if resp.StatusCode == http.StatusUnauthorized && d.oauth != nil && !tok.fresh {
		// The cached token was revoked or expired early: fetch a new one
		// on the next attempt. A 401 with a token fetched for this very
		// attempt means the credentials themselves are refused.
		d.oauth.invalidate(tok.source)
		return res, &component.Error{Retryable: true, Status: resp.StatusCode, Err: fmt.Errorf("%w; the OAuth2 token was refused and will be fetched again", cause)}
	}
	retry, after := component.ClassifyHTTP(resp.StatusCode, resp.Header, time.Now())
	return res, &component.Error{Retryable: retry, RetryAfter: after, Status: resp.StatusCode, Err: cause}
}

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// safeTarget is the URL of this delivery for messages: placeholders filled,
// API key redacted, query and credentials removed.
func (d *Destination) safeTarget(vars map[string]string) string {
	s, err := d.url.expand(lookup(vars), true)
	if err != nil {
		return "(destination)"
	}
	return safeURL(s)
}

func (d *Destination) setHeaders(h http.Header, req Request) {
	for k, vs := range d.headers {
		h[k] = vs
	}
	for k, vs := range req.Header {
		h[http.CanonicalHeaderKey(k)] = vs
	}
	if _, ok := h["User-Agent"]; !ok {
		h["User-Agent"] = []string{userAgent}
	}
	ct := req.ContentType
	if ct == "" {
		ct = d.contentType
	}
	h["Content-Type"] = []string{ct}
	h["Idempotency-Key"] = []string{req.IdempotencyKey}
	if d.authHeader != "" {
		h[d.authHeader] = []string{d.authValue}
	} else if d.oauth != nil {
		delete(h, "Authorization")
	}
}

// readBody keeps the start of the answer as evidence and drains a bounded
// rest, so that the connection goes back to the pool.
func readBody(r io.Reader) []byte {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	n, err := io.ReadFull(r, buf)
	if err == nil {
		_, _ = io.CopyN(io.Discard, r, drainLimit)
	}
	if n == 0 {
		return nil
	}
	return bytes.Clone(buf[:n])
}

// transportError classifies a failure to get an answer. All of them retry:
// the record was not refused, the destination was not reached.
func (d *Destination) transportError(ctx context.Context, err error, vars map[string]string) error {
	target := d.safeTarget(vars)
	// *url.Error quotes the full URL, which may carry an API key; keep
	// only its cause, which names addresses, not URLs.
	cause := err
	if uerr, ok := errors.AsType[*url.Error](err); ok {
		cause = uerr.Err
	}
	switch {
	case errors.Is(context.Cause(ctx), errTimeout):
		return component.Transient(fmt.Errorf("%s %s: no answer within %s (%w)", d.method, target, d.timeout, errTimeout), 0)
	case ctx.Err() != nil:
		return component.Transient(fmt.Errorf("%s %s: attempt interrupted: %w", d.method, target, cause), 0)
	default:
		return component.Transient(fmt.Errorf("%s %s: %w", d.method, target, cause), 0)
	}
}
