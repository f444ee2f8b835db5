// Package validate checks a canonical record against its model: required
// fields, types, enums, ranges and formats. Values that arrive as text or
// numbers (an id mapped from a JSON number, a date already in ISO form)
// are converted to the field's type; everything else is refused with the
// field path, the offending value and the rule, e.g.
// `total.vat_rate: 2100 is not a VAT rate (0–100)`.
package validate

import (
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/govalues/decimal"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/mapping"
)

var (
	e164    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	alpha2  = regexp.MustCompile(`^[A-Z]{2}$`)
	iso4217 = regexp.MustCompile(`^[A-Z]{3}$`)
	// patterns caches compiled model patterns; records are validated
	// concurrently, so it must be safe for that.
	patterns sync.Map
)

// Record validates rec against model in c and returns it with values
// converted to their field types. It reports every problem, not the first.
func Record(c *catalog.Catalog, model string, rec map[string]any) (map[string]any, []seam.Reason) {
	m, ok := c.Models[model]
	if !ok {
		return rec, []seam.Reason{{Stage: seam.StageValidate, Rule: "model", Message: fmt.Sprintf("unknown model %q", model)}}
	}
	v := &validator{c: c}
	out := v.object("", m.Fields, m.Order, rec)
	return out, v.reasons
}

type validator struct {
	c       *catalog.Catalog
	reasons []seam.Reason
}

func (v *validator) fail(path, rule string, value any, format string, args ...any) {
	v.reasons = append(v.reasons, seam.Reason{
		Stage: seam.StageValidate, Field: path, Rule: rule, Value: short(value),
		Message: fmt.Sprintf(format, args...),
	})
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (v *validator) object(path string, fields map[string]*catalog.ModelField, order []string, rec map[string]any) map[string]any {
	for _, name := range order {
		f := fields[name]
		if f == nil {
			continue
		}
		val, present := rec[name]
		if !present || val == nil || val == "" {
			if f.Required {
				v.fail(join(path, name), "required", nil, "is required by the model but missing or empty")
			}
			if present && val == "" && !f.Required && f.Type != "string" && f.Type != "id" {
				// An empty optional value means "not given", not "invalid".
				delete(rec, name)
			}
			continue
		}
		rec[name] = v.value(join(path, name), f, val)
	}
	for name := range rec {
		if _, ok := fields[name]; !ok {
			v.fail(join(path, name), "unknown", nil, "the model has no field %q", name)
		}
	}
	return rec
}

func (v *validator) value(path string, f *catalog.ModelField, val any) any {
	switch f.Type {
	case "json":
		return val
	case "string":
		s, ok := text(val)
		if !ok {
			v.fail(path, "type", val, "expected text, got %s", kind(val))
			return val
		}
		v.length(path, f, s)
		v.pattern(path, f, s)
		return s
	case "id":
		s, ok := text(val)
		if !ok || strings.TrimSpace(s) == "" {
			v.fail(path, "type", val, "expected an identifier, got %s", kind(val))
			return val
		}
		v.pattern(path, f, s)
		return s
	case "integer":
		d, err := toDecimal(val)
		if err != nil || !d.IsInt() {
			v.fail(path, "type", val, "expected a whole number, got %s", kind(val))
			return val
		}
		i, _, _ := d.Int64(0)
		v.bounds(path, f, d)
		return i
	case "decimal":
		d, err := toDecimal(val)
		if err != nil {
			v.fail(path, "type", val, "expected a decimal number, got %s", kind(val))
			return val
		}
		v.bounds(path, f, d)
		return d
	case "bool":
		b, ok := val.(bool)
		if !ok {
			v.fail(path, "type", val, "expected true or false, got %s", kind(val))
		}
		return b
	case "date":
		switch t := val.(type) {
		case mapping.Date:
			return t
		case string:
			d, err := mapping.ParseDate(t, "YYYY-MM-DD")
			if err != nil {
				v.fail(path, "date", val, "expected a date; map it with date(…) so the source's format is used (%v)", err)
				return val
			}
			return d
		}
		v.fail(path, "type", val, "expected a date, got %s; map it with date(…)", kind(val))
		return val
	case "datetime":
		switch t := val.(type) {
		case time.Time:
			return t
		case string:
			tm, err := time.Parse(time.RFC3339Nano, t)
			if err != nil {
				v.fail(path, "datetime", val, "expected a date-time with its offset (RFC 3339); map it with datetime(…)")
				return val
			}
			return tm
		}
		v.fail(path, "type", val, "expected a date-time, got %s; map it with datetime(…)", kind(val))
		return val
	case "money":
		m, ok := val.(mapping.Money)
		if !ok {
			v.fail(path, "type", val, "expected money, got %s; map it with money(amount, vat_rate) so the VAT basis and currency are explicit", kind(val))
			return val
		}
		if m.VatRate.IsNeg() || m.VatRate.Cmp(decimal.Hundred) > 0 {
			v.fail(path+".vat_rate", "range", m.VatRate, "%s is not a VAT rate (0–100)", m.VatRate)
		}
		v.bounds(path, f, m.Amount)
		return m
	case "email":
		s, ok := text(val)
		a, err := mail.ParseAddress(s)
		if !ok || err != nil || a.Address != s || a.Name != "" {
			v.fail(path, "email", val, "%q is not an e-mail address; map it with email(…) to normalise it", s)
			return val
		}
		return s
	case "phone":
		s, ok := text(val)
		if !ok || !e164.MatchString(s) {
			v.fail(path, "phone", val, "%q is not a phone number in E.164 form (+420601234567); map it with phone(…)", s)
			return val
		}
		return s
	case "country":
		s, ok := text(val)
		if !ok || !alpha2.MatchString(s) {
			v.fail(path, "country", val, "%q is not an ISO 3166 country code (CZ, DE…); map it with country(…)", s)
			return val
		}
		return s
	case "currency":
		s, ok := text(val)
		if !ok || !iso4217.MatchString(s) {
			v.fail(path, "currency", val, "%q is not an ISO 4217 currency code (CZK, EUR…); map it with currency(…)", s)
			return val
		}
		return s
	case "enum":
		s, ok := text(val)
		if !ok || !slices.Contains(f.Values, s) {
			v.fail(path, "enum", val, "%q is not one of %s", s, strings.Join(f.Values, ", "))
			return val
		}
		return s
	case "object":
		obj, ok := val.(map[string]any)
		if !ok {
			v.fail(path, "type", val, "expected an object, got %s", kind(val))
			return val
		}
		return v.object(path, f.Fields, f.Order, obj)
	case "list":
		items, ok := val.([]any)
		if !ok {
			v.fail(path, "type", val, "expected a list, got %s", kind(val))
			return val
		}
		v.length(path, f, "")
		item := &catalog.ModelField{Type: f.Of}
		for i, it := range items {
			items[i] = v.value(fmt.Sprintf("%s[%d]", path, i), item, it)
		}
		if f.Min != nil && float64(len(items)) < *f.Min {
			v.fail(path, "range", len(items), "has %d items; at least %v are required", len(items), *f.Min)
		}
		return items
	}
	if m, ok := v.c.Models[f.Type]; ok {
		obj, ok := val.(map[string]any)
		if !ok {
			v.fail(path, "type", val, "expected a %s, got %s", f.Type, kind(val))
			return val
		}
		return v.object(path, m.Fields, m.Order, obj)
	}
	v.fail(path, "type", val, "unknown type %q", f.Type)
	return val
}

func (v *validator) bounds(path string, f *catalog.ModelField, d decimal.Decimal) {
	x, _ := d.Float64()
	if f.Min != nil && x < *f.Min {
		v.fail(path, "range", d, "%s is below the minimum %v", d, *f.Min)
	}
	if f.Max != nil && x > *f.Max {
		v.fail(path, "range", d, "%s is above the maximum %v", d, *f.Max)
	}
}

func (v *validator) length(path string, f *catalog.ModelField, s string) {
	if f.Type != "string" {
		return
	}
	n := float64(utf8.RuneCountInString(s))
	if f.Min != nil && n < *f.Min {
		v.fail(path, "length", s, "is %v characters long; at least %v are required", n, *f.Min)
	}
	if f.Max != nil && n > *f.Max {
		v.fail(path, "length", s, "is %v characters long; at most %v are allowed", n, *f.Max)
	}
}

func (v *validator) pattern(path string, f *catalog.ModelField, s string) {
	if f.Pattern == "" {
		return
	}
	cached, ok := patterns.Load(f.Pattern)
	if !ok {
		re, err := regexp.Compile(f.Pattern)
		if err != nil {
			return // reported by seam validate
		}
		cached, _ = patterns.LoadOrStore(f.Pattern, re)
	}
	if !cached.(*regexp.Regexp).MatchString(s) {
		v.fail(path, "format", s, "%q does not match %s", s, f.Pattern)
	}
}

func text(val any) (string, bool) {
	switch t := val.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e15 {
			return strconv.FormatFloat(t, 'f', -1, 64), true
		}
		return "", false
	case fmt.Stringer:
		return t.String(), true
	}
	return "", false
}

func toDecimal(val any) (decimal.Decimal, error) {
	switch t := val.(type) {
	case decimal.Decimal:
		return t, nil
	case string:
		return mapping.ParseDecimal(t, mapping.Conventions{})
	case json.Number:
		return mapping.ParseDecimal(t.String(), mapping.Conventions{})
	case int:
		return decimal.New(int64(t), 0)
	case int64:
		return decimal.New(t, 0)
	case float64:
		return decimal.NewFromFloat64(t)
	}
	return decimal.Decimal{}, fmt.Errorf("not a number")
}

func kind(val any) string {
	switch t := val.(type) {
	case string:
		return fmt.Sprintf("the text %q", shortStr(t))
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case mapping.Money:
		return "money"
	case mapping.Date:
		return "a date"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", val)
}

func short(v any) string {
	if v == nil {
		return ""
	}
	s, ok := text(v)
	if !ok {
		s = fmt.Sprint(v)
	}
	return shortStr(s)
}

func shortStr(s string) string {
	if utf8.RuneCountInString(s) > 60 {
		return string([]rune(s)[:60]) + "…"
	}
	return s
}
