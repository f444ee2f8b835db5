package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
)

func TestFunctions(t *testing.T) {
	t.Parallel()
	in := map[string]any{
		"name": "  Jan   Novák ", "rev": "Novák, Jan", "single": "Madonna", "dutch": "Ludwig van Beethoven",
		"city": "Žluťoučký kůň", "email": " Buyer@Acme.CZ ", "bademail": "buyer@acme", "phone": "601 123 456",
		"intl": "+49 30 901820", "badphone": "123", "country": "Czech Republic", "cat": json.Number("10"),
		"parts": []any{"Main St 1", nil, "", "Prague"}, "tags": "a,b,c", "empty": "", "cur": " eur ",
		"items": []any{
			map[string]any{"sku": "A-1", "qty": json.Number("2"), "unit_price_gross": "605.00"},
			map[string]any{"sku": "B-2", "qty": json.Number("1"), "unit_price_gross": "121.00"},
		},
		"vat_rate": json.Number("21"),
	}
	sc := &Scope{
		Inbound:     true,
		Conventions: Conventions{Country: "CZ", Prices: "gross", Currency: "CZK", Timezone: "Europe/Prague"},
		Lookups:     map[string]map[string]any{"vat_by_category": {"10": 21, "20": 12}},
		Now:         func() time.Time { return time.Date(2026, 3, 28, 23, 30, 0, 0, time.UTC) },
	}
	tests := []struct {
		name    string
		expr    string
		want    any
		wantErr string
	}{
		{name: "trim", expr: "trim(in.name)", want: "Jan   Novák"},
		{name: "collapse", expr: "collapse(in.name)", want: "Jan Novák"},
		{name: "lower upper", expr: "upper(lower(in.single))", want: "MADONNA"},
		{name: "title", expr: `title("jan NOVÁK-svoboda")`, want: "Jan Novák-Svoboda"},
		{name: "strip diacritics", expr: "strip_diacritics(in.city)", want: "Zlutoucky kun"},
		{name: "strip diacritics without marks", expr: `strip_diacritics("Łódź Straße")`, want: "Lodz Strasse"},
		{name: "split name", expr: "split_name(in.name)", want: map[string]any{"first": "Jan", "last": "Novák"}},
		{name: "split name reversed", expr: "split_name(in.rev).first", want: "Jan"},
		{name: "split name single", expr: "split_name(in.single)", want: map[string]any{"first": "Madonna", "last": ""}},
		{name: "split name particle", expr: "split_name(in.dutch).last", want: "van Beethoven"},
		{name: "join skips empty parts", expr: `join(in.parts, ", ")`, want: "Main St 1, Prague"},
		{name: "split", expr: `split(in.tags, ",")`, want: []any{"a", "b", "c"}},
		{name: "default on empty", expr: `default(in.empty, "n/a")`, want: "n/a"},
		{name: "default on missing", expr: `default(in.nope, "n/a")`, want: "n/a"},
		{name: "default keeps value", expr: `default(in.single, "n/a")`, want: "Madonna"},
		{name: "coalesce", expr: `coalesce(in.nope, in.empty, in.single)`, want: "Madonna"},
		{name: "null coalescing operator", expr: `in.nope ?? "x"`, want: "x"},
		{name: "conditional", expr: `in.vat_rate > 20 ? "standard" : "reduced"`, want: "standard"},
		{name: "email", expr: "email(in.email)", want: "buyer@acme.cz"},
		{name: "email without tld", expr: "email(in.bademail)", wantErr: `in.bademail "buyer@acme" is not an e-mail address: the domain "acme" has no dot`},
		{name: "email with space", expr: `email("jan novak@x.cz")`, wantErr: "it contains a space"},
		{name: "email without at", expr: `email("jan.x.cz")`, wantErr: "it has no @"},
		{name: "phone national", expr: "phone(in.phone)", want: "+420601123456"},
		{name: "phone international", expr: "phone(in.intl)", want: "+4930901820"},
		{name: "phone with explicit country", expr: `phone("030 901820", "DE")`, want: "+4930901820"},
		{name: "phone invalid", expr: "phone(in.badphone)", wantErr: `in.badphone "123" is not a valid phone number in CZ`},
		{name: "country name", expr: "country(in.country)", want: "CZ"},
		{name: "country short name", expr: `country("Czechia")`, want: "CZ"},
		{name: "country alpha-3", expr: `country("CZE")`, want: "CZ"},
		{name: "country lower alpha-2", expr: `country("cz")`, want: "CZ"},
		{name: "country with accents", expr: `country("Côte d’Ivoire")`, want: "CI"},
		{name: "country saint", expr: `country("Saint Kitts and Nevis")`, want: "KN"},
		{name: "country unknown", expr: `country("Atlantis")`, wantErr: `"Atlantis" is not a country Seam knows`},
		{name: "currency", expr: "currency(in.cur)", want: "EUR"},
		{name: "currency unknown", expr: `currency("KCS")`, wantErr: `"KCS" is not an ISO 4217 currency code`},
		{name: "lookup", expr: `lookup("vat_by_category", in.cat)`, want: 21},
		{name: "lookup default", expr: `lookup("vat_by_category", "99", 0)`, want: 0},
		{name: "lookup missing", expr: `lookup("vat_by_category", "99")`, wantErr: `"99" is not in lookup table vat_by_category (known: 10, 20); add it to the table or pass a default`},
		{name: "today in the system's zone", expr: "today()", want: "2026-03-29"},
		{name: "now", expr: "now()", want: "2026-03-28T23:30:00Z"},
		{name: "lines", expr: `map(in.items, {sku: .sku, qty: .qty, price: money(.unit_price_gross, in.vat_rate).net})`, want: []any{
			map[string]any{"sku": "A-1", "qty": json.Number("2"), "price": "500.00"},
			map[string]any{"sku": "B-2", "qty": json.Number("1"), "price": "100.00"},
		}},
		{name: "sum over lines", expr: `reduce(in.items, #acc + .qty * decimal(.unit_price_gross), 0)`, want: "1331.00"},
		{name: "filter and len", expr: `len(filter(in.items, .qty > 1))`, want: 1},
		{name: "index", expr: `in.items[1].sku`, want: "B-2"},
		{name: "index out of range is missing", expr: `in.items[5]?.sku ?? "none"`, want: "none"},
		{name: "missing parent is missing", expr: `in.nope.deeper`, want: nil},
		{name: "in operator still works", expr: `"A-1" in map(in.items, .sku)`, want: true},
		{name: "field of text", expr: `in.single.x`, wantErr: `cannot read "x" from text`},
	}
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
			require.Equal(t, tt.want, plainValue(got))
		})
	}
}

func TestXRef(t *testing.T) {
	t.Parallel()
	xref := func(system, entity, key string) (string, bool) {
		if system == "erp" && entity == "order" && key == "ES-1" {
			return "55012", true
		}
		return "", false
	}
	tests := []struct {
		name    string
		sc      *Scope
		env     *Env
		want    any
		wantErr string
	}{
		{name: "inbound", sc: &Scope{Inbound: true}, env: &Env{In: map[string]any{"id": "ES-1"}, XRef: xref}, want: "55012"},
		{name: "outbound", sc: &Scope{Fields: []string{"id"}}, env: &Env{Record: map[string]any{"id": "ES-1"}, XRef: xref}, want: "55012"},
		{name: "unknown key", sc: &Scope{Fields: []string{"id"}}, env: &Env{Record: map[string]any{"id": "ES-2"}, XRef: xref}, wantErr: `no cross-reference of order "ES-2" is known in erp yet`},
		{name: "no resolver", sc: &Scope{Fields: []string{"id"}}, env: &Env{Record: map[string]any{"id": "ES-1"}}, wantErr: `no cross-reference of order "ES-1" is known in erp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := `xref("erp", "order", id)`
			if tt.sc.Inbound {
				src = `xref("erp", "order", in.id)`
			}
			p, err := Compile(src, tt.sc)
			require.NoError(t, err)
			got, err := p.Eval(tt.env)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	inbound := &Scope{Inbound: true, Lookups: map[string]map[string]any{"vat_by_category": {}}}
	outbound := &Scope{Fields: []string{"id", "customer", "total", "ordered_on"}}
	tests := []struct {
		name                 string
		sc                   *Scope
		src                  string
		line, column, offset int
		msg, hint            string
	}{
		{name: "unknown function", sc: inbound, src: "lowr(trim(in.email))", line: 1, column: 1, msg: "unknown function lowr", hint: "did you mean lower?"},
		{name: "unknown function later", sc: inbound, src: "lower(trm(in.email))", line: 1, column: 7, offset: 6, msg: "unknown function trm", hint: "did you mean trim?"},
		{name: "unknown variable", sc: inbound, src: "input.email", line: 1, column: 1, msg: "unknown name input: an inbound mapping reads the input as in (e.g. in.input) and calls library functions"},
		{name: "unknown canonical field", sc: outbound, src: "custmer.email", line: 1, column: 1, msg: "unknown name custmer: not a canonical field or a function", hint: "did you mean customer?"},
		{name: "second line", sc: outbound, src: "id +\n  totl.net", line: 2, column: 3, offset: 7, msg: "unknown name totl: not a canonical field or a function", hint: "did you mean total?"},
		{name: "unknown function outbound", sc: outbound, src: "uper(id)", line: 1, column: 1, msg: "unknown function uper", hint: "did you mean upper?"},
		{name: "let is known", sc: outbound, src: "let x = id; x + lowr", line: 1, column: 17, offset: 16, msg: "unknown name lowr: not a canonical field or a function"},
		{name: "in in outbound", sc: outbound, src: "in.order_no", line: 1, column: 1, msg: "in (the input) exists only in inbound mappings; an outbound mapping reads canonical fields such as customer.email"},
		{name: "syntax", sc: inbound, src: "in.x +", line: 1, column: 6, offset: 5, msg: "syntax error: unexpected token EOF"},
		{name: "unknown lookup table", sc: inbound, src: `lookup("vat_by_categry", in.c)`, line: 1, column: 8, offset: 7, msg: `there is no lookup table "vat_by_categry"`, hint: "did you mean vat_by_category?"},
		{name: "bad date format", sc: inbound, src: `date(in.d, "DD/MM/YYY")`, line: 1, column: 12, offset: 11, msg: `"DD/MM/YYY" has an unknown token "Y" at position 9 (tokens are YYYY YY MM M DD D HH mm ss)`},
		{name: "bad currency", sc: inbound, src: `money(in.a, 21, "gross", "KCS")`, line: 1, column: 26, offset: 25, msg: `"KCS" is not an ISO 4217 currency code`},
		{name: "wrong arity", sc: inbound, src: `trim(in.a, in.b)`, line: 1, column: 1, msg: "too many arguments to call trim"},
		{name: "env", sc: inbound, src: `$env`, line: 1, column: 1, msg: "$env is not available in mappings; use in (the input) or the canonical field names"},
		{name: "empty", sc: inbound, src: "  ", line: 1, column: 1, msg: "the expression is empty"},
		{name: "position after map literal", sc: inbound, src: `map(in.items, {sku: .sku}) + nope`, line: 1, column: 30, offset: 29, msg: "unknown name nope: an inbound mapping reads the input as in (e.g. in.nope) and calls library functions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Compile(tt.src, tt.sc)
			var ce *CompileError
			require.ErrorAs(t, err, &ce)
			require.Equal(t, &CompileError{Offset: tt.offset, Line: tt.line, Column: tt.column, Msg: tt.msg, Hint: tt.hint}, ce)
		})
	}
}

func TestNewMappingReportsEveryField(t *testing.T) {
	t.Parallel()
	_, errs := NewMapping([]Field{
		{"id", "in.order_no"},
		{"a", "lowr(in.x)"},
		{"b", "in.x +"},
		{"id", "in.other"},
		{"c.", "in.x"},
		{"customer", "in.customer"},
		{"customer.email", "in.email"},
	}, &Scope{Inbound: true})
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	require.Equal(t, []string{
		"a: 1:1: unknown function lowr (did you mean lower?)",
		"b: 1:6: syntax error: unexpected token EOF",
		"id: 1:1: id is mapped twice",
		`c.: 1:1: "c." is not a field path (empty segment)`,
		"customer.email: 1:1: customer is already mapped as a whole, so customer.email cannot be mapped too",
	}, got)
}

func TestApplyReasons(t *testing.T) {
	t.Parallel()
	m, errs := NewMapping([]Field{
		{"id", "in.order_no"},
		{"ordered_on", "date(in.order_date)"},
		{"total", "money(in.total, in.vat_rate)"},
		{"customer.email", "email(in.email)"},
	}, &Scope{Inbound: true, Conventions: Conventions{DateFormat: "DD/MM/YYYY", Prices: "gross", Currency: "CZK", DecimalSeparator: ","}})
	require.Empty(t, errs)
	require.Equal(t, []string{"id", "ordered_on", "total", "customer.email"}, m.Targets())

	out, reasons := m.Apply(&Env{In: map[string]any{"order_no": "ES-1", "order_date": "31/02/2026", "total": "1.210", "vat_rate": json.Number("21"), "email": "x"}})
	require.Nil(t, out)
	require.Equal(t, []seam.Reason{
		{Stage: seam.StageMap, Field: "ordered_on", Value: "31/02/2026", Rule: "date", Message: `in.order_date "31/02/2026" is not a valid date in DD/MM/YYYY (February 2026 has 28 days)`},
		{Stage: seam.StageMap, Field: "total", Value: "1.210", Rule: "decimal", Message: `"1.210" uses ".", which is neither the decimal separator "," nor a declared thousands separator; it could mean either, so declare thousands_separator on the system if it groups thousands`},
		{Stage: seam.StageMap, Field: "customer.email", Value: "x", Rule: "email", Message: `in.email "x" is not an e-mail address: it has no @`},
	}, reasons)

	out, reasons = m.Apply(&Env{In: map[string]any{"order_no": "ES-1", "order_date": "03/04/2026", "total": "1210,00", "vat_rate": json.Number("21")}})
	require.Empty(t, reasons)
	require.Equal(t, map[string]any{"id": "ES-1", "ordered_on": "2026-04-03", "total": map[string]any{
		"amount": "1210.00", "basis": "gross", "currency": "CZK", "gross": "1210.00", "net": "1000.00", "vat": "210.00", "vat_rate": "21",
	}}, ToPlain(out), "a missing e-mail stays missing")
}

func TestRenameIn(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{name: "member", in: "in.x", want: "_i.x"},
		{name: "operator", in: `"a" in in.list`, want: `"a" in _i.list`},
		{name: "not in", in: `x not in in.list`, want: `x not in _i.list`},
		{name: "bare", in: "len(in)", want: "len(_i)"},
		{name: "string untouched", in: `"in.x" + in.y`, want: `"in.x" + _i.y`},
		{name: "comment untouched", in: "in.x // in.y", want: "_i.x // in.y"},
		{name: "property named in", in: "in.in", want: "_i.in"},
		{name: "identifier containing in", in: "index + in_x", want: "index + in_x"},
		{name: "predicate operator", in: "filter(in.a, # in in.b)", want: "filter(_i.a, # in _i.b)"},
		{name: "not before the variable", in: "not in.flag", want: "not _i.flag"},
		{name: "start", in: "in ?? 1", want: "_i ?? 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, renameIn(tt.in))
		})
	}
}

func TestEncode(t *testing.T) {
	t.Parallel()
	m, err := NewMoney(mustDec("1210.00"), mustDec("21"), "gross", "CZK")
	require.NoError(t, err)
	at := time.Date(2026, 4, 3, 12, 30, 0, 0, time.UTC)
	rec := map[string]any{
		"date": Date{2026, time.April, 3}, "at": at, "total": m, "qty": json.Number("2"), "rate": Number(mustDec("21")),
		"amount": mustDec("1234567.5"), "text": "a\"b\n\u2028", "nested": map[string]any{"z": 1, "a": []any{true, nil, 2.5}},
	}
	tests := []struct {
		name string
		conv *Conventions
		want string
	}{
		{name: "canonical", want: `{"amount":"1234567.5","at":"2026-04-03T12:30:00Z","date":"2026-04-03","nested":{"a":[true,null,2.5],"z":1},"qty":2,"rate":21,"text":"a\"b\n\u2028","total":{"amount":"1210.00","basis":"gross","currency":"CZK","gross":"1210.00","net":"1000.00","vat":"210.00","vat_rate":"21"}}`},
		{name: "erp", conv: &Conventions{DateFormat: "MM/DD/YYYY", DateTimeFormat: "DD.MM.YYYY HH:mm", Timezone: "Europe/Prague", DecimalSeparator: ",", ThousandsSeparator: " "},
			want: `{"amount":"1 234 567,5","at":"03.04.2026 14:30","date":"04/03/2026","nested":{"a":[true,null,2.5],"z":1},"qty":2,"rate":21,"text":"a\"b\n\u2028","total":"1 000,00"}`},
		{name: "gross destination", conv: &Conventions{Prices: "gross"},
			want: `{"amount":"1234567.5","at":"2026-04-03T12:30:00Z","date":"2026-04-03","nested":{"a":[true,null,2.5],"z":1},"qty":2,"rate":21,"text":"a\"b\n\u2028","total":"1210.00"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []byte
			var err error
			if tt.conv == nil {
				got, err = CanonicalJSON(rec)
			} else {
				got, err = EncodeJSON(rec, *tt.conv)
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(got))
			require.True(t, json.Valid(got))
		})
	}
}

func mustDec(s string) Decimal {
	d, err := ParseDecimal(s, Conventions{})
	if err != nil {
		panic(err)
	}
	return d
}

func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		"in.order_no", "lower(trim(in.email))", `date(in.d, "MM/DD/YYYY")`, "money(in.a, in.b).net * 2",
		`map(in.items, {sku: .sku, qty: .qty})`, `in.x ?? "a"`, `"a" in in.list`, "in.x +", "{{{", `lookup("t", in.k, 1)`,
		`xref("erp", "order", in.id)`, "-in.x", "in.a[0].b", "let x = in.a; x + 1", "// c\nin.a", "$env", `in?.a?.b`,
	} {
		f.Add(s)
	}
	sc := &Scope{Inbound: true, Lookups: map[string]map[string]any{"t": {"a": 1}}, Conventions: Conventions{Currency: "CZK"}}
	input := map[string]any{"order_no": "ES-1", "email": " A@B.cz", "d": "03/04/2026", "a": "1.5", "b": json.Number("21"),
		"items": []any{map[string]any{"sku": "x", "qty": json.Number("1")}}, "list": []any{"a"}, "x": nil}
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, sc)
		if err != nil {
			var ce *CompileError
			require.ErrorAs(t, err, &ce)
			require.GreaterOrEqual(t, ce.Offset, 0)
			require.LessOrEqual(t, ce.Offset, len(src))
			return
		}
		_, _ = p.Eval(&Env{In: input})
	})
}

func TestOutboundFieldHidesFunctionOfTheSameName(t *testing.T) {
	t.Parallel()
	sc := &Scope{Fields: []string{"email", "currency", "id"}}
	p, err := Compile(`email != "" && currency == "CZK"`, sc)
	require.NoError(t, err)
	v, err := p.Eval(&Env{Record: map[string]any{"email": "a@b.cz", "currency": "CZK"}})
	require.NoError(t, err)
	require.Equal(t, true, v)

	m, errs := NewMapping([]Field{{Target: "to", Expr: "email"}}, sc)
	require.Empty(t, errs)
	out, reasons := m.Apply(&Env{Record: map[string]any{"email": "a@b.cz"}})
	require.Empty(t, reasons)
	require.Equal(t, "a@b.cz", out["to"])
}
