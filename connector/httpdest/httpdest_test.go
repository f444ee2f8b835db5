package httpdest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/component"
	"github.com/seamhq/seam/connector/httpdest"
)

const secret = "sup3r-s3cret-Value"

// seen is what a test server observed about one request.
type seen struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   string
}

// recorder is a test server that records requests and answers with a
// configurable handler.
type recorder struct {
	mu   sync.Mutex
	reqs []seen
}

func (r *recorder) wrap(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, seen{Method: req.Method, Path: req.URL.EscapedPath(), Query: req.URL.RawQuery, Header: req.Header.Clone(), Body: string(body)})
		r.mu.Unlock()
		if h != nil {
			h(w, req)
		}
	}
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(rec.wrap(h))
	t.Cleanup(srv.Close)
	return srv, rec
}

func newDest(t *testing.T, cfg httpdest.Config) *httpdest.Destination {
	t.Helper()
	d, err := httpdest.New(cfg)
	require.NoError(t, err)
	t.Cleanup(d.Close)
	return d
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

func TestDeliverSendsRequest(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", "/orders/55012")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":55012}`)
	})
	d := newDest(t, httpdest.Config{
		Method:  "put",
		URL:     srv.URL + "/api/orders/{order}/lines?tag={tag}&v=1",
		Headers: map[string]string{"x-tenant": "acme", "Content-Type": "application/vnd.erp+json"},
	})
	res, err := d.Deliver(t.Context(), httpdest.Request{
		Body:           []byte(`{"OrderRef":"ES-1"}`),
		IdempotencyKey: "eshop-orders/erp/ES-1",
		Vars:           map[string]string{"order": "ES 1/2", "tag": "a&b=c"},
		Header:         http.Header{"traceparent": {"00-abc-def-01"}, "Idempotency-Key": {"overridden?"}},
	})
	require.NoError(t, err)
	require.Equal(t, http.StatusCreated, res.Status)
	require.JSONEq(t, `{"id":55012}`, string(res.Body))
	require.Equal(t, "/orders/55012", res.Header.Get("Location"))
	require.Positive(t, res.Duration)

	reqs := rec.all()
	require.Len(t, reqs, 1)
	got := reqs[0]
	require.Equal(t, http.MethodPut, got.Method)
	require.Equal(t, "/api/orders/ES%201%2F2/lines", got.Path)
	require.Equal(t, "tag=a%26b%3Dc&v=1", got.Query)
	require.Equal(t, "acme", got.Header.Get("X-Tenant"))
	require.Equal(t, "application/vnd.erp+json", got.Header.Get("Content-Type"))
	require.Equal(t, "00-abc-def-01", got.Header.Get("Traceparent"))
	require.Equal(t, []string{"eshop-orders/erp/ES-1"}, got.Header.Values("Idempotency-Key"))
	require.Equal(t, "seam", got.Header.Get("User-Agent"))
	require.JSONEq(t, `{"OrderRef":"ES-1"}`, got.Body)
}

func TestDeliverDefaults(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, status(http.StatusNoContent))
	d := newDest(t, httpdest.Config{URL: srv.URL + "/hook"})
	res, err := d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{}`), IdempotencyKey: "k1"})
	require.NoError(t, err)
	require.Equal(t, http.StatusNoContent, res.Status)
	require.Nil(t, res.Body)
	got := rec.all()[0]
	require.Equal(t, http.MethodPost, got.Method)
	require.Equal(t, "application/json", got.Header.Get("Content-Type"))

	_, err = d.Deliver(t.Context(), httpdest.Request{Body: []byte(`a=1`), ContentType: "application/x-www-form-urlencoded", IdempotencyKey: "k2"})
	require.NoError(t, err)
	require.Equal(t, "application/x-www-form-urlencoded", rec.all()[1].Header.Get("Content-Type"))
}

func TestIdempotencyKeyStableAcrossRetries(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	srv, rec := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	d := newDest(t, httpdest.Config{URL: srv.URL})
	req := httpdest.Request{Body: []byte(`{}`), IdempotencyKey: "flow/route/ES-1042"}
	for attempt := 1; ; attempt++ {
		_, err := d.Deliver(t.Context(), req)
		if err == nil {
			break
		}
		require.True(t, component.Retryable(err))
		require.Less(t, attempt, 3)
	}
	reqs := rec.all()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		require.Equal(t, "flow/route/ES-1042", r.Header.Get("Idempotency-Key"))
	}
}

func TestMissingIdempotencyKeyIsRefused(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, status(200))
	d := newDest(t, httpdest.Config{URL: srv.URL})
	_, err := d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{}`)})
	require.Error(t, err)
	require.False(t, component.Retryable(err))
	require.Contains(t, err.Error(), "no idempotency key")
	require.Empty(t, rec.all())
}

func TestAuth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		auth  httpdest.Auth
		check func(t *testing.T, s seen)
	}{
		{name: "bearer", auth: httpdest.Auth{Bearer: secret}, check: func(t *testing.T, s seen) {
			require.Equal(t, "Bearer "+secret, s.Header.Get("Authorization"))
		}},
		{name: "basic", auth: httpdest.Auth{Basic: &httpdest.BasicAuth{User: "seam", Password: secret}}, check: func(t *testing.T, s seen) {
			r := &http.Request{Header: s.Header}
			user, pass, ok := r.BasicAuth()
			require.True(t, ok)
			require.Equal(t, "seam", user)
			require.Equal(t, secret, pass)
		}},
		{name: "api key header", auth: httpdest.Auth{APIKey: &httpdest.APIKey{Header: "x-api-key", Value: secret}}, check: func(t *testing.T, s seen) {
			require.Equal(t, secret, s.Header.Get("X-Api-Key"))
		}},
		{name: "api key query", auth: httpdest.Auth{APIKey: &httpdest.APIKey{Query: "api_key", Value: secret}}, check: func(t *testing.T, s seen) {
			require.Equal(t, "v=1&api_key="+secret, s.Query)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := newServer(t, status(http.StatusInternalServerError))
			d := newDest(t, httpdest.Config{URL: srv.URL + "/x?v=1", Auth: tc.auth,
				Headers: map[string]string{"Authorization": "must be replaced by auth"}})
			_, err := d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{}`), IdempotencyKey: "k"})
			require.Error(t, err)
			require.NotContains(t, err.Error(), secret)
			reqs := rec.all()
			require.Len(t, reqs, 1)
			tc.check(t, reqs[0])

			// A transport failure must not leak it either.
			srv.Close()
			_, err = d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{}`), IdempotencyKey: "k"})
			require.Error(t, err)
			require.True(t, component.Retryable(err))
			require.NotContains(t, err.Error(), secret)
			require.Contains(t, err.Error(), "POST http://")
		})
	}
}

func TestRequestHeaderCannotOverrideAuth(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, status(200))
	d := newDest(t, httpdest.Config{URL: srv.URL, Auth: httpdest.Auth{Bearer: secret}})
	_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k", Header: http.Header{"Authorization": {"Bearer evil"}}})
	require.NoError(t, err)
	require.Equal(t, "Bearer "+secret, rec.all()[0].Header.Get("Authorization"))
}

func TestStatusClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		ok     bool
		retry  bool
	}{
		{status: 200, ok: true},
		{status: 201, ok: true},
		{status: 202, ok: true},
		{status: 204, ok: true},
		{status: 301},
		{status: 302},
		{status: 307},
		{status: 400},
		{status: 401},
		{status: 403},
		{status: 404},
		{status: 409},
		{status: 410},
		{status: 422},
		{status: 408, retry: true},
		{status: 429, retry: true},
		{status: 500, retry: true},
		{status: 502, retry: true},
		{status: 503, retry: true},
		{status: 504, retry: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			t.Parallel()
			srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.status >= 300 && tc.status < 400 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, `{"error":"details"}`)
			})
			d := newDest(t, httpdest.Config{URL: srv.URL + "/api/sales-orders"})
			res, err := d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{}`), IdempotencyKey: "k"})
			require.Equal(t, tc.status, res.Status)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			var ce *component.Error
			require.ErrorAs(t, err, &ce)
			require.Equal(t, tc.status, ce.Status)
			require.Equal(t, tc.retry, ce.Retryable)
			require.Equal(t, tc.retry, component.Retryable(err))
			require.Contains(t, err.Error(), fmt.Sprintf("POST %s/api/sales-orders: %d", srv.URL, tc.status))
			if tc.status < 400 {
				require.Contains(t, err.Error(), "redirects are not followed")
			}
			if tc.status != http.StatusNoContent && tc.status != http.StatusNotModified {
				require.JSONEq(t, `{"error":"details"}`, string(res.Body), "the answer is kept as evidence")
			}
		})
	}
}

func TestRetryAfterPropagated(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "120")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	d := newDest(t, httpdest.Config{URL: srv.URL})
	_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.True(t, component.Retryable(err))
	require.Equal(t, 2*time.Minute, component.RetryAfter(err))
}

func TestTimeoutIsRetryable(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(release) })
	d := newDest(t, httpdest.Config{URL: srv.URL, Timeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.Less(t, time.Since(start), 5*time.Second)
	require.Error(t, err)
	require.True(t, component.Retryable(err))
	require.Contains(t, err.Error(), "no answer within 50ms (timeout)")
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCallerCancelIsRetryable(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	d := newDest(t, httpdest.Config{URL: srv.URL})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err := d.Deliver(ctx, httpdest.Request{IdempotencyKey: "k"})
	require.True(t, component.Retryable(err))
	require.Contains(t, err.Error(), "attempt interrupted")
}

func TestConnectionRefusedIsRetryable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	d := newDest(t, httpdest.Config{URL: "http://" + addr + "/x"})
	res, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.Zero(t, res.Status)
	require.True(t, component.Retryable(err))
	require.Contains(t, err.Error(), "connection refused")
}

func TestURLPlaceholders(t *testing.T) {
	t.Parallel()
	srv, rec := newServer(t, status(200))
	d := newDest(t, httpdest.Config{URL: srv.URL + "/customers/{id}?q={q}"})
	tests := []struct {
		name string
		vars map[string]string
		path string
		err  string
	}{
		{name: "filled", vars: map[string]string{"id": "C-1", "q": ""}, path: "/customers/C-1"},
		{name: "escaped", vars: map[string]string{"id": "../admin", "q": "x"}, path: "/customers/..%2Fadmin"},
		{name: "missing", vars: map[string]string{"q": "x"}, err: "URL placeholder {id} has no value"},
		{name: "empty path value", vars: map[string]string{"id": "", "q": "x"}, err: "{id} is empty"},
		{name: "dot dot", vars: map[string]string{"id": "..", "q": "x"}, err: "would change the path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k", Vars: tc.vars})
			if tc.err != "" {
				require.Error(t, err)
				require.False(t, component.Retryable(err))
				require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
				require.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			reqs := rec.all()
			require.Equal(t, tc.path, reqs[len(reqs)-1].Path)
		})
	}
}

func TestNewValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  httpdest.Config
		err  string
	}{
		{name: "empty URL", cfg: httpdest.Config{}, err: "URL is empty"},
		{name: "not http", cfg: httpdest.Config{URL: "ftp://x/y"}, err: "must start with http"},
		{name: "no host", cfg: httpdest.Config{URL: "http:///x"}, err: "no host"},
		{name: "placeholder in host", cfg: httpdest.Config{URL: "https://{tenant}.example.com/x"}, err: "in its scheme or host"},
		{name: "malformed placeholder", cfg: httpdest.Config{URL: "https://x/{a b}"}, err: "malformed placeholder"},
		{name: "unclosed placeholder", cfg: httpdest.Config{URL: "https://x/{id"}, err: "malformed placeholder"},
		{name: "fragment", cfg: httpdest.Config{URL: "https://x/y#z"}, err: "fragment"},
		{name: "bad method", cfg: httpdest.Config{URL: "https://x", Method: "PO ST"}, err: "method"},
		{name: "negative timeout", cfg: httpdest.Config{URL: "https://x", Timeout: -1}, err: "negative"},
		{name: "bad header name", cfg: httpdest.Config{URL: "https://x", Headers: map[string]string{"X Y": "1"}}, err: "header name"},
		{name: "header injection", cfg: httpdest.Config{URL: "https://x", Headers: map[string]string{"X-Token": secret + "\r\nX-Evil: 1"}}, err: "X-Token has a line break"},
		{name: "two auths", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{Bearer: secret, Basic: &httpdest.BasicAuth{User: "u"}}}, err: "more than one"},
		{name: "bearer injection", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{Bearer: secret + "\n"}}, err: "auth.bearer"},
		{name: "basic without user", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{Basic: &httpdest.BasicAuth{Password: secret}}}, err: "user is empty"},
		{name: "basic user with colon", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{Basic: &httpdest.BasicAuth{User: "a:b", Password: secret}}}, err: "contains ':'"},
		{name: "api key both places", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{APIKey: &httpdest.APIKey{Header: "K", Query: "k", Value: secret}}}, err: "exactly one of header and query"},
		{name: "api key no value", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{APIKey: &httpdest.APIKey{Header: "K"}}}, err: "value is empty"},
		{name: "oauth2 no client", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{OAuth2: &httpdest.OAuth2{TokenURL: "https://a/t", ClientSecret: secret}}}, err: "client_id"},
		{name: "oauth2 bad token URL", cfg: httpdest.Config{URL: "https://x", Auth: httpdest.Auth{OAuth2: &httpdest.OAuth2{TokenURL: "token?secret=" + secret, ClientID: "c"}}}, err: "token_url"},
		{name: "password in URL is redacted", cfg: httpdest.Config{URL: "ftp://u:" + secret + "@x/y"}, err: "must start with http"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := httpdest.New(tc.cfg)
			require.Error(t, err)
			require.Equal(t, seam.EINVALID, seam.ErrorCode(err))
			require.Contains(t, err.Error(), tc.err)
			require.NotContains(t, err.Error(), secret)
		})
	}
}

// tokenServer is an OAuth2 token endpoint that counts fetches.
type tokenServer struct {
	*httptest.Server
	fetches atomic.Int32
}

func newTokenServer(t *testing.T, fail int) *tokenServer {
	t.Helper()
	ts := &tokenServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := ts.fetches.Add(1)
		if fail != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(fail)
			_, _ = io.WriteString(w, `{"error":"invalid_client","error_description":"client secret `+secret+` is wrong"}`)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok || user != "seam" || pass != secret || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": fmt.Sprintf("token-%d", n),
			"token_type":   "bearer",
			"expires_in":   3600,
			"scope":        r.FormValue("scope"),
		})
	}))
	t.Cleanup(ts.Close)
	return ts
}

func oauthCfg(ts *tokenServer) *httpdest.OAuth2 {
	return &httpdest.OAuth2{TokenURL: ts.URL + "/oauth/token", ClientID: "seam", ClientSecret: secret, Scopes: []string{"orders.write"}}
}

func TestOAuth2TokenFetchedOnce(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, 0)
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	d := newDest(t, httpdest.Config{URL: srv.URL, Auth: httpdest.Auth{OAuth2: oauthCfg(ts)}})

	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: fmt.Sprint(i)})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Equal(t, int32(1), ts.fetches.Load())
	require.Len(t, rec.all(), 50)
}

func TestOAuth2RefetchesAfter401Once(t *testing.T) {
	t.Parallel()
	ts := newTokenServer(t, 0)
	var revoked atomic.Bool
	revoked.Store(true)
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		if revoked.Load() && r.Header.Get("Authorization") == "Bearer token-1" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	})
	d := newDest(t, httpdest.Config{URL: srv.URL, Auth: httpdest.Auth{OAuth2: oauthCfg(ts)}})

	// First attempt: token-1 is fetched for it and refused: with a fresh
	// token, 401 means the credentials are refused, which is permanent.
	_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.Error(t, err)
	require.False(t, component.Retryable(err))

	// Second attempt reuses the cached token-1; its 401 invalidates the
	// cache and is retryable.
	res, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.True(t, component.Retryable(err))
	require.Contains(t, err.Error(), "will be fetched again")

	// Third attempt fetches token-2 and succeeds.
	_, err = d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.NoError(t, err)
	require.Equal(t, int32(2), ts.fetches.Load())
}

func TestOAuth2TokenFailureIsRetryableAndSecretFree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		msg    string
	}{
		{name: "invalid client", status: http.StatusUnauthorized, msg: "401 Unauthorized (invalid_client)"},
		{name: "token endpoint down", status: http.StatusServiceUnavailable, msg: "503 Service Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ts := newTokenServer(t, tc.status)
			srv, rec := newServer(t, status(200))
			d := newDest(t, httpdest.Config{URL: srv.URL, Auth: httpdest.Auth{OAuth2: oauthCfg(ts)}})
			_, err := d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
			require.Error(t, err)
			require.True(t, component.Retryable(err))
			require.Contains(t, err.Error(), "fetching the OAuth2 token from "+ts.URL+"/oauth/token failed: "+tc.msg)
			require.NotContains(t, err.Error(), secret)
			require.Empty(t, rec.all(), "nothing is sent without a token")
		})
	}
}

func TestOAuth2TokenEndpointUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	srv, _ := newServer(t, status(200))
	d := newDest(t, httpdest.Config{URL: srv.URL, Auth: httpdest.Auth{OAuth2: &httpdest.OAuth2{
		TokenURL: "http://" + addr + "/token?key=" + secret, ClientID: "seam", ClientSecret: secret}}})
	_, err = d.Deliver(t.Context(), httpdest.Request{IdempotencyKey: "k"})
	require.Error(t, err)
	require.True(t, component.Retryable(err))
	require.Contains(t, err.Error(), "connection refused")
	require.NotContains(t, err.Error(), secret)
}

func TestConnectionsAreReused(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 20<<10) // larger than the kept 4 KiB: must be drained
	var newConns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, big)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)

	d := newDest(t, httpdest.Config{URL: srv.URL})
	for i := range 100 {
		res, err := d.Deliver(t.Context(), httpdest.Request{Body: []byte(`{"n":1}`), IdempotencyKey: fmt.Sprint(i)})
		require.NoError(t, err)
		require.Len(t, res.Body, component.MaxResponseBody)
	}
	require.Equal(t, int32(1), newConns.Load())
}

func BenchmarkDeliver(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":55012,"status":"created"}`)
	}))
	defer srv.Close()
	d, err := httpdest.New(httpdest.Config{URL: srv.URL + "/api/orders/{id}", Auth: httpdest.Auth{Bearer: "t"}})
	require.NoError(b, err)
	defer d.Close()
	body := []byte(`{"OrderRef":"ES-1042","Customer":"Acme s.r.o.","NetAmount":"1000,00","VatRate":21}`)
	vars := map[string]string{"id": "ES-1042"}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Deliver(context.Background(), httpdest.Request{Body: body, IdempotencyKey: "k", Vars: vars}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
