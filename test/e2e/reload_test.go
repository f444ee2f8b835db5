package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// POST /api/reload: a broken catalog on disk is refused and the running one
// stays (intake and delivery go on as before); a valid change is swapped
// in.
func TestReload(t *testing.T) {
	t.Parallel()
	sink := newSink(t)
	p := newProject(t, sink, Catalog{})
	hub, _ := startInProcess(t, p)

	delivered := func(t *testing.T, ref, path string) {
		t.Helper()
		hub.MustSend(t, order(ref, 1))
		sink.waitDelivered(t, 10*time.Second, []string{ref})
		st := sink.Stats()
		require.Equal(t, path, st.Effects["shop:"+ref].Path, "%s was delivered to the wrong path", ref)
	}
	reload := func(t *testing.T) (int, []byte) {
		t.Helper()
		return hub.API(t, http.MethodPost, "/api/reload", map[string]any{}, nil)
	}
	delivered(t, "RL-1", "/orders")

	for i, broken := range []struct {
		name  string
		files map[string]string
	}{
		{"YAML syntax error", map[string]string{"flows/orders.yaml": "flow: orders\nowner: [qa\n"}},
		{"flow without owner", map[string]string{"flows/orders.yaml": "flow: orders\nsource: {system: shop}\nmodel: order\nkey: in.order_no\nmap: {id: in.order_no}\nroutes: []\n"}},
		// Valid YAML and a valid catalog, but the new route's destination
		// needs a secret the environment does not have: the engine cannot
		// be built, so the catalog must not be swapped either.
		{"unresolvable secret", map[string]string{
			"systems/other.yaml": "system: other\nowner: qa\nbase_url: \"${OTHER_URL_NOT_SET}\"\n",
			"flows/other.yaml": `flow: other
owner: qa
source: {system: shop, webhook: {path: /in/other}}
model: order
key: in.order_no
map: {id: in.order_no, ordered_on: date(in.order_date), total: money(in.total_gross, in.vat_rate)}
routes:
  - to: other
    http: {method: POST, path: /x}
    map: {Ref: id}
`,
		}},
	} {
		t.Run(broken.name, func(t *testing.T) {
			for name, body := range broken.files {
				p.write(t, name, body)
			}
			status, body := reload(t)
			require.GreaterOrEqual(t, status, 400, "a broken catalog must be refused: %s", body)
			require.Less(t, status, 500, "a broken catalog is the operator's mistake, not an internal error: %s", body)
			// The running catalog stays: same intake, same route.
			delivered(t, fmt.Sprintf("RL-B%d", i), "/orders")
			// Restore the valid catalog for the next case.
			p.WriteFlow(t, Catalog{})
			for name := range broken.files {
				if name != "flows/orders.yaml" {
					removeFile(t, p, name)
				}
			}
		})
	}

	t.Run("valid change", func(t *testing.T) {
		p.WriteFlow(t, Catalog{RoutePath: "/orders-v2"})
		status, body := reload(t)
		require.Equal(t, http.StatusOK, status, "%s", body)
		delivered(t, "RL-2", "/orders-v2")
	})

	var audit struct {
		Audit []struct {
			Actor  string `json:"actor"`
			Reason string `json:"reason"`
		} `json:"audit"`
	}
	status, body := hub.API(t, http.MethodGet, "/api/audit?action=reload", nil, &audit)
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Len(t, audit.Audit, 4, "every reload is audited, refused or not: %s", body)
	refusedReloads := 0
	for _, e := range audit.Audit {
		require.Equal(t, tokenName, e.Actor)
		if e.Reason != "" {
			refusedReloads++
		}
	}
	require.Equal(t, 3, refusedReloads, "%s", body)
}
