package webhook_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/connector/webhook"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ct   string
		body string
		want any
	}{
		{name: "object", ct: "application/json", body: `{"order_no":"ES-1","paid":true,"note":null,"lines":[{"qty":2}]}`,
			want: map[string]any{"order_no": "ES-1", "paid": true, "note": nil, "lines": []any{map[string]any{"qty": json.Number("2")}}}},
		{name: "numbers keep every digit", ct: "application/json", body: `{"total":12345678901234567890.123456789,"n":1e400}`,
			want: map[string]any{"total": json.Number("12345678901234567890.123456789"), "n": json.Number("1e400")}},
		{name: "charset utf-8", ct: "application/json; charset=UTF-8", body: `"Žluťoučký kůň"`, want: "Žluťoučký kůň"},
		{name: "vendor +json", ct: "application/vnd.eshop.order+json", body: `[1,"a"]`, want: []any{json.Number("1"), "a"}},
		{name: "empty containers", ct: "application/json", body: `{"a":{},"b":[]}`, want: map[string]any{"a": map[string]any{}, "b": []any{}}},
		{name: "whitespace around", ct: "application/json", body: " \n\t{\"a\":1}\r\n ", want: map[string]any{"a": json.Number("1")}},
		{name: "BOM is skipped", ct: "application/json", body: "\uFEFF{\"a\":1}", want: map[string]any{"a": json.Number("1")}},
		{name: "escaped strings", ct: "application/json", body: `"a\u00e9\n"`, want: "aé\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.Decode(tc.ct, []byte(tc.body), webhook.Limits{})
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ct   string
		body string
		want any
	}{
		{name: "elements attributes and repeats", ct: "application/xml",
			body: `<?xml version="1.0" encoding="UTF-8"?>
<!-- an order -->
<order id="ES-1" xmlns="urn:eshop" xmlns:x="urn:x">
  <customer>Acme s.r.o.</customer>
  <line no="1"><sku>A</sku><qty>2</qty></line>
  <line no="2"><sku>B</sku><qty>1</qty></line>
  <note/>
  <total currency="CZK">1210.00</total>
  <x:flag>true</x:flag>
</order>`,
			want: map[string]any{"order": map[string]any{
				"@id":      "ES-1",
				"customer": "Acme s.r.o.",
				"line": []any{
					map[string]any{"@no": "1", "sku": "A", "qty": "2"},
					map[string]any{"@no": "2", "sku": "B", "qty": "1"},
				},
				"note":  "",
				"total": map[string]any{"@currency": "CZK", "#text": "1210.00"},
				"flag":  "true",
			}}},
		{name: "text/xml scalar root", ct: "text/xml", body: `<amount>10</amount>`, want: map[string]any{"amount": "10"}},
		{name: "CDATA and entities", ct: "application/xml", body: `<a><![CDATA[<b>&]]> &amp; &#x17D;</a>`, want: map[string]any{"a": "<b>& & Ž"}},
		{name: "three repeats", ct: "application/soap+xml", body: `<r><i>1</i><i>2</i><i>3</i></r>`, want: map[string]any{"r": map[string]any{"i": []any{"1", "2", "3"}}}},
		{name: "doctype is inert", ct: "application/xml", body: `<!DOCTYPE r [<!ENTITY x "y">]><r>1</r>`, want: map[string]any{"r": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.Decode(tc.ct, []byte(tc.body), webhook.Limits{})
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecodeForm(t *testing.T) {
	t.Parallel()
	got, err := webhook.Decode("application/x-www-form-urlencoded", []byte("order_no=ES-1&tag=a&tag=b&name=J%C3%BAlia+N&empty="), webhook.Limits{})
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"order_no": "ES-1",
		"tag":      []any{"a", "b"},
		"name":     "Júlia N",
		"empty":    "",
	}, got)
}

func TestDecodeRefusals(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("[", 10_000) + strings.Repeat("]", 10_000)
	deepObj := strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65)
	okObj := strings.Repeat(`{"a":`, 63) + "1" + strings.Repeat("}", 63)
	deepXML := strings.Repeat("<a>", 10_000) + strings.Repeat("</a>", 10_000)

	tests := []struct {
		name string
		ct   string
		body string
		lim  webhook.Limits
		code string
		msg  string // "" means accepted
	}{
		{name: "unsupported type", ct: "text/plain", body: "x", code: seam.EUNSUPPORTED, msg: `content type "text/plain" is not supported`},
		{name: "missing type", ct: "", body: "{}", code: seam.EUNSUPPORTED, msg: "missing Content-Type"},
		{name: "unreadable type", ct: "application/json; =", body: "{}", code: seam.EUNSUPPORTED, msg: "unreadable Content-Type"},
		{name: "foreign charset", ct: "application/json; charset=iso-8859-2", body: "{}", code: seam.EUNSUPPORTED, msg: `charset "iso-8859-2"`},
		{name: "empty json", ct: "application/json", body: "", code: seam.EINVALID, msg: "empty body"},
		{name: "blank json", ct: "application/json", body: " \n ", code: seam.EINVALID, msg: "empty body"},
		{name: "empty form", ct: "application/x-www-form-urlencoded", body: "", code: seam.EINVALID, msg: "empty body"},
		{name: "invalid utf-8", ct: "application/json", body: "{\"a\":\"\xff\"}", code: seam.EINVALID, msg: "not valid UTF-8 at byte 7"},
		{name: "malformed json", ct: "application/json", body: `{"order_no": x}`, code: seam.EINVALID, msg: "malformed JSON at byte 14: invalid character 'x' looking for beginning of value"},
		{name: "truncated json", ct: "application/json", body: `{"a":[1,2`, code: seam.EINVALID, msg: "unexpected end of input"},
		{name: "missing comma", ct: "application/json", body: `{"a":1 "b":2}`, code: seam.EINVALID, msg: "malformed JSON at byte"},
		{name: "trailing data", ct: "application/json", body: `{"a":1} x`, code: seam.EINVALID, msg: "trailing data after the JSON value at byte 9"},
		{name: "two values", ct: "application/json", body: `{"a":1}{"a":2}`, code: seam.EINVALID, msg: "trailing data after the JSON value at byte 8"},
		{name: "duplicate key", ct: "application/json", body: `{"x":{"a":1,"a":2}}`, code: seam.EINVALID, msg: `duplicate key "a" in JSON object at $.x`},
		{name: "depth 10000", ct: "application/json", body: deep, code: seam.EINVALID, msg: "nests deeper than 64 levels"},
		{name: "depth 65 objects", ct: "application/json", body: deepObj, code: seam.EINVALID, msg: "deeper than 64 levels at $.a.a"},
		{name: "depth 64 objects", ct: "application/json", body: okObj},
		{name: "custom depth", ct: "application/json", body: `[[[1]]]`, lim: webhook.Limits{MaxDepth: 2}, code: seam.EINVALID, msg: "deeper than 2"},
		{name: "too many values", ct: "application/json", body: `[1,2,3,4]`, lim: webhook.Limits{MaxNodes: 4}, code: seam.EINVALID, msg: "more than 4 values"},
		{name: "malformed xml", ct: "application/xml", body: `<a><b></a>`, code: seam.EINVALID, msg: "malformed XML at line 1"},
		{name: "unclosed xml", ct: "application/xml", body: `<a><b>`, code: seam.EINVALID, msg: "<b> is never closed"},
		{name: "xml trailing element", ct: "application/xml", body: `<a/><b/>`, code: seam.EINVALID, msg: "another element <b>"},
		{name: "xml trailing text", ct: "application/xml", body: `<a/>junk`, code: seam.EINVALID, msg: "text after the root element"},
		{name: "xml leading text", ct: "application/xml", body: `junk<a/>`, code: seam.EINVALID, msg: "text before the root element"},
		{name: "xml no root", ct: "application/xml", body: `<?xml version="1.0"?><!-- x -->`, code: seam.EINVALID, msg: "no root element"},
		{name: "xml depth 10000", ct: "application/xml", body: deepXML, code: seam.EINVALID, msg: "XML nests deeper than 64 levels"},
		{name: "xml too many elements", ct: "application/xml", body: `<a><b/><b/><b/></a>`, lim: webhook.Limits{MaxNodes: 3}, code: seam.EINVALID, msg: "more than 3 elements"},
		{name: "xml duplicate attribute", ct: "application/xml", body: `<a x="1" x="2"/>`, code: seam.EINVALID, msg: "x"},
		{name: "xml foreign encoding", ct: "application/xml", body: `<?xml version="1.0" encoding="ISO-8859-2"?><a/>`, code: seam.EUNSUPPORTED, msg: "encoding other than UTF-8"},
		{name: "xml undefined entity", ct: "application/xml", body: `<a>&nope;</a>`, code: seam.EINVALID, msg: "malformed XML"},
		{name: "form bad escape", ct: "application/x-www-form-urlencoded", body: "a=%zz", code: seam.EINVALID, msg: "malformed form body"},
		{name: "form semicolon", ct: "application/x-www-form-urlencoded", body: "a=1;b=2", code: seam.EINVALID, msg: "malformed form body"},
		{name: "form invalid utf-8 escape", ct: "application/x-www-form-urlencoded", body: "a=%ff", code: seam.EINVALID, msg: `form field "a" is not valid UTF-8`},
		{name: "form too many fields", ct: "application/x-www-form-urlencoded", body: "a=1&a=2&b=3", lim: webhook.Limits{MaxNodes: 2}, code: seam.EINVALID, msg: "more than 2 fields"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.Decode(tc.ct, []byte(tc.body), tc.lim)
			if tc.msg == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.code, seam.ErrorCode(err))
			require.Contains(t, err.Error(), tc.msg)
			var se *seam.Error
			require.ErrorAs(t, err, &se)
			require.NotEmpty(t, se.Hint, "every refusal says what to do")
		})
	}
}

func TestUnsupportedHintListsAccepted(t *testing.T) {
	t.Parallel()
	_, err := webhook.Decode("text/csv", []byte("a,b"), webhook.Limits{})
	var se *seam.Error
	require.ErrorAs(t, err, &se)
	for _, ct := range []string{"application/json", "application/xml", "text/xml", "application/x-www-form-urlencoded"} {
		require.Contains(t, se.Hint, ct)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	for ct, want := range map[string]string{
		"application/json":                  "json",
		"Application/JSON; charset=utf-8":   "json",
		"application/problem+json":          "json",
		"text/xml; charset=us-ascii":        "xml",
		"application/atom+xml":              "xml",
		"application/x-www-form-urlencoded": "form",
	} {
		got, err := webhook.Format(ct)
		require.NoError(t, err, ct)
		require.Equal(t, want, got, ct)
	}
}

func TestReadBody(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	tests := []struct {
		name    string
		body    io.Reader
		length  int64 // -1: unknown (chunked)
		max     int64
		code    string
		msg     string
		wantLen int
	}{
		{name: "small", body: strings.NewReader(`{"a":1}`), length: 7, max: limit, wantLen: 7},
		{name: "exactly the limit", body: bytes.NewReader(make([]byte, limit)), length: limit, max: limit, wantLen: limit},
		{name: "chunked exactly the limit", body: bytes.NewReader(make([]byte, limit)), length: -1, max: limit, wantLen: limit},
		{name: "10 MiB declared", body: bytes.NewReader(make([]byte, 10<<20)), length: 10 << 20, max: limit, code: seam.ETOOLARGE,
			msg: "body is 10485760 bytes; the limit is 1048576 (max_body on the flow)"},
		{name: "10 MiB chunked", body: bytes.NewReader(make([]byte, 10<<20)), length: -1, max: limit, code: seam.ETOOLARGE,
			msg: "body is over 1048576 bytes"},
		{name: "lying content-length", body: bytes.NewReader(make([]byte, 100)), length: 10, max: 50, code: seam.ETOOLARGE, msg: "over 50"},
		{name: "default limit", body: bytes.NewReader(make([]byte, webhook.DefaultMaxBody+1)), length: -1, max: 0, code: seam.ETOOLARGE, msg: "over 1048576"},
		{name: "sender hangs up", body: io.MultiReader(strings.NewReader("{"), errReader{io.ErrUnexpectedEOF}), length: -1, max: limit, code: seam.EINVALID, msg: "after 1 bytes"},
		{name: "max bytes reader upstream", body: errReader{&http.MaxBytesError{Limit: 5}}, length: -1, max: limit, code: seam.ETOOLARGE, msg: "over 5 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodPost, "/in/eshop/orders", tc.body)
			r.ContentLength = tc.length
			got, err := webhook.ReadBody(r, tc.max)
			if tc.code == "" {
				require.NoError(t, err)
				require.Len(t, got, tc.wantLen)
				return
			}
			require.Error(t, err)
			require.Equal(t, tc.code, seam.ErrorCode(err))
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

func TestReadBodyNoBody(t *testing.T) {
	t.Parallel()
	r := httptest.NewRequest(http.MethodPost, "/", http.NoBody)
	got, err := webhook.ReadBody(r, 10)
	require.NoError(t, err)
	require.Empty(t, got)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func FuzzDecode(f *testing.F) {
	for _, seed := range []struct{ ct, body string }{
		{"application/json", `{"a":[1,2,{"b":null}],"c":"d"}`},
		{"application/json", `[[[[[[[[[[`},
		{"application/json", `{"a":1,"a":2}`},
		{"application/json", "\xef\xbb\xbf{}"},
		{"application/xml", `<a x="1"><b>t</b><b/>text</a>`},
		{"text/xml", `<?xml version="1.0"?><!DOCTYPE a><a xmlns:p="u"><p:b p:c="d"/></a>`},
		{"application/x-www-form-urlencoded", "a=1&a=2&b=%20"},
		{"application/vnd.x+json; charset=utf-8", `1e9999`},
	} {
		f.Add(seed.ct, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		v, err := webhook.Decode(ct, body, webhook.Limits{MaxDepth: 16, MaxNodes: 1000})
		if err != nil {
			var se *seam.Error
			require.ErrorAs(t, err, &se)
			require.Contains(t, []string{seam.EINVALID, seam.EUNSUPPORTED}, se.Code)
			require.NotEmpty(t, se.Message)
			return
		}
		require.NotNil(t, v)
	})
}
