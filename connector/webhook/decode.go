// Package webhook holds the intake side of an HTTP source: reading a bounded
// body, verifying the sender's signature, and decoding JSON, XML or form
// bodies into plain Go values (map[string]any, []any, string, json.Number,
// bool, nil) for the mapping language.
//
// Positions in messages count from 1: "byte 14" is the fourteenth byte.
//
// Every function here sees bytes from the internet. None of them may panic,
// allocate without bound or report a failure vaguely: each refusal is a
// *seam.Error whose message says exactly what was wrong, so the sender's
// developer can fix it from the 4xx response alone.
package webhook

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/mapping"
)

// Decoding limits applied when Limits leaves them zero.
const (
	// DefaultMaxDepth is far deeper than any business record, and shallow
	// enough that recursive code over the result cannot exhaust the stack.
	DefaultMaxDepth = 64
	// DefaultMaxNodes bounds the number of values (objects, arrays,
	// scalars, elements, attributes, form fields) in one body.
	DefaultMaxNodes = 1 << 20
)

// Limits bounds what Decode accepts beyond the body size, which ReadBody
// bounds.
type Limits struct {
	// MaxDepth is the deepest nesting of objects/arrays or elements
	// (default 64).
	MaxDepth int
	// MaxNodes is the most values in one body (default 1,048,576).
	MaxNodes int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxNodes <= 0 {
		l.MaxNodes = DefaultMaxNodes
	}
	return l
}

// Content types Decode accepts.
const (
	TypeJSON   = "application/json"
	TypeXML    = "application/xml"
	TypeXMLAlt = "text/xml"
	TypeForm   = "application/x-www-form-urlencoded"
)

const acceptedHint = "send Content-Type application/json (or any +json type), application/xml, text/xml (or any +xml type), or application/x-www-form-urlencoded, in UTF-8"

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Format returns which decoder Decode would use for a Content-Type:
// "json", "xml" or "form"; or an EUNSUPPORTED error.
func Format(contentType string) (string, error) {
	if strings.TrimSpace(contentType) == "" {
		return "", (&seam.Error{Code: seam.EUNSUPPORTED, Message: "missing Content-Type"}).WithHint(acceptedHint)
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", (&seam.Error{Code: seam.EUNSUPPORTED, Message: fmt.Sprintf("unreadable Content-Type %q", shorten(contentType)), Err: err}).WithHint(acceptedHint)
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "us-ascii") {
		return "", (&seam.Error{Code: seam.EUNSUPPORTED, Message: fmt.Sprintf("charset %q is not supported", shorten(cs))}).WithHint("send the body in UTF-8 (charset=utf-8)")
	}
	switch {
	case mt == TypeJSON || strings.HasSuffix(mt, "+json"):
		return "json", nil
	case mt == TypeXML || mt == TypeXMLAlt || strings.HasSuffix(mt, "+xml"):
		return "xml", nil
	case mt == TypeForm:
		return "form", nil
	}
	return "", (&seam.Error{Code: seam.EUNSUPPORTED, Message: fmt.Sprintf("content type %q is not supported", shorten(mt))}).WithHint(acceptedHint)
}

// Decode turns a request body into plain values according to its Content-Type.
//
// JSON numbers stay json.Number so that amounts keep every digit; duplicate
// object keys are refused because which one a reader keeps is not defined,
// and Seam does not guess. XML becomes a map holding the root element: each
// element is a map of its attributes ("@name") and children (repeated names
// become lists), with its text under "#text", or is just its text when it has
// neither attributes nor children; namespaces are dropped, names are local.
// A form becomes a map of strings, with repeated keys as lists.
//
// Refusals are *seam.Error: EUNSUPPORTED for a content type or charset Seam
// does not read, EINVALID for a body that is empty, not UTF-8, malformed,
// followed by trailing data, or beyond lim.
func Decode(contentType string, body []byte, lim Limits) (any, error) {
	format, err := Format(contentType)
	if err != nil {
		return nil, err
	}
	lim = lim.withDefaults()
	body = bytes.TrimPrefix(body, utf8BOM)
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, invalid("empty body", nil, "send one record per request")
	}
	if !utf8.Valid(body) {
		return nil, invalid(fmt.Sprintf("body is not valid UTF-8 at byte %d", invalidUTF8At(body)+1), nil, "send the body in UTF-8")
	}
	switch format {
	case "json":
		return decodeJSON(body, lim)
	case "xml":
		return decodeXML(body, lim)
	default:
		return decodeForm(body, lim)
	}
}

func invalid(msg string, cause error, hint string) *seam.Error {
	return &seam.Error{Code: seam.EINVALID, Message: msg, Hint: hint, Err: cause}
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// shorten keeps sender-controlled text in messages short.
func shorten(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// ---- JSON ----

const jsonHint = "the body must be exactly one JSON value in UTF-8"

// jsonDecoder builds values from the token stream rather than with
// json.Unmarshal, so that depth, size and duplicate keys are checked while
// reading, before anything large or deep is built.
type jsonDecoder struct {
	body  []byte
	dec   *json.Decoder
	lim   Limits
	nodes int
	// path is where the decoder stands, kept as segments and rendered
	// only for an error message, so that success costs no strings.
	path []jsonSeg
}

type jsonSeg struct {
	key   string
	index int
	isKey bool
}

func (d *jsonDecoder) where() string {
	var b strings.Builder
	b.WriteString("$")
	for _, s := range d.path {
		switch {
		case s.isKey && plainKey(s.key):
			b.WriteString(".")
			b.WriteString(s.key)
		case s.isKey:
			fmt.Fprintf(&b, "[%q]", s.key)
		default:
			fmt.Fprintf(&b, "[%d]", s.index)
		}
	}
	return shorten(b.String())
}

// plainKey reports whether a key can be written as .key in a path.
func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r != '_' && r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

func decodeJSON(body []byte, lim Limits) (any, error) {
	// The fast decoder builds exactly the values the mapping language
	// reads, with the same limits; this one's token stream is eight times
	// slower but says precisely where and why a body is wrong, so it only
	// runs to explain a refusal.
	v, err := mapping.DecodeJSONLimited(body, mapping.DecodeLimits{
		MaxDepth: lim.MaxDepth, MaxNodes: lim.MaxNodes, RejectDuplicateKeys: true,
	})
	if err == nil {
		return v, nil
	}
	return explainJSON(body, lim)
}

// explainJSON decodes with the token stream, for its precise errors.
func explainJSON(body []byte, lim Limits) (any, error) {
	d := &jsonDecoder{body: body, dec: json.NewDecoder(bytes.NewReader(body)), lim: lim}
	d.dec.UseNumber()
	v, err := d.value(1)
	if err != nil {
		return nil, err
	}
	off := d.dec.InputOffset()
	if _, err := d.dec.Token(); !errors.Is(err, io.EOF) {
		// InputOffset points just after the value; skip the whitespace
		// to point at the junk itself, counting from 1 like the rest.
		rest := body[off:]
		off += int64(len(rest)-len(bytes.TrimLeft(rest, " \t\r\n"))) + 1
		return nil, invalid(fmt.Sprintf("trailing data after the JSON value at byte %d", off), err, jsonHint)
	}
	return v, nil
}

func (d *jsonDecoder) fail(err error) error {
	// The token stream reports offsets of the token it was reading, not of
	// the offending byte; the validating scanner behind Unmarshal knows
	// the exact byte, so ask it on this (rare) path.
	var syn *json.SyntaxError
	if verr := json.Unmarshal(d.body, &struct{}{}); errors.As(verr, &syn) {
		if strings.HasPrefix(syn.Error(), "unexpected end of JSON input") {
			return invalid(fmt.Sprintf("malformed JSON at byte %d: unexpected end of input (truncated body?)", syn.Offset), err, jsonHint)
		}
		return invalid(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), err, jsonHint)
	}
	if errors.As(err, &syn) {
		return invalid(fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()), err, jsonHint)
	}
	return invalid(fmt.Sprintf("malformed JSON at byte %d: %s", d.dec.InputOffset(), err.Error()), err, jsonHint)
}

func (d *jsonDecoder) value(depth int) (any, error) {
	tok, err := d.dec.Token()
	if err != nil {
		return nil, d.fail(err)
	}
	d.nodes++
	if d.nodes > d.lim.MaxNodes {
		return nil, invalid(fmt.Sprintf("JSON has more than %d values (at %s)", d.lim.MaxNodes, d.where()), nil, "split the body into smaller records")
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth > d.lim.MaxDepth {
		return nil, invalid(fmt.Sprintf("JSON nests deeper than %d levels at %s", d.lim.MaxDepth, d.where()), nil, "flatten the record")
	}
	d.path = append(d.path, jsonSeg{})
	defer func() { d.path = d.path[:len(d.path)-1] }()
	// An index, not a pointer: nested calls may reallocate d.path.
	at := len(d.path) - 1
	switch delim {
	case '{':
		obj := map[string]any{}
		for d.dec.More() {
			kt, err := d.dec.Token()
			if err != nil {
				return nil, d.fail(err)
			}
			key, ok := kt.(string)
			if !ok {
				// The decoder's own syntax check reports this first;
				// kept so that a surprise cannot become a panic.
				return nil, invalid(fmt.Sprintf("malformed JSON at byte %d: object key is not a string", d.dec.InputOffset()), nil, jsonHint)
			}
			if _, dup := obj[key]; dup {
				d.path = d.path[:at] // report the object, not the key
				where := d.where()
				d.path = d.path[:at+1]
				return nil, invalid(fmt.Sprintf("duplicate key %q in JSON object at %s", shorten(key), where), nil, "send each key once per object")
			}
			d.path[at] = jsonSeg{key: key, isKey: true}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			obj[key] = v
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, d.fail(err)
		}
		return obj, nil
	default: // '['
		arr := []any{}
		for i := 0; d.dec.More(); i++ {
			d.path[at] = jsonSeg{index: i}
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			arr = append(arr, v)
		}
		if _, err := d.dec.Token(); err != nil {
			return nil, d.fail(err)
		}
		return arr, nil
	}
}

// ---- XML ----

const xmlHint = "the body must be one well-formed XML document in UTF-8"

// xmlElem is an element being built; children keep insertion order only
// through the map, which is all the mapping language needs.
type xmlElem struct {
	name     string
	attrs    map[string]any
	children map[string]any
	text     strings.Builder
}

func (e *xmlElem) add(name string, v any) {
	if e.children == nil {
		e.children = map[string]any{}
	}
	switch prev := e.children[name].(type) {
	case nil:
		e.children[name] = v
	case []any:
		// Children are never []any themselves, so a list here is one
		// this function made for a repeated name.
		e.children[name] = append(prev, v)
	default:
		e.children[name] = []any{prev, v}
	}
}

func (e *xmlElem) value() any {
	text := strings.TrimSpace(e.text.String())
	if e.attrs == nil && e.children == nil {
		return text
	}
	m := make(map[string]any, len(e.attrs)+len(e.children)+1)
	for k, v := range e.attrs {
		m[k] = v
	}
	for k, v := range e.children {
		m[k] = v
	}
	if text != "" {
		m["#text"] = text
	}
	return m
}

func decodeXML(body []byte, lim Limits) (any, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	// No CharsetReader: a document declaring another encoding is refused
	// rather than decoded with a guess.

	var stack []*xmlElem
	fail := func(err error) error {
		msg := strings.TrimPrefix(err.Error(), "xml: ")
		if strings.Contains(msg, "CharsetReader") {
			// The decoder's wording names its own API; say it plainly.
			return &seam.Error{Code: seam.EUNSUPPORTED, Message: "XML declares an encoding other than UTF-8", Hint: "send the body in UTF-8 and declare encoding=\"UTF-8\" or none", Err: err}
		}
		var syn *xml.SyntaxError
		if errors.As(err, &syn) {
			if syn.Msg == "unexpected EOF" && len(stack) > 0 {
				return invalid(fmt.Sprintf("malformed XML: <%s> is never closed (truncated body?)", shorten(stack[len(stack)-1].name)), err, xmlHint)
			}
			return invalid(fmt.Sprintf("malformed XML at line %d: %s", syn.Line, strings.TrimPrefix(syn.Msg, "xml: ")), err, xmlHint)
		}
		line, col := dec.InputPos()
		return invalid(fmt.Sprintf("malformed XML at line %d, column %d: %s", line, col, msg), err, xmlHint)
	}

	var (
		root  any
		nodes int
		done  bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fail(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				line, col := dec.InputPos()
				return nil, invalid(fmt.Sprintf("trailing data after the root element: another element <%s> at line %d, column %d", shorten(t.Name.Local), line, col), nil, xmlHint)
			}
			nodes += 1 + len(t.Attr)
			if nodes > lim.MaxNodes {
				return nil, invalid(fmt.Sprintf("XML has more than %d elements and attributes", lim.MaxNodes), nil, "split the body into smaller records")
			}
			if len(stack) >= lim.MaxDepth {
				return nil, invalid(fmt.Sprintf("XML nests deeper than %d levels at <%s>", lim.MaxDepth, shorten(t.Name.Local)), nil, "flatten the record")
			}
			el := &xmlElem{name: t.Name.Local}
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
					continue // namespace declarations, not data
				}
				if el.attrs == nil {
					el.attrs = map[string]any{}
				}
				k := "@" + a.Name.Local
				if _, dup := el.attrs[k]; dup {
					return nil, invalid(fmt.Sprintf("duplicate attribute %q on <%s>", shorten(a.Name.Local), shorten(t.Name.Local)), nil, xmlHint)
				}
				el.attrs[k] = a.Value
			}
			stack = append(stack, el)
		case xml.EndElement:
			// The strict decoder guarantees balance; the check keeps an
			// unexpected token from becoming an index panic.
			if len(stack) == 0 {
				return nil, invalid(fmt.Sprintf("malformed XML: unexpected </%s>", shorten(t.Name.Local)), nil, xmlHint)
			}
			el := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				root = map[string]any{el.name: el.value()}
				done = true
				continue
			}
			stack[len(stack)-1].add(el.name, el.value())
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					what := "before"
					if done {
						what = "after"
					}
					line, col := dec.InputPos()
					return nil, invalid(fmt.Sprintf("text %s the root element at line %d, column %d", what, line, col), nil, xmlHint)
				}
				continue
			}
			stack[len(stack)-1].text.Write(t)
		case xml.Comment, xml.ProcInst, xml.Directive:
			// Go's decoder never expands entities declared in a DOCTYPE,
			// so directives are inert and can be skipped.
		}
	}
	if !done {
		if len(stack) > 0 {
			return nil, invalid(fmt.Sprintf("malformed XML: <%s> is never closed (truncated body?)", shorten(stack[len(stack)-1].name)), nil, xmlHint)
		}
		return nil, invalid("XML has no root element", nil, xmlHint)
	}
	return root, nil
}

// ---- form ----

func decodeForm(body []byte, lim Limits) (any, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalid("malformed form body: "+err.Error(), err, "encode the body as application/x-www-form-urlencoded (key=value pairs joined by &)")
	}
	out := make(map[string]any, len(vals))
	nodes := 0
	for k, vs := range vals {
		nodes += len(vs)
		if nodes > lim.MaxNodes {
			return nil, invalid(fmt.Sprintf("form has more than %d fields", lim.MaxNodes), nil, "split the body into smaller records")
		}
		if !utf8.ValidString(k) {
			return nil, invalid("form field name is not valid UTF-8 once unescaped", nil, "percent-encode UTF-8 bytes")
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return nil, invalid(fmt.Sprintf("form field %q is not valid UTF-8 once unescaped", shorten(k)), nil, "percent-encode UTF-8 bytes")
			}
		}
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		out[k] = list
	}
	return out, nil
}
