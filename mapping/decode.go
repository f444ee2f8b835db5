package mapping

import (
	"fmt"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON decodes a body into the values inbound expressions expect:
// map[string]any, []any, string, json.Number (numbers stay exact), bool and
// nil. It is equivalent to encoding/json with UseNumber, but built for the
// intake path: the body is copied once and every string and number that
// needs no unescaping is a slice of that copy, and maps are allocated at
// their final size.
func DecodeJSON(data []byte) (any, error) {
	return DecodeJSONLimited(data, DecodeLimits{})
}

// DecodeLimits bound what DecodeJSONLimited accepts from an untrusted body.
type DecodeLimits struct {
	// MaxDepth is the deepest nesting of objects and lists (default 512).
	MaxDepth int
	// MaxNodes is the most values in one body (0: no limit).
	MaxNodes int
	// RejectDuplicateKeys refuses an object that names a field twice,
	// instead of keeping the last value: which one the sender meant
	// cannot be known, and Seam never guesses.
	RejectDuplicateKeys bool
}

// DecodeJSONLimited is DecodeJSON with limits, for intake.
func DecodeJSONLimited(data []byte, lim DecodeLimits) (any, error) {
	d := decoders.Get().(*decoder)
	d.s = string(data)
	d.i = 0
	d.lim, d.nodes = lim, 0
	if d.lim.MaxDepth <= 0 {
		d.lim.MaxDepth = maxDecodeDepth
	}
	// A fresh slab per body, sized for a typical share of strings and
	// numbers: the values of this body will keep pointing into it.
	d.slab = boxSlab{next: min(max(len(data)/16, 8), 1024)}
	v, err := d.value(0)
	if err == nil {
		d.skipSpace()
		if d.i != len(d.s) {
			err = d.errorf("unexpected %s after the JSON value", d.describe())
		}
	}
	d.s = ""
	d.slab = boxSlab{}
	clear(d.kvs[:cap(d.kvs)])
	clear(d.vals[:cap(d.vals)])
	d.kvs, d.vals = d.kvs[:0], d.vals[:0]
	decoders.Put(d)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// DecodeError is malformed JSON, with the byte offset where it went wrong.
type DecodeError struct {
	Offset int
	Msg    string
}

// Error implements error.
func (e *DecodeError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.Offset, e.Msg)
}

// maxDecodeDepth bounds nesting: deeper bodies are hostile, not orders.
const maxDecodeDepth = 512

type kv struct {
	k string
	v any
}

type decoder struct {
	s     string
	i     int
	kvs   []kv  // members of the objects being decoded, as a stack
	vals  []any // elements of the arrays being decoded, as a stack
	slab  boxSlab
	lim   DecodeLimits
	nodes int
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

func (d *decoder) errorf(format string, args ...any) error {
	return &DecodeError{Offset: d.i, Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) describe() string {
	if d.i >= len(d.s) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(d.s[d.i:])
	return strconv.QuoteRune(r)
}

func (d *decoder) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *decoder) value(depth int) (any, error) {
	if depth > d.lim.MaxDepth {
		return nil, d.errorf("nested more than %d levels deep", d.lim.MaxDepth)
	}
	d.nodes++
	if d.lim.MaxNodes > 0 && d.nodes > d.lim.MaxNodes {
		return nil, d.errorf("more than %d values", d.lim.MaxNodes)
	}
	d.skipSpace()
	if d.i >= len(d.s) {
		return nil, d.errorf("unexpected end of input")
	}
	switch c := d.s[d.i]; {
	case c == '{':
		return d.object(depth)
	case c == '[':
		return d.array(depth)
	case c == '"':
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		return d.slab.box(stringTypeWord, s), nil
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	case c == 't':
		return true, d.literal("true")
	case c == 'f':
		return false, d.literal("false")
	case c == 'n':
		return nil, d.literal("null")
	}
	return nil, d.errorf("unexpected %s", d.describe())
}

func (d *decoder) literal(word string) error {
	if len(d.s)-d.i < len(word) || d.s[d.i:d.i+len(word)] != word {
		return d.errorf("unexpected %s", d.describe())
	}
	d.i += len(word)
	return nil
}

func (d *decoder) object(depth int) (any, error) {
	d.i++ // {
	base := len(d.kvs)
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == '}' {
		d.i++
		return map[string]any{}, nil
	}
	for {
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != '"' {
			return nil, d.errorf("expected a field name, found %s", d.describe())
		}
		k, err := d.str()
		if err != nil {
			return nil, err
		}
		d.skipSpace()
		if d.i >= len(d.s) || d.s[d.i] != ':' {
			return nil, d.errorf("expected ':' after field name, found %s", d.describe())
		}
		d.i++
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.kvs = append(d.kvs, kv{k, v})
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, d.errorf("unexpected end of input in an object")
		}
		if d.s[d.i] == ',' {
			d.i++
			continue
		}
		if d.s[d.i] == '}' {
			d.i++
			break
		}
		return nil, d.errorf("expected ',' or '}', found %s", d.describe())
	}
	members := d.kvs[base:]
	m := make(map[string]any, len(members))
	for _, e := range members {
		m[e.k] = e.v // a repeated name keeps the last value, as encoding/json does
	}
	if d.lim.RejectDuplicateKeys && len(m) != len(members) {
		return nil, d.errorf("an object names a field twice")
	}
	clear(members)
	d.kvs = d.kvs[:base]
	return m, nil
}

func (d *decoder) array(depth int) (any, error) {
	d.i++ // [
	base := len(d.vals)
	d.skipSpace()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		return []any{}, nil
	}
	for {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		d.vals = append(d.vals, v)
		d.skipSpace()
		if d.i >= len(d.s) {
			return nil, d.errorf("unexpected end of input in a list")
		}
		if d.s[d.i] == ',' {
			d.i++
			continue
		}
		if d.s[d.i] == ']' {
			d.i++
			break
		}
		return nil, d.errorf("expected ',' or ']', found %s", d.describe())
	}
	elems := d.vals[base:]
	out := make([]any, len(elems))
	copy(out, elems)
	clear(elems)
	d.vals = d.vals[:base]
	return out, nil
}

func (d *decoder) number() (any, error) {
	start := d.i
	s := d.s
	i := d.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return nil, d.errorf("malformed number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return nil, d.errorf("malformed number")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			d.i = i
			return nil, d.errorf("malformed number")
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	d.i = i
	return d.slab.box(jsonNumberTypeWord, s[start:i]), nil
}

// str reads a string at d.i (which is '"'). Strings without escapes and
// with valid UTF-8, nearly all of them, are returned as slices of the body.
func (d *decoder) str() (string, error) {
	s := d.s
	start := d.i + 1
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return s[start:i], nil
		case c == '\\':
			return d.strSlow(start)
		case c < 0x20:
			d.i = i
			return "", d.errorf("control character in a string")
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				return d.strSlow(start)
			}
			i += size
			continue
		}
		i++
	}
	d.i = i
	return "", d.errorf("unterminated string")
}

// strSlow decodes a string with escapes or invalid UTF-8 (replaced by
// U+FFFD, as encoding/json does).
func (d *decoder) strSlow(start int) (string, error) {
	s := d.s
	b := make([]byte, 0, 32)
	i := start
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(b), nil
		case c < 0x20:
			d.i = i
			return "", d.errorf("control character in a string")
		case c == '\\':
			if i+1 >= len(s) {
				d.i = i
				return "", d.errorf("unterminated string")
			}
			switch e := s[i+1]; e {
			case '"', '\\', '/':
				b = append(b, e)
				i += 2
			case 'b':
				b = append(b, '\b')
				i += 2
			case 'f':
				b = append(b, '\f')
				i += 2
			case 'n':
				b = append(b, '\n')
				i += 2
			case 'r':
				b = append(b, '\r')
				i += 2
			case 't':
				b = append(b, '\t')
				i += 2
			case 'u':
				r, ok := hex4(s, i+2)
				if !ok {
					d.i = i
					return "", d.errorf("malformed \\u escape")
				}
				i += 6
				if utf16.IsSurrogate(r) {
					r2, ok := rune(0), false
					if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						r2, ok = hex4(s, i+2)
					}
					if dec := utf16.DecodeRune(r, r2); ok && dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				b = utf8.AppendRune(b, r)
			default:
				d.i = i
				return "", d.errorf("unknown escape \\%c", e)
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b = append(b, "\uFFFD"...)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
		default:
			b = append(b, c)
			i++
		}
	}
	d.i = i
	return "", d.errorf("unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
