package mapping

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/govalues/decimal"
)

// Decimal is an exact decimal number: amounts, rates and quantities never go
// through float64. It is github.com/govalues/decimal's type (a 64-bit
// coefficient and a scale, up to 19 significant digits, no allocation per
// operation). That library only rounds half-to-even, so half-up rounding, the
// rule of invoices and tax, is done here (roundHalfUp, quoHalfUp).
type Decimal = decimal.Decimal

// maxDecimalDigits is what a Decimal holds; longer numbers are refused
// rather than rounded, since silently dropping digits of an amount is worse
// than quarantining it.
const maxDecimalDigits = decimal.MaxPrec

// ParseDecimal reads s with the conventions' separators: "1 210,00" with
// decimal "," and thousands " ", "1,210.00" with "." and ",", "1.210,00"
// with "," and ".". It never guesses: a separator the conventions do not
// declare is refused ("1.210" when the decimal separator is "," and no
// thousands separator is declared could be 1.21 or 1210), and so is
// anything that is not a plain number (exponents, currency signs, letters).
func ParseDecimal(s string, c Conventions) (Decimal, error) {
	return parseDecimal(s, c.decimalSep(), c.ThousandsSeparator)
}

func parseDecimal(s, ds, ts string) (Decimal, error) {
	orig := s
	s = trimNumberSpace(s)
	if s == "" {
		return Decimal{}, newValueError("decimal", orig, "%s is not a number", quote(orig))
	}
	neg := false
	switch s[0] {
	case '-':
		neg = true
		s = s[1:]
	case '+':
		s = s[1:]
	}
	var coef uint64
	digits, scale := 0, 0
	seenPoint := false
	groupLen := -1 // digits since the last thousands separator; -1 before any
	firstGroup := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if coef == 0 && c == '0' && !seenPoint {
				// Leading zeros carry no precision.
			} else {
				digits++
			}
			if digits > maxDecimalDigits {
				return Decimal{}, newValueError("decimal", orig, "%s has more than %d significant digits", quote(orig), maxDecimalDigits)
			}
			coef = coef*10 + uint64(c-'0')
			if seenPoint {
				scale++
			} else if groupLen >= 0 {
				groupLen++
			} else {
				firstGroup++
			}
			i++
		case !seenPoint && strings.HasPrefix(s[i:], ds):
			if groupLen >= 0 && groupLen != 3 {
				return Decimal{}, badGrouping(orig, ts)
			}
			seenPoint = true
			i += len(ds)
		case !seenPoint && ts != "" && (strings.HasPrefix(s[i:], ts) || (ts == " " && isSpaceSep(s[i:]))):
			if (groupLen < 0 && (firstGroup == 0 || firstGroup > 3)) || (groupLen >= 0 && groupLen != 3) {
				return Decimal{}, badGrouping(orig, ts)
			}
			groupLen = 0
			if ts == " " {
				_, n := utf8.DecodeRuneInString(s[i:])
				i += n
			} else {
				i += len(ts)
			}
		case c == '.' || c == ',' || c == ' ' || c == '\'':
			other := string(c)
			if c == ' ' {
				other = "a space"
			} else {
				other = fmt.Sprintf("%q", other)
			}
			if ts == "" {
				return Decimal{}, newValueError("decimal", orig, "%s uses %s, which is neither the decimal separator %q nor a declared thousands separator; it could mean either, so declare thousands_separator on the system if it groups thousands", quote(orig), other, ds)
			}
			return Decimal{}, newValueError("decimal", orig, "%s uses %s where the system declares decimal separator %q and thousands separator %q", quote(orig), other, ds, ts)
		default:
			return Decimal{}, newValueError("decimal", orig, "%s is not a number (unexpected %s)", quote(orig), quote(string(utf8RuneAt(s, i))))
		}
	}
	if groupLen >= 0 && !seenPoint && groupLen != 3 {
		return Decimal{}, badGrouping(orig, ts)
	}
	if firstGroup == 0 && scale == 0 && groupLen < 0 {
		return Decimal{}, newValueError("decimal", orig, "%s is not a number", quote(orig))
	}
	if seenPoint && scale == 0 {
		return Decimal{}, newValueError("decimal", orig, "%s ends with the decimal separator", quote(orig))
	}
	if scale > decimal.MaxScale || coef > math.MaxInt64 {
		return Decimal{}, newValueError("decimal", orig, "%s has more than %d significant digits", quote(orig), maxDecimalDigits-1)
	}
	v := int64(coef)
	if neg {
		v = -v
	}
	d, err := decimal.New(v, scale)
	if err != nil {
		return Decimal{}, newValueError("decimal", orig, "%s is out of range: %v", quote(orig), err)
	}
	return d, nil
}

func badGrouping(orig, ts string) error {
	return newValueError("decimal", orig, "%s does not group thousands by three with %q", quote(orig), ts)
}

// isSpaceSep reports whether s starts with a no-break or narrow no-break
// space, which locales and spreadsheets emit where people type " ".
func isSpaceSep(s string) bool {
	return strings.HasPrefix(s, "\u00a0") || strings.HasPrefix(s, "\u202f")
}

func trimNumberSpace(s string) string {
	return strings.TrimFunc(s, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' || r == '\u202f'
	})
}

func utf8RuneAt(s string, i int) rune {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return r
}

// toDecimal converts an expression value to a Decimal: strings with the
// reading conventions, JSON numbers exactly, integers, and floats through
// their shortest representation (a float64 cannot hold 0.1 exactly, but its
// shortest form is what the sender wrote).
func toDecimal(v any, c *Conventions) (Decimal, error) {
	switch x := v.(type) {
	case Decimal:
		return x, nil
	case string:
		return parseDecimal(x, c.decimalSep(), c.ThousandsSeparator)
	case json.Number:
		return parseJSONNumber(string(x))
	case Number:
		return Decimal(x), nil
	case int:
		return decimal.New(int64(x), 0)
	case int64:
		return decimal.New(x, 0)
	case int32:
		return decimal.New(int64(x), 0)
	case uint64:
		if x > math.MaxInt64 {
			return Decimal{}, newValueError("decimal", v, "%d is out of range", x)
		}
		return decimal.New(int64(x), 0)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Decimal{}, newValueError("decimal", v, "%v is not a number", x)
		}
		d, err := decimal.NewFromFloat64(x)
		if err != nil {
			return Decimal{}, newValueError("decimal", v, "%v is out of range", x)
		}
		return d, nil
	case nil:
		return Decimal{}, newValueError("missing", nil, "the value is missing")
	case Money:
		return Decimal{}, newValueError("type", v, "%s is money; take net(m), gross(m) or m.amount", x)
	default:
		return Decimal{}, newValueError("type", v, "%s is %s, not a number", quote(shortValue(v)), typeName(v))
	}
}

// parseJSONNumber reads a JSON number, which may carry an exponent.
func parseJSONNumber(s string) (Decimal, error) {
	if !strings.ContainsAny(s, "eE") {
		return parseDecimal(s, ".", "")
	}
	d, err := decimal.Parse(s)
	if err != nil {
		return Decimal{}, newValueError("decimal", s, "%s is out of range for an exact decimal", quote(s))
	}
	return d, nil
}

// roundHalfUp rounds d to scale digits after the point, halves away from
// zero (-0.005 → -0.01), and pads to exactly scale digits so amounts always
// print with their currency's minor unit ("1000.00", not "1000").
func roundHalfUp(d Decimal, scale int) (Decimal, error) {
	if scale < 0 {
		scale = 0
	}
	if d.Scale() <= scale {
		return d.Pad(scale), nil
	}
	t := d.Trunc(scale)
	r, err := d.Sub(t)
	if err != nil {
		return Decimal{}, err
	}
	half, err := decimal.New(5, scale+1)
	if err != nil {
		return Decimal{}, err
	}
	if r.CmpAbs(half) >= 0 {
		ulp, err := decimal.New(1, scale)
		if err != nil {
			return Decimal{}, err
		}
		if d.IsNeg() {
			t, err = t.Sub(ulp)
		} else {
			t, err = t.Add(ulp)
		}
		if err != nil {
			return Decimal{}, err
		}
	}
	return t.Pad(scale), nil
}

// pow10 holds exact powers of ten as decimals for scaling.
var pow10 = func() [19]Decimal {
	var p [19]Decimal
	v := int64(1)
	for i := range p {
		p[i] = decimal.MustNew(v, 0)
		v *= 10
	}
	return p
}()

// quoHalfUp returns n/d rounded half-up to scale digits, computed exactly:
// Decimal.Quo rounds its own result half-to-even at 19 digits, and rounding
// that again could round a true x.xx4999… up.
func quoHalfUp(n, d Decimal, scale int) (Decimal, error) {
	if d.IsZero() {
		return Decimal{}, fmt.Errorf("division by zero")
	}
	if scale < 0 || scale >= len(pow10) {
		return Decimal{}, fmt.Errorf("scale %d out of range", scale)
	}
	ns, err := n.Mul(pow10[scale])
	if err != nil {
		return Decimal{}, err
	}
	q, r, err := ns.QuoRem(d)
	if err != nil {
		return Decimal{}, err
	}
	// |r| < |d|; round away from zero when 2|r| >= |d|.
	r2, err := r.Abs().Add(r.Abs())
	if err != nil {
		return Decimal{}, err
	}
	if r2.Cmp(d.Abs()) >= 0 {
		if n.IsNeg() != d.IsNeg() {
			q, err = q.Sub(pow10[0])
		} else {
			q, err = q.Add(pow10[0])
		}
		if err != nil {
			return Decimal{}, err
		}
	}
	// q is an integer count of 10^-scale units; shift the point back.
	whole, _, ok := q.Int64(0)
	if !ok {
		return Decimal{}, fmt.Errorf("%s is out of range", q)
	}
	return decimal.New(whole, scale)
}

// Number is a decimal written to JSON as a number rather than a string:
// number(d) in an expression, for destinations that want {"vat_rate": 21}
// rather than {"vat_rate": "21"}.
type Number Decimal

// String returns the number's text.
func (n Number) String() string { return Decimal(n).String() }

// MarshalJSON writes the number unquoted.
func (n Number) MarshalJSON() ([]byte, error) { return Decimal(n).AppendText(nil) }
