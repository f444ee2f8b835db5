package docsgen_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/audit/audittest"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/docsgen"
)

var update = flag.Bool("update", false, "rewrite testdata/*")

func noEnv(string) (string, bool) { return "", false }

func load(t *testing.T, dir string) *catalog.Catalog {
	t.Helper()
	c, diags := catalog.Load(dir, &catalog.Options{Env: noEnv})
	require.NotNil(t, c.Project, "%v", diags)
	return c
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
	require.NoError(t, err, "run go test ./internal/docsgen -update to create it")
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
				t.Fatalf("%s differs from the output at line %d (run go test ./internal/docsgen -update)\nwant: %.300q\n got: %.300q", path, i+1, w, g)
			}
		}
	}
}

// checkHTML parses a page as XML-ish HTML enough to catch unbalanced
// tags: every page must at least have one <main> and close it.
func checkHTML(t *testing.T, name string, b []byte) {
	t.Helper()
	s := string(b)
	require.True(t, strings.HasPrefix(s, "<!DOCTYPE html>"), name)
	require.Equal(t, 1, strings.Count(s, "<main>"), name)
	require.Equal(t, 1, strings.Count(s, "</main>"), name)
	for _, external := range []string{`src="http`, `src="//`, `rel="stylesheet" href="http`, "url(http", "@import"} {
		require.False(t, strings.Contains(s, external), "%s: refers to an external asset (%s)", name, external)
	}
	require.Equal(t, strings.Count(s, "<table"), strings.Count(s, "</table>"), name)
	require.Equal(t, strings.Count(s, "<tr"), strings.Count(s, "</tr>"), name)
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dir string
		ledger    bool
		pages     []string
	}{
		{"scaffold", "../scaffold/project", false, []string{"index.html", "flows/eshop-orders.html", "systems/erp.html", "models/order.html"}},
		{"messy", "../audit/testdata/messy", false, []string{"flows/crm-customers.html", "flows/tmp-stock-fix.html", "systems/erp.html"}},
		{"messy-live", "../audit/testdata/messy", true, []string{"index.html", "flows/erp-orders.html", "audit.html"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := load(t, tc.dir)
			var opts docsgen.Options
			if tc.ledger {
				st := audittest.MessyLedger(t, c, filepath.Join(t.TempDir(), "seam.db"))
				t.Cleanup(func() { _ = st.Close() })
				facts, err := audit.Gather(context.Background(), st, c, audittest.Now)
				require.NoError(t, err)
				r, err := audit.Run(context.Background(), c, audit.Options{Ledger: st, Now: audittest.Now})
				require.NoError(t, err)
				opts = docsgen.Options{Facts: facts, Audit: r}
			}
			files, err := docsgen.Render(c, opts)
			require.NoError(t, err)
			for name, b := range files {
				if strings.HasSuffix(name, ".html") {
					checkHTML(t, name, b)
				}
			}
			for _, p := range tc.pages {
				require.Contains(t, files, p)
				golden(t, filepath.Join(tc.name, p), files[p])
			}
			// Every flow and system has a page, and the map is in the index.
			for _, f := range c.FlowNames() {
				require.Contains(t, files, "flows/"+f+".html")
			}
			for _, s := range c.SystemNames() {
				require.Contains(t, files, "systems/"+s+".html")
			}
			require.Contains(t, string(files["index.html"]), "<svg")
			require.Contains(t, string(files["search.js"]), "var SEAM_INDEX = [")
		})
	}
}

// TestMapSVGIsValidXML makes sure the map embedded in the index parses.
func TestMapSVGIsValidXML(t *testing.T) {
	t.Parallel()
	files, err := docsgen.Render(load(t, "../audit/testdata/messy"), docsgen.Options{})
	require.NoError(t, err)
	s := string(files["index.html"])
	svg := s[strings.Index(s, "<svg"):]
	svg = svg[:strings.Index(svg, "</svg>")+len("</svg>")]
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
	}
}

func TestGenerateWritesOnlyChangedFiles(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	c := load(t, "../scaffold/project")
	r, err := docsgen.Generate(c, out, docsgen.Options{})
	require.NoError(t, err)
	require.Contains(t, r.Written, "index.html")
	require.Empty(t, r.Unchanged)

	r, err = docsgen.Generate(c, out, docsgen.Options{})
	require.NoError(t, err)
	require.Empty(t, r.Written, "nothing changed")
	require.Contains(t, r.Unchanged, "flows/eshop-orders.html")

	// A page of a flow that is gone is removed; a page seam did not write
	// is left alone.
	require.NoError(t, os.WriteFile(filepath.Join(out, "flows", "old-flow.html"), []byte("<!DOCTYPE html><meta name=\"generator\" content=\"seam docs\">"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(out, "flows", "notes.html"), []byte("<p>mine</p>"), 0o644))
	c.Flows["eshop-orders"].Title = "A new title"
	r, err = docsgen.Generate(c, out, docsgen.Options{})
	require.NoError(t, err)
	require.Contains(t, r.Written, "flows/eshop-orders.html")
	require.Equal(t, []string{"flows/old-flow.html"}, r.Removed)
	_, err = os.Stat(filepath.Join(out, "flows", "notes.html"))
	require.NoError(t, err)
	b, err := os.ReadFile(filepath.Join(out, "flows", "eshop-orders.html"))
	require.NoError(t, err)
	require.True(t, bytes.Contains(b, []byte("A new title")))
}
