// Package lineage answers "what is connected to what" from a catalog: which
// systems each flow connects, for which entity, which fields each mapping
// reads and writes, which flows feed which (upstream and downstream
// chains), and what a change to a system, entity or field reaches (impact).
//
// Everything is computed from the declared catalog, never from traffic:
// the map, the docs, impact, plan and audit all build on the same Graph, so
// they never disagree about a connection.
//
// Vocabulary. A flow carries one entity (its model) from its source system
// to the destination systems of its routes. Flow A feeds flow B when one of
// A's routes delivers to B's source system and both carry the same entity:
// what A writes into that system is what B later reads out of it. A field
// is named system.entity.field with the system's own field name (the input
// path a flow reads, or the target field a route writes), or entity.field
// for a canonical field.
package lineage

import (
	"slices"
	"sort"
	"strings"

	"github.com/seamhq/seam/internal/catalog"
)

// Graph is a catalog seen as connections.
type Graph struct {
	Catalog *catalog.Catalog
	// Reconciliations are the checks that compare numbers between systems:
	// the catalog's (declared under reconcile: on flows) and any passed in
	// through Options. Impact reports the ones a change reaches.
	Reconciliations []Reconciliation

	flows map[string]*Flow
	names []string
}

// Options tune Build.
type Options struct {
	// Reconciliations to include in impact analysis.
	Reconciliations []Reconciliation
}

// Reconciliation is a check that the numbers add up between systems.
// Lineage only needs its name, owner and what it reads, so checks from
// elsewhere than the catalog fit too.
type Reconciliation struct {
	Name  string     `json:"name"`
	Owner string     `json:"owner"`
	Reads []FieldRef `json:"reads"`
}

// FieldRef names a field: a system's own field (System set) or a canonical
// one (System empty). An empty Field is the whole entity (a count).
type FieldRef struct {
	System string `json:"system,omitempty"`
	Entity string `json:"entity"`
	Field  string `json:"field"`
	// Flow, for a canonical field, is the flow whose records are read
	// (a reconciliation's ledger side).
	Flow string `json:"flow,omitempty"`
}

// String formats the reference as system.entity.field, or entity.field for
// a canonical field.
func (r FieldRef) String() string {
	var parts []string
	for _, p := range []string{r.System, r.Entity, r.Field} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// Flow is one flow's connections.
type Flow struct {
	Name   string        `json:"name"`
	Def    *catalog.Flow `json:"-"`
	Source string        `json:"source"`
	Entity string        `json:"entity"`
	Owner  string        `json:"owner,omitempty"`
	// Key is the key expression and the input paths it reads.
	Key Mapping `json:"key"`
	// Inbound are the canonical fields the flow sets, each with the input
	// paths it reads, in the order they were written.
	Inbound []Mapping `json:"inbound"`
	Routes  []*Route  `json:"routes"`
	// Upstream are the flows that feed this one; Downstream those it feeds.
	Upstream   []string `json:"upstream,omitempty"`
	Downstream []string `json:"downstream,omitempty"`
}

// Mapping is one field of a mapping: the field it sets, its expression and
// what the expression reads (input paths for inbound mappings and keys,
// canonical paths for routes and when:).
type Mapping struct {
	Target string      `json:"target,omitempty"`
	Expr   string      `json:"expr"`
	Reads  []string    `json:"reads,omitempty"`
	At     catalog.Pos `json:"at"`
	// Err is set when the expression could not be parsed: it then reads
	// nothing lineage can tell (validation reports the error).
	Err string `json:"error,omitempty"`
}

// Route is one route's connections.
type Route struct {
	Flow string         `json:"flow"`
	Name string         `json:"name"`
	To   string         `json:"to"`
	Def  *catalog.Route `json:"-"`
	// Map are the target fields the route writes, as written.
	Map []Mapping `json:"map"`
	// When is the route's condition; empty Expr means always.
	When Mapping `json:"when,omitzero"`
	// EchoSuppressed says the route's when: keeps back records that came
	// from its destination (origin != "crm"), which breaks sync loops.
	EchoSuppressed bool `json:"echo_suppressed,omitempty"`
}

// Build computes the graph of a catalog. The catalog may have validation
// errors: whatever was read is connected, so the audit can look at a broken
// landscape too.
func Build(c *catalog.Catalog, opts *Options) *Graph {
	g := &Graph{Catalog: c, flows: map[string]*Flow{}, Reconciliations: reconciliationsOf(c)}
	if opts != nil {
		g.Reconciliations = append(g.Reconciliations, opts.Reconciliations...)
	}
	for _, name := range c.FlowNames() {
		def := c.Flows[name]
		f := &Flow{Name: name, Def: def, Source: def.Source.System, Entity: def.Model, Owner: def.Owner}
		f.Key = mapping("", def.Key, true)
		for _, fe := range def.Map {
			f.Inbound = append(f.Inbound, mapping(fe.Target, fe.Expr, true))
		}
		for _, rt := range def.Routes {
			if rt == nil {
				continue
			}
			r := &Route{Flow: name, Name: routeName(rt), To: rt.To, Def: rt}
			for _, fe := range rt.Map {
				r.Map = append(r.Map, mapping(fe.Target, fe.Expr, false))
			}
			if rt.When.Src != "" {
				r.When = mapping("", rt.When, false)
				r.EchoSuppressed = suppressesEcho(rt.When.Src, rt.To)
			}
			f.Routes = append(f.Routes, r)
		}
		g.flows[name] = f
		g.names = append(g.names, name)
	}
	for _, a := range g.names {
		fa := g.flows[a]
		for _, b := range g.names {
			if a != b && g.feeds(fa, g.flows[b]) {
				fa.Downstream = append(fa.Downstream, b)
				g.flows[b].Upstream = append(g.flows[b].Upstream, a)
			}
		}
	}
	return g
}

// reconciliationsOf reads the catalog's reconciliation checks: a ledger
// side reads a flow's canonical records (or, with a route, the payload sent
// to its destination), an HTTP side asks a system; an SQL side names no
// system lineage could follow.
func reconciliationsOf(c *catalog.Catalog) []Reconciliation {
	var out []Reconciliation
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		for _, x := range f.Reconcile {
			if x == nil {
				continue
			}
			rc := Reconciliation{Name: name + "/" + x.Name, Owner: f.Owner}
			for _, side := range []catalog.ReconcileSide{x.Left, x.Right} {
				switch {
				case side.Ledger != nil:
					flow := side.Ledger.Flow
					if flow == "" {
						flow = name
					}
					lf, ok := c.Flows[flow]
					if !ok {
						continue
					}
					ref := FieldRef{Entity: lf.Model, Field: side.Ledger.Field, Flow: flow}
					for _, rt := range lf.Routes {
						if rt != nil && side.Ledger.Route != "" && routeName(rt) == side.Ledger.Route {
							ref = FieldRef{System: rt.To, Entity: lf.Model, Field: side.Ledger.Field}
						}
					}
					rc.Reads = append(rc.Reads, ref)
				case side.HTTP != nil:
					rc.Reads = append(rc.Reads, FieldRef{System: side.HTTP.System, Entity: f.Model})
				}
			}
			out = append(out, rc)
		}
	}
	return out
}

// routeName is the route's name, defaulting to its destination as the
// catalog does (the default is filled in by validation, which may not have
// run to the end on a broken catalog).
func routeName(rt *catalog.Route) string {
	if rt.Name != "" {
		return rt.Name
	}
	return rt.To
}

func mapping(target string, x catalog.Expr, inbound bool) Mapping {
	m := Mapping{Target: target, Expr: x.Src, At: x.At}
	if x.Src == "" {
		return m
	}
	reads, err := Reads(x.Src, inbound)
	if err != nil {
		m.Err = err.Error()
	}
	m.Reads = reads
	return m
}

// feeds reports whether a delivers into b's source the entity b reads.
func (g *Graph) feeds(a, b *Flow) bool {
	if a.Entity == "" || a.Entity != b.Entity || b.Source == "" {
		return false
	}
	for _, r := range a.Routes {
		if r.To == b.Source {
			return true
		}
	}
	return false
}

// Flow returns a flow by name, or nil.
func (g *Graph) Flow(name string) *Flow { return g.flows[name] }

// Flows returns every flow, sorted by name.
func (g *Graph) Flows() []*Flow {
	out := make([]*Flow, len(g.names))
	for i, n := range g.names {
		out[i] = g.flows[n]
	}
	return out
}

// FlowsFrom returns the flows whose source is system, sorted by name.
func (g *Graph) FlowsFrom(system string) []*Flow {
	var out []*Flow
	for _, f := range g.Flows() {
		if f.Source == system {
			out = append(out, f)
		}
	}
	return out
}

// RoutesTo returns the routes that deliver to system, sorted by flow and
// route name.
func (g *Graph) RoutesTo(system string) []*Route {
	var out []*Route
	for _, f := range g.Flows() {
		for _, r := range f.Routes {
			if r.To == system {
				out = append(out, r)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Flow != out[j].Flow {
			return out[i].Flow < out[j].Flow
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// Systems returns the names of the systems each flow touches and of every
// declared system, sorted.
func (g *Graph) Systems() []string {
	seen := map[string]bool{}
	for n := range g.Catalog.Systems {
		seen[n] = true
	}
	for _, f := range g.flows {
		if f.Source != "" {
			seen[f.Source] = true
		}
		for _, r := range f.Routes {
			if r.To != "" {
				seen[r.To] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Used reports whether any flow reads from or delivers to system.
func (g *Graph) Used(system string) bool {
	for _, f := range g.flows {
		if f.Source == system {
			return true
		}
		for _, r := range f.Routes {
			if r.To == system {
				return true
			}
		}
	}
	return false
}

// SourcesOf returns the input paths behind a canonical path in this flow:
// what its inbound mapping reads to set that field (or a field inside it,
// or the object it is inside of).
func (f *Flow) SourcesOf(canonical string) []string {
	var out []string
	for _, m := range f.Inbound {
		if PathsOverlap(m.Target, canonical) {
			out = append(out, m.Reads...)
		}
	}
	return uniqSorted(out)
}

// Sets reports whether the flow's inbound mapping sets canonical (or a
// field inside it, or the object it is inside of).
func (f *Flow) Sets(canonical string) bool {
	for _, m := range f.Inbound {
		if PathsOverlap(m.Target, canonical) {
			return true
		}
	}
	return false
}

// Route returns the flow's route by name, or nil.
func (f *Flow) Route(name string) *Route {
	for _, r := range f.Routes {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// ReadsPath reports whether any of the mapping's reads overlaps path.
func (m Mapping) ReadsPath(path string) bool {
	for _, r := range m.Reads {
		if PathsOverlap(r, path) {
			return true
		}
	}
	return false
}

// Written returns the fields each route writes into system for entity:
// target field → the routes that write it.
func (g *Graph) Written(system, entity string) map[string][]*Route {
	out := map[string][]*Route{}
	for _, f := range g.Flows() {
		if f.Entity != entity {
			continue
		}
		for _, r := range f.Routes {
			if r.To != system {
				continue
			}
			for _, m := range r.Map {
				out[m.Target] = append(out[m.Target], r)
			}
		}
	}
	return out
}

// ReadFrom returns the input paths flows read out of system for entity:
// input path → the flows that read it (in their key or inbound mapping).
func (g *Graph) ReadFrom(system, entity string) map[string][]*Flow {
	out := map[string][]*Flow{}
	for _, f := range g.FlowsFrom(system) {
		if f.Entity != entity {
			continue
		}
		seen := map[string]bool{}
		for _, m := range append([]Mapping{f.Key}, f.Inbound...) {
			for _, p := range m.Reads {
				if !seen[p] {
					seen[p] = true
					out[p] = append(out[p], f)
				}
			}
		}
	}
	return out
}

// Chains returns the downstream chains that start at flow: every path of
// flows, each feeding the next, that visits no flow twice and ends where
// nothing more is fed. A flow that feeds nothing has the one chain [flow].
// At most limit chains are returned (0: no limit), longest first, then in
// name order.
func (g *Graph) Chains(flow string, limit int) [][]string {
	var out [][]string
	var walk func(path []string)
	walk = func(path []string) {
		if limit > 0 && len(out) >= 10*limit {
			return // enough to pick from; a dense graph has exponentially many
		}
		last := g.flows[path[len(path)-1]]
		extended := false
		for _, d := range last.Downstream {
			if slices.Contains(path, d) {
				continue
			}
			extended = true
			walk(append(slices.Clip(path), d))
		}
		if !extended {
			out = append(out, path)
		}
	}
	if _, ok := g.flows[flow]; !ok {
		return nil
	}
	walk([]string{flow})
	sortChains(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// UpstreamChains returns the chains of flows that end at flow, each
// starting where nothing feeds it any more, longest first.
func (g *Graph) UpstreamChains(flow string, limit int) [][]string {
	var out [][]string
	var walk func(path []string)
	walk = func(path []string) {
		if limit > 0 && len(out) >= 10*limit {
			return
		}
		first := g.flows[path[0]]
		extended := false
		for _, u := range first.Upstream {
			if slices.Contains(path, u) {
				continue
			}
			extended = true
			walk(append([]string{u}, path...))
		}
		if !extended {
			out = append(out, path)
		}
	}
	if _, ok := g.flows[flow]; !ok {
		return nil
	}
	walk([]string{flow})
	sortChains(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// sortChains orders chains longest first, then by their names.
func sortChains(cs [][]string) {
	sort.SliceStable(cs, func(i, j int) bool {
		if len(cs[i]) != len(cs[j]) {
			return len(cs[i]) > len(cs[j])
		}
		return strings.Join(cs[i], "\x00") < strings.Join(cs[j], "\x00")
	})
}

// CanonicalType returns the type of a canonical path of model as the docs
// and plan talk about it: a field's type (money, date, email, customer,
// list of order_line …), the type of a part of an amount (total.net is a
// decimal), or "" when the path is unknown.
func CanonicalType(c *catalog.Catalog, model, path string) string {
	parts := strings.Split(path, ".")
	for i := len(parts); i > 0; i-- {
		f, err := c.ResolveField(model, strings.Join(parts[:i], "."))
		if err != nil || f == nil {
			continue
		}
		if i == len(parts) {
			if f.Type == "list" && f.Of != "" {
				return "list of " + f.Of
			}
			return f.Type
		}
		if f.Type == "money" && i == len(parts)-1 {
			return moneyParts[parts[i]]
		}
		return ""
	}
	return ""
}

// moneyParts are the parts of an amount that expressions can read.
var moneyParts = map[string]string{
	"amount": "decimal", "net": "decimal", "gross": "decimal", "vat": "decimal",
	"vat_rate": "decimal", "currency": "currency", "basis": "string",
}

func uniqSorted(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}
