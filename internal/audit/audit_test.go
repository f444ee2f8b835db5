package audit_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/audit/audittest"
	"github.com/seamhq/seam/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*")

// noEnv resolves no ${…}: the projects' secrets are then warnings, which
// the audit ignores, and nothing depends on the machine.
func noEnv(string) (string, bool) { return "", false }

func load(t *testing.T, dir string) (*catalog.Catalog, catalog.Diagnostics) {
	t.Helper()
	c, diags := catalog.Load(dir, &catalog.Options{Env: noEnv})
	require.NotNil(t, c.Project, "%s did not load: %v", dir, diags)
	return c, diags
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/audit -update to create it")
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
				t.Fatalf("%s differs from the output at line %d (run go test ./internal/audit -update)\nwant: %.300q\n got: %.300q", path, i+1, w, g)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	type testBundle struct {
		report *audit.Report
	}
	setup := func(t *testing.T, dir string, ledger bool) *testBundle {
		t.Helper()
		c, diags := load(t, dir)
		opts := audit.Options{Diagnostics: diags, Now: audittest.Now}
		if ledger {
			st := audittest.MessyLedger(t, c, filepath.Join(t.TempDir(), "seam.db"))
			t.Cleanup(func() { _ = st.Close() })
			opts.Ledger = st
		}
		r, err := audit.Run(context.Background(), c, opts)
		require.NoError(t, err)
		return &testBundle{report: r}
	}
	for _, tc := range []struct {
		name, dir string
		ledger    bool
	}{
		{"scaffold", "../scaffold/project", false},
		{"messy", "testdata/messy", false},
		{"messy-ledger", "testdata/messy", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tc.dir, tc.ledger)
			for _, format := range []string{"text", "markdown", "json", "html"} {
				var buf bytes.Buffer
				require.NoError(t, audit.Write(&buf, b.report, format))
				ext := map[string]string{"text": "txt", "markdown": "md", "json": "json", "html": "html"}[format]
				golden(t, tc.name+"."+ext, buf.Bytes())
			}
		})
	}
}

// TestMessyFindsEveryPlantedProblem checks the audit against the list of
// planted problems in testdata/messy/README.md: every planted problem is
// found, and nothing else is.
func TestMessyFindsEveryPlantedProblem(t *testing.T) {
	t.Parallel()
	c, diags := load(t, "testdata/messy")
	st := audittest.MessyLedger(t, c, filepath.Join(t.TempDir(), "seam.db"))
	t.Cleanup(func() { _ = st.Close() })
	r, err := audit.Run(context.Background(), c, audit.Options{Diagnostics: diags, Ledger: st, Now: audittest.Now})
	require.NoError(t, err)

	readme, err := os.ReadFile("testdata/messy/README.md")
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(string(readme), "\n") {
		// Planted problems are listed as "| rule | subject | … |" rows.
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		want = append(want, strings.Trim(strings.TrimSpace(cells[1]), "`")+" "+strings.TrimSpace(cells[2]))
	}
	var got []string
	for _, f := range r.Findings {
		got = append(got, f.Rule+" "+f.Subject)
	}
	slices.Sort(want)
	slices.Sort(got)
	require.Equal(t, want, got)
}

func TestEveryRuleIsPlanted(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("testdata/messy/README.md")
	require.NoError(t, err)
	for _, r := range audit.Rules {
		if r.ID == "catalog-error" {
			continue // the messy project's errors are all owner ones, reported by their own rules
		}
		require.Contains(t, string(readme), "`"+r.ID+"`", "plant a %s problem in testdata/messy", r.ID)
	}
}

func TestCatalogErrorsBecomeFindings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"seam.yaml":          "project: broken\nowners: {a: {name: A, email: a@x.example}}\n",
		"systems/shop.yaml":  "system: shop\nowner: a\n",
		"flows/orders.yaml":  "flow: orders\ntitle: Orders\nowner: a\nrunbook: r\nsource: {system: shop, webhook: {path: /in/o}}\nmodel: order\nkey: in.id\nmap: {id: in.id, ordered_on: date(in.d), total: money(in.t, in.v)}\nroutes:\n  - {to: nowhere, http: {path: /x}, map: {a: id}}\nalerts: [{dead_letters: {above: 0}}]\ntests: [{name: t, input: {id: 1}}]\n",
		"flows/orders2.yaml": "flow: orders2\n",
	}
	for name, body := range files {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	c, diags := load(t, dir)
	r, err := audit.Run(context.Background(), c, audit.Options{Diagnostics: diags})
	require.NoError(t, err)
	var errs, owners []string
	for _, f := range r.Findings {
		switch f.Rule {
		case "catalog-error":
			errs = append(errs, f.At+" "+f.Message)
		case "flow-no-owner":
			owners = append(owners, f.Subject)
		}
	}
	require.Contains(t, strings.Join(errs, "\n"), `route to unknown system "nowhere"`)
	require.Equal(t, []string{"flow orders2"}, owners)
	for _, e := range errs {
		require.NotContains(t, e, `missing "owner"`, "reported by flow-no-owner instead")
	}
	require.True(t, r.Failed(audit.High))
}

func TestScore(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		score int
		grade string
	}{{100, "A"}, {90, "A"}, {89, "B"}, {75, "B"}, {60, "C"}, {40, "D"}, {39, "F"}, {0, "F"}} {
		require.Equal(t, tc.grade, audit.Grade(tc.score), "score %d", tc.score)
	}
}
