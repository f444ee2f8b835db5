package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/ops"
	"github.com/seamhq/seam/internal/store"
)

// fakeLedger answers lists from fixed data and records the filters it got.
type fakeLedger struct {
	lastMessages *store.MessageFilter
}

func (f *fakeLedger) MessageList(_ context.Context, mf *store.MessageFilter) ([]*seam.Message, error) {
	f.lastMessages = mf
	return []*seam.Message{{ID: 7, Flow: "orders", Key: "ES-1"}}, nil
}
func (f *fakeLedger) DeliveryList(context.Context, *store.DeliveryFilter) ([]*seam.Delivery, error) {
	return nil, nil
}
func (f *fakeLedger) QuarantineList(context.Context, *store.QuarantineFilter) ([]*seam.Quarantined, error) {
	return nil, nil
}
func (f *fakeLedger) QuarantineGet(context.Context, int64) (*seam.Quarantined, error) {
	return nil, store.ErrNotFound
}
func (f *fakeLedger) AuditList(context.Context, *store.AuditFilter) ([]*seam.AuditEvent, error) {
	return nil, nil
}
func (f *fakeLedger) RouteStats(context.Context, *store.StatsParams) ([]*store.RouteStats, error) {
	return nil, nil
}

// fakeOps records replays; every other action answers not found.
type fakeOps struct{ replayed *ops.ReplayParams }

func (f *fakeOps) Message(context.Context, int64) (*ops.MessageDetail, error) {
	return nil, store.ErrNotFound
}
func (f *fakeOps) Delivery(context.Context, int64) (*ops.DeliveryDetail, error) {
	return nil, store.ErrNotFound
}
func (f *fakeOps) Replay(_ context.Context, p *ops.ReplayParams) (*ops.ReplayResult, error) {
	f.replayed = p
	return &ops.ReplayResult{Matched: 1, Replayed: 1}, nil
}
func (f *fakeOps) QuarantineReplay(context.Context, int64, string, string, bool) (*ops.QuarantineResult, error) {
	return nil, store.ErrNotFound
}
func (f *fakeOps) QuarantineDiscard(context.Context, int64, string, string) error {
	return store.ErrNotFound
}
func (f *fakeOps) Trace(_ context.Context, key string) (*ops.Trace, error) {
	return &ops.Trace{Key: key}, nil
}

var (
	_ httpapi.Ledger   = (*fakeLedger)(nil)
	_ httpapi.Operator = (*fakeOps)(nil)
)

const (
	viewerToken   = "viewer-token-0123456789"
	operatorToken = "operator-token-0123456789"
)

type testBundle struct {
	srv    *httptest.Server
	ledger *fakeLedger
	ops    *fakeOps
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	b := &testBundle{ledger: &fakeLedger{}, ops: &fakeOps{}}
	s := &httpapi.Server{Ledger: b.ledger, Ops: b.ops, Tokens: []httpapi.Token{
		{Name: "viewer", Value: viewerToken, Role: httpapi.RoleViewer},
		{Name: "alice", Value: operatorToken, Role: httpapi.RoleOperator},
	}}
	b.srv = httptest.NewServer(s.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

func (b *testBundle) do(t *testing.T, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp, out
}

func TestAuthorization(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code                            string
	}{
		{"no token", "GET", "/api/messages", "", "", 401, seam.EUNAUTHORIZED},
		{"wrong token", "GET", "/api/messages", "nope-nope-nope-nope", "", 401, seam.EUNAUTHORIZED},
		{"viewer reads", "GET", "/api/messages", viewerToken, "", 200, ""},
		{"viewer may not replay", "POST", "/api/replay", viewerToken, `{"flow":"orders"}`, 403, seam.EFORBIDDEN},
		{"viewer may not reload", "POST", "/api/reload", viewerToken, "", 403, seam.EFORBIDDEN},
		{"operator replays", "POST", "/api/replay", operatorToken, `{"flow":"orders","reason":"fixed"}`, 200, ""},
		{"health needs no token", "GET", "/healthz", "", "", 200, ""},
		{"openapi needs no token", "GET", "/api/openapi.json", "", "", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			resp, body := b.do(t, tc.method, tc.path, tc.token, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%v", body)
			if tc.code != "" {
				require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
				require.Equal(t, tc.code, body["code"])
				require.NotEmpty(t, body["detail"])
			}
			if tc.status == 401 {
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
}

func TestReplayRecordsTheActor(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, _ := b.do(t, "POST", "/api/replay", operatorToken, `{"flow":"orders","dry_run":true}`)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "alice", b.ops.replayed.Actor, "the audit log must say who replayed")
	require.True(t, b.ops.replayed.DryRun)
	require.Equal(t, "orders", b.ops.replayed.Flow)
}

func TestBadRequestsAreProblems(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, method, path, body string
		status                   int
	}{
		{"unknown field in replay", "POST", "/api/replay", `{"flwo":"orders"}`, 400},
		{"malformed JSON", "POST", "/api/replay", `{`, 400},
		{"bad limit", "GET", "/api/messages?limit=ten", "", 400},
		{"bad since", "GET", "/api/messages?since=yesterday", "", 400},
		{"bad id", "GET", "/api/messages/abc", "", 400},
		{"missing message", "GET", "/api/messages/99", "", 404},
		{"unknown endpoint", "GET", "/api/nothing", "", 404},
		{"no intake here", "POST", "/in/unknown", "{}", 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			resp, body := b.do(t, tc.method, tc.path, operatorToken, tc.body)
			require.Equal(t, tc.status, resp.StatusCode, "%v", body)
			require.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"))
			require.NotEmpty(t, body["detail"])
		})
	}
}

func TestListFiltersReachTheLedger(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, body := b.do(t, "GET", "/api/messages?flow=orders&key=ES-1&limit=5&before=100", viewerToken, "")
	require.Equal(t, 200, resp.StatusCode)
	f := b.ledger.lastMessages
	require.Equal(t, "orders", f.Flow)
	require.Equal(t, "ES-1", f.Key)
	require.Equal(t, 5, f.Limit)
	require.EqualValues(t, 100, f.BeforeID)
	require.Len(t, body["messages"], 1)
}

func TestOpenAPIDescribesEveryEndpoint(t *testing.T) {
	t.Parallel()
	b := setup(t)
	resp, doc := b.do(t, "GET", "/api/openapi.json", "", "")
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "3.1.0", doc["openapi"])
	paths := doc["paths"].(map[string]any)
	for _, p := range []string{"/api/messages", "/api/messages/{id}", "/api/deliveries", "/api/deliveries/{id}",
		"/api/replay", "/api/quarantine", "/api/quarantine/{id}", "/api/quarantine/{id}/replay",
		"/api/quarantine/{id}/discard", "/api/audit", "/api/trace/{key}", "/api/reload", "/api/flows", "/healthz", "/readyz"} {
		require.Contains(t, paths, p)
	}
}

func TestEmptyListsAreArraysNotNull(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tc := range []struct{ path, name string }{
		{"/api/deliveries", "deliveries"}, {"/api/quarantine", "quarantine"}, {"/api/audit", "audit"},
	} {
		resp, body := b.do(t, "GET", tc.path, viewerToken, "")
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, []any{}, body[tc.name], "%s must answer [] so clients can iterate", tc.path)
	}
}
