package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/audit/audittest"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/cli"
)

// TestAuditAndDocsWithLedger runs seam audit and seam docs with --store on
// the messy project's planted ledger: the ledger rules fire, and the docs
// show live facts.
func TestAuditAndDocsWithLedger(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "audit", "testdata", "messy")
	c, _ := catalog.Load(dir, &catalog.Options{Env: func(string) (string, bool) { return "", false }})
	db := filepath.Join(t.TempDir(), "seam.db")
	st := audittest.MessyLedger(t, c, db)
	require.NoError(t, st.Close())

	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		code := (&cli.Main{Stdout: &out, Stderr: &errOut}).Run(context.Background(), args)
		return code, out.String()
	}
	code, out := run("audit", dir, "--store", "sqlite:"+db, "--now", "2026-04-15T12:00:00Z", "--fail-on", "critical")
	require.Equal(t, cli.ExitFindings, code, out)
	require.Contains(t, out, "score 34/100 (F)")
	require.Contains(t, out, "error-hot-spot  29 % of 41 deliveries of erp-orders to invoicing")
	require.Contains(t, out, "silent-flow  flow crm-contacts has had no record for 12d")

	site := t.TempDir()
	code, out = run("docs", dir, "--out", site, "--store", "sqlite:"+db)
	require.Equal(t, cli.ExitOK, code, out)
	page, err := os.ReadFile(filepath.Join(site, "flows", "erp-orders.html"))
	require.NoError(t, err)
	require.Contains(t, string(page), "Live facts from the ledger")
	require.Contains(t, string(page), `<span class="problem">8</span>`) // dead letters
}
