package redact_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/redact"
)

func TestPersonalFieldsAreMaskedAtAnyDepth(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "seam.yaml"), []byte("project: t\nowners: {o: {name: O}}\n"), 0o644))
	c, diags := catalog.Load(dir, nil)
	require.Zero(t, diags.Errors(), "%v", diags)

	rec := map[string]any{
		"id":       "ES-1",
		"customer": map[string]any{"company_name": "Acme s.r.o.", "email": "buyer@acme.cz", "first_name": "Jan", "phone": "+420601234567"},
		"note":     "leave at the door",
	}
	got := redact.Record(c, "order", rec)
	require.Equal(t, map[string]any{
		"id":       "ES-1",
		"customer": map[string]any{"company_name": "Acme s.r.o.", "email": redact.Mask, "first_name": redact.Mask, "phone": redact.Mask},
		"note":     "leave at the door",
	}, got)
	require.Equal(t, "buyer@acme.cz", rec["customer"].(map[string]any)["email"], "the record itself is untouched")
}
