package lineage_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/lineage"
)

var update = flag.Bool("update", false, "rewrite testdata/*")

func noEnv(string) (string, bool) { return "", false }

func graph(t *testing.T, dir string) *lineage.Graph {
	t.Helper()
	c, diags := catalog.Load(dir, &catalog.Options{Env: noEnv})
	require.NotNil(t, c.Project, "%v", diags)
	return lineage.Build(c, nil)
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/lineage -update to create it")
	if string(want) != string(got) {
		wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
		for i := range max(len(wl), len(gl)) {
			var w, g string
			if i < len(wl) {
				w = wl[i]
			}
			if i < len(gl) {
				g = gl[i]
			}
			if w != g {
				t.Fatalf("%s differs from the output at line %d (run go test ./internal/lineage -update)\nwant: %.300q\n got: %.300q", path, i+1, w, g)
			}
		}
	}
}

// TestImpactGolden writes the text and JSON impact of a few queries on the
// example project and the messy one.
func TestImpactGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ project, dir, query string }{
		{"scaffold", "../scaffold/project", "eshop.order.total_gross"},
		{"scaffold", "../scaffold/project", "eshop.order.email"},
		{"scaffold", "../scaffold/project", "erp"},
		{"scaffold", "../scaffold/project", "order.customer.email"},
		{"scaffold", "../scaffold/project", "eshop.order.no_such_field"},
		{"messy", "../audit/testdata/messy", "crm.customer.email"},
		{"messy", "../audit/testdata/messy", "erp.order.VatRate"},
		{"messy", "../audit/testdata/messy", "eshop.order"},
	} {
		t.Run(tc.project+"/"+tc.query, func(t *testing.T) {
			t.Parallel()
			g := graph(t, tc.dir)
			q, err := g.ParseQuery(tc.query)
			require.NoError(t, err)
			im := g.Impact(q)
			var text, js bytes.Buffer
			require.NoError(t, lineage.WriteImpact(&text, im))
			enc := json.NewEncoder(&js)
			enc.SetIndent("", "  ")
			require.NoError(t, enc.Encode(im))
			golden(t, filepath.Join("impact", tc.project, tc.query+".txt"), text.Bytes())
			golden(t, filepath.Join("impact", tc.project, tc.query+".json"), js.Bytes())
		})
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	g := graph(t, "../scaffold/project")
	for _, tc := range []struct {
		in   string
		want lineage.Query
		err  string
	}{
		{in: "erp", want: lineage.Query{System: "erp"}},
		{in: "erp.order", want: lineage.Query{System: "erp", Entity: "order"}},
		{in: "erp.order.total.net", want: lineage.Query{System: "erp", Entity: "order", Field: "total.net"}},
		{in: "order.total", want: lineage.Query{Entity: "order", Field: "total", Canonical: true}},
		{in: "epr", err: `there is no system "epr"`},
		{in: "erp.ordr", err: `there is no entity (model) "ordr"`},
		{in: "", err: "say what to analyse"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			q, err := g.ParseQuery(tc.in)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, q)
		})
	}
	_, err := g.ParseQuery("epr")
	var qe *lineage.QueryError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, `did you mean "erp"?`, qe.Hint)
}

func TestChainsAndFeeds(t *testing.T) {
	t.Parallel()
	g := graph(t, "../audit/testdata/messy")
	f := g.Flow("erp-orders")
	require.Equal(t, []string{"eshop-orders", "eshop-orders-v2", "marketplace-orders"}, f.Upstream)
	require.Equal(t, []string{"invoicing-orders"}, f.Downstream)
	require.Equal(t, [][]string{{"eshop-orders", "erp-orders", "invoicing-orders", "accounting-orders"}}, g.Chains("eshop-orders", 0))
	up := g.UpstreamChains("accounting-orders", 0)
	require.Len(t, up, 3)
	require.Equal(t, "accounting-orders", up[0][len(up[0])-1])
	// The loop is followed once round, not for ever.
	for _, c := range g.Chains("crm-customers", 0) {
		require.LessOrEqual(t, len(c), 3, strings.Join(c, " → "))
	}
	require.True(t, g.Flow("crm-customers").Route("helpdesk").EchoSuppressed)
	require.False(t, g.Flow("crm-customers").Route("erp").EchoSuppressed)
}

func TestReconciliationSeam(t *testing.T) {
	t.Parallel()
	c, _ := catalog.Load("../scaffold/project", &catalog.Options{Env: noEnv})
	g := lineage.Build(c, &lineage.Options{Reconciliations: []lineage.Reconciliation{
		{Name: "erp-net-total", Owner: "finance", Reads: []lineage.FieldRef{{System: "erp", Entity: "order", Field: "NetAmount"}}},
		{Name: "mailing-count", Owner: "ecommerce", Reads: []lineage.FieldRef{{System: "mailing", Entity: "order"}}},
	}})
	q, err := g.ParseQuery("eshop.order.total_gross")
	require.NoError(t, err)
	im := g.Impact(q)
	require.Equal(t, []string{"erp-net-total"}, im.Reconciliations)
	require.Contains(t, im.Owners[1].Why, "owns reconciliation check erp-net-total")
}

func TestTypeOf(t *testing.T) {
	t.Parallel()
	c, _ := catalog.Load("../scaffold/project", &catalog.Options{Env: noEnv})
	for src, want := range map[string]string{
		"total.net":                         "decimal",
		"total":                             "money",
		"ordered_on":                        "date",
		"customer.email":                    "email",
		"lower(id)":                         "string",
		`"order-received"`:                  "string",
		`"ES-" + id`:                        "string",
		"format_date(ordered_on, \"YYYY\")": "string",
		"lines":                             "list of order_line",
		"id ?? customer.id":                 "",
	} {
		require.Equal(t, want, lineage.TypeOf(c, "order", src), src)
	}
}

// TestCatalogReconciliations reads the reconciliation checks declared on
// flows: a count reconciled against the ERP is reached by a change to the
// e-shop's orders, not by a change to one field.
func TestCatalogReconciliations(t *testing.T) {
	t.Parallel()
	c, _ := catalog.Load("../scaffold/project", &catalog.Options{Env: noEnv})
	c.Flows["eshop-orders"].Reconcile = []*catalog.Reconcile{{
		Name:  "orders-reach-erp",
		Left:  catalog.ReconcileSide{Ledger: &catalog.LedgerSide{Route: "erp"}},
		Right: catalog.ReconcileSide{HTTP: &catalog.HTTPSide{System: "erp", Path: "/api/count"}},
	}}
	g := lineage.Build(c, nil)
	require.Equal(t, []lineage.Reconciliation{{Name: "eshop-orders/orders-reach-erp", Owner: "ecommerce", Reads: []lineage.FieldRef{
		{System: "erp", Entity: "order"}, {System: "erp", Entity: "order"},
	}}}, g.Reconciliations)
	q, err := g.ParseQuery("eshop.order")
	require.NoError(t, err)
	require.Equal(t, []string{"eshop-orders/orders-reach-erp"}, g.Impact(q).Reconciliations)
	q, err = g.ParseQuery("eshop.order.email")
	require.NoError(t, err)
	require.Empty(t, g.Impact(q).Reconciliations)
}
