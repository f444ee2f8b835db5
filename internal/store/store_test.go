package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

type fakeXRefs struct {
	got  *store.XRefFilter
	refs []*seam.XRef
	err  error
}

func (f *fakeXRefs) XRefList(_ context.Context, p *store.XRefFilter) ([]*seam.XRef, error) {
	f.got = p
	return f.refs, f.err
}

func TestXRefLookup(t *testing.T) {
	t.Parallel()
	f := &fakeXRefs{refs: []*seam.XRef{{Value: "55012"}}}
	id, ok := store.XRefLookup(context.Background(), f)("erp", "order", "ES-1042")
	require.True(t, ok)
	require.Equal(t, "55012", id)
	require.Equal(t, &store.XRefFilter{System: "erp", Entity: "order", Key: "ES-1042", Limit: 1}, f.got)

	for _, miss := range []*fakeXRefs{{}, {err: errors.New("disk")}} {
		_, ok := store.XRefLookup(context.Background(), miss)("erp", "order", "ES-1")
		require.False(t, ok)
	}
}
