package mapping

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ValueError is the refusal of one value by the function library: a date
// that does not exist, an amount that does not parse, an unknown currency.
// Apply turns it into a seam.Reason, so Msg must be a sentence an operator
// can act on without reading the mapping's source.
type ValueError struct {
	Rule  string // the kind of check that failed: date, decimal, money, currency, phone, email, country, lookup, xref, type, missing
	Value string // the offending value, shortened for display
	Msg   string // what is wrong and, where possible, what to do about it
}

// Error implements error.
func (e *ValueError) Error() string { return e.Msg }

// newValueError builds a ValueError whose Value is v shortened for display.
func newValueError(rule string, v any, format string, args ...any) *ValueError {
	return &ValueError{Rule: rule, Value: shortValue(v), Msg: fmt.Sprintf(format, args...)}
}

// maxValueLen bounds how much of an offending value a reason repeats: enough
// to recognise it, not enough to copy a whole payload into the quarantine list.
const maxValueLen = 64

// shortValue renders v for a reason's Value field.
func shortValue(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		s = x
	case fmt.Stringer:
		s = x.String()
	default:
		s = fmt.Sprint(plainValue(v))
	}
	return shorten(s)
}

// shorten cuts s to maxValueLen runes, marking the cut.
func shorten(s string) string {
	if len(s) <= maxValueLen {
		return s
	}
	n := 0
	for i := range s {
		if n == maxValueLen {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// quote renders s the way messages cite input: in double quotes, shortened,
// with control characters escaped so a message stays on one line.
func quote(s string) string {
	s = shorten(s)
	if utf8.ValidString(s) {
		simple := true
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == 0x7f {
				simple = false
				break
			}
		}
		if simple {
			return `"` + s + `"`
		}
	}
	return strconv.Quote(s)
}
