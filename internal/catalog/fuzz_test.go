package catalog_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
)

// fuzzTargets are the files FuzzLoad writes its input to, chosen by its
// first argument modulo their number.
var fuzzTargets = []string{"flows/eshop-orders.yaml", "seam.yaml", "systems/erp.yaml", "models/order.yaml"}

// FuzzLoad loads the base project with one of its files replaced by
// arbitrary bytes. Whatever the bytes, Load returns (no panic, no hang, no
// runaway memory: YAML alias bombs included), every diagnostic names a file
// and a place in it, and a catalog without errors has every flow compiled.
//
// Run it with a bound on minimisation, or the engine spends its time
// minimising inputs whose coverage differs only by map order:
//
//	go test ./internal/catalog -run '^$' -fuzz FuzzLoad -fuzztime 60s -fuzzminimizetime 100x
func FuzzLoad(f *testing.F) {
	for i, name := range fuzzTargets {
		b, err := os.ReadFile(filepath.Join("testdata", "base", filepath.FromSlash(name)))
		require.NoError(f, err)
		f.Add(uint8(i), b)
	}
	cases, err := filepath.Glob(filepath.Join("testdata", "diagnostics", "*.txtar"))
	require.NoError(f, err)
	for _, c := range cases {
		ar, err := txtar.ParseFile(c)
		require.NoError(f, err)
		for _, file := range ar.Files {
			for i, name := range fuzzTargets {
				if file.Name == name || strings.HasPrefix(file.Name, filepath.ToSlash(filepath.Dir(name))+"/") {
					f.Add(uint8(i), file.Data)
				}
			}
		}
	}
	// Inputs that have taken YAML decoders down before.
	nested := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'j'; i++ {
		bomb += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for _, s := range []string{
		"flow: f\ntests: [{name: t, input: " + nested + "}]\n",
		"flow: f\nlookups: {t: " + strings.Repeat("{a: ", 5000) + "1" + strings.Repeat("}", 5000) + "}\n",
		bomb + "flow: f\ntests: [{name: t, input: *j}]\n",
		"flow: f\nowner: &o {x: *o}\n",
		"\ufeffflow: f\n",
		"flow: \x00\n",
		"flow: f\r\nowner: ops\r\n",
		"%YAML 1.1\n---\nflow: f\n",
		"!!binary flow: f\n",
		"flow: !!int f\n",
		"? [a, b]\n: c\n",
	} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, target uint8, data []byte) {
		if len(data) > 1<<16 {
			t.Skip("catalog files are small")
		}
		dir := copyBase(t)
		name := fuzzTargets[int(target)%len(fuzzTargets)]
		require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.FromSlash(name)), data, 0o644))

		// A hang crashes the fuzzing process, which keeps the input.
		watchdog := time.AfterFunc(10*time.Second, func() {
			panic(fmt.Sprintf("Load did not return within 10s for %s = %q", name, data))
		})
		c, diags := catalog.Load(dir, baseOptions())
		watchdog.Stop()

		lines := yamlLines(data)
		for _, d := range diags {
			require.NotEmpty(t, d.File, "diagnostic without a file: %s", d)
			require.GreaterOrEqual(t, d.Line, 0, "%s", d)
			require.GreaterOrEqual(t, d.Col, 0, "%s", d)
			require.NotEmpty(t, d.Msg, "%s", d)
			if d.File == name {
				require.LessOrEqual(t, d.Line, lines+1, "diagnostic past the end of the file: %s", d)
			}
		}
		if diags.Errors() == 0 {
			for _, fl := range c.Flows {
				require.NotNil(t, fl.Compiled, "flow %s has no errors but did not compile", fl.Name)
			}
		}
	})
}

// yamlLines counts lines the way the YAML parser does: \r\n, a lone \r,
// \n, NEL, LS and PS each end one.
func yamlLines(b []byte) int {
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	n := 1
	for _, r := range s {
		switch r {
		case '\n', '\r', '\u0085', '\u2028', '\u2029':
			n++
		}
	}
	return n
}
