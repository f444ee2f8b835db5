package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// CanonicalJSON renders a canonical record in Seam's canonical form: ISO
// dates ("2026-04-03"), RFC 3339 datetimes, decimals as strings ("1000.00",
// so no consumer reads them through a float), and money as an object with
// amount, currency, vat_rate, basis, net, gross and vat as strings. Object
// keys are sorted, so equal records give equal bytes.
func CanonicalJSON(rec map[string]any) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	e.canonical = true
	if err := e.value(rec, 0); err != nil {
		return nil, err
	}
	return slices.Clone(e.buf), nil
}

// EncodeJSON renders a record in a destination's conventions: dates in its
// DateFormat, datetimes in its DateTimeFormat and Timezone, decimals as JSON
// strings with its separators ("1000,00"), and money as its amount on the
// destination's price basis (net or gross). Object keys are sorted.
func EncodeJSON(rec map[string]any, c Conventions) ([]byte, error) {
	e := getEncoder()
	defer putEncoder(e)
	if err := e.setConventions(c); err != nil {
		return nil, err
	}
	if err := e.value(rec, 0); err != nil {
		return nil, err
	}
	return slices.Clone(e.buf), nil
}

// ToPlain returns the record as plain JSON-able values in the canonical
// forms of CanonicalJSON (strings for dates and decimals, objects for
// money), for display and for templates.
func ToPlain(rec map[string]any) map[string]any {
	if rec == nil {
		return nil
	}
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		out[k] = plainValue(v)
	}
	return out
}

// plainValue is ToPlain for one value.
func plainValue(v any) any {
	switch x := v.(type) {
	case Decimal:
		return x.String()
	case Date:
		return x.String()
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case Number:
		return json.Number(x.String())
	case Money:
		return map[string]any{
			"amount": x.Amount.String(), "currency": x.Currency, "vat_rate": x.VatRate.String(),
			"basis": x.Basis, "net": x.Net.String(), "gross": x.Gross.String(), "vat": x.Vat.String(),
		}
	case map[string]any:
		return ToPlain(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}

// maxDepth bounds nesting so a cyclic or hostile value cannot exhaust the stack.
const maxDepth = 200

type encoder struct {
	buf       []byte
	members   []kv // scratch for sorting, shared down the recursion
	canonical bool
	ds, ts    string
	prices    string
	dateL     *layout
	dtL       *layout
	loc       *time.Location
}

var encoders = sync.Pool{New: func() any { return &encoder{buf: make([]byte, 0, 1024)} }}

func getEncoder() *encoder { return encoders.Get().(*encoder) }

func putEncoder(e *encoder) {
	if cap(e.buf) > 1<<20 {
		return // let an unusually large buffer go
	}
	clear(e.members[:cap(e.members)])
	*e = encoder{buf: e.buf[:0], members: e.members[:0]}
	encoders.Put(e)
}

func (e *encoder) setConventions(c Conventions) error {
	var err error
	if e.dateL, err = getLayout(c.dateFormat(), false); err != nil {
		return fmt.Errorf("destination date_format: %w", err)
	}
	if c.DateTimeFormat != "" {
		if e.dtL, err = getLayout(c.DateTimeFormat, true); err != nil {
			return fmt.Errorf("destination datetime_format: %w", err)
		}
	}
	if e.loc, err = getLocation(c.Timezone); err != nil {
		return fmt.Errorf("destination timezone: %w", err)
	}
	e.ds, e.ts, e.prices = c.decimalSep(), c.ThousandsSeparator, c.prices()
	return nil
}

func (e *encoder) value(v any, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("the record is nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendJSONString(e.buf, x)
	case bool:
		e.buf = strconv.AppendBool(e.buf, x)
	case json.Number:
		return e.number(string(x))
	case Number:
		e.buf, _ = Decimal(x).AppendText(e.buf)
	case int:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case int64:
		e.buf = strconv.AppendInt(e.buf, x, 10)
	case int32:
		e.buf = strconv.AppendInt(e.buf, int64(x), 10)
	case uint64:
		e.buf = strconv.AppendUint(e.buf, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%v cannot be written as JSON", x)
		}
		f := byte('f')
		if a := math.Abs(x); a != 0 && (a < 1e-6 || a >= 1e21) {
			f = 'e'
		}
		e.buf = strconv.AppendFloat(e.buf, x, f, -1, 64)
	case Decimal:
		e.decimal(x)
	case Date:
		e.buf = append(e.buf, '"')
		if e.canonical {
			e.buf = x.appendISO(e.buf)
		} else {
			e.buf = e.dateL.appendDate(e.buf, x, 0, 0, 0)
		}
		e.buf = append(e.buf, '"')
	case time.Time:
		e.buf = append(e.buf, '"')
		if e.canonical {
			e.buf = x.AppendFormat(e.buf, time.RFC3339Nano)
		} else {
			e.buf = appendDateTime(e.buf, x, e.dtL, e.loc)
		}
		e.buf = append(e.buf, '"')
	case Money:
		if !e.canonical {
			e.decimal(x.In(e.prices))
			return nil
		}
		e.buf = append(e.buf, `{"amount":`...)
		e.decimal(x.Amount)
		e.buf = append(e.buf, `,"basis":`...)
		e.buf = appendJSONString(e.buf, x.Basis)
		e.buf = append(e.buf, `,"currency":`...)
		e.buf = appendJSONString(e.buf, x.Currency)
		e.buf = append(e.buf, `,"gross":`...)
		e.decimal(x.Gross)
		e.buf = append(e.buf, `,"net":`...)
		e.decimal(x.Net)
		e.buf = append(e.buf, `,"vat":`...)
		e.decimal(x.Vat)
		e.buf = append(e.buf, `,"vat_rate":`...)
		e.decimal(x.VatRate)
		e.buf = append(e.buf, '}')
	case map[string]any:
		return e.object(x, depth)
	case []any:
		e.buf = append(e.buf, '[')
		for i, el := range x {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(el, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	default:
		// Values of other Go types (from lookup tables, say) go through
		// encoding/json, which also sorts map keys.
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("cannot write %T as JSON: %w", x, err)
		}
		e.buf = append(e.buf, b...)
	}
	return nil
}

func (e *encoder) object(m map[string]any, depth int) error {
	start := len(e.members)
	for k, v := range m {
		e.members = append(e.members, kv{k, v})
	}
	members := e.members[start:]
	// Insertion sort: objects are small, and it needs no closure.
	for i := 1; i < len(members); i++ {
		for j := i; j > 0 && members[j].k < members[j-1].k; j-- {
			members[j], members[j-1] = members[j-1], members[j]
		}
	}
	e.buf = append(e.buf, '{')
	for i := range members {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendJSONString(e.buf, members[i].k)
		e.buf = append(e.buf, ':')
		// Re-slice: the recursion may have grown (moved) e.members.
		if err := e.value(e.members[start+i].v, depth+1); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, '}')
	clear(e.members[start:])
	e.members = e.members[:start]
	return nil
}

// number writes a JSON number as is, after checking it is one: a
// json.Number built from a string must not smuggle arbitrary text into the
// payload.
func (e *encoder) number(s string) error {
	if !isJSONNumber(s) {
		return fmt.Errorf("%q is not a JSON number", s)
	}
	e.buf = append(e.buf, s...)
	return nil
}

func (e *encoder) decimal(d Decimal) {
	e.buf = append(e.buf, '"')
	if e.canonical {
		e.buf, _ = d.AppendText(e.buf)
	} else {
		e.buf = appendDecimal(e.buf, d, e.ds, e.ts)
	}
	e.buf = append(e.buf, '"')
}

// appendDecimal writes d with the given separators: 1234567.5 with "," and
// " " is "1 234 567,5".
func appendDecimal(dst []byte, d Decimal, ds, ts string) []byte {
	var tmp [48]byte
	s, _ := d.AppendText(tmp[:0])
	if ds == "." && ts == "" {
		return append(dst, s...)
	}
	if len(s) > 0 && s[0] == '-' {
		dst = append(dst, '-')
		s = s[1:]
	}
	intPart, frac := s, []byte(nil)
	for i, c := range s {
		if c == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	for i, c := range intPart {
		if ts != "" && i > 0 && (len(intPart)-i)%3 == 0 {
			dst = append(dst, ts...)
		}
		dst = append(dst, c)
	}
	if frac != nil {
		dst = append(dst, ds...)
		dst = append(dst, frac...)
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Invalid UTF-8 becomes U+FFFD
// (as encoding/json does) and U+2028/U+2029 are escaped so the output is
// also safe inside JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// isJSONNumber reports whether s is exactly one number in JSON's grammar.
func isJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
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
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || s[i] < '0' || s[i] > '9' {
			return false
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
			return false
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}
