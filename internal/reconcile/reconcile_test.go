package reconcile_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/reconcile"
	"github.com/seamhq/seam/internal/store"
	"github.com/seamhq/seam/internal/store/sqlite"
)

// now is when every check runs; the default window is the 24h before it.
var now = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

const (
	seamYAML = `project: recon
owners:
  ecommerce: {name: E-commerce team, email: eshop@acme.example}
`
	eshopYAML = `system: eshop
owner: ecommerce
`
	erpYAML = `system: erp
owner: ecommerce
base_url: "${ERP_URL}"
auth: {bearer: "${ERP_TOKEN}"}
`
	noteYAML = `model: note
fields:
  id: {type: id, required: true}
  amount: decimal
`
	flowHead = `flow: eshop-orders
owner: ecommerce
source: {system: eshop, webhook: {path: /in/eshop/orders}}
model: note
key: in.id
map: {id: in.id, amount: in.amount}
routes:
  - to: erp
    http: {path: /api/orders}
    map: {OrderRef: id, NetAmount: amount}
reconcile:
`
)

type testBundle struct {
	ctx    context.Context
	dir    string
	ledger *sqlite.Store
	env    map[string]string
}

func setup(t *testing.T) *testBundle {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "seam.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })
	return &testBundle{ctx: t.Context(), dir: dir, ledger: st, env: map[string]string{}}
}

// load writes a project whose flow has the reconcile checks given (YAML,
// indented as list items under reconcile:) and loads it.
func (b *testBundle) load(t *testing.T, checks string) *catalog.Catalog {
	t.Helper()
	proj := filepath.Join(b.dir, "project")
	for name, body := range map[string]string{
		"seam.yaml": seamYAML, "systems/eshop.yaml": eshopYAML, "systems/erp.yaml": erpYAML,
		"models/note.yaml": noteYAML, "flows/eshop-orders.yaml": flowHead + checks,
	} {
		p := filepath.Join(proj, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	c, diags := catalog.Load(proj, &catalog.Options{Env: b.lookup})
	require.Zero(t, diags.Errors(), "%v", diags)
	return c
}

func (b *testBundle) lookup(name string) (string, bool) {
	v, ok := b.env[name]
	return v, ok
}

func (b *testBundle) runner() *reconcile.Runner {
	return &reconcile.Runner{Ledger: b.ledger, Env: b.lookup, Now: func() time.Time { return now }}
}

func (b *testBundle) run(t *testing.T, c *catalog.Catalog, check string) (*reconcile.Result, error) {
	t.Helper()
	f := c.Flows["eshop-orders"]
	for _, x := range f.Reconcile {
		if x.Name == check {
			return b.runner().Run(b.ctx, c, f, x)
		}
	}
	t.Fatalf("no check %s", check)
	return nil, nil
}

// order is one record in the ledger with its delivery to the ERP.
type order struct {
	key    string
	amount string // as the ERP is sent it, with a decimal comma
	at     time.Time
	state  seam.DeliveryState
}

func (b *testBundle) ingest(t *testing.T, orders ...order) {
	t.Helper()
	for _, o := range orders {
		res, err := b.ledger.MessageIngest(b.ctx, &store.IngestParams{
			Message: &seam.Message{Flow: "eshop-orders", System: "eshop", Key: o.key, Body: []byte(`{}`),
				Canonical: fmt.Appendf(nil, `{"id":%q,"amount":%q}`, o.key, strings.ReplaceAll(o.amount, ",", "."))},
			Deliveries: []*seam.Delivery{{Route: "erp", State: seam.DeliveryPending, IdempotencyKey: "eshop:" + o.key,
				Payload: fmt.Appendf(nil, `{"OrderRef":%q,"NetAmount":%q}`, o.key, o.amount)}},
			Node: "n1", Lease: time.Minute, Now: o.at,
		})
		require.NoError(t, err)
		if o.state == seam.DeliveryDelivered || o.state == seam.DeliveryDead {
			require.Len(t, res.Claimed, 1)
			_, err := b.ledger.DeliveryComplete(b.ctx, &store.CompleteParams{DeliveryID: res.Claimed[0].ID, Node: "n1",
				Attempt: &seam.Attempt{StartedAt: o.at, Status: 201}, State: o.state, Now: o.at})
			require.NoError(t, err)
		}
	}
}

// erpDB creates a SQLite database standing for the ERP's, with its orders.
func (b *testBundle) erpDB(t *testing.T, rows ...order) string {
	t.Helper()
	path := filepath.Join(b.dir, "erp.db")
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`CREATE TABLE orders (ref TEXT PRIMARY KEY, net_amount NUMERIC, created_at TEXT)`)
	require.NoError(t, err)
	for _, r := range rows {
		_, err := db.Exec(`INSERT INTO orders VALUES (?, ?, ?)`, r.key, strings.ReplaceAll(r.amount, ",", "."),
			r.at.UTC().Format("2006-01-02 15:04:05"))
		require.NoError(t, err)
	}
	b.env["ERP_DB"] = "sqlite:" + path
	return path
}

func ledgerOrders() []order {
	return []order{
		{"ES-1", "1000,00", now.Add(-3 * time.Hour), seam.DeliveryDelivered},
		{"ES-2", "250,50", now.Add(-2 * time.Hour), seam.DeliveryDelivered},
		{"ES-3", "99,50", now.Add(-time.Hour), seam.DeliveryDelivered},
		{"ES-4", "10,00", now.Add(-30 * time.Minute), seam.DeliveryDead},
		// Outside the window: two days ago.
		{"ES-0", "5,00", now.Add(-48 * time.Hour), seam.DeliveryDelivered},
	}
}

const sqliteChecks = `  - name: count
    left: {ledger: {route: erp, state: delivered}}
    right: {name: ERP, sql: {dsn: "${ERP_DB}", query: "SELECT count(*) FROM orders WHERE created_at >= :from AND created_at < :to",
            keys: "SELECT ref FROM orders WHERE created_at >= :from AND created_at < :to"}}
  - name: sum
    compare: sum
    left: {ledger: {route: erp, state: delivered, field: NetAmount}}
    right: {name: ERP, sql: {dsn: "${ERP_DB}", query: "SELECT sum(net_amount) FROM orders WHERE created_at >= :from AND created_at < :to"}}
  - name: received
    left: {ledger: {}}
    right: {name: ERP, sql: {driver: sqlite, dsn: "${ERP_DB}", query: "SELECT count(*) FROM orders WHERE created_at >= ? AND created_at < ?"}}
    tolerance: 25%
`

func TestSQLiteSide(t *testing.T) {
	t.Parallel()

	t.Run("CountsAgree", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...)
		b.erpDB(t, ledgerOrders()[:3]...)
		c := b.load(t, sqliteChecks)
		res, err := b.run(t, c, "count")
		require.NoError(t, err)
		require.True(t, res.Match, res.Detail())
		require.Equal(t, "3", res.Left.Value)
		require.Equal(t, "3", res.Right.Value)
		require.Equal(t, 3, res.Right.Keys)
		require.Equal(t, "count: ledger 3 = ERP 3", res.Summary())
		require.Equal(t, now.Add(-24*time.Hour), res.From)
		require.Equal(t, now, res.To)
	})

	t.Run("MissingOrderIsListed", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...)
		// The ERP lost ES-2 and has an order Seam never sent.
		erp := append([]order{}, ledgerOrders()[0], ledgerOrders()[2], order{key: "ERP-9", amount: "1", at: now.Add(-time.Hour)})
		erp = append(erp, order{key: "ERP-10", amount: "1", at: now.Add(-time.Hour)})
		b.erpDB(t, erp...)
		c := b.load(t, sqliteChecks)
		res, err := b.run(t, c, "count")
		require.NoError(t, err)
		require.False(t, res.Match)
		require.Equal(t, "1", res.Difference)
		require.Equal(t, []string{"ES-2"}, res.OnlyLeft)
		require.Equal(t, []string{"ERP-10", "ERP-9"}, res.OnlyRight)
		require.Equal(t, 3, res.KeysDiffer)
		require.Equal(t, "count: ledger 3 ≠ ERP 4", res.Summary())
		require.Contains(t, res.Detail(), "Only in ledger: ES-2. Only in ERP: ERP-10, ERP-9.")
	})

	t.Run("SameCountOtherKeysIsAMismatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...)
		erp := append([]order{}, ledgerOrders()[:2]...)
		b.erpDB(t, append(erp, order{key: "ERP-9", amount: "1", at: now.Add(-time.Hour)})...)
		res, err := b.run(t, b.load(t, sqliteChecks), "count")
		require.NoError(t, err)
		require.Equal(t, res.Left.Value, res.Right.Value)
		require.False(t, res.Match, "one order missing and another extra is not a match")
		require.Equal(t, []string{"ES-3"}, res.OnlyLeft)
	})

	t.Run("SumsWithDecimalCommaAgree", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...)
		b.erpDB(t, ledgerOrders()[:3]...)
		res, err := b.run(t, b.load(t, sqliteChecks), "sum")
		require.NoError(t, err)
		require.True(t, res.Match, res.Detail())
		require.Equal(t, "1350", res.Left.Value)
		require.Equal(t, "1350", res.Right.Value)
		require.Equal(t, 3, res.Left.Keys)
		require.Equal(t, -1, res.Right.Keys, "no keys query: nothing to compare keys with")
		require.Zero(t, res.KeysDiffer)
	})

	t.Run("PositionalParametersAndTolerance", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...) // 4 records received in the window
		b.erpDB(t, ledgerOrders()[:3]...)
		res, err := b.run(t, b.load(t, sqliteChecks), "received")
		require.NoError(t, err)
		require.Equal(t, "4", res.Left.Value)
		require.Equal(t, "3", res.Right.Value)
		require.True(t, res.Match, "3 is within 25% of 4")
		require.Equal(t, "received: ledger 4 = ERP 3 (within 25%)", res.Summary())
	})

	t.Run("QueriesCannotWrite", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		path := b.erpDB(t, ledgerOrders()[:1]...)
		c := b.load(t, `  - name: sneaky
    left: {sql: {dsn: "${ERP_DB}", query: "DELETE FROM orders RETURNING 1"}}
    right: {sql: {dsn: "${ERP_DB}", query: "SELECT 1"}}
`)
		_, err := b.run(t, c, "sneaky")
		require.Error(t, err)
		db, err := sql.Open("sqlite", path)
		require.NoError(t, err)
		defer db.Close()
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM orders").Scan(&n))
		require.Equal(t, 1, n)
	})

	t.Run("BadQueries", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.erpDB(t)
		c := b.load(t, `  - name: two-columns
    left: {sql: {dsn: "${ERP_DB}", query: "SELECT 1, 2"}}
    right: {sql: {dsn: "${ERP_DB}", query: "SELECT 1"}}
  - name: no-row
    left: {sql: {dsn: "${ERP_DB}", query: "SELECT 1 WHERE 0"}}
    right: {sql: {dsn: "${ERP_DB}", query: "SELECT 1"}}
  - name: text
    left: {sql: {dsn: "${ERP_DB}", query: "SELECT 'many'"}}
    right: {sql: {dsn: "${ERP_DB}", query: "SELECT 1"}}
`)
		for check, want := range map[string]string{
			"two-columns": "2 columns", "no-row": "no row", "text": `"many" is not a number`,
		} {
			_, err := b.run(t, c, check)
			require.ErrorContains(t, err, want, check)
			require.ErrorContains(t, err, "left", check)
		}
	})

	t.Run("NullSumIsZero", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.erpDB(t)
		c := b.load(t, `  - name: empty
    compare: sum
    left: {ledger: {route: erp, field: NetAmount}}
    right: {sql: {dsn: "${ERP_DB}", query: "SELECT sum(net_amount) FROM orders"}}
`)
		res, err := b.run(t, c, "empty")
		require.NoError(t, err)
		require.True(t, res.Match)
		require.Equal(t, "0", res.Right.Value)
	})
}

func TestLedgerSideNeedsALedger(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.erpDB(t)
	c := b.load(t, sqliteChecks)
	f := c.Flows["eshop-orders"]
	_, err := (&reconcile.Runner{Env: b.lookup}).Run(b.ctx, c, f, f.Reconcile[0])
	require.ErrorContains(t, err, "the ledger is not open here")
	require.True(t, reconcile.NeedsLedger(c, "", ""))
	require.False(t, reconcile.NeedsLedger(c, "other-flow", ""))
}

func TestHTTPSide(t *testing.T) {
	t.Parallel()

	type erpAPI struct {
		srv   *httptest.Server
		count int
		refs  []string
		got   []string // from and to as received
	}
	newERP := func(t *testing.T, b *testBundle) *erpAPI {
		t.Helper()
		api := &erpAPI{}
		api.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer erp-token" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			api.got = append(api.got, r.URL.Query().Get("from"), r.URL.Query().Get("to"))
			w.Header().Set("Content-Type", "application/json")
			switch r.URL.Path {
			case "/api/reports/orders":
				fmt.Fprintf(w, `{"data": {"count": %d, "currency": "CZK"}}`, api.count)
			case "/api/orders/refs":
				items := make([]map[string]any, 0, len(api.refs))
				for _, ref := range api.refs {
					items = append(items, map[string]any{"ref": ref})
				}
				_ = json.NewEncoder(w).Encode(map[string]any{"orders": items})
			default:
				http.NotFound(w, r)
			}
		}))
		t.Cleanup(api.srv.Close)
		b.env["ERP_URL"], b.env["ERP_TOKEN"] = api.srv.URL, "erp-token"
		return api
	}
	const checks = `  - name: erp-count
    lag: 10m
    window: 1d
    left: {ledger: {route: erp}}
    right: {http: {system: erp, path: "/api/reports/orders?from={from}&to={to}", json_path: data.count,
            keys_path: "/api/orders/refs?from={from}&to={to}", keys_json_path: orders.*.ref}}
  - name: no-such-field
    left: {ledger: {route: erp}}
    right: {http: {system: erp, path: /api/reports/orders, json_path: data.total}}
  - name: not-found
    left: {ledger: {route: erp}}
    right: {http: {system: erp, path: /api/nothing}}
`

	t.Run("CountAndKeys", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		b.ingest(t, ledgerOrders()...)
		api := newERP(t, b)
		api.count, api.refs = 3, []string{"ES-1", "ES-2", "ES-9"}
		res, err := b.run(t, b.load(t, checks), "erp-count")
		require.NoError(t, err)
		// ES-4 is dead, but without state: every delivery counts.
		require.Equal(t, "4", res.Left.Value)
		require.Equal(t, "3", res.Right.Value)
		require.False(t, res.Match)
		require.Equal(t, []string{"ES-3", "ES-4"}, res.OnlyLeft)
		require.Equal(t, []string{"ES-9"}, res.OnlyRight)
		require.Equal(t, "erp", res.Right.Label)
		require.Equal(t, "GET /api/reports/orders", res.Right.Source, "no query in messages: it may hold a key")
		to := now.Add(-10 * time.Minute)
		require.Equal(t, []string{to.Add(-24 * time.Hour).Format(time.RFC3339), to.Format(time.RFC3339)}, api.got[:2])
	})

	t.Run("Errors", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		newERP(t, b)
		c := b.load(t, checks)
		_, err := b.run(t, c, "no-such-field")
		require.ErrorContains(t, err, `nothing at json path "data.total"`)
		_, err = b.run(t, c, "not-found")
		require.ErrorContains(t, err, "GET /api/nothing: 404 Not Found")

		b.env["ERP_TOKEN"] = "wrong"
		_, err = b.run(t, c, "erp-count")
		require.ErrorContains(t, err, "401 Unauthorized")
	})
}

// TestExternalDatabases runs SQL sides against MariaDB and PostgreSQL when
// CI points SEAM_TEST_MARIADB and SEAM_TEST_POSTGRES at them.
func TestExternalDatabases(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, env, driver, createTable string
	}{
		{"MariaDB", "SEAM_TEST_MARIADB", "mysql", "CREATE TABLE %s (ref VARCHAR(32) PRIMARY KEY, net_amount DECIMAL(12,2), created_at DATETIME(6))"},
		{"PostgreSQL", "SEAM_TEST_POSTGRES", "postgres", "CREATE TABLE %s (ref TEXT PRIMARY KEY, net_amount NUMERIC(12,2), created_at TIMESTAMPTZ)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dsn := os.Getenv(tc.env)
			if dsn == "" {
				t.Skipf("%s is not set: no %s to reconcile against (CI sets it)", tc.env, tc.name)
			}
			b := setup(t)
			b.ingest(t, ledgerOrders()...)

			driverName := map[string]string{"mysql": "mysql", "postgres": "pgx"}[tc.driver]
			db, err := sql.Open(driverName, dsn)
			require.NoError(t, err)
			defer db.Close()
			table := fmt.Sprintf("seam_recon_%d", time.Now().UnixNano())
			_, err = db.Exec(fmt.Sprintf(tc.createTable, table))
			require.NoError(t, err)
			t.Cleanup(func() { _, _ = db.Exec("DROP TABLE " + table) })
			insert := "INSERT INTO " + table + " VALUES (?, ?, ?)"
			if tc.driver == "postgres" {
				insert = "INSERT INTO " + table + " VALUES ($1, $2, $3)"
			}
			// ES-2 is missing; ES-0 is outside the window.
			for _, o := range []order{ledgerOrders()[0], ledgerOrders()[2], ledgerOrders()[4]} {
				_, err := db.Exec(insert, o.key, strings.ReplaceAll(o.amount, ",", "."), o.at)
				require.NoError(t, err)
			}

			b.env["ERP_DB"] = dsn
			c := b.load(t, fmt.Sprintf(`  - name: count
    left: {ledger: {route: erp, state: delivered}}
    right: {sql: {driver: %[1]s, dsn: "${ERP_DB}", query: "SELECT count(*) FROM %[2]s WHERE created_at >= :from AND created_at < :to",
            keys: "SELECT ref FROM %[2]s WHERE created_at >= :from AND created_at < :to -- ':to' in a comment stays"}}
  - name: sum
    compare: sum
    tolerance: 251
    left: {ledger: {route: erp, state: delivered, field: NetAmount}}
    right: {sql: {driver: %[1]s, dsn: "${ERP_DB}", query: "SELECT sum(net_amount) FROM %[2]s WHERE created_at BETWEEN :from AND :to AND ref <> ':from'"}}
`, tc.driver, table))

			res, err := b.run(t, c, "count")
			require.NoError(t, err)
			require.False(t, res.Match)
			require.Equal(t, "3", res.Left.Value)
			require.Equal(t, "2", res.Right.Value)
			require.Equal(t, []string{"ES-2"}, res.OnlyLeft)
			require.Empty(t, res.OnlyRight)

			res, err = b.run(t, c, "sum")
			require.NoError(t, err)
			require.Equal(t, "1350", res.Left.Value)
			require.Equal(t, "1099.5", res.Right.Value)
			require.Equal(t, "250.5", res.Difference)
			require.True(t, res.Match, "within the tolerance of 251")
		})
	}
}
