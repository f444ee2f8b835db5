package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/seamhq/seam/internal/app"
	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/catalog"
)

// Helpers of the governance commands (map, docs, impact, plan, audit).

// loadLenient loads the project in dir and goes on when it has errors,
// with a warning: these commands only read the catalog, and a broken
// landscape is exactly when people need to see what is connected to what.
// Only a folder that is not a project at all is refused.
func (m *Main) loadLenient(dir string, stderr io.Writer) (*catalog.Catalog, catalog.Diagnostics, error) {
	c, diags := catalog.Load(dir, &catalog.Options{Env: os.LookupEnv})
	if c.Project == nil || c.Project.At.File == "" {
		for _, d := range diags {
			if d.Severity == catalog.SevError {
				fmt.Fprintln(stderr, d.String())
			}
		}
		return nil, diags, &exitError{code: ExitFindings, err: fmt.Errorf("no readable seam.yaml in %s", dir)}
	}
	if n := diags.Errors(); n > 0 {
		fmt.Fprintf(stderr, "warning: the catalog in %s has %s (seam validate %s); showing what could be read\n", dir, plural(n, "error"), dir)
	}
	return c, diags, nil
}

// openLedger opens the ledger named by --store, read for facts: sqlite:PATH
// (relative to the project, as in seam.yaml) or postgres://…. A SQLite
// file that does not exist is an error rather than a new empty ledger.
func openLedger(ctx context.Context, dsn, dir string) (audit.Ledger, func(), error) {
	if p, ok := strings.CutPrefix(dsn, "sqlite:"); ok {
		path, _, _ := strings.Cut(p, "?")
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, nil, usageErrorf("--store %s: no ledger at %s", dsn, path)
		}
	} else if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return nil, nil, usageErrorf("--store %s: write sqlite:PATH or postgres://…", dsn)
	}
	st, err := app.OpenStore(ctx, dsn, dir, slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, nil, &exitError{code: ExitFindings, err: err}
	}
	return st, func() { _ = st.Close() }, nil
}

// writeOut writes b to path, or to w when path is "" or "-".
func writeOut(w io.Writer, path string, b []byte) error {
	if path == "" || path == "-" {
		_, err := w.Write(b)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
