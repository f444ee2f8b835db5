package mapping

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in, fmt string
		want    Date
		wantErr string
	}{
		{name: "DD/MM reads 3 April", in: "03/04/2026", fmt: "DD/MM/YYYY", want: Date{2026, time.April, 3}},
		{name: "MM/DD reads 4 March", in: "03/04/2026", fmt: "MM/DD/YYYY", want: Date{2026, time.March, 4}},
		{name: "ISO default", in: "2026-04-03", fmt: "", want: Date{2026, time.April, 3}},
		{name: "compact", in: "20260403", fmt: "YYYYMMDD", want: Date{2026, time.April, 3}},
		{name: "D.M.YYYY single digits", in: "3.4.2026", fmt: "D.M.YYYY", want: Date{2026, time.April, 3}},
		{name: "D.M.YYYY padded", in: "03.04.2026", fmt: "D.M.YYYY", want: Date{2026, time.April, 3}},
		{name: "leap day", in: "29/02/2028", fmt: "DD/MM/YYYY", want: Date{2028, time.February, 29}},
		{name: "YY declared in format", in: "03/04/26", fmt: "DD/MM/YY", want: Date{2026, time.April, 3}},
		{name: "YY pivot to 1900s", in: "03/04/75", fmt: "DD/MM/YY", want: Date{1975, time.April, 3}},
		{name: "31 February refused", in: "31/02/2026", fmt: "DD/MM/YYYY", wantErr: `"31/02/2026" is not a valid date in DD/MM/YYYY (February 2026 has 28 days)`},
		{name: "29 February in a common year", in: "29/02/2026", fmt: "DD/MM/YYYY", wantErr: "February 2026 has 28 days"},
		{name: "month 13 refused", in: "03/13/2026", fmt: "DD/MM/YYYY", wantErr: "there is no month 13"},
		{name: "day 0 refused", in: "00/04/2026", fmt: "DD/MM/YYYY", wantErr: "there is no day 0"},
		{name: "two-digit year refused", in: "03/04/26", fmt: "DD/MM/YYYY", wantErr: `"03/04/26" has a two-digit year; declare two_digit_years: true on the system if that is intended`},
		{name: "ISO under DD/MM", in: "2026-04-03", fmt: "DD/MM/YYYY", wantErr: `does not match the date format DD/MM/YYYY`},
		{name: "trailing garbage", in: "03/04/2026x", fmt: "DD/MM/YYYY", wantErr: "does not match"},
		{name: "empty", in: "", fmt: "DD/MM/YYYY", wantErr: "does not match"},
		{name: "bad format", in: "03/04/2026", fmt: "dd/mm/yyyy", wantErr: "unknown token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDate(tt.in, tt.fmt)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDateFunctionConventions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		conv    Conventions
		expr    string
		in      string
		want    any
		wantErr string
	}{
		{name: "source DD/MM/YYYY", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: "date(in.d)", in: "03/04/2026", want: Date{2026, time.April, 3}},
		{name: "source MM/DD/YYYY", conv: Conventions{DateFormat: "MM/DD/YYYY"}, expr: "date(in.d)", in: "03/04/2026", want: Date{2026, time.March, 4}},
		{name: "explicit override", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: `date(in.d, "MM/DD/YYYY")`, in: "03/04/2026", want: Date{2026, time.March, 4}},
		{name: "two-digit year refused", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: "date(in.d)", in: "03/04/26", wantErr: "declare two_digit_years: true"},
		{name: "two-digit year declared", conv: Conventions{DateFormat: "DD/MM/YYYY", TwoDigitYears: true}, expr: "date(in.d)", in: "03/04/26", want: Date{2026, time.April, 3}},
		{name: "format_date", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: `format_date(date(in.d), "D.M.YYYY")`, in: "03/04/2026", want: "3.4.2026"},
		{name: "date fields", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: `date(in.d).month`, in: "03/04/2026", want: 4},
		{name: "dates compare", conv: Conventions{DateFormat: "DD/MM/YYYY"}, expr: `date(in.d) < date("04/04/2026")`, in: "03/04/2026", want: true},
		{name: "missing stays missing", conv: Conventions{}, expr: "date(in.nope)", in: "x", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile(tt.expr, &Scope{Inbound: true, Conventions: tt.conv})
			require.NoError(t, err)
			got, err := p.Eval(&Env{In: map[string]any{"d": tt.in}})
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDateTimeDST(t *testing.T) {
	t.Parallel()
	prague, err := time.LoadLocation("Europe/Prague")
	require.NoError(t, err)
	tests := []struct {
		name    string
		in, fmt string
		want    time.Time
		wantErr string
	}{
		{name: "ordinary local time", in: "27.11.2026 14:05", fmt: "DD.MM.YYYY HH:mm", want: time.Date(2026, 11, 27, 14, 5, 0, 0, prague)},
		{name: "summer local time", in: "2026-07-01T12:00:00", want: time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)},
		{name: "spring gap does not exist", in: "29.03.2026 02:30", fmt: "DD.MM.YYYY HH:mm", wantErr: "does not exist in Europe/Prague: the clocks jump forward"},
		{name: "autumn overlap is ambiguous", in: "25.10.2026 02:30", fmt: "DD.MM.YYYY HH:mm", wantErr: "happens twice in Europe/Prague because the clocks go back when daylight saving time ends; it is ambiguous without a UTC offset (+02:00 or +01:00)"},
		{name: "overlap with offset is fine", in: "2026-10-25T02:30:00+01:00", want: time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC)},
		{name: "overlap first with offset", in: "2026-10-25T02:30:00+02:00", want: time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC)},
		{name: "just after the gap", in: "29.03.2026 03:00", fmt: "DD.MM.YYYY HH:mm", want: time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC)},
		{name: "impossible date", in: "2026-02-31T10:00:00Z", wantErr: "February 2026 has 28 days"},
		{name: "garbage", in: "yesterday", wantErr: "is not an RFC 3339 datetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDateTime(tt.in, tt.fmt, "Europe/Prague")
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.True(t, tt.want.Equal(got), "got %v want %v", got, tt.want)
		})
	}
}

func TestConventionsCheck(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		conv Conventions
		want []string
	}{
		{name: "zero value is fine", conv: Conventions{}},
		{name: "e-shop is fine", conv: Conventions{DateFormat: "DD/MM/YYYY", Timezone: "Europe/Prague", Prices: "gross", Currency: "CZK", Country: "CZ"}},
		{name: "erp is fine", conv: Conventions{DateFormat: "MM/DD/YYYY", Prices: "net", Currency: "CZK", DecimalSeparator: ",", ThousandsSeparator: " "}},
		{name: "everything wrong", conv: Conventions{DateFormat: "dd/mm/yyyy", DateTimeFormat: "YYYY-MM-DD", Timezone: "Mars/Olympus", Prices: "brutto", Currency: "KCS", DecimalSeparator: ";", ThousandsSeparator: "_", Country: "Czechia"},
			want: []string{
				`date_format: "dd/mm/yyyy" has an unknown token "d" at position 1 (tokens are upper-case for dates: DD)`,
				`datetime_format: "YYYY-MM-DD" is a datetime format without HH and mm`,
				`timezone: "Mars/Olympus" is not an IANA timezone name (e.g. Europe/Prague, UTC)`,
				`prices: "brutto" is neither gross nor net`,
				`currency: "KCS" is not an ISO 4217 currency code with minor units (e.g. CZK, EUR, USD)`,
				`decimal_separator: ";" is not supported; use "." or ","`,
				`thousands_separator: "_" is not supported; use "", " ", ".", "," or "'"`,
				`country: "Czechia" is not an ISO 3166-1 alpha-2 code; did you mean CZ?`,
			}},
		{name: "YY needs the declaration", conv: Conventions{DateFormat: "DD/MM/YY"}, want: []string{`date_format: "DD/MM/YY" uses a two-digit year (YY); declare two_digit_years: true if the system really writes years that way`}},
		{name: "YY declared", conv: Conventions{DateFormat: "DD/MM/YY", TwoDigitYears: true}},
		{name: "same separators", conv: Conventions{DecimalSeparator: ",", ThousandsSeparator: ","}, want: []string{`thousands_separator: "," is also the decimal separator; amounts would be ambiguous`}},
		{name: "ambiguous layout", conv: Conventions{DateFormat: "DMYYYY"}, want: []string{`date_format: "DMYYYY" puts a one-or-two-digit token (M or D) right next to another number; add a separator or use MM/DD`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.conv.Check())
		})
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range [][2]string{
		{"03/04/2026", "DD/MM/YYYY"}, {"31/02/2026", "DD/MM/YYYY"}, {"03/04/26", "DD/MM/YY"},
		{"2026-04-03", ""}, {"3.4.2026", "D.M.YYYY"}, {"20260403", "YYYYMMDD"}, {"29/02/2028", "DD/MM/YYYY"},
		{"0001-01-01", ""}, {"9999-12-31", ""}, {"1/1/1", "M/D/YYYY"}, {"", ""}, {"٣/٤/٢٠٢٦", "DD/MM/YYYY"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, format string) {
		d, err := ParseDate(s, format)
		if err != nil {
			return
		}
		out, err := FormatDate(d, format)
		require.NoError(t, err)
		again, err := ParseDate(out, format)
		require.NoError(t, err, "re-parsing %q (from %q)", out, s)
		require.Equal(t, d, again)
	})
}
