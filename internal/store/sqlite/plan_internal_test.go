package sqlite

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// TestQueryPlans pins the indexes the delivery queries use. Most of them
// are partial (migration 005), which SQLite only uses when the query
// repeats the index's WHERE: a query edited without it would still pass
// every functional test and quietly scan the whole deliveries table, which
// after a month of retention is millions of rows per poll.
func TestQueryPlans(t *testing.T) {
	t.Parallel()
	st, err := Open(t.Context(), filepath.Join(t.TempDir(), "seam.db"), Options{})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, st.Close()) })

	plan := func(q string, args ...any) string {
		t.Helper()
		rows, err := st.rdb.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
		require.NoError(t, err)
		defer rows.Close()
		var lines []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			lines = append(lines, detail)
		}
		require.NoError(t, rows.Err())
		return strings.Join(lines, "\n")
	}
	// uses asserts the plan reads each index and never the whole table.
	uses := func(name, q string, args []any, indexes ...string) {
		t.Helper()
		p := plan(q, args...)
		for _, ix := range indexes {
			require.Contains(t, p, "USING INDEX "+ix, "%s: plan:\n%s", name, p)
		}
		for _, line := range strings.Split(p, "\n") {
			require.False(t, (strings.HasPrefix(line, "SCAN d") || strings.HasPrefix(line, "SCAN deliveries")) &&
				!strings.Contains(line, "USING"), "%s scans the deliveries table: plan:\n%s", name, p)
		}
	}

	claimArgs := []any{"n1", 2, 1, 10}
	uses("claim", fmt.Sprintf(qClaim, ""), claimArgs, "deliveries_claim", "deliveries_leased", "deliveries_head")
	uses("claim of some flows", fmt.Sprintf(qClaim, claimFlows), append(claimArgs, `["orders"]`), "deliveries_claim", "deliveries_leased")
	uses("release leases", qReleaseLeases, []any{"n1"}, "deliveries_leased")
	uses("ordered head at intake", qHeadOpen, []any{"f", "r", "k"}, "deliveries_head")
	uses("route stats", routeStatsQuery(false), nil, "deliveries_state", "deliveries_leased")
	uses("route stats of a flow", routeStatsQuery(true), []any{"orders"}, "deliveries_state", "deliveries_leased")
	q, args := deliveryListQuery(&store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryDead}})
	uses("dead letters", q, args, "deliveries_state")
	q, args = deliveryListQuery(&store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryInFlight}})
	uses("in flight", q, args, "deliveries_leased")

	// The dedupe check of a record reads the key's recent messages and the
	// partial index of the other dedupe keys, never the messages table.
	p := plan(qDedupe, "eshop:ES-1", "eshop", "ES-1", 1)
	require.Contains(t, p, "USING INDEX messages_key (key=? AND received_at>?)", "dedupe: plan:\n%s", p)
	require.Contains(t, p, "USING INDEX messages_dedupe (dedupe_key=? AND received_at>?)", "dedupe: plan:\n%s", p)
	require.NotRegexp(t, `(?m)^SCAN messages$`, p, "dedupe: plan:\n%s", p)

	// Route stats count every state from somewhere: in_flight from
	// deliveries_leased, delivered and skipped from route_totals (the
	// writer keeps them), the rest row by row from deliveries_state.
	for _, s := range []seam.DeliveryState{seam.DeliveryPending, seam.DeliveryRetrying, seam.DeliveryDead} {
		require.Contains(t, countedStates, "'"+string(s)+"'")
	}
	for _, s := range []seam.DeliveryState{seam.DeliveryDelivered, seam.DeliverySkipped} {
		require.NotContains(t, countedStates, "'"+string(s)+"'", "counted twice")
	}
	require.Contains(t, routeStatsQuery(false), "FROM route_totals")
}
