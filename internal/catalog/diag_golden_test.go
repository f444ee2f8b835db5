package catalog_test

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/diagnostics/*.txtar")

// baseEnv defines every ${…} the base project refers to, so that it loads
// without warnings and the tests never read the process environment.
var baseEnv = map[string]string{
	"CHAT_WEBHOOK_URL":  "https://chat.example/hook",
	"SMTP_PASSWORD":     "smtp-password",
	"ESHOP_URL":         "https://eshop.example",
	"ERP_URL":           "https://erp.example",
	"ERP_PASSWORD":      "erp-password",
	"MAILING_URL":       "https://mailing.example",
	"MAILING_TOKEN":     "mailing-token",
	"ESHOP_HOOK_SECRET": "hook-secret",
}

func envLookup(env map[string]string) catalog.Lookup {
	return func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	}
}

func baseOptions() *catalog.Options { return &catalog.Options{Env: envLookup(baseEnv)} }

var (
	baseOnce  sync.Once
	baseFiles map[string][]byte // relative slash path → content
	baseErr   error
)

// copyBase copies testdata/base into a new temporary folder.
func copyBase(t testing.TB) string {
	t.Helper()
	baseOnce.Do(func() {
		baseFiles = map[string][]byte{}
		src := filepath.Join("testdata", "base")
		baseErr = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			b, err := os.ReadFile(path)
			baseFiles[filepath.ToSlash(rel)] = b
			return err
		})
	})
	require.NoError(t, baseErr)
	dir := t.TempDir()
	for name, b := range baseFiles {
		path := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, b, 0o644))
	}
	return dir
}

// deletePrefix names a txtar section that removes a base file instead of
// writing one: "-- -delete-/flows/erp-customers.yaml --".
const deletePrefix = "-delete-/"

// applyOverlay writes the archive's files over the project in dir: a file
// replaces the base file of the same name (or adds one), and a section named
// -delete-/PATH removes PATH. The want section is not a file.
func applyOverlay(t testing.TB, dir string, ar *txtar.Archive) {
	t.Helper()
	for _, f := range ar.Files {
		if f.Name == "want" {
			continue
		}
		if p, ok := strings.CutPrefix(f.Name, deletePrefix); ok {
			require.NoError(t, os.Remove(filepath.Join(dir, filepath.FromSlash(p))), "delete %s", p)
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(f.Name))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, f.Data, 0o644))
	}
}

// render formats diagnostics exactly as `seam validate` prints them.
func render(ds catalog.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		b.WriteString(d.String())
		b.WriteString("\n")
	}
	return b.String()
}

func TestBaseProjectIsValid(t *testing.T) {
	t.Parallel()
	c, diags := catalog.Load(copyBase(t), baseOptions())
	require.Empty(t, render(diags), "the base project must load without any diagnostic")
	require.Len(t, c.Flows, 2)
	require.Len(t, c.Systems, 3)
	for _, name := range c.FlowNames() {
		require.NotNil(t, c.Flows[name].Compiled, "flow %s compiled", name)
	}
}

func TestBaseProjectWarnsAboutUnsetSecrets(t *testing.T) {
	t.Parallel()
	_, diags := catalog.Load(copyBase(t), &catalog.Options{Env: envLookup(nil)})
	require.Zero(t, diags.Errors(), render(diags))
	require.Equal(t, len(baseEnv), diags.Warnings(), render(diags))
	for _, d := range diags {
		require.Equal(t, catalog.SevWarning, d.Severity)
		require.Contains(t, d.Msg, "environment variable")
		require.Positive(t, d.Line)
		require.Positive(t, d.Col)
	}
}

// TestGoldenDiagnostics loads the base project with each case's files laid
// over it and compares what `seam validate` would print with the case's
// want section. Run with -update to rewrite the want sections, then read
// every changed one: it must name the right file, line and column, and say
// something a person can act on.
func TestGoldenDiagnostics(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "diagnostics", "*.txtar"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 30, "the golden cases")
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			require.NoError(t, err)
			dir := copyBase(t)
			applyOverlay(t, dir, ar)
			_, diags := catalog.Load(dir, baseOptions())
			// The temporary folder differs on each run.
			got := strings.ReplaceAll(render(diags), dir, "$PROJECT")
			for _, d := range diags {
				require.NotEmpty(t, d.File, "every diagnostic names its file: %s", d)
				require.False(t, filepath.IsAbs(d.File), "file names are relative to the project: %s", d)
			}
			if *update {
				writeWant(t, file, ar, got)
				return
			}
			want := ""
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
				}
			}
			require.NotEmpty(t, want, "%s has no want section; run with -update", file)
			require.Equal(t, want, got, "diagnostics of %s", file)
		})
	}
}

func writeWant(t *testing.T, file string, ar *txtar.Archive, got string) {
	t.Helper()
	found := false
	for i := range ar.Files {
		if ar.Files[i].Name == "want" {
			ar.Files[i].Data = []byte(got)
			found = true
		}
	}
	if !found {
		ar.Files = append(ar.Files, txtar.File{Name: "want", Data: []byte(got)})
	}
	b := txtar.Format(ar)
	old, err := os.ReadFile(file)
	require.NoError(t, err)
	if !bytes.Equal(old, b) {
		require.NoError(t, os.WriteFile(file, b, 0o644))
	}
}
