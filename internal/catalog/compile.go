package catalog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/seamhq/seam/mapping"
)

// Compiled holds what the engine runs for a flow: its expressions, compiled
// once at load so that a bad one is a validation error, not a runtime one.
type Compiled struct {
	Key     *mapping.Program
	Event   *mapping.Program // nil: the key identifies the event
	Inbound *mapping.Mapping
	Links   *mapping.Mapping // nil: the flow declares no links
	Routes  map[string]*CompiledRoute
}

// CompiledRoute is a route's compiled expressions and its destination.
type CompiledRoute struct {
	When     *mapping.Program // nil: always
	Outbound *mapping.Mapping
	Remember *mapping.Mapping // nil: nothing to remember
	Dest     *System
}

// MappingConventions converts a system's declared conventions into the
// mapping language's.
func (c Conventions) MappingConventions() mapping.Conventions {
	return mapping.Conventions{
		DateFormat:         c.DateFormat,
		DateTimeFormat:     c.DateTimeFormat,
		Timezone:           c.Timezone,
		Prices:             c.Prices,
		Currency:           c.Currency,
		DecimalSeparator:   c.DecimalSeparator,
		ThousandsSeparator: c.ThousandsSeparator,
		Country:            c.Country,
		TwoDigitYears:      c.TwoDigitYears,
	}
}

// Lookups returns the lookup tables a flow's expressions see: the project's,
// overridden by the flow's own.
func (c *Catalog) Lookups(f *Flow) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, v := range c.Project.Lookups {
		out[k] = v
	}
	for k, v := range f.Lookups {
		out[k] = v
	}
	return out
}

func compileErr(r *report, x Expr, what string, err error) {
	var ce *mapping.CompileError
	if errors.As(err, &ce) {
		hint := ce.Hint
		switch {
		case x.inFlow && strings.Contains(ce.Msg, "unexpected token EOF") && strings.Contains(x.Src, "("):
			// money(in.total, in.vat) inside { … } reaches us as
			// "money(in.total": YAML took the comma.
			hint = "inside { … } a comma ends the value: quote the expression ('money(in.total, in.vat)') or write the mapping one field per line"
		case hint == "" && strings.Contains(ce.Msg, "unexpected token EOF"):
			hint = "the expression ends too early: look for a missing closing parenthesis, bracket or quote"
		}
		r.errorf(x.PosAt(ce.Line, ce.Column), hint, "%s: %s", what, ce.Msg)
		return
	}
	r.errorf(x.At, "", "%s: %v", what, err)
}

// conventionHints help with each kind of conventions problem.
var conventionHints = map[string]string{
	"date_format":         "build it from YYYY, MM, M, DD and D (YY with two_digit_years) and separators, e.g. DD/MM/YYYY or YYYY-MM-DD",
	"datetime_format":     "build it from the date_format tokens plus HH, mm and ss, e.g. DD.MM.YYYY HH:mm; leave it out for RFC 3339",
	"timezone":            "use an IANA time zone name such as Europe/Prague, America/New_York or UTC",
	"prices":              `use "gross" (amounts include VAT) or "net"`,
	"currency":            "use a three-letter ISO 4217 code such as CZK, EUR or USD",
	"decimal_separator":   `use "." or ","`,
	"thousands_separator": `use " ", ".", "," or "'", different from the decimal separator`,
	"country":             "use a two-letter ISO 3166-1 code such as CZ, DE or US",
}

func compile(c *Catalog, r *report) {
	for _, name := range c.SystemNames() {
		s := c.Systems[name]
		for _, problem := range s.Conventions.MappingConventions().Check() {
			// Each problem starts with the key it is about: point at it.
			key, _, _ := strings.Cut(problem, ":")
			r.errorf(keyAt(s.Conventions.Keys, key, s.Conventions.At), conventionHints[key], "system %s: conventions: %s", name, problem)
		}
	}
	for _, name := range c.FlowNames() {
		compileFlow(c, r, c.Flows[name])
	}
}

func compileFlow(c *Catalog, r *report, f *Flow) {
	cf := &Compiled{Routes: map[string]*CompiledRoute{}}
	lookups := c.Lookups(f)
	var conv mapping.Conventions
	if src, ok := c.Systems[f.Source.System]; ok {
		conv = src.Conventions.MappingConventions()
	}
	in := &mapping.Scope{Inbound: true, Lookups: lookups, Conventions: conv}
	ok := true
	if f.Key.Set() {
		p, err := mapping.Compile(f.Key.Src, in)
		if err != nil {
			compileErr(r, f.Key, "key", err)
			ok = false
		}
		cf.Key = p
	}
	if f.Event.Set() {
		p, err := mapping.Compile(f.Event.Src, in)
		if err != nil {
			compileErr(r, f.Event, "event", err)
			ok = false
		}
		cf.Event = p
	}
	inbound, bad := compileMap(r, f.Map, in)
	ok = ok && bad == 0
	cf.Inbound = inbound
	if len(f.Links) > 0 {
		links, bad := compileMap(r, f.Links, in)
		ok = ok && bad == 0
		cf.Links = links
	}

	var fields []string
	if m, found := c.Models[f.Model]; found {
		fields = m.Order
	}
	out := &mapping.Scope{Fields: fields, Lookups: lookups}
	// remember: sees only the destination's response: it runs when the
	// delivery completes, long after the canonical record was mapped.
	withResponse := &mapping.Scope{Fields: []string{"response"}, Lookups: lookups}
	for _, rt := range f.Routes {
		if rt == nil {
			continue
		}
		cr := &CompiledRoute{Dest: c.Systems[rt.To]}
		if rt.When.Set() {
			p, err := mapping.Compile(rt.When.Src, out)
			if err != nil {
				compileErr(r, rt.When, fmt.Sprintf("route %s: when", rt.Name), err)
				ok = false
			}
			cr.When = p
		}
		m, bad := compileMap(r, rt.Map, out)
		ok = ok && bad == 0
		cr.Outbound = m
		if len(rt.Remember) > 0 {
			m, bad := compileMap(r, rt.Remember, withResponse)
			ok = ok && bad == 0
			cr.Remember = m
		}
		cf.Routes[rt.Name] = cr
	}
	if ok {
		f.Compiled = cf
	}
}

func compileMap(r *report, fm FieldMap, sc *mapping.Scope) (*mapping.Mapping, int) {
	fields := make([]mapping.Field, 0, len(fm))
	for _, fe := range fm {
		if fe.Expr.Src == "" {
			continue // reported by the decoder
		}
		fields = append(fields, mapping.Field{Target: fe.Target, Expr: fe.Expr.Src})
	}
	m, errs := mapping.NewMapping(fields, sc)
	for _, fe := range errs {
		x, _ := fm.Get(fe.Target)
		compileErr(r, x.Expr, fe.Target, fe.Err)
	}
	return m, len(errs)
}
