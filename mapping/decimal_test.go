package mapping

import (
	"encoding/json"
	"testing"

	"github.com/govalues/decimal"
	"github.com/stretchr/testify/require"
)

func TestParseDecimal(t *testing.T) {
	t.Parallel()
	czech := Conventions{DecimalSeparator: ",", ThousandsSeparator: " "}
	german := Conventions{DecimalSeparator: ",", ThousandsSeparator: "."}
	english := Conventions{DecimalSeparator: ".", ThousandsSeparator: ","}
	tests := []struct {
		name    string
		in      string
		conv    Conventions
		want    string
		wantErr string
	}{
		{name: "plain", in: "1210.00", want: "1210.00"},
		{name: "negative", in: "-0.005", want: "-0.005"},
		{name: "plus sign and spaces", in: " +12.5 ", want: "12.5"},
		{name: "german grouping", in: "1.210,00", conv: german, want: "1210.00"},
		{name: "english grouping", in: "1,210.00", conv: english, want: "1210.00"},
		{name: "czech grouping", in: "1 210,00", conv: czech, want: "1210.00"},
		{name: "czech grouping with no-break space", in: "1\u00a0210,00", conv: czech, want: "1210.00"},
		{name: "czech grouping with narrow no-break space", in: "1\u202f210\u202f000,5", conv: czech, want: "1210000.5"},
		{name: "ungrouped under grouping conventions", in: "1210,00", conv: german, want: "1210.00"},
		{name: "german 1.210 is a thousand", in: "1.210", conv: german, want: "1210"},
		{name: "1.210 without declared grouping is ambiguous", in: "1.210", conv: Conventions{DecimalSeparator: ","}, wantErr: `"1.210" uses ".", which is neither the decimal separator "," nor a declared thousands separator; it could mean either`},
		{name: "1,210 without declared grouping is ambiguous", in: "1,210", wantErr: "it could mean either"},
		{name: "english amount read as german", in: "1,210.00", conv: german, wantErr: `"1,210.00" uses "." where the system declares decimal separator "," and thousands separator "."`},
		{name: "bad grouping", in: "12.10,00", conv: german, wantErr: `does not group thousands by three with "."`},
		{name: "bad trailing group", in: "1.2100", conv: german, wantErr: "does not group thousands by three"},
		{name: "letters", in: "12a", wantErr: `"12a" is not a number (unexpected "a")`},
		{name: "currency sign", in: "$12", wantErr: "is not a number"},
		{name: "exponent refused", in: "1e5", wantErr: "is not a number"},
		{name: "empty", in: "", wantErr: "is not a number"},
		{name: "only sign", in: "-", wantErr: "is not a number"},
		{name: "trailing separator", in: "12.", wantErr: "ends with the decimal separator"},
		{name: "too many digits", in: "12345678901234567890", wantErr: "significant digits"},
		{name: "NaN", in: "NaN", wantErr: "is not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDecimal(tt.in, tt.conv)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got.String())
		})
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		amount, rate    string
		basis, currency string
		net, gross, vat string
		wantErr         string
	}{
		{name: "spec example", amount: "1210.00", rate: "21", basis: "gross", currency: "CZK", net: "1000.00", gross: "1210.00", vat: "210.00"},
		{name: "gross 99.99 at 21 %", amount: "99.99", rate: "21", basis: "gross", currency: "CZK", net: "82.64", gross: "99.99", vat: "17.35"},
		{name: "net to gross", amount: "82.64", rate: "21", basis: "net", currency: "EUR", net: "82.64", gross: "99.99", vat: "17.35"},
		{name: "zero VAT", amount: "100", rate: "0", basis: "gross", currency: "CZK", net: "100.00", gross: "100.00", vat: "0.00"},
		{name: "refund", amount: "-1210.00", rate: "21", basis: "gross", currency: "CZK", net: "-1000.00", gross: "-1210.00", vat: "-210.00"},
		{name: "half rounds away from zero", amount: "0.005", rate: "0", basis: "net", currency: "CZK", net: "0.01", gross: "0.01", vat: "0.00"},
		{name: "negative half rounds away from zero", amount: "-0.005", rate: "0", basis: "net", currency: "CZK", net: "-0.01", gross: "-0.01", vat: "0.00"},
		{name: "just under half", amount: "-0.0049", rate: "0", basis: "net", currency: "CZK", net: "0.00", gross: "0.00", vat: "0.00"},
		{name: "yen has no minor unit", amount: "1210", rate: "10", basis: "gross", currency: "JPY", net: "1100", gross: "1210", vat: "110"},
		{name: "dinar has three", amount: "1.2345", rate: "10", basis: "net", currency: "BHD", net: "1.235", gross: "1.358", vat: "0.123"},
		{name: "reduced rate", amount: "112", rate: "12", basis: "gross", currency: "CZK", net: "100.00", gross: "112.00", vat: "12.00"},
		{name: "unknown currency", amount: "1", rate: "21", basis: "gross", currency: "XYZ", wantErr: `"XYZ" is not an ISO 4217 currency code`},
		{name: "no currency", amount: "1", rate: "21", basis: "gross", wantErr: "has no currency"},
		{name: "rate out of range", amount: "1", rate: "2100", basis: "gross", currency: "CZK", wantErr: "2100 is not a VAT rate (0–100)"},
		{name: "bad basis", amount: "1", rate: "21", basis: "brutto", currency: "CZK", wantErr: `"brutto" is not a price basis`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := NewMoney(decimal.MustParse(tt.amount), decimal.MustParse(tt.rate), tt.basis, tt.currency)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.net, m.Net.String(), "net")
			require.Equal(t, tt.gross, m.Gross.String(), "gross")
			require.Equal(t, tt.vat, m.Vat.String(), "vat")
		})
	}
}

func TestDecimalExpressions(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"gross": "1210.00", "rate": json.Number("21"), "qty": json.Number("3"), "price": "19.99",
		"f": 2.5, "n": 2, "s": "x",
	}
	tests := []struct {
		name    string
		expr    string
		want    any
		wantErr string
	}{
		{name: "decimal plus decimal", expr: `decimal(in.gross) + decimal("0.01")`, want: "1210.01"},
		{name: "decimal times int", expr: `decimal(in.price) * 3`, want: "59.97"},
		{name: "int times decimal", expr: `3 * decimal(in.price)`, want: "59.97"},
		{name: "json number times decimal", expr: `in.qty * decimal(in.price)`, want: "59.97"},
		{name: "division", expr: `decimal(in.gross) / (1 + in.rate / 100)`, want: "1000"},
		{name: "subtraction", expr: `decimal("0.3") - decimal("0.1")`, want: "0.2"},
		{name: "no float error", expr: `decimal("0.1") + decimal("0.2") == decimal("0.3")`, want: true},
		{name: "compare with int", expr: `decimal(in.gross) > 1000`, want: true},
		{name: "compare json number with int", expr: `in.rate == 21`, want: true},
		{name: "scale does not matter for equality", expr: `decimal("1.0") == decimal("1.00")`, want: true},
		{name: "less or equal", expr: `decimal("1.00") <= 1`, want: true},
		{name: "float side", expr: `decimal("1.5") + in.f`, want: "4.0"},
		{name: "negation", expr: `-decimal(in.price)`, want: "-19.99"},
		{name: "round half up", expr: `round(decimal("2.345"), 2)`, want: "2.35"},
		{name: "round negative half up", expr: `round(decimal("-2.345"), 2)`, want: "-2.35"},
		{name: "money parts", expr: `money(in.gross, in.rate).net + money(in.gross, in.rate).vat`, want: "1210.00"},
		{name: "net and gross functions", expr: `net(money(in.gross, in.rate)) < gross(money(in.gross, in.rate))`, want: true},
		{name: "plain ints stay ints", expr: `in.n + 1`, want: 3},
		{name: "strings concatenate", expr: `"eshop:" + in.s`, want: "eshop:x"},
		{name: "division by zero", expr: `decimal(in.gross) / 0`, wantErr: "division by zero"},
		{name: "missing operand", expr: `decimal(in.gross) + in.nope`, wantErr: "a value in the calculation is missing"},
		{name: "money is not a number", expr: `money(in.gross, in.rate) + 1`, wantErr: "money cannot be used in arithmetic directly"},
		{name: "text is not a number", expr: `decimal(in.gross) + in.s`, wantErr: "cannot combine a number and text"},
	}
	sc := &Scope{Inbound: true, Conventions: Conventions{Prices: "gross", Currency: "CZK"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.expr, sc)
			require.NoError(t, err)
			got, err := p.Eval(&Env{In: in})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if d, ok := got.(Decimal); ok {
				got = d.String()
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAppendDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, ds, ts, want string
	}{
		{name: "canonical", in: "1234567.50", ds: ".", want: "1234567.50"},
		{name: "comma", in: "1000.00", ds: ",", want: "1000,00"},
		{name: "czech", in: "1234567.50", ds: ",", ts: " ", want: "1 234 567,50"},
		{name: "negative english", in: "-1234.5", ds: ".", ts: ",", want: "-1,234.5"},
		{name: "integer", in: "123", ds: ",", ts: ".", want: "123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, string(appendDecimal(nil, decimal.MustParse(tt.in), tt.ds, tt.ts)))
		})
	}
}

func FuzzParseDecimal(f *testing.F) {
	for _, s := range [][3]string{
		{"1210.00", ".", ""}, {"1.210,00", ",", "."}, {"1,210.00", ".", ","}, {"1 210,00", ",", " "},
		{"1\u00a0210,00", ",", " "}, {"-0.005", ".", ""}, {"1.210", ",", ""}, {"9999999999999999999", ".", ""},
		{"0.0000000000000000001", ".", ""}, {"1'234.5", ".", "'"}, {"", ".", ""}, {"--1", ".", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, s, ds, ts string) {
		c := Conventions{DecimalSeparator: ds, ThousandsSeparator: ts}
		if c.Check() != nil {
			return
		}
		d, err := ParseDecimal(s, c)
		if err != nil {
			return
		}
		out := string(appendDecimal(nil, d, c.decimalSep(), ts))
		again, err := ParseDecimal(out, c)
		require.NoError(t, err, "re-parsing %q (from %q)", out, s)
		require.Equal(t, 0, d.Cmp(again), "%s != %s", d, again)
		require.Equal(t, d.Scale(), again.Scale())
	})
}
