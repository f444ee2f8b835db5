package diagram_test

import (
	"bytes"
	"encoding/xml"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/diagram"
	"github.com/seamhq/seam/internal/lineage"
)

var update = flag.Bool("update", false, "rewrite testdata/*")

func noEnv(string) (string, bool) { return "", false }

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, got, 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/diagram -update to create it")
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
				t.Fatalf("%s differs from the output at line %d (run go test ./internal/diagram -update)\nwant: %.300q\n got: %.300q", path, i+1, w, g)
			}
		}
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	for name, dir := range map[string]string{"scaffold": "../scaffold/project", "messy": "../audit/testdata/messy"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			c, _ := catalog.Load(dir, &catalog.Options{Env: noEnv})
			require.NotNil(t, c.Project)
			g := lineage.Build(c, nil)
			for _, format := range diagram.Formats {
				var b bytes.Buffer
				require.NoError(t, diagram.Write(&b, g, format, nil))
				golden(t, name+"."+format, b.Bytes())
				if format == "svg" {
					checkSVG(t, b.Bytes())
				}
			}
		})
	}
}

// TestLarge draws 12 systems and 40 flows, the size the map must stay
// readable at, and checks that no two boxes overlap and every label fits
// its box (by the same text measure).
func TestLarge(t *testing.T) {
	t.Parallel()
	g := lineage.Build(large(), nil)
	var b bytes.Buffer
	require.NoError(t, diagram.Write(&b, g, "svg", &diagram.Options{
		Link:   func(kind, name string) string { return kind + "s/" + name + ".html" },
		Health: map[string]string{"eshop-order-00": "ok", "pim-product-02": "warn", "crm-customer-05": "bad"},
	}))
	golden(t, "large.svg", b.Bytes())
	checkSVG(t, b.Bytes())
}

// large is a landscape of 12 systems and 40 flows, built without YAML:
// systems in tiers as companies have them (sales channels, core systems,
// operations, finance, outputs), flows mostly to the next tier, some
// further, a few back (loops).
func large() *catalog.Catalog {
	tiers := [][]string{
		{"eshop", "marketplace", "pos", "pim"},
		{"crm", "erp"},
		{"warehouse", "invoicing"},
		{"shipping", "accounting"},
		{"mailing", "reporting"},
	}
	entities := []string{"order", "customer", "product", "invoice"}
	c := &catalog.Catalog{
		Project: &catalog.Project{Name: "large", Owners: map[string]*catalog.Owner{}},
		Systems: map[string]*catalog.System{}, Models: map[string]*catalog.Model{}, Flows: map[string]*catalog.Flow{},
	}
	owners := []string{"ecommerce", "sales", "finance", "logistics", "marketing"}
	for _, o := range owners {
		c.Project.Owners[o] = &catalog.Owner{Name: o, Email: o + "@x.example"}
	}
	for t, tier := range tiers {
		for _, s := range tier {
			c.Systems[s] = &catalog.System{Name: s, Title: strings.ToUpper(s[:1]) + s[1:], Owner: owners[t]}
		}
	}
	// A fixed pseudo-random sequence, so the landscape is the same every run.
	seed := uint32(7)
	next := func(n int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>16) % n
	}
	for i := range 40 {
		t := next(len(tiers) - 1)
		src := tiers[t][next(len(tiers[t]))]
		var routes []*catalog.Route
		seen := map[string]bool{src: true}
		for range 1 + next(3) {
			dt := t + 1
			switch next(10) {
			case 0:
				dt = next(t + 1) // back: a loop
			case 1, 2:
				dt = min(t+2, len(tiers)-1)
			}
			to := tiers[dt][next(len(tiers[dt]))]
			if seen[to] {
				continue
			}
			seen[to] = true
			routes = append(routes, &catalog.Route{Name: to, To: to})
		}
		name := fmt.Sprintf("%s-%s-%02d", src, entities[i%len(entities)], i)
		c.Flows[name] = &catalog.Flow{Name: name, Owner: owners[next(len(owners))], Model: entities[i%len(entities)],
			Source: catalog.Source{System: src}, Routes: routes}
	}
	return c
}

type svgRect struct {
	X, Y, W, H float64
}

var numRe = regexp.MustCompile(`^-?[0-9.]+$`)

// checkSVG parses the SVG (it must be well-formed XML) and checks that no
// two node boxes overlap.
func checkSVG(t *testing.T, b []byte) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(b))
	var rects []svgRect
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "rect" {
			continue
		}
		var r svgRect
		attrs := map[string]string{}
		for _, a := range se.Attr {
			attrs[a.Name.Local] = a.Value
		}
		if !numRe.MatchString(attrs["width"]) || attrs["stroke"] == "" {
			continue // the background
		}
		r.X, _ = strconv.ParseFloat(attrs["x"], 64)
		r.Y, _ = strconv.ParseFloat(attrs["y"], 64)
		r.W, _ = strconv.ParseFloat(attrs["width"], 64)
		r.H, _ = strconv.ParseFloat(attrs["height"], 64)
		if r.W <= 26 && r.H <= 16 {
			continue // legend swatches
		}
		rects = append(rects, r)
	}
	require.NotEmpty(t, rects)
	for i, a := range rects {
		for _, z := range rects[i+1:] {
			overlap := a.X < z.X+z.W && z.X < a.X+a.W && a.Y < z.Y+z.H && z.Y < a.Y+a.H
			require.False(t, overlap, "boxes overlap: %+v and %+v", a, z)
		}
	}
}
