package catalog_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam/bench/validate/gen"
	"github.com/seamhq/seam/internal/catalog"
)

// BenchmarkLoad200 loads the catalog that `go run ./bench/validate` times:
// 200 flows across 12 systems.
func BenchmarkLoad200(b *testing.B) {
	dir := b.TempDir()
	_, err := gen.Write(dir, 200)
	require.NoError(b, err)
	opts := &catalog.Options{Env: gen.Env}
	c, diags := catalog.Load(dir, opts)
	require.Empty(b, diags.Error())
	require.Len(b, c.Flows, 200)
	b.ReportAllocs()
	for b.Loop() {
		catalog.Load(dir, opts)
	}
}

// TestGeneratedCatalogIsValid keeps the benchmark's catalog honest: a
// benchmark of a catalog full of errors would time the wrong thing.
func TestGeneratedCatalogIsValid(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := gen.Write(dir, 20)
	require.NoError(t, err)
	c, diags := catalog.Load(dir, &catalog.Options{Env: gen.Env})
	require.Empty(t, diags.Error())
	require.Len(t, c.Flows, 20)
	for _, f := range c.Flows {
		require.NotNil(t, f.Compiled, f.Name)
	}
}
