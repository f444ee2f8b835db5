package sqlite

import (
	"database/sql/driver"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAssign pins the conversions the raw statements rely on, and that a
// column of an unexpected type is an error rather than a zero value.
func TestAssign(t *testing.T) {
	var (
		i64 int64
		i   int
		b   bool
		s   string
	)
	for _, c := range []struct {
		dst any
		v   driver.Value
	}{
		{&i64, int64(7)}, {&i, int64(3)}, {&b, int64(1)}, {&s, "erp"}, {&s, []byte("crm")},
	} {
		require.NoError(t, assign(c.dst, c.v))
	}
	require.Equal(t, int64(7), i64)
	require.Equal(t, 3, i)
	require.True(t, b)
	require.Equal(t, "crm", s)

	for _, c := range []struct {
		dst any
		v   driver.Value
	}{
		{&i64, "7"}, {&i, nil}, {&b, "true"}, {&s, int64(1)}, {new(float64), 1.5},
	} {
		require.Error(t, assign(c.dst, c.v), "%T into %T", c.v, c.dst)
	}
}
