package lineage

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReads(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		src     string
		inbound bool
		want    []string
	}{
		{"input member", "in.order_no", true, []string{"order_no"}},
		{"nested input member", "lower(trim(in.customer.email))", true, []string{"customer.email"}},
		{"two inputs", "money(in.total_gross, in.vat_rate)", true, []string{"total_gross", "vat_rate"}},
		{"optional chain", "in?.customer?.email ?? in.mail", true, []string{"customer.email", "mail"}},
		{"index stops the path", "in.items[0].sku", true, []string{"items"}},
		{"quoted name", `in["order no"]`, true, []string{"order no"}},
		{"whole input", "in", true, []string{""}},
		{"in operator is not the input", `in.status in ["a", "b"]`, true, []string{"status"}},
		{"predicate object literal", "map(in.items, {sku: .sku, qty: .qty})", true, []string{"items"}},
		{"outbound path", "total.net", false, []string{"total.net"}},
		{"outbound field", "id", false, []string{"id"}},
		{"outbound call", `lower(customer.email) + "-" + id`, false, []string{"customer.email", "id"}},
		{"let variable", "let x = total.net; x", false, []string{"total.net"}},
		{"constant", `"order-received"`, false, nil},
		{"when", `customer.email != "" && origin != "crm"`, false, []string{"customer.email", "origin"}},
		{"lookup", `lookup("status", status, "x")`, false, []string{"status"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Reads(tc.src, tc.inbound)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestSuppressesEcho(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		when string
		want bool
	}{
		{`origin != "crm"`, true},
		{`"crm" != origin`, true},
		{`customer.email != "" && origin != "crm"`, true},
		{`origin not in ["crm", "erp"]`, true},
		{`!(origin == "crm")`, true},
		{`not (origin in ["crm"])`, true},
		{`origin == "crm"`, false},
		{`origin != "erp"`, false},
		{`customer.email != ""`, false},
		{``, false},
	} {
		t.Run(tc.when, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tc.want, suppressesEcho(tc.when, "crm"))
		})
	}
}

func TestPathsOverlap(t *testing.T) {
	t.Parallel()
	require.True(t, PathsOverlap("customer", "customer.email"))
	require.True(t, PathsOverlap("total.net", "total"))
	require.True(t, PathsOverlap("id", "id"))
	require.False(t, PathsOverlap("customer.email", "customer.phone"))
	require.False(t, PathsOverlap("total", "totals"))
}
