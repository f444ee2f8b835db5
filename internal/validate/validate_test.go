package validate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/govalues/decimal"
	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/validate"
	"github.com/seamhq/seam/mapping"
)

func loadCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"seam.yaml": "project: t\nowners: {o: {name: O}}\n",
		"models/ticket.yaml": `model: ticket
fields:
  id: {type: id, required: true}
  qty: {type: integer, min: 1, max: 10}
  price: {type: decimal, min: 0}
  code: {type: string, pattern: "^[A-Z]{3}$"}
  title: {type: string, max: 5}
  state: {type: enum, values: [open, closed]}
  when: date
  at: datetime
  email: email
  phone: phone
  country: country
  currency: currency
  tags: {type: list, of: string}
  extra: json
  total: money
  contact: {type: object, fields: {name: {type: string, required: true}}}
`,
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	c, diags := catalog.Load(dir, nil)
	require.Zero(t, diags.Errors(), "%v", diags)
	return c
}

func money(t *testing.T, amount string, rate int64) mapping.Money {
	t.Helper()
	a, err := decimal.Parse(amount)
	require.NoError(t, err)
	r, err := decimal.New(rate, 0)
	require.NoError(t, err)
	m, err := mapping.NewMoney(a, r, "gross", "CZK")
	if err != nil {
		// NewMoney refuses an out-of-range rate itself; build the value by
		// hand so that the validator's own check is what is tested.
		return mapping.Money{Amount: a, VatRate: r, Basis: "gross", Currency: "CZK"}
	}
	return m
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	c := loadCatalog(t)
	cases := []struct {
		name  string
		rec   map[string]any
		field string
		rule  string
		text  string
	}{
		{"required", map[string]any{}, "id", "required", "required"},
		{"empty required", map[string]any{"id": ""}, "id", "required", "required"},
		{"not a whole number", map[string]any{"id": "1", "qty": "2.5"}, "qty", "type", "whole number"},
		{"below min", map[string]any{"id": "1", "qty": 0}, "qty", "range", "below the minimum"},
		{"above max", map[string]any{"id": "1", "qty": 11}, "qty", "range", "above the maximum"},
		{"pattern", map[string]any{"id": "1", "code": "abc"}, "code", "format", "does not match"},
		{"too long", map[string]any{"id": "1", "title": "abcdef"}, "title", "length", "at most 5"},
		{"enum", map[string]any{"id": "1", "state": "pending"}, "state", "enum", "open, closed"},
		{"date as text in another format", map[string]any{"id": "1", "when": "03/04/2026"}, "when", "date", "date("},
		{"datetime without offset", map[string]any{"id": "1", "at": "2026-04-03 10:00"}, "at", "datetime", "RFC 3339"},
		{"email", map[string]any{"id": "1", "email": "Buyer <b@x.cz>"}, "email", "email", "email("},
		{"phone", map[string]any{"id": "1", "phone": "601 234 567"}, "phone", "phone", "E.164"},
		{"country", map[string]any{"id": "1", "country": "Czechia"}, "country", "country", "ISO 3166"},
		{"currency", map[string]any{"id": "1", "currency": "Kč"}, "currency", "currency", "ISO 4217"},
		{"money as plain number", map[string]any{"id": "1", "total": "1210.00"}, "total", "type", "money(amount, vat_rate)"},
		{"VAT rate out of range", map[string]any{"id": "1", "total": money(t, "10", 2100)}, "total.vat_rate", "range", "2100 is not a VAT rate (0–100)"},
		{"nested required", map[string]any{"id": "1", "contact": map[string]any{}}, "contact.name", "required", "required"},
		{"list item type", map[string]any{"id": "1", "tags": []any{"a", map[string]any{}}}, "tags[1]", "type", "expected text"},
		{"unknown field", map[string]any{"id": "1", "colour": "red"}, "colour", "unknown", "no field"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, reasons := validate.Record(c, "ticket", tc.rec)
			require.NotEmpty(t, reasons)
			var found *seam.Reason
			for i := range reasons {
				if reasons[i].Field == tc.field {
					found = &reasons[i]
				}
			}
			require.NotNil(t, found, "no reason for %s in %v", tc.field, reasons)
			require.Equal(t, seam.StageValidate, found.Stage)
			require.Equal(t, tc.rule, found.Rule)
			require.Contains(t, found.Message, tc.text)
		})
	}
}

func TestConversionsAndEveryReason(t *testing.T) {
	t.Parallel()
	c := loadCatalog(t)
	rec, reasons := validate.Record(c, "ticket", map[string]any{
		"id": 42.0, "qty": "3", "price": "12.50", "when": "2026-04-03", "extra": map[string]any{"any": []any{1, "x"}},
		"email": "b@x.cz", "phone": "+420601234567", "country": "CZ", "currency": "CZK", "state": "open",
	})
	require.Empty(t, reasons)
	require.Equal(t, "42", rec["id"], "an id sent as a number is text")
	require.Equal(t, int64(3), rec["qty"])
	require.Equal(t, "12.50", rec["price"].(decimal.Decimal).String())
	require.Equal(t, "2026-04-03", rec["when"].(mapping.Date).String())
	require.Equal(t, map[string]any{"any": []any{1, "x"}}, rec["extra"], "json passes through unchanged")

	// Every problem is reported, not only the first.
	_, reasons = validate.Record(c, "ticket", map[string]any{"qty": 0, "state": "x", "email": "nope"})
	var fields []string
	for _, r := range reasons {
		fields = append(fields, r.Field)
	}
	require.ElementsMatch(t, []string{"id", "qty", "state", "email"}, fields, strings.Join(fields, ","))
}
