package lineage

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/seamhq/seam/internal/catalog"
)

// Query is what impact analysis starts from: a system, one of its
// entities, or one of its fields; or, with Canonical, a field of the
// canonical model.
type Query struct {
	System    string `json:"system,omitempty"`
	Entity    string `json:"entity,omitempty"`
	Field     string `json:"field,omitempty"`
	Canonical bool   `json:"canonical,omitempty"`
}

// String formats the query as it is written on the command line.
func (q Query) String() string {
	var parts []string
	for _, p := range []string{q.System, q.Entity, q.Field} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// QueryError is a query that names something the catalog does not have.
type QueryError struct {
	Msg, Hint string
}

// Error implements error.
func (e *QueryError) Error() string { return e.Msg }

// ParseQuery reads SYSTEM[.ENTITY[.FIELD]], where FIELD may itself be a
// dotted path (crm.customer.billing_address.city), or ENTITY.FIELD for a
// canonical field when the first part names a model and no system.
func (g *Graph) ParseQuery(s string) (Query, error) {
	parts := strings.Split(strings.TrimSpace(s), ".")
	if parts[0] == "" {
		return Query{}, &QueryError{Msg: "say what to analyse: SYSTEM, SYSTEM.ENTITY or SYSTEM.ENTITY.FIELD", Hint: "systems: " + strings.Join(g.Systems(), ", ")}
	}
	c := g.Catalog
	_, isSystem := c.Systems[parts[0]]
	if !isSystem && !g.mentions(parts[0]) {
		if _, isModel := c.Models[parts[0]]; isModel && len(parts) > 1 {
			return Query{Entity: parts[0], Field: strings.Join(parts[1:], "."), Canonical: true}, nil
		}
		return Query{}, &QueryError{Msg: fmt.Sprintf("there is no system %q", parts[0]), Hint: hint(parts[0], g.Systems(), "systems")}
	}
	q := Query{System: parts[0]}
	if len(parts) > 1 {
		q.Entity = parts[1]
		if _, ok := c.Models[q.Entity]; !ok {
			return Query{}, &QueryError{Msg: fmt.Sprintf("there is no entity (model) %q", q.Entity), Hint: hint(q.Entity, c.ModelNames(), "models")}
		}
	}
	if len(parts) > 2 {
		q.Field = strings.Join(parts[2:], ".")
	}
	return q, nil
}

// mentions reports whether a flow names system, declared or not: impact
// still answers for a system whose file is missing.
func (g *Graph) mentions(system string) bool {
	for _, s := range g.Systems() {
		if s == system {
			return true
		}
	}
	return false
}

func hint(name string, names []string, what string) string {
	best, bestD := "", max(1, len(name)/3)+1
	for _, n := range names {
		if d := levenshtein(n, name); d < bestD {
			best, bestD = n, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	if len(names) == 0 {
		return ""
	}
	return what + ": " + strings.Join(names, ", ")
}

// Impact is everything a change to the queried thing reaches.
type Impact struct {
	Query Query `json:"query"`
	// Uses are the places that read or write it: keys, inbound mappings,
	// route conditions and route mappings, directly (Depth 0) or in a flow
	// further down the chain (Depth n: n flows downstream).
	Uses []Use `json:"uses"`
	// Reached are the systems' fields that carry it, with the route that
	// writes each and how far downstream it is.
	Reached []Reached `json:"reached"`
	// Flows and Routes (flow/route) are every flow and route involved.
	Flows  []string `json:"flows"`
	Routes []string `json:"routes"`
	// Chains are the chains of flows the change travels along.
	Chains [][]string `json:"chains"`
	// Reconciliations are the reconciliation checks that read a reached
	// field (none until the catalog declares them).
	Reconciliations []string `json:"reconciliations"`
	// Owners are the people to tell, with why.
	Owners []OwnerToTell `json:"owners"`
	// Known lists the fields of system.entity that flows use, when the
	// queried field is used by none (a typo, or a field nobody uses).
	Known []string `json:"known_fields,omitempty"`
}

// Use is one place that reads or writes the queried data.
type Use struct {
	Flow  string `json:"flow"`
	Route string `json:"route,omitempty"`
	// Access is "reads" or "writes".
	Access string `json:"access"`
	// In is where: "key", "map" (inbound mapping), "when" or "route" (a
	// route's mapping).
	In string `json:"in"`
	// Field is the field the expression sets: canonical for map, the
	// destination's for route; empty for key and when.
	Field string      `json:"field,omitempty"`
	Expr  string      `json:"expr"`
	At    catalog.Pos `json:"at"`
	Depth int         `json:"depth"`
}

// Reached is a system field that carries the queried data.
type Reached struct {
	Field FieldRef `json:"field"`
	Flow  string   `json:"flow"`
	Route string   `json:"route"`
	// From is the canonical path the route reads to write it.
	From  string `json:"from"`
	Depth int    `json:"depth"`
}

// OwnerToTell is an owner affected by a change, with the reasons.
type OwnerToTell struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Email string   `json:"email,omitempty"`
	Chat  string   `json:"chat,omitempty"`
	Why   []string `json:"why"`
}

// maxDepth bounds how far impact follows chains: a loop without echo
// suppression would otherwise be followed round and round.
const maxDepth = 20

// Impact follows q through the catalog.
func (g *Graph) Impact(q Query) *Impact {
	a := &analysis{g: g, im: &Impact{Query: q}, owners: map[string]map[string]bool{}, flows: map[string]bool{}, routes: map[string]bool{}}
	switch {
	case q.Canonical:
		a.canonical(q.Entity, q.Field)
	case q.Field != "":
		a.field(q.System, q.Entity, q.Field)
	default:
		a.whole(q.System, q.Entity)
	}
	return a.finish()
}

type analysis struct {
	g      *Graph
	im     *Impact
	owners map[string]map[string]bool
	flows  map[string]bool
	routes map[string]bool
	chains [][]string
}

func (a *analysis) tell(owner, why string) {
	if owner == "" {
		return
	}
	if a.owners[owner] == nil {
		a.owners[owner] = map[string]bool{}
	}
	a.owners[owner][why] = true
}

func (a *analysis) flow(f *Flow) {
	if !a.flows[f.Name] {
		a.flows[f.Name] = true
		a.tell(f.Owner, "owns flow "+f.Name)
	}
}

func (a *analysis) route(r *Route) {
	a.routes[r.Flow+"/"+r.Name] = true
}

func (a *analysis) systemOwner(system, why string) {
	if s, ok := a.g.Catalog.Systems[system]; ok {
		a.tell(s.Owner, why)
	}
}

// step is a system field to follow: read out of system by the flows
// sourced there, reached through chain.
type step struct {
	system, path string
	depth        int
	chain        []string
}

// field follows one field of a system downstream, and lists who writes it.
func (a *analysis) field(system, entity, field string) {
	a.systemOwner(system, "owns system "+system)
	a.writers(system, entity, field)
	known := a.follow(entity, []step{{system: system, path: field}})
	if !known && len(a.im.Uses) == 0 {
		a.im.Known = a.knownFields(system, entity)
	}
}

// writers lists the routes that write system.entity.field.
func (a *analysis) writers(system, entity, field string) {
	for _, r := range a.g.RoutesTo(system) {
		f := a.g.Flow(r.Flow)
		if f.Entity != entity {
			continue
		}
		for _, m := range r.Map {
			if PathsOverlap(m.Target, field) {
				a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Route: r.Name, Access: "writes", In: "route", Field: m.Target, Expr: m.Expr, At: m.At})
				a.flow(f)
				a.route(r)
			}
		}
	}
}

// follow traces system fields through the flows that read them, breadth
// first, and reports whether any flow read the first one.
func (a *analysis) follow(entity string, queue []step) bool {
	seen := map[string]bool{}
	readAtAll := false
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		id := s.system + "\x00" + s.path
		if seen[id] || s.depth > maxDepth {
			continue
		}
		seen[id] = true
		progressed := false
		for _, f := range a.g.FlowsFrom(s.system) {
			if f.Entity != entity || slices.Contains(s.chain, f.Name) {
				continue
			}
			canon := a.readsInto(f, s.path, s.depth)
			if canon == nil {
				continue
			}
			if s.depth == 0 {
				readAtAll = true
			}
			progressed = true
			chain := append(slices.Clip(s.chain), f.Name)
			next := a.carry(f, canon, s.depth)
			if len(next) == 0 {
				a.chains = append(a.chains, chain)
			}
			for _, n := range next {
				n.chain = chain
				queue = append(queue, n)
			}
		}
		if !progressed && len(s.chain) > 0 {
			a.chains = append(a.chains, s.chain)
		}
	}
	return readAtAll
}

// readsInto records where flow f reads the input path and returns the
// canonical fields set from it (empty but non-nil when only the key reads
// it), or nil when the flow does not read it.
func (a *analysis) readsInto(f *Flow, path string, depth int) []string {
	var canon []string
	read := false
	if f.Key.ReadsPath(path) {
		read = true
		a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Access: "reads", In: "key", Expr: f.Key.Expr, At: f.Key.At, Depth: depth})
	}
	for _, m := range f.Inbound {
		if m.ReadsPath(path) {
			read = true
			canon = append(canon, m.Target)
			a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Access: "reads", In: "map", Field: m.Target, Expr: m.Expr, At: m.At, Depth: depth})
		}
	}
	if !read {
		return nil
	}
	a.flow(f)
	if canon == nil {
		canon = []string{}
	}
	return canon
}

// carry records the routes of f that read any of the canonical paths and
// returns the destination fields they write, as the next steps.
func (a *analysis) carry(f *Flow, canon []string, depth int) []step {
	var next []step
	for _, r := range f.Routes {
		// readsAny returns what m reads of the canonical paths.
		readsAny := func(m Mapping) (string, bool) {
			for _, c := range canon {
				for _, r := range m.Reads {
					if PathsOverlap(r, c) {
						return r, true
					}
				}
			}
			return "", false
		}
		if _, ok := readsAny(r.When); ok && r.When.Expr != "" {
			a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Route: r.Name, Access: "reads", In: "when", Expr: r.When.Expr, At: r.When.At, Depth: depth})
			a.route(r)
		}
		for _, m := range r.Map {
			from, ok := readsAny(m)
			if !ok {
				continue
			}
			a.route(r)
			a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Route: r.Name, Access: "reads", In: "route", Field: m.Target, Expr: m.Expr, At: m.At, Depth: depth})
			a.im.Reached = append(a.im.Reached, Reached{Field: FieldRef{System: r.To, Entity: f.Entity, Field: m.Target}, Flow: f.Name, Route: r.Name, From: from, Depth: depth})
			a.systemOwner(r.To, fmt.Sprintf("owns system %s (receives %s)", r.To, m.Target))
			next = append(next, step{system: r.To, path: m.Target, depth: depth + 1})
		}
	}
	return next
}

// canonical follows a canonical field: the flows that set it, the routes
// that read it, and on downstream.
func (a *analysis) canonical(entity, field string) {
	var queue []step
	for _, f := range a.g.Flows() {
		if f.Entity != entity {
			continue
		}
		involved := false
		for _, m := range f.Inbound {
			if PathsOverlap(m.Target, field) {
				involved = true
				a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Access: "writes", In: "map", Field: m.Target, Expr: m.Expr, At: m.At})
			}
		}
		next := a.carry(f, []string{field}, 0)
		if len(next) > 0 {
			involved = true
		}
		if !involved {
			continue
		}
		a.flow(f)
		for _, n := range next {
			n.chain = []string{f.Name}
			queue = append(queue, n)
		}
		if len(next) == 0 {
			a.chains = append(a.chains, []string{f.Name})
		}
	}
	a.follow(entity, queue)
}

// whole follows everything a system (or one of its entities) sends, and
// lists what it receives.
func (a *analysis) whole(system, entity string) {
	a.systemOwner(system, "owns system "+system)
	for _, r := range a.g.RoutesTo(system) {
		f := a.g.Flow(r.Flow)
		if entity != "" && f.Entity != entity {
			continue
		}
		for _, m := range r.Map {
			a.im.Uses = append(a.im.Uses, Use{Flow: f.Name, Route: r.Name, Access: "writes", In: "route", Field: m.Target, Expr: m.Expr, At: m.At})
		}
		a.flow(f)
		a.route(r)
	}
	for _, f := range a.g.FlowsFrom(system) {
		if entity != "" && f.Entity != entity {
			continue
		}
		for _, chain := range a.g.Chains(f.Name, 0) {
			a.chains = append(a.chains, chain)
			for depth, name := range chain {
				df := a.g.Flow(name)
				a.flow(df)
				if depth == 0 {
					a.im.Uses = append(a.im.Uses, Use{Flow: df.Name, Access: "reads", In: "key", Expr: df.Key.Expr, At: df.Key.At})
				}
				for _, r := range df.Routes {
					a.route(r)
					a.systemOwner(r.To, "owns system "+r.To+" (receives "+df.Entity+" records)")
					if depth > 0 {
						continue
					}
					for _, m := range r.Map {
						from := ""
						if len(m.Reads) > 0 {
							from = m.Reads[0]
						}
						a.im.Reached = append(a.im.Reached, Reached{Field: FieldRef{System: r.To, Entity: df.Entity, Field: m.Target}, Flow: df.Name, Route: r.Name, From: from})
					}
				}
			}
		}
	}
}

// knownFields lists the fields of system.entity that flows read or write.
func (a *analysis) knownFields(system, entity string) []string {
	var out []string
	for p := range a.g.ReadFrom(system, entity) {
		out = append(out, p)
	}
	for p := range a.g.Written(system, entity) {
		out = append(out, p)
	}
	return uniqSorted(out)
}

func (a *analysis) finish() *Impact {
	im := a.im
	sort.SliceStable(im.Uses, func(i, j int) bool {
		x, y := im.Uses[i], im.Uses[j]
		if x.Depth != y.Depth {
			return x.Depth < y.Depth
		}
		if x.Access != y.Access {
			return x.Access > y.Access // writes first: where the data comes from
		}
		if x.Flow != y.Flow {
			return x.Flow < y.Flow
		}
		if x.Route != y.Route {
			return x.Route < y.Route
		}
		if inOrder[x.In] != inOrder[y.In] {
			return inOrder[x.In] < inOrder[y.In]
		}
		return x.Field < y.Field
	})
	im.Uses = slices.CompactFunc(im.Uses, func(x, y Use) bool { return x == y })
	sort.SliceStable(im.Reached, func(i, j int) bool {
		x, y := im.Reached[i], im.Reached[j]
		if x.Depth != y.Depth {
			return x.Depth < y.Depth
		}
		if xs, ys := x.Field.String(), y.Field.String(); xs != ys {
			return xs < ys
		}
		if x.Flow != y.Flow {
			return x.Flow < y.Flow
		}
		return x.Route < y.Route
	})
	im.Reached = slices.CompactFunc(im.Reached, func(x, y Reached) bool { return x == y })
	im.Flows = keys(a.flows)
	im.Routes = keys(a.routes)
	im.Chains = maximalChains(a.chains)

	im.Reconciliations = []string{}
	for _, rc := range a.g.Reconciliations {
		if a.reconciliationReached(rc) {
			im.Reconciliations = append(im.Reconciliations, rc.Name)
			a.tell(rc.Owner, "owns reconciliation check "+rc.Name)
		}
	}
	sort.Strings(im.Reconciliations)

	im.Owners = []OwnerToTell{}
	for _, id := range keys(a.owners) {
		o := OwnerToTell{ID: id, Why: keys(a.owners[id])}
		if p := a.g.Catalog.Project; p != nil {
			if def, ok := p.Owners[id]; ok && def != nil {
				o.Name, o.Email, o.Chat = def.Name, def.Email, def.Chat
			}
		}
		im.Owners = append(im.Owners, o)
	}
	if im.Uses == nil {
		im.Uses = []Use{}
	}
	if im.Reached == nil {
		im.Reached = []Reached{}
	}
	return im
}

// reconciliationReached reports whether a check reads the queried data or
// anything it reaches. A count (no field) is reached by a change to a whole
// system or entity, not by a change to one field; a sum by a change to the
// field it adds up.
func (a *analysis) reconciliationReached(rc Reconciliation) bool {
	q := a.im.Query
	fieldMatch := func(refField, field string) bool {
		if refField == "" {
			return field == ""
		}
		return field == "" || PathsOverlap(refField, field)
	}
	for _, r := range rc.Reads {
		if r.System != "" {
			if !q.Canonical && r.System == q.System && (q.Entity == "" || q.Entity == r.Entity) && fieldMatch(r.Field, q.Field) {
				return true
			}
			for _, x := range a.im.Reached {
				if x.Field.System == r.System && x.Field.Entity == r.Entity && (r.Field == "" || PathsOverlap(x.Field.Field, r.Field)) {
					return true
				}
			}
			continue
		}
		if q.Canonical && q.Entity == r.Entity && fieldMatch(r.Field, q.Field) {
			return true
		}
		if r.Flow == "" || !a.flows[r.Flow] {
			continue
		}
		if q.Field == "" && !q.Canonical {
			return true
		}
		for _, u := range a.im.Uses {
			if u.Flow == r.Flow && u.In == "map" && r.Field != "" && PathsOverlap(u.Field, r.Field) {
				return true
			}
		}
	}
	return false
}

var inOrder = map[string]int{"key": 0, "map": 1, "when": 2, "route": 3}

// maximalChains sorts chains and drops those that are a prefix of another,
// and those of one flow (which chain nothing).
func maximalChains(cs [][]string) [][]string {
	out := [][]string{}
	for _, c := range cs {
		if len(c) < 2 {
			continue
		}
		prefix := false
		for _, d := range cs {
			if len(d) > len(c) && slices.Equal(d[:len(c)], c) {
				prefix = true
				break
			}
		}
		if !prefix && !slices.ContainsFunc(out, func(o []string) bool { return slices.Equal(o, c) }) {
			out = append(out, c)
		}
	}
	sortChains(out)
	return out
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// levenshtein is the edit distance between a and b, for did-you-mean hints.
func levenshtein(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1) // a swap of two letters (epr, erp) is one edit
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
