package mapping

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/govalues/decimal"
)

// funcSpec is one function of the library as expressions see it.
type funcSpec struct {
	name  string
	fn    func(args ...any) (any, error)
	types []any // accepted signatures; they give the compile-time arity check
}

var (
	sig1 = new(func(any) any)
	sig2 = new(func(any, any) any)
	sig3 = new(func(any, any, any) any)
	sig4 = new(func(any, any, any, any) any)
)

// library builds the function library bound to one scope: the reading
// conventions, lookup tables and clock are fixed at compile time, so the
// functions need no per-record state except Env (for xref), which reaches
// them through the hidden __env variable.
func library(sc *Scope) []funcSpec {
	conv := sc.Conventions
	c := &conv
	nowFn := sc.Now
	if nowFn == nil {
		nowFn = time.Now
	}
	dateLayout, _ := getLayout(c.dateFormat(), false)
	if dateLayout == nil {
		dateLayout, _ = getLayout(defaultDateFormat, false)
	}
	var dtLayout *layout
	if c.DateTimeFormat != "" {
		dtLayout, _ = getLayout(c.DateTimeFormat, true)
	}
	loc := c.location()
	lookups := sc.Lookups

	text := func(name string, f func(string) string) funcSpec {
		return funcSpec{name, func(a ...any) (any, error) {
			s, ok, err := textArg(name, a[0])
			if !ok {
				return nil, err
			}
			return f(s), nil
		}, []any{sig1}}
	}

	return []funcSpec{
		text("trim", strings.TrimSpace),
		text("lower", strings.ToLower),
		text("upper", strings.ToUpper),
		text("title", titleCase),
		text("collapse", collapseSpace),
		text("strip_diacritics", stripDiacritics),
		{"split_name", func(a ...any) (any, error) {
			s, ok, err := textArg("split_name", a[0])
			if !ok {
				return nil, err
			}
			return splitName(s), nil
		}, []any{sig1}},
		{"join", func(a ...any) (any, error) { return joinList(a[0], a[1]) }, []any{sig1, sig2}},
		{"split", func(a ...any) (any, error) {
			s, ok, err := textArg("split", a[0])
			if !ok {
				return nil, err
			}
			sep, ok := a[1].(string)
			if !ok {
				return nil, newValueError("type", a[1], "split needs a text separator")
			}
			parts := strings.Split(s, sep)
			out := make([]any, len(parts))
			for i, p := range parts {
				out[i] = p
			}
			return out, nil
		}, []any{sig2}},
		{"default", func(a ...any) (any, error) {
			if isEmpty(a[0]) {
				return a[1], nil
			}
			return a[0], nil
		}, []any{sig2}},
		{"coalesce", func(a ...any) (any, error) {
			for _, v := range a {
				if !isEmpty(v) {
					return v, nil
				}
			}
			return nil, nil
		}, []any{new(func(...any) any)}},

		{"date", func(a ...any) (any, error) {
			l := dateLayout
			if len(a) > 1 {
				f, ok := a[1].(string)
				if !ok {
					return nil, newValueError("type", a[1], "the format of date() must be text such as \"DD/MM/YYYY\"")
				}
				var err error
				if l, err = getLayout(f, false); err != nil {
					return nil, newValueError("date", f, "%v", err)
				}
			}
			return toDate(a[0], l, c.TwoDigitYears || l.twoDigit, loc)
		}, []any{sig1, sig2}},
		{"datetime", func(a ...any) (any, error) {
			l, z := dtLayout, loc
			if len(a) > 1 {
				f, ok := a[1].(string)
				if !ok {
					return nil, newValueError("type", a[1], "the format of datetime() must be text, \"\" for RFC 3339")
				}
				l = nil
				if f != "" {
					var err error
					if l, err = getLayout(f, true); err != nil {
						return nil, newValueError("datetime", f, "%v", err)
					}
				}
			}
			if len(a) > 2 {
				name, _ := a[2].(string)
				var err error
				if z, err = getLocation(name); err != nil {
					return nil, newValueError("datetime", a[2], "%v", err)
				}
			}
			switch x := a[0].(type) {
			case nil:
				return nil, nil
			case time.Time:
				return x, nil
			case string:
				return parseDateTime(x, l, z, c.TwoDigitYears || (l != nil && l.twoDigit))
			default:
				return nil, newValueError("type", x, "%s is %s, not a datetime", quote(shortValue(x)), typeName(x))
			}
		}, []any{sig1, sig2, sig3}},
		{"format_date", func(a ...any) (any, error) { return formatDateValue(a[0], a[1], loc) }, []any{sig2}},
		{"today", func(...any) (any, error) {
			t := nowFn().In(loc)
			return Date{t.Year(), t.Month(), t.Day()}, nil
		}, []any{new(func() any)}},
		{"now", func(...any) (any, error) { return nowFn(), nil }, []any{new(func() any)}},

		{"decimal", func(a ...any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			return toDecimal(a[0], c)
		}, []any{sig1}},
		{"money", func(a ...any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			amount, err := toDecimal(a[0], c)
			if err != nil {
				return nil, err
			}
			if a[1] == nil {
				return nil, newValueError("money", nil, "the VAT rate of %s is missing; pass it as money(amount, vat_rate)", amount)
			}
			rate, err := toDecimal(a[1], c)
			if err != nil {
				return nil, err
			}
			basis, cur := c.prices(), c.Currency
			if len(a) > 2 {
				if basis, err = stringArg("money", "basis", a[2]); err != nil {
					return nil, err
				}
			}
			if len(a) > 3 {
				if cur, err = stringArg("money", "currency", a[3]); err != nil {
					return nil, err
				}
			}
			return NewMoney(amount, rate, basis, cur)
		}, []any{sig2, sig3, sig4}},
		{"net", func(a ...any) (any, error) { return moneyPart(a[0], "net") }, []any{sig1}},
		{"gross", func(a ...any) (any, error) { return moneyPart(a[0], "gross") }, []any{sig1}},
		{"vat", func(a ...any) (any, error) { return moneyPart(a[0], "vat") }, []any{sig1}},
		{"round", func(a ...any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			d, err := toDecimal(a[0], c)
			if err != nil {
				return nil, err
			}
			places := 0
			if len(a) > 1 {
				p, ok := a[1].(int)
				if !ok || p < 0 || p > 18 {
					return nil, newValueError("type", a[1], "round() takes a whole number of places from 0 to 18")
				}
				places = p
			}
			r, err := roundHalfUp(d, places)
			if err != nil {
				return nil, newValueError("decimal", d, "%s cannot be rounded to %d places (%v)", d, places, err)
			}
			return r, nil
		}, []any{sig1, sig2}},
		{"currency", func(a ...any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			return parseCurrency(a[0])
		}, []any{sig1}},
		{"number", func(a ...any) (any, error) {
			if a[0] == nil {
				return nil, nil
			}
			d, err := toDecimal(a[0], c)
			if err != nil {
				return nil, err
			}
			return Number(d), nil
		}, []any{sig1}},

		{"phone", func(a ...any) (any, error) {
			s, ok, err := textArg("phone", a[0])
			if !ok {
				return nil, err
			}
			region := c.Country
			if len(a) > 1 {
				r, ok := a[1].(string)
				cc, known := lookupCountry(r)
				if !ok || !known {
					return nil, newValueError("country", a[1], "%s is not a country for phone()", quote(shortValue(a[1])))
				}
				region = cc
			}
			return normalizePhone(s, region)
		}, []any{sig1, sig2}},
		{"email", func(a ...any) (any, error) {
			s, ok, err := textArg("email", a[0])
			if !ok {
				return nil, err
			}
			return normalizeEmail(s)
		}, []any{sig1}},
		{"country", func(a ...any) (any, error) {
			s, ok, err := textArg("country", a[0])
			if !ok {
				return nil, err
			}
			return normalizeCountry(s)
		}, []any{sig1}},

		{"lookup", func(a ...any) (any, error) {
			table, _ := a[0].(string)
			t, ok := lookups[table]
			if !ok {
				return nil, newValueError("lookup", table, "there is no lookup table %s", quote(table))
			}
			key := keyString(a[1])
			if v, ok := t[key]; ok {
				return v, nil
			}
			if len(a) > 2 {
				return a[2], nil
			}
			return nil, newValueError("lookup", key, "%s is not in lookup table %s (%s); add it to the table or pass a default: lookup(%q, key, default)", quote(key), table, knownKeys(t), table)
		}, []any{sig2, sig3}},
		{"__xref", func(a ...any) (any, error) {
			var env *Env
			if st, _ := a[0].(*evalState); st != nil {
				env = &st.env
			}
			sys, ent, key := keyString(a[1]), keyString(a[2]), keyString(a[3])
			if env == nil || env.XRef == nil {
				return nil, newValueError("xref", key, "no cross-reference of %s %s is known in %s", ent, quote(key), sys)
			}
			v, ok := env.XRef(sys, ent, key)
			if !ok {
				return nil, newValueError("xref", key, "no cross-reference of %s %s is known in %s yet; the flow that creates it in %s has probably not delivered it", ent, quote(key), sys, sys)
			}
			return v, nil
		}, []any{sig4}},
	}
}

// textArg accepts text (and numbers, as their text) for a text function. A
// missing value gives ok=false with no error: missing stays missing, and
// whether a field is required is for the model to say.
func textArg(fn string, v any) (string, bool, error) {
	switch x := v.(type) {
	case string:
		return x, true, nil
	case nil:
		return "", false, nil
	case json.Number:
		return string(x), true, nil
	case Number:
		return x.String(), true, nil
	case Decimal:
		return x.String(), true, nil
	}
	return "", false, newValueError("type", v, "%s() expects text, got %s", fn, typeName(v))
}

func stringArg(fn, what string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", newValueError("type", v, "the %s given to %s() must be text, got %s", what, fn, typeName(v))
	}
	return s, nil
}

// toDate converts an expression value to a Date.
func toDate(v any, l *layout, twoDigitOK bool, loc *time.Location) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case Date:
		return x, nil
	case time.Time:
		t := x.In(loc)
		return Date{t.Year(), t.Month(), t.Day()}, nil
	case string:
		d, err := parseDate(x, l, twoDigitOK)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, newValueError("type", v, "%s is %s, not a date", quote(shortValue(v)), typeName(v))
}

// formatDateValue is format_date(d, fmt).
func formatDateValue(v, f any, loc *time.Location) (any, error) {
	format, ok := f.(string)
	if !ok {
		return nil, newValueError("type", f, "the format of format_date() must be text such as \"DD.MM.YYYY\"")
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case Date:
		l, err := getLayout(format, false)
		if err != nil {
			return nil, newValueError("date", format, "%v", err)
		}
		return string(l.appendDate(nil, x, 0, 0, 0)), nil
	case time.Time:
		l, err := getLayout(format, true)
		if err != nil {
			if l, err = getLayout(format, false); err != nil {
				return nil, newValueError("date", format, "%v", err)
			}
		}
		return string(appendDateTime(nil, x, l, loc)), nil
	}
	return nil, newValueError("type", v, "format_date() needs a date; got %s (convert it with date() first)", typeName(v))
}

func moneyPart(v any, part string) (any, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case Money:
		switch part {
		case "net":
			return m.Net, nil
		case "gross":
			return m.Gross, nil
		}
		return m.Vat, nil
	}
	return nil, newValueError("type", v, "%s() needs money (from money()), got %s", part, typeName(v))
}

// joinList is join(list, sep): nil and empty items are skipped, so address
// lines with a missing part do not get doubled separators.
func joinList(list, sepV any) (any, error) {
	sep := ""
	if sepV != nil {
		s, ok := sepV.(string)
		if !ok {
			return nil, newValueError("type", sepV, "join needs a text separator")
		}
		sep = s
	}
	var b strings.Builder
	add := func(v any) error {
		if isEmpty(v) {
			return nil
		}
		s, ok, err := textArg("join", v)
		if !ok {
			if err == nil {
				return nil
			}
			if st, isStr := v.(fmt.Stringer); isStr {
				s = st.String()
			} else {
				return err
			}
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
		return nil
	}
	switch l := list.(type) {
	case nil:
		return nil, nil
	case []any:
		for _, v := range l {
			if err := add(v); err != nil {
				return nil, err
			}
		}
	case []string:
		for _, v := range l {
			_ = add(v)
		}
	default:
		return nil, newValueError("type", list, "join() needs a list, got %s", typeName(list))
	}
	return b.String(), nil
}

// keyString renders a lookup or cross-reference key: JSON numbers by their
// text, so lookup("vat", in.category) matches "10" whether the sender wrote
// 10 or "10".
func keyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case json.Number:
		return string(x)
	case float64:
		if d, err := decimal.NewFromFloat64(x); err == nil {
			return d.Trim(0).String()
		}
	case Decimal:
		return x.Trim(0).String()
	}
	return fmt.Sprint(v)
}

func knownKeys(t map[string]any) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	const show = 8
	if len(keys) == 0 {
		return "the table is empty"
	}
	more := ""
	if len(keys) > show {
		more = fmt.Sprintf(", … %d more", len(keys)-show)
		keys = keys[:show]
	}
	return "known: " + strings.Join(keys, ", ") + more
}

// typeName names the kind of a value for messages, in the words of JSON
// and the canonical model rather than Go's.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nothing"
	case string:
		return "text"
	case json.Number, Number, float64, float32, int, int64, int32, uint64, Decimal:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case Date:
		return "a date"
	case time.Time:
		return "a datetime"
	case Money:
		return "money"
	}
	return fmt.Sprintf("a %T", v)
}

// exprFunctions turns the library into expr options.
func exprFunctions(specs []funcSpec) []expr.Option {
	opts := make([]expr.Option, 0, len(specs))
	for _, s := range specs {
		opts = append(opts, expr.Function(s.name, s.fn, s.types...))
	}
	return opts
}
