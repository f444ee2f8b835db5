// Package audit answers "is our integration landscape in chaos?": it runs
// rules over a catalog (and, when given one, the ledger) and reports
// findings, each with a severity and a fix, and a score from 0 to 100.
//
// The audit looks at a catalog as it is, errors included: an audit is most
// needed when a landscape no longer even validates. Validation errors are
// findings too (rule catalog-error), except those a more specific rule
// already reports (a flow or system without an owner).
package audit

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/lineage"
)

// Severity ranks findings.
type Severity string

// The severities, most severe first.
const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
)

// Severities lists the severities, most severe first.
var Severities = []Severity{Critical, High, Medium, Low}

// Rank orders severities: 0 is the most severe; unknown ones rank last.
func (s Severity) Rank() int {
	if i := slices.Index(Severities, s); i >= 0 {
		return i
	}
	return len(Severities)
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (Severity, error) {
	for _, v := range Severities {
		if string(v) == strings.ToLower(s) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%q is not a severity: use critical, high, medium or low", s)
}

// weight is the share of the remaining score a finding takes.
var weight = map[Severity]float64{Critical: 0.15, High: 0.08, Medium: 0.03, Low: 0.01}

// Rule describes one check: docs/governance.md and `seam audit --rules`
// print this table.
type Rule struct {
	ID       string   `json:"id"`
	Severity Severity `json:"severity"`
	Title    string   `json:"title"`
	Why      string   `json:"why"`
	// Ledger rules run only when a ledger is given.
	Ledger bool `json:"ledger,omitempty"`
}

// Rules are every rule the audit runs, in report order.
var Rules = []Rule{
	{"sync-loop", Critical, "Sync loop without echo suppression", "A → B → A for one entity: every change bounces back and is sent again, for ever, unless a route keeps back the records that came from its destination.", false},
	{"flow-no-owner", High, "Flow without an owner", "When it breaks, nobody is alerted and everybody points elsewhere.", false},
	{"system-no-owner", High, "System nobody owns", "Nobody to ask about its API, its outages or its data.", false},
	{"duplicate-flow", High, "Two flows doing the same job", "Two flows carry the same entity from the same system to the same destination: records arrive twice, and fixes land in one copy only.", false},
	{"double-master", High, "Entity mastered in two systems", "Two sources of truth for one entity: their changes overwrite each other.", false},
	{"catalog-error", High, "Validation error", "`seam run` refuses a catalog with errors; the landscape it describes cannot run as declared.", false},
	{"error-hot-spot", High, "Error hot spot", "A route where a large share of deliveries fail (high at 20 %, medium from 5 %).", true},
	{"old-dead-letters", High, "Dead letters older than a day", "Records that never reached their destination, and nobody has looked at them since yesterday.", true},
	{"long-chain", Medium, "Chain deeper than the limit", "Each flow in a chain waits for the one before; one failure upstream silently starves everything after it.", false},
	{"unused-system", Medium, "Unused system", "A system no flow reads from or delivers to: an integration that was never finished, or one that should be removed.", false},
	{"flow-no-runbook", Medium, "Flow without a runbook", "Whoever is on call when it breaks has to guess what to do.", false},
	{"flow-no-tests", Medium, "Flow without tests", "A mapping change can break it without anyone noticing until a customer calls.", false},
	{"flow-no-alerts", Medium, "Flow without alerts", "Errors, dead letters and silence go unnoticed.", false},
	{"silent-flow", Medium, "Silent flow", "No record for a week (or ever): the source stopped sending, or the flow is no longer needed.", true},
	{"slow-route", Low, "Slow route", "Records take long to reach the destination (95th percentile above the limit, medium at ten times it).", true},
	{"flow-no-description", Low, "Flow without a description", "Nobody can tell what it is for without reading its mapping.", false},
	{"owner-no-contact", Low, "Owner nobody can reach", "An owner with neither e-mail nor chat cannot be alerted or asked.", false},
}

func ruleByID(id string) Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	return Rule{ID: id, Severity: Medium}
}

// Finding is one problem, with where it is and what to do.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	// Subject is what the finding is about: "flow eshop-orders",
	// "system shipping", "entity customer", "owner bi".
	Subject string `json:"subject"`
	Message string `json:"message"`
	Fix     string `json:"fix"`
	// At is where to look: file:line:col, or a file.
	At string `json:"at,omitempty"`
	// Flows and Systems are those involved, for links.
	Flows   []string `json:"flows,omitempty"`
	Systems []string `json:"systems,omitempty"`
}

// Report is the outcome of an audit.
type Report struct {
	Project  string           `json:"project"`
	Systems  int              `json:"systems"`
	Flows    int              `json:"flows"`
	Routes   int              `json:"routes"`
	Score    int              `json:"score"`
	Grade    string           `json:"grade"`
	Counts   map[Severity]int `json:"counts"`
	Findings []Finding        `json:"findings"`
	// Ledger says whether the ledger rules ran; LedgerAt is the time they
	// looked at.
	Ledger   bool      `json:"ledger"`
	LedgerAt time.Time `json:"ledger_at,omitzero"`
}

// Options tune an audit.
type Options struct {
	// Diagnostics are the catalog's load diagnostics; their errors become
	// catalog-error findings.
	Diagnostics catalog.Diagnostics
	// MaxChain is the longest chain of flows allowed (default 3).
	MaxChain int
	// Ledger, when set, adds the ledger rules.
	Ledger Ledger
	// Now is the time the ledger rules look from (default time.Now).
	Now time.Time
	// SilentAfter is how long without a record makes a flow silent
	// (default 7 days).
	SilentAfter time.Duration
	// SlowAfter is the 95th-percentile delivery time that makes a route
	// slow (default 1 minute).
	SlowAfter time.Duration
	// HotSpot is the failure share that makes a route a hot spot (default
	// 5 %); MinDeliveries the deliveries needed to judge (default 20).
	HotSpot       float64
	MinDeliveries int
}

func (o *Options) defaults() {
	if o.MaxChain <= 0 {
		o.MaxChain = 3
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.SilentAfter <= 0 {
		o.SilentAfter = 7 * 24 * time.Hour
	}
	if o.SlowAfter <= 0 {
		o.SlowAfter = time.Minute
	}
	if o.HotSpot <= 0 {
		o.HotSpot = 0.05
	}
	if o.MinDeliveries <= 0 {
		o.MinDeliveries = 20
	}
}

// Run audits the catalog c.
func Run(ctx context.Context, c *catalog.Catalog, opts Options) (*Report, error) {
	opts.defaults()
	g := lineage.Build(c, nil)
	a := &auditor{c: c, g: g, opts: opts}
	a.owners()
	a.flows()
	a.systems()
	a.duplicates()
	a.loops()
	a.masters()
	a.chains()
	a.diagnostics()
	r := &Report{Systems: len(c.Systems), Flows: len(c.Flows)}
	if c.Project != nil {
		r.Project = c.Project.Name
	}
	for _, f := range c.Flows {
		r.Routes += len(f.Routes)
	}
	if opts.Ledger != nil {
		facts, err := Gather(ctx, opts.Ledger, c, opts.Now)
		if err != nil {
			return nil, err
		}
		a.ledger(facts)
		r.Ledger, r.LedgerAt = true, opts.Now.UTC()
	}
	r.Findings = a.sorted()
	r.Counts = map[Severity]int{}
	for _, s := range Severities {
		r.Counts[s] = 0
	}
	score := 100.0
	for _, f := range r.Findings {
		r.Counts[f.Severity]++
		score *= 1 - weight[f.Severity]
	}
	r.Score = int(math.Round(score))
	r.Grade = Grade(r.Score)
	return r, nil
}

// Grade turns a score into a letter: A from 90, B from 75, C from 60, D
// from 40, F below.
func Grade(score int) string {
	switch {
	case score >= 90:
		return "A"
	case score >= 75:
		return "B"
	case score >= 60:
		return "C"
	case score >= 40:
		return "D"
	}
	return "F"
}

// Failed reports whether any finding is at least as severe as s.
func (r *Report) Failed(s Severity) bool {
	for _, f := range r.Findings {
		if f.Severity.Rank() <= s.Rank() {
			return true
		}
	}
	return false
}

type auditor struct {
	c        *catalog.Catalog
	g        *lineage.Graph
	opts     Options
	findings []Finding
}

func (a *auditor) add(f Finding) {
	if f.Severity == "" {
		f.Severity = ruleByID(f.Rule).Severity
	}
	slices.Sort(f.Flows)
	f.Flows = slices.Compact(f.Flows)
	slices.Sort(f.Systems)
	f.Systems = slices.Compact(f.Systems)
	a.findings = append(a.findings, f)
}

func (a *auditor) sorted() []Finding {
	out := slices.Clone(a.findings)
	order := map[string]int{}
	for i, r := range Rules {
		order[r.ID] = i
	}
	sort.SliceStable(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.Severity.Rank() != y.Severity.Rank() {
			return x.Severity.Rank() < y.Severity.Rank()
		}
		if order[x.Rule] != order[y.Rule] {
			return order[x.Rule] < order[y.Rule]
		}
		if x.Subject != y.Subject {
			return x.Subject < y.Subject
		}
		return x.Message < y.Message
	})
	if out == nil {
		out = []Finding{}
	}
	return out
}

func at(keys map[string]catalog.Pos, key string, def catalog.Pos) string {
	if p, ok := keys[key]; ok {
		return p.String()
	}
	return def.String()
}

func (a *auditor) declaredOwner(id string) bool {
	if a.c.Project == nil || id == "" {
		return false
	}
	_, ok := a.c.Project.Owners[id]
	return ok
}

func (a *auditor) ownerIDs() string {
	if a.c.Project == nil || len(a.c.Project.Owners) == 0 {
		return "declare one under owners: in seam.yaml"
	}
	ids := make([]string, 0, len(a.c.Project.Owners))
	for id := range a.c.Project.Owners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return "owners declared in seam.yaml: " + strings.Join(ids, ", ")
}

// owners flags owners nobody can reach who own something.
func (a *auditor) owners() {
	if a.c.Project == nil {
		return
	}
	owned := map[string][]string{}
	for _, n := range a.c.SystemNames() {
		owned[a.c.Systems[n].Owner] = append(owned[a.c.Systems[n].Owner], "system "+n)
	}
	for _, n := range a.c.FlowNames() {
		owned[a.c.Flows[n].Owner] = append(owned[a.c.Flows[n].Owner], "flow "+n)
	}
	ids := make([]string, 0, len(a.c.Project.Owners))
	for id := range a.c.Project.Owners {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		o := a.c.Project.Owners[id]
		if o == nil || o.Email != "" || o.Chat != "" || len(owned[id]) == 0 {
			continue
		}
		a.add(Finding{
			Rule:    "owner-no-contact",
			Subject: "owner " + id,
			Message: fmt.Sprintf("owner %s (%s) has neither e-mail nor chat, and owns %s", id, o.Name, strings.Join(owned[id], ", ")),
			Fix:     fmt.Sprintf("add email: or chat: to owners.%s in seam.yaml, so alerts and questions reach them", id),
			At:      o.At.String(),
		})
	}
}

// flows runs the per-flow hygiene rules.
func (a *auditor) flows() {
	for _, name := range a.c.FlowNames() {
		f := a.c.Flows[name]
		subject := "flow " + name
		file := f.At.File
		switch {
		case f.Owner == "":
			a.add(Finding{Rule: "flow-no-owner", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s has no owner", name),
				Fix:     "add owner: to " + file + " (" + a.ownerIDs() + ")", At: f.At.String()})
		case !a.declaredOwner(f.Owner):
			a.add(Finding{Rule: "flow-no-owner", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s names owner %q, who is not declared in seam.yaml", name, f.Owner),
				Fix:     "hand the flow to a declared owner (" + a.ownerIDs() + "), or declare " + f.Owner, At: at(f.Keys, "owner", f.At)})
		}
		if strings.TrimSpace(f.Title) == "" && strings.TrimSpace(f.Description) == "" {
			a.add(Finding{Rule: "flow-no-description", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s has neither a title nor a description", name),
				Fix:     "add title: (one line saying what it does) and, if it helps, description: to " + file, At: f.At.String()})
		}
		if strings.TrimSpace(f.Runbook) == "" {
			a.add(Finding{Rule: "flow-no-runbook", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s has no runbook", name),
				Fix:     "add runbook: to " + file + ": the usual failures and what to do about each", At: f.At.String()})
		}
		if len(f.Tests) == 0 {
			a.add(Finding{Rule: "flow-no-tests", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s has no tests", name),
				Fix:     "add tests: to " + file + " with a typical record and what each route must send (see seam test)", At: f.At.String()})
		}
		if len(f.Alerts) == 0 {
			a.add(Finding{Rule: "flow-no-alerts", Subject: subject, Flows: []string{name},
				Message: fmt.Sprintf("flow %s has no alert rules", name),
				Fix:     "add alerts: to " + file + ", at least - dead_letters: {above: 0} and an error_rate or silence rule", At: f.At.String()})
		}
	}
}

// systems flags systems nobody owns and systems nothing uses.
func (a *auditor) systems() {
	for _, name := range a.c.SystemNames() {
		s := a.c.Systems[name]
		subject := "system " + name
		switch {
		case s.Owner == "":
			a.add(Finding{Rule: "system-no-owner", Subject: subject, Systems: []string{name},
				Message: fmt.Sprintf("system %s has no owner", name),
				Fix:     "add owner: to " + s.At.File + " (" + a.ownerIDs() + ")", At: s.At.String()})
		case !a.declaredOwner(s.Owner):
			a.add(Finding{Rule: "system-no-owner", Subject: subject, Systems: []string{name},
				Message: fmt.Sprintf("system %s names owner %q, who is not declared in seam.yaml", name, s.Owner),
				Fix:     "hand the system to a declared owner (" + a.ownerIDs() + "), or declare " + s.Owner, At: at(s.Keys, "owner", s.At)})
		}
		if !a.g.Used(name) {
			a.add(Finding{Rule: "unused-system", Subject: subject, Systems: []string{name},
				Message: fmt.Sprintf("no flow reads from or delivers to system %s", name),
				Fix:     "remove " + s.At.File + " if the system is gone, or add the flow it was declared for", At: s.At.String()})
		}
	}
}

// duplicates flags pairs of flows that carry the same entity from the same
// source to a common destination.
func (a *auditor) duplicates() {
	flows := a.g.Flows()
	for i, x := range flows {
		for _, y := range flows[i+1:] {
			if x.Source == "" || x.Source != y.Source || x.Entity != y.Entity {
				continue
			}
			var common []string
			for _, rx := range x.Routes {
				for _, ry := range y.Routes {
					if rx.To == ry.To && !slices.Contains(common, rx.To) {
						common = append(common, rx.To)
					}
				}
			}
			if len(common) == 0 {
				continue
			}
			sort.Strings(common)
			a.add(Finding{Rule: "duplicate-flow", Subject: "flows " + x.Name + " and " + y.Name,
				Flows: []string{x.Name, y.Name}, Systems: append([]string{x.Source}, common...),
				Message: fmt.Sprintf("flows %s and %s both send %s's %s records to %s", x.Name, y.Name, x.Source, x.Entity, strings.Join(common, ", ")),
				Fix:     fmt.Sprintf("keep one flow: move what the other does into it as a route or a when:, then delete %s", y.Def.At.File),
				At:      y.Def.At.String()})
		}
	}
}

// loops flags cycles of routes for one entity in which no route keeps back
// the echo.
func (a *auditor) loops() {
	type edge struct {
		from, to string
		route    *lineage.Route
	}
	byEntity := map[string][]edge{}
	for _, f := range a.g.Flows() {
		if f.Entity == "" || f.Source == "" {
			continue
		}
		for _, r := range f.Routes {
			if r.To != "" && !r.EchoSuppressed {
				byEntity[f.Entity] = append(byEntity[f.Entity], edge{f.Source, r.To, r})
			}
		}
	}
	for _, entity := range sortedKeys(byEntity) {
		edges := byEntity[entity]
		adj := map[string][]string{}
		for _, e := range edges {
			if !slices.Contains(adj[e.from], e.to) {
				adj[e.from] = append(adj[e.from], e.to)
			}
		}
		for k := range adj {
			sort.Strings(adj[k])
		}
		for _, comp := range scc(adj) {
			self := len(comp) == 1 && slices.Contains(adj[comp[0]], comp[0])
			if len(comp) < 2 && !self {
				continue
			}
			cycle := shortestCycle(adj, comp)
			var routes []string
			var flows []string
			atPos := ""
			for _, e := range edges {
				if slices.Contains(comp, e.from) && slices.Contains(comp, e.to) {
					routes = append(routes, fmt.Sprintf("%s → %s", e.route.Flow, e.to))
					flows = append(flows, e.route.Flow)
					if atPos == "" && e.route.Def != nil {
						atPos = at(e.route.Def.Keys, "to", e.route.Def.At)
					}
				}
			}
			sort.Strings(routes)
			last := cycle[len(cycle)-2]
			first := cycle[0]
			a.add(Finding{Rule: "sync-loop", Subject: "entity " + entity, Flows: flows, Systems: comp,
				Message: fmt.Sprintf("%s records go %s, and no route in the loop keeps back the echo (%s)", entity, strings.Join(cycle, " → "), strings.Join(routes, ", ")),
				Fix: fmt.Sprintf("map where a change started into the record (e.g. origin: in.changed_by) and add when: origin != %q to the route from %s to %s, or stop syncing one direction",
					first, last, first),
				At: atPos})
		}
	}
}

// masters flags entities that two systems claim to master.
func (a *auditor) masters() {
	by := map[string][]string{}
	for _, name := range a.c.SystemNames() {
		for _, m := range a.c.Systems[name].Masters {
			if !slices.Contains(by[m], name) {
				by[m] = append(by[m], name)
			}
		}
	}
	for _, entity := range sortedKeys(by) {
		systems := by[entity]
		if len(systems) < 2 {
			continue
		}
		s := a.c.Systems[systems[len(systems)-1]]
		a.add(Finding{Rule: "double-master", Subject: "entity " + entity, Systems: systems,
			Message: fmt.Sprintf("%s is mastered by %s", entity, strings.Join(systems, " and ")),
			Fix:     fmt.Sprintf("decide which system is the source of truth for %s and remove it from masters: of the others; flows then only write %s into the others", entity, entity),
			At:      at(s.Keys, "masters", s.At)})
	}
}

// chains flags chains of flows longer than the limit, once per flow that
// ends them.
func (a *auditor) chains() {
	limit := a.opts.MaxChain
	byTail := map[string][][]string{}
	for _, f := range a.g.Flows() {
		if len(f.Upstream) > 0 {
			continue // not a head
		}
		for _, c := range a.g.Chains(f.Name, 0) {
			if len(c) > limit {
				tail := c[len(c)-1]
				byTail[tail] = append(byTail[tail], c)
			}
		}
	}
	for _, tail := range sortedKeys(byTail) {
		cs := byTail[tail]
		sort.SliceStable(cs, func(i, j int) bool {
			if len(cs[i]) != len(cs[j]) {
				return len(cs[i]) > len(cs[j])
			}
			return strings.Join(cs[i], " ") < strings.Join(cs[j], " ")
		})
		longest := cs[0]
		var heads []string
		var flows []string
		for _, c := range cs {
			flows = append(flows, c...)
			if c[0] != longest[0] && !slices.Contains(heads, c[0]) {
				heads = append(heads, c[0])
			}
		}
		msg := fmt.Sprintf("a chain of %d flows ends at %s: %s", len(longest), tail, strings.Join(longest, " → "))
		if len(heads) > 0 {
			sort.Strings(heads)
			msg += fmt.Sprintf(" (also starting at %s)", strings.Join(heads, ", "))
		}
		var systems []string
		for _, n := range longest {
			systems = append(systems, a.g.Flow(n).Source)
		}
		a.add(Finding{Rule: "long-chain", Subject: "flow " + tail, Flows: flows, Systems: systems,
			Message: msg,
			Fix:     fmt.Sprintf("feed the later systems from the source directly (one flow with several routes), so they do not wait on each other; the limit is %d flows", limit),
			At:      a.g.Flow(tail).Def.At.String()})
	}
}

// diagnostics turns validation errors into findings, except those that a
// more specific rule reports.
func (a *auditor) diagnostics() {
	for _, d := range a.opts.Diagnostics {
		if d.Severity != catalog.SevError || coveredByRule(d) {
			continue
		}
		a.add(Finding{Rule: "catalog-error", Subject: "file " + d.File, Message: d.Msg,
			Fix: or(d.Hint, "fix it; seam validate shows every error"), At: d.Pos.String()})
	}
}

// coveredByRule reports whether a validation error is one that
// flow-no-owner or system-no-owner reports with more to say. The messages
// are the catalog's; a test loads the messy project to keep the two in step.
func coveredByRule(d catalog.Diagnostic) bool {
	ownerFile := strings.HasPrefix(d.File, "flows/") || strings.HasPrefix(d.File, "systems/")
	switch {
	case !ownerFile:
		return false
	case d.Msg == `missing "owner"`:
		return true
	case strings.Contains(d.Msg, ": owner ") && strings.HasSuffix(d.Msg, "is not declared in seam.yaml"):
		return true
	}
	return false
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scc returns the strongly connected components of a graph (Tarjan), each
// sorted, in order of their first member.
func scc(adj map[string][]string) [][]string {
	var nodes []string
	seen := map[string]bool{}
	for k, vs := range adj {
		for _, n := range append([]string{k}, vs...) {
			if !seen[n] {
				seen[n] = true
				nodes = append(nodes, n)
			}
		}
	}
	sort.Strings(nodes)
	index, low := map[string]int{}, map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range adj[v] {
			if _, ok := index[w]; !ok {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			sort.Strings(comp)
			out = append(out, comp)
		}
	}
	for _, n := range nodes {
		if _, ok := index[n]; !ok {
			strong(n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}

// shortestCycle returns a shortest cycle through the first node of comp,
// staying inside comp, as a path that ends where it starts.
func shortestCycle(adj map[string][]string, comp []string) []string {
	start := comp[0]
	prev := map[string]string{}
	queue := []string{start}
	visited := map[string]bool{}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range adj[v] {
			if !slices.Contains(comp, w) {
				continue
			}
			if w == start {
				path := []string{start}
				for x := v; x != start; x = prev[x] {
					path = append([]string{x}, path...)
				}
				return append([]string{start}, path...)
			}
			if !visited[w] {
				visited[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, start}
}
