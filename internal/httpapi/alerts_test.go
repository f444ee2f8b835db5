package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/store"
)

// fakeAlerts answers one open incident and records the filter it got.
type fakeAlerts struct{ last *store.IncidentFilter }

func (f *fakeAlerts) IncidentList(_ context.Context, flt *store.IncidentFilter) ([]*seam.Incident, error) {
	f.last = flt
	return []*seam.Incident{{ID: 3, Flow: "eshop-orders", Rule: "silence", Kind: "silence", State: seam.IncidentOpen,
		Summary: "no records for 2h", OpenedAt: time.Date(2026, 3, 9, 8, 0, 0, 0, time.UTC), Notifications: 1}}, nil
}

var _ httpapi.Alerts = (*fakeAlerts)(nil)

func TestAlertsEndpoint(t *testing.T) {
	t.Parallel()
	get := func(t *testing.T, s *httpapi.Server, path string) (int, map[string]any) {
		t.Helper()
		srv := httptest.NewServer(s.Handler())
		defer srv.Close()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+viewerToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	tokens := []httpapi.Token{{Name: "viewer", Value: viewerToken, Role: httpapi.RoleViewer}}

	t.Run("ListsForAViewer", func(t *testing.T) {
		t.Parallel()
		fa := &fakeAlerts{}
		status, out := get(t, &httpapi.Server{Alerts: fa, Tokens: tokens}, "/api/alerts?state=open&flow=eshop-orders&limit=5")
		require.Equal(t, http.StatusOK, status)
		require.Equal(t, &store.IncidentFilter{State: seam.IncidentOpen, Flow: "eshop-orders", Limit: 5}, fa.last)
		list := out["incidents"].([]any)
		require.Len(t, list, 1)
		require.Equal(t, "no records for 2h", list[0].(map[string]any)["summary"])
	})

	t.Run("AllIsNoFilter", func(t *testing.T) {
		t.Parallel()
		fa := &fakeAlerts{}
		status, _ := get(t, &httpapi.Server{Alerts: fa, Tokens: tokens}, "/api/alerts?state=all")
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, fa.last.State)
	})

	t.Run("BadState", func(t *testing.T) {
		t.Parallel()
		status, out := get(t, &httpapi.Server{Alerts: &fakeAlerts{}, Tokens: tokens}, "/api/alerts?state=firing")
		require.Equal(t, http.StatusBadRequest, status)
		require.Equal(t, seam.EINVALID, out["code"])
	})

	t.Run("NoIncidentStore", func(t *testing.T) {
		t.Parallel()
		status, out := get(t, &httpapi.Server{Tokens: tokens}, "/api/alerts")
		require.Equal(t, http.StatusServiceUnavailable, status)
		require.Equal(t, seam.EUNAVAILABLE, out["code"])
	})
}

func TestOpenAPIDescribesAlerts(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer((&httpapi.Server{}).Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/openapi.json")
	require.NoError(t, err)
	defer resp.Body.Close()
	var doc struct {
		Paths      map[string]any `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&doc))
	require.Contains(t, doc.Paths, "/api/alerts")
	require.Contains(t, doc.Components.Schemas, "Incident")
}
