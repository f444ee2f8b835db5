package cli_test

import (
	"database/sql"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/httpapi"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// reconcileProject writes a project whose flow reconciles the ledger
// against an ERP database (SQLite), and returns its folder and the ERP
// database's path.
func reconcileProject(t *testing.T) (dir, erp string) {
	t.Helper()
	dir = t.TempDir()
	erp = filepath.Join(dir, "erp.db")
	for name, body := range map[string]string{
		"seam.yaml": `project: recon
store: sqlite:./seam.db
owners:
  ecommerce: {name: E-commerce team, email: eshop@acme.example}
`,
		"systems/eshop.yaml": "system: eshop\nowner: ecommerce\n",
		"systems/erp.yaml":   "system: erp\nowner: ecommerce\nbase_url: http://erp.invalid\n",
		"models/note.yaml":   "model: note\nfields:\n  id: {type: id, required: true}\n",
		"flows/eshop-orders.yaml": `flow: eshop-orders
owner: ecommerce
source: {system: eshop, webhook: {path: /in/eshop/orders}}
model: note
key: in.id
map: {id: in.id}
routes:
  - to: erp
    http: {path: /api/orders}
    map: {OrderRef: id}
reconcile:
  - name: orders-reach-erp
    window: 30d
    left: {ledger: {route: erp}}
    right: {name: ERP, sql: {dsn: "${ERP_DB}", query: "SELECT count(*) FROM orders", keys: "SELECT ref FROM orders"}}
`,
	} {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	db, err := sql.Open("sqlite", erp)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec("CREATE TABLE orders (ref TEXT); INSERT INTO orders VALUES ('ES-1')")
	require.NoError(t, err)

	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	for _, key := range []string{"ES-1", "ES-2"} {
		_, err := st.MessageIngest(t.Context(), &store.IngestParams{Now: time.Now().Add(-time.Hour),
			Message:    &seam.Message{Flow: "eshop-orders", System: "eshop", Key: key, Body: []byte(`{}`)},
			Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, IdempotencyKey: key, Payload: []byte(`{}`)}}})
		require.NoError(t, err)
	}
	return dir, erp
}

func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	dir, erp := reconcileProject(t)
	env := map[string]string{"ERP_DB": "sqlite:" + erp}

	code, stdout, stderr := run(t, env, "reconcile", dir)
	require.Equal(t, 1, code, stderr)
	require.Regexp(t, `eshop-orders +orders-reach-erp +ledger 2 +ERP 1 +1 +0 +MISMATCH`, stdout)
	require.Contains(t, stdout, "only in ledger (1): ES-2")

	code, stdout, _ = run(t, env, "reconcile", dir, "--json")
	require.Equal(t, 1, code)
	var out []struct {
		Flow     string   `json:"flow"`
		Check    string   `json:"check"`
		Match    bool     `json:"match"`
		OnlyLeft []string `json:"only_left"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &out))
	require.Len(t, out, 1)
	require.Equal(t, "orders-reach-erp", out[0].Check)
	require.False(t, out[0].Match)
	require.Equal(t, []string{"ES-2"}, out[0].OnlyLeft)

	// --record leaves the incident a running Seam would notify.
	code, _, _ = run(t, env, "reconcile", dir, "--record")
	require.Equal(t, 1, code)
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	open, err := st.IncidentList(t.Context(), &store.IncidentFilter{State: seam.IncidentOpen})
	require.NoError(t, err)
	require.Len(t, open, 1)
	require.Equal(t, "reconciliation orders-reach-erp: ledger 2 ≠ ERP 1", open[0].Summary)

	db, err := sql.Open("sqlite", erp)
	require.NoError(t, err)
	_, err = db.Exec("INSERT INTO orders VALUES ('ES-2')")
	require.NoError(t, err)
	require.NoError(t, db.Close())
	code, stdout, stderr = run(t, env, "reconcile", dir, "--record", "--check", "orders-reach-erp")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `ledger 2 +ERP 2 +0 +0 +ok`, stdout)
	open, err = st.IncidentList(t.Context(), &store.IncidentFilter{State: seam.IncidentOpen})
	require.NoError(t, err)
	require.Empty(t, open, "the match resolved it")
}

func TestReconcileCommandErrors(t *testing.T) {
	t.Parallel()
	dir, erp := reconcileProject(t)

	code, _, stderr := run(t, map[string]string{"ERP_DB": "sqlite:" + erp}, "reconcile", dir, "--check", "nothing")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "no reconciliation check matches")

	code, stdout, _ := run(t, map[string]string{}, "reconcile", dir)
	require.Equal(t, 1, code)
	require.Contains(t, stdout, "could not run: reconcile eshop-orders/orders-reach-erp: right: dsn: environment variable ERP_DB is not set")

	code, _, stderr = run(t, map[string]string{"ERP_DB": "sqlite:" + erp}, "reconcile", dir, "--store", "sqlite:./elsewhere.db")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "no ledger at")
}

func TestAlertsCommand(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	defer st.Close()
	now := time.Now().UTC()
	_, _, err = st.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: "eshop-orders", Rule: "silence", Kind: "silence",
		Severity: "warning", Summary: "no records for 2h", Now: now.Add(-3 * time.Hour)})
	require.NoError(t, err)
	_, err = st.IncidentResolve(t.Context(), &store.IncidentResolveParams{Flow: "eshop-orders", Rule: "silence", Now: now.Add(-2 * time.Hour)})
	require.NoError(t, err)
	in, _, err := st.IncidentOpen(t.Context(), &store.IncidentOpenParams{Flow: "eshop-orders", Rule: "dead_letters", Kind: "dead_letters",
		Severity: "critical", Summary: "3 dead letters", Now: now.Add(-10 * time.Minute)})
	require.NoError(t, err)
	_, ok, err := st.IncidentClaimNotice(t.Context(), &store.NoticeClaimParams{ID: in.ID, Kind: seam.NoticeFiring, Node: "n", Lease: time.Minute, Now: now})
	require.NoError(t, err)
	require.True(t, ok)
	_, err = st.IncidentRecordNotice(t.Context(), &store.NoticeRecordParams{ID: in.ID, Kind: seam.NoticeFiring, Node: "n",
		Error: "chat: webhook https://hooks.example: 502 Bad Gateway", Now: now})
	require.NoError(t, err)

	const token = "viewer-token-0123456789"
	srv := httptest.NewServer((&httpapi.Server{Alerts: st, Tokens: []httpapi.Token{{Name: "v", Value: token, Role: httpapi.RoleViewer}}}).Handler())
	defer srv.Close()
	env := map[string]string{"SEAM_SERVER": srv.URL, "SEAM_TOKEN": token}

	code, stdout, stderr := run(t, env, "alerts")
	require.Equal(t, 0, code, stderr)
	require.Regexp(t, `(?m)^ID +STATE +SEVERITY +FLOW +RULE +SUMMARY +SINCE +FOR +NOTICES$`, stdout)
	require.Regexp(t, `(?m)^\d+ +FIRING +critical +eshop-orders +dead_letters +3 dead letters +.+ +10m +0 \(failing\)$`, stdout)
	require.Regexp(t, `(?m)^\d+ +resolved +warning +eshop-orders +silence +no records for 2h +.+ +1h +0$`, stdout)
	require.Contains(t, stdout, "notifying fails, retried every evaluation: chat: webhook https://hooks.example: 502 Bad Gateway")

	code, stdout, _ = run(t, env, "alerts", "--state", "open", "--json")
	require.Equal(t, 0, code)
	var res struct {
		Incidents []*seam.Incident `json:"incidents"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	require.Len(t, res.Incidents, 1)
	require.Equal(t, "dead_letters", res.Incidents[0].Rule)

	code, _, stderr = run(t, env, "alerts", "--state", "firing")
	require.Equal(t, 2, code)
	require.Contains(t, stderr, "use open, resolved or all")
}
