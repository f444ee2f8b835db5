// Package plan compares two versions of a catalog before the new one is
// applied: what changes (systems, models, flows, routes, mappings,
// policies, owners), which of those changes break a consumer, and which
// owners to tell.
//
// A change breaks a consumer when something that reads data keeps reading
// it while the data changes under it:
//   - a field a route used to write into a system is no longer written (or
//     now has another type) while a flow still reads it out of that system;
//   - a canonical field a route reads is no longer set by its flow, or is
//     removed from (or retyped in) the model;
//   - a flow's key changes (deduplication, ordering and cross-references
//     are keyed by it), or its model;
//   - a system's conventions change while flows read from it or write to it;
//   - a webhook's path or signature changes (the sender must change too);
//   - the new catalog does not validate.
package plan

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/lineage"
)

// Change is one difference between the old and the new catalog.
type Change struct {
	// Kind is added, removed or changed.
	Kind string `json:"kind"`
	// Object is what kind of thing changed: system, model, field, flow,
	// route, mapping, key, webhook, conventions, policy, owner, docs,
	// alerts, tests, reconcile or catalog.
	Object string `json:"object"`
	// Subject names it: "flow eshop-orders", "route eshop-orders/erp".
	Subject string `json:"subject"`
	Summary string `json:"summary"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
	// Breaking says the change breaks a consumer; Breaks says which.
	Breaking bool     `json:"breaking"`
	Breaks   []string `json:"breaks,omitempty"`
	// Owners are the owners to tell about this change.
	Owners []string `json:"owners"`
}

// Owner is an owner affected by the plan, with why.
type Owner struct {
	ID    string   `json:"id"`
	Name  string   `json:"name,omitempty"`
	Email string   `json:"email,omitempty"`
	Chat  string   `json:"chat,omitempty"`
	Why   []string `json:"why"`
}

// Plan is the difference between two catalogs.
type Plan struct {
	Old      string   `json:"old"`
	New      string   `json:"new"`
	Changes  []Change `json:"changes"`
	Breaking int      `json:"breaking"`
	Owners   []Owner  `json:"owners"`
	// StillInvalid counts the validation errors the new catalog keeps from
	// the old one: not caused by the change, so not breaking, but it still
	// will not run.
	StillInvalid int `json:"still_invalid,omitempty"`
}

// Diff compares old with new. The diagnostics are the catalogs' load
// diagnostics: an error in the new catalog that the old one did not have
// is a breaking change (seam run would refuse it).
func Diff(old *catalog.Catalog, oldDiags catalog.Diagnostics, new *catalog.Catalog, newDiags catalog.Diagnostics) *Plan {
	d := &differ{old: old, new: new, og: lineage.Build(old, nil), ng: lineage.Build(new, nil), why: map[string]map[string]bool{}}
	had := map[string]bool{}
	for _, diag := range oldDiags {
		if diag.Severity == catalog.SevError {
			had[diag.File+"\x00"+diag.Msg] = true // lines move when a file changes; the message does not
		}
	}
	still := 0
	for _, diag := range newDiags {
		if diag.Severity != catalog.SevError {
			continue
		}
		if had[diag.File+"\x00"+diag.Msg] {
			still++
			continue
		}
		d.add(Change{Kind: "changed", Object: "catalog", Subject: "file " + diag.File, Summary: "the new catalog does not validate: " + diag.Pos.String() + ": " + diag.Msg, Breaking: true,
			Breaks: []string{"seam run refuses a catalog with errors"}})
	}
	d.owners()
	d.systems()
	d.models()
	d.flows()
	d.fields()
	p := d.finish()
	p.StillInvalid = still
	return p
}

type differ struct {
	old, new *catalog.Catalog
	og, ng   *lineage.Graph
	changes  []Change
	why      map[string]map[string]bool
}

func (d *differ) add(c Change) {
	c.Owners = uniq(c.Owners)
	for _, o := range c.Owners {
		if d.why[o] == nil {
			d.why[o] = map[string]bool{}
		}
		what := c.Subject + ": " + c.Summary
		if c.Breaking {
			what = "BREAKING " + what
		}
		d.why[o][what] = true
	}
	d.changes = append(d.changes, c)
}

func (d *differ) finish() *Plan {
	p := &Plan{Changes: d.changes}
	sort.SliceStable(p.Changes, func(i, j int) bool {
		a, b := p.Changes[i], p.Changes[j]
		if a.Breaking != b.Breaking {
			return a.Breaking
		}
		if a.Subject != b.Subject {
			return a.Subject < b.Subject
		}
		return a.Summary < b.Summary
	})
	if p.Changes == nil {
		p.Changes = []Change{}
	}
	for _, c := range p.Changes {
		if c.Breaking {
			p.Breaking++
		}
	}
	p.Owners = []Owner{}
	for _, id := range sortedKeys(d.why) {
		o := Owner{ID: id, Why: sortedKeys(d.why[id])}
		for _, c := range []*catalog.Catalog{d.new, d.old} {
			if c.Project == nil {
				continue
			}
			if def, ok := c.Project.Owners[id]; ok && def != nil {
				o.Name, o.Email, o.Chat = def.Name, def.Email, def.Chat
				break
			}
		}
		p.Owners = append(p.Owners, o)
	}
	return p
}

// --- owners ----------------------------------------------------------------

func (d *differ) owners() {
	oldO, newO := ownersOf(d.old), ownersOf(d.new)
	for _, id := range union(sortedKeys(oldO), sortedKeys(newO)) {
		o, n := oldO[id], newO[id]
		switch {
		case o == nil:
			d.add(Change{Kind: "added", Object: "owner", Subject: "owner " + id, Summary: fmt.Sprintf("added (%s)", n.Name), Owners: []string{id}})
		case n == nil:
			d.add(Change{Kind: "removed", Object: "owner", Subject: "owner " + id, Summary: "removed", Owners: []string{id}})
		default:
			if o.Email != n.Email || o.Chat != n.Chat || o.Name != n.Name {
				d.add(Change{Kind: "changed", Object: "owner", Subject: "owner " + id, Summary: "contact changed",
					Before: contact(o), After: contact(n), Owners: []string{id}})
			}
			if !slices.Equal(o.Alert, n.Alert) {
				d.add(Change{Kind: "changed", Object: "owner", Subject: "owner " + id, Summary: "alert channels changed",
					Before: strings.Join(o.Alert, ", "), After: strings.Join(n.Alert, ", "), Owners: []string{id}})
			}
		}
	}
}

func ownersOf(c *catalog.Catalog) map[string]*catalog.Owner {
	if c.Project == nil {
		return map[string]*catalog.Owner{}
	}
	out := map[string]*catalog.Owner{}
	for id, o := range c.Project.Owners {
		if o != nil {
			out[id] = o
		}
	}
	return out
}

func contact(o *catalog.Owner) string {
	parts := []string{o.Name}
	if o.Email != "" {
		parts = append(parts, o.Email)
	}
	if o.Chat != "" {
		parts = append(parts, o.Chat)
	}
	return strings.Join(parts, ", ")
}

// --- systems ---------------------------------------------------------------

func (d *differ) systems() {
	for _, name := range union(d.old.SystemNames(), d.new.SystemNames()) {
		o, n := d.old.Systems[name], d.new.Systems[name]
		subject := "system " + name
		switch {
		case o == nil:
			d.add(Change{Kind: "added", Object: "system", Subject: subject, Summary: "added, owned by " + or(n.Owner, "nobody"), Owners: []string{n.Owner}})
			continue
		case n == nil:
			c := Change{Kind: "removed", Object: "system", Subject: subject, Summary: "removed", Owners: []string{o.Owner}}
			d.add(c)
			continue
		}
		if o.Owner != n.Owner {
			d.add(Change{Kind: "changed", Object: "owner", Subject: subject, Summary: "owner changed", Before: o.Owner, After: n.Owner, Owners: []string{o.Owner, n.Owner}})
		}
		if o.Title != n.Title || o.Description != n.Description || o.Contact != n.Contact {
			d.add(Change{Kind: "changed", Object: "docs", Subject: subject, Summary: "title, description or contact changed", Owners: []string{n.Owner}})
		}
		if o.BaseURL.Raw != n.BaseURL.Raw {
			d.add(Change{Kind: "changed", Object: "system", Subject: subject, Summary: "base_url changed", Before: o.BaseURL.Raw, After: n.BaseURL.Raw, Owners: []string{n.Owner}})
		}
		if a, b := authOf(o.Auth), authOf(n.Auth); a != b {
			d.add(Change{Kind: "changed", Object: "system", Subject: subject, Summary: "authentication changed", Before: a, After: b, Owners: []string{n.Owner}})
		}
		if !slices.Equal(sorted(o.Masters), sorted(n.Masters)) {
			d.add(Change{Kind: "changed", Object: "system", Subject: subject, Summary: "masters changed",
				Before: strings.Join(sorted(o.Masters), ", "), After: strings.Join(sorted(n.Masters), ", "), Owners: []string{n.Owner}})
		}
		for _, kv := range conventionDiff(o.Conventions, n.Conventions) {
			c := Change{Kind: "changed", Object: "conventions", Subject: subject, Summary: "conventions." + kv[0] + " changed",
				Before: kv[1], After: kv[2], Owners: []string{n.Owner}}
			// Who reads or writes this system's values is affected: the
			// records on the wire change form, and the system did not.
			for _, f := range d.ng.FlowsFrom(name) {
				c.Breaks = append(c.Breaks, "flow "+f.Name+" reads from "+name)
				c.Owners = append(c.Owners, f.Owner)
			}
			for _, r := range d.ng.RoutesTo(name) {
				c.Breaks = append(c.Breaks, "route "+r.Flow+"/"+r.Name+" writes to "+name)
				c.Owners = append(c.Owners, d.ng.Flow(r.Flow).Owner)
			}
			c.Breaking = len(c.Breaks) > 0
			d.add(c)
		}
	}
}

func authOf(a *catalog.Auth) string {
	switch {
	case a == nil:
		return "none"
	case a.Basic != nil:
		return "basic"
	case a.APIKey != nil:
		return "api_key"
	case a.OAuth2 != nil:
		return "oauth2"
	}
	return "bearer"
}

// conventionDiff lists the conventions that differ: key, before, after.
func conventionDiff(o, n catalog.Conventions) [][3]string {
	pairs := []struct {
		key  string
		a, b string
	}{
		{"date_format", o.DateFormat, n.DateFormat},
		{"datetime_format", o.DateTimeFormat, n.DateTimeFormat},
		{"timezone", o.Timezone, n.Timezone},
		{"prices", o.Prices, n.Prices},
		{"currency", o.Currency, n.Currency},
		{"decimal_separator", o.DecimalSeparator, n.DecimalSeparator},
		{"thousands_separator", o.ThousandsSeparator, n.ThousandsSeparator},
		{"country", o.Country, n.Country},
		{"two_digit_years", fmt.Sprint(o.TwoDigitYears), fmt.Sprint(n.TwoDigitYears)},
	}
	var out [][3]string
	for _, p := range pairs {
		if p.a != p.b {
			out = append(out, [3]string{p.key, or(p.a, "(default)"), or(p.b, "(default)")})
		}
	}
	return out
}

// --- models ----------------------------------------------------------------

func (d *differ) models() {
	for _, name := range union(d.old.ModelNames(), d.new.ModelNames()) {
		o, n := d.old.Models[name], d.new.Models[name]
		subject := "model " + name
		switch {
		case o == nil:
			d.add(Change{Kind: "added", Object: "model", Subject: subject, Summary: "added"})
			continue
		case n == nil:
			c := Change{Kind: "removed", Object: "model", Subject: subject, Summary: "removed"}
			for _, f := range d.ng.Flows() {
				if f.Entity == name {
					c.Breaks = append(c.Breaks, "flow "+f.Name+" carries "+name)
					c.Owners = append(c.Owners, f.Owner)
				}
			}
			c.Breaking = len(c.Breaks) > 0
			d.add(c)
			continue
		}
		d.modelFields(name, "", o.Fields, n.Fields)
	}
}

// modelFields compares the fields of a model (or an object field of it,
// under prefix).
func (d *differ) modelFields(model, prefix string, o, n map[string]*catalog.ModelField) {
	for _, f := range union(sortedKeys(o), sortedKeys(n)) {
		path := strings.TrimPrefix(prefix+"."+f, ".")
		subject := "field " + model + "." + path
		of, nf := o[f], n[f]
		switch {
		case of == nil:
			c := Change{Kind: "added", Object: "field", Subject: subject, Summary: "added (" + typeName(nf) + ")"}
			if nf.Required {
				c.Summary = "added, required (" + typeName(nf) + ")"
			}
			d.add(c)
		case nf == nil:
			c := Change{Kind: "removed", Object: "field", Subject: subject, Summary: "removed"}
			d.canonicalConsumers(&c, model, path)
			d.add(c)
		default:
			if typeName(of) != typeName(nf) {
				c := Change{Kind: "changed", Object: "field", Subject: subject, Summary: "type changed", Before: typeName(of), After: typeName(nf)}
				d.canonicalConsumers(&c, model, path)
				d.add(c)
			}
			if of.Required != nf.Required {
				d.add(Change{Kind: "changed", Object: "field", Subject: subject, Summary: "required changed", Before: fmt.Sprint(of.Required), After: fmt.Sprint(nf.Required)})
			}
			if of.Type == "object" && nf.Type == "object" {
				d.modelFields(model, path, of.Fields, nf.Fields)
			}
		}
	}
}

func typeName(f *catalog.ModelField) string {
	switch f.Type {
	case "list":
		return "list of " + f.Of
	case "enum":
		return "enum(" + strings.Join(f.Values, ",") + ")"
	}
	return f.Type
}

// canonicalConsumers marks c breaking for every route of the new catalog
// that reads the canonical path.
func (d *differ) canonicalConsumers(c *Change, model, path string) {
	for _, f := range d.ng.Flows() {
		if f.Entity != model {
			continue
		}
		for _, r := range f.Routes {
			for _, m := range append([]lineage.Mapping{r.When}, r.Map...) {
				if m.ReadsPath(path) {
					c.Breaks = append(c.Breaks, fmt.Sprintf("route %s/%s reads %s (%s)", f.Name, r.Name, path, or(m.Target, "when")))
					c.Owners = append(c.Owners, f.Owner)
					break
				}
			}
		}
	}
	c.Breaks = uniq(c.Breaks)
	c.Breaking = len(c.Breaks) > 0
}

// --- flows -----------------------------------------------------------------

func (d *differ) flows() {
	for _, name := range union(d.old.FlowNames(), d.new.FlowNames()) {
		o, n := d.og.Flow(name), d.ng.Flow(name)
		subject := "flow " + name
		switch {
		case o == nil:
			d.add(Change{Kind: "added", Object: "flow", Subject: subject,
				Summary: fmt.Sprintf("added: %s %s → %s, owned by %s", n.Entity, n.Source, strings.Join(destinations(n), ", "), or(n.Owner, "nobody")), Owners: []string{n.Owner}})
			continue
		case n == nil:
			d.add(Change{Kind: "removed", Object: "flow", Subject: subject,
				Summary: fmt.Sprintf("removed (was %s %s → %s)", o.Entity, o.Source, strings.Join(destinations(o), ", ")), Owners: []string{o.Owner}})
			continue
		}
		d.flow(o, n)
	}
}

func destinations(f *lineage.Flow) []string {
	var out []string
	for _, r := range f.Routes {
		out = append(out, r.To)
	}
	return out
}

// downstream lists what depends on a flow's records in the new catalog:
// its routes' destinations and the flows it feeds.
func (d *differ) downstream(f *lineage.Flow) (breaks, owners []string) {
	for _, r := range f.Routes {
		breaks = append(breaks, "route "+f.Name+"/"+r.Name+" to "+r.To)
		if s, ok := d.new.Systems[r.To]; ok {
			owners = append(owners, s.Owner)
		}
	}
	for _, dn := range f.Downstream {
		breaks = append(breaks, "flow "+dn+" downstream")
		owners = append(owners, d.ng.Flow(dn).Owner)
	}
	return breaks, owners
}

func (d *differ) flow(o, n *lineage.Flow) {
	subject := "flow " + n.Name
	od, nd := o.Def, n.Def
	owners := []string{n.Owner}
	if o.Owner != n.Owner {
		d.add(Change{Kind: "changed", Object: "owner", Subject: subject, Summary: "owner changed", Before: o.Owner, After: n.Owner, Owners: []string{o.Owner, n.Owner}})
	}
	if od.Title != nd.Title || od.Description != nd.Description {
		d.add(Change{Kind: "changed", Object: "docs", Subject: subject, Summary: "title or description changed", Owners: owners})
	}
	if od.Runbook != nd.Runbook {
		d.add(Change{Kind: "changed", Object: "docs", Subject: subject, Summary: "runbook changed", Owners: owners})
	}
	if o.Source != n.Source {
		d.add(Change{Kind: "changed", Object: "flow", Subject: subject, Summary: "source system changed", Before: o.Source, After: n.Source, Owners: owners})
	}
	if o.Entity != n.Entity {
		c := Change{Kind: "changed", Object: "flow", Subject: subject, Summary: "model changed", Before: o.Entity, After: n.Entity, Owners: owners}
		c.Breaks, c.Owners = d.downstream(n)
		c.Owners = append(c.Owners, owners...)
		c.Breaking = true
		d.add(c)
	}
	if o.Key.Expr != n.Key.Expr {
		c := Change{Kind: "changed", Object: "key", Subject: subject, Summary: "key changed: deduplication, ordering and cross-references follow the new key",
			Before: o.Key.Expr, After: n.Key.Expr}
		c.Breaks, c.Owners = d.downstream(n)
		c.Owners = append(c.Owners, owners...)
		c.Breaking = true
		d.add(c)
	}
	ow, nw := od.Source.Webhook, nd.Source.Webhook
	if a, b := webhookPath(ow), webhookPath(nw); a != b {
		d.add(Change{Kind: "changed", Object: "webhook", Subject: subject, Summary: "webhook path changed: " + n.Source + " must send to the new one",
			Before: a, After: b, Breaking: true, Breaks: []string{"system " + n.Source + " sends to " + a}, Owners: append(owners, d.systemOwner(n.Source))})
	}
	if a, b := signatureOf(ow), signatureOf(nw); a != b {
		d.add(Change{Kind: "changed", Object: "webhook", Subject: subject, Summary: "webhook signature changed: " + n.Source + " must sign the new way",
			Before: a, After: b, Breaking: true, Breaks: []string{"system " + n.Source + " signs with " + a}, Owners: append(owners, d.systemOwner(n.Source))})
	}
	d.inbound(o, n)
	d.routes(o, n)
	if a, b := alertKinds(od), alertKinds(nd); a != b {
		d.add(Change{Kind: "changed", Object: "alerts", Subject: subject, Summary: "alert rules changed", Before: a, After: b, Owners: owners})
	}
	added, removed := nameDiff(testNames(od), testNames(nd))
	if len(added)+len(removed) > 0 {
		d.add(Change{Kind: "changed", Object: "tests", Subject: subject, Summary: listChange("tests", added, removed), Owners: owners})
	}
	added, removed = nameDiff(reconcileNames(od), reconcileNames(nd))
	if len(added)+len(removed) > 0 {
		d.add(Change{Kind: "changed", Object: "reconcile", Subject: subject, Summary: listChange("reconciliation checks", added, removed), Owners: owners})
	}
}

func (d *differ) systemOwner(name string) string {
	if s, ok := d.new.Systems[name]; ok {
		return s.Owner
	}
	return ""
}

func webhookPath(w *catalog.Webhook) string {
	if w == nil {
		return "(none)"
	}
	return w.Path
}

func signatureOf(w *catalog.Webhook) string {
	if w == nil || w.Signature == nil {
		return "(none)"
	}
	return w.Signature.Scheme + " " + w.Signature.Header
}

// inbound compares the inbound mappings, and marks breaking a canonical
// field the flow no longer sets while one of its routes reads it.
func (d *differ) inbound(o, n *lineage.Flow) {
	subject := "flow " + n.Name
	om, nm := byTarget(o.Inbound), byTarget(n.Inbound)
	for _, t := range union(sortedKeys(om), sortedKeys(nm)) {
		a, b := om[t], nm[t]
		switch {
		case a == nil:
			d.add(Change{Kind: "added", Object: "mapping", Subject: subject, Summary: "maps " + t, After: b.Expr, Owners: []string{n.Owner}})
		case b == nil:
			c := Change{Kind: "removed", Object: "mapping", Subject: subject, Summary: "no longer maps " + t, Before: a.Expr, Owners: []string{n.Owner}}
			if !n.Sets(t) {
				for _, r := range n.Routes {
					for _, m := range append([]lineage.Mapping{r.When}, r.Map...) {
						if m.ReadsPath(t) {
							c.Breaks = append(c.Breaks, fmt.Sprintf("route %s/%s reads %s (%s)", n.Name, r.Name, t, or(m.Target, "when")))
							c.Owners = append(c.Owners, d.systemOwner(r.To))
						}
					}
				}
			}
			c.Breaks = uniq(c.Breaks)
			c.Breaking = len(c.Breaks) > 0
			d.add(c)
		case a.Expr != b.Expr:
			d.add(Change{Kind: "changed", Object: "mapping", Subject: subject, Summary: "mapping of " + t + " changed", Before: a.Expr, After: b.Expr, Owners: []string{n.Owner}})
		}
	}
}

func byTarget(ms []lineage.Mapping) map[string]*lineage.Mapping {
	out := map[string]*lineage.Mapping{}
	for i := range ms {
		out[ms[i].Target] = &ms[i]
	}
	return out
}

// routes compares the routes of a flow; what their field changes break is
// found by fields(), across flows.
func (d *differ) routes(o, n *lineage.Flow) {
	names := union(routeNames(o), routeNames(n))
	for _, name := range names {
		a, b := o.Route(name), n.Route(name)
		subject := "route " + n.Name + "/" + name
		owners := []string{n.Owner}
		switch {
		case a == nil:
			d.add(Change{Kind: "added", Object: "route", Subject: subject, Summary: "added: to " + b.To, Owners: append(owners, d.systemOwner(b.To))})
			continue
		case b == nil:
			d.add(Change{Kind: "removed", Object: "route", Subject: subject, Summary: "removed (was to " + a.To + ")", Owners: append(owners, d.systemOwner(a.To))})
			continue
		}
		owners = append(owners, d.systemOwner(b.To))
		if a.To != b.To {
			d.add(Change{Kind: "changed", Object: "route", Subject: subject, Summary: "destination changed", Before: a.To, After: b.To, Owners: append(owners, d.systemOwner(a.To))})
		}
		if a.When.Expr != b.When.Expr {
			d.add(Change{Kind: "changed", Object: "route", Subject: subject, Summary: "condition (when:) changed", Before: or(a.When.Expr, "(always)"), After: or(b.When.Expr, "(always)"), Owners: owners})
		}
		if x, y := httpOf(a.Def), httpOf(b.Def); x != y {
			d.add(Change{Kind: "changed", Object: "route", Subject: subject, Summary: "request changed", Before: x, After: y, Owners: owners})
		}
		if x, y := policyOf(a.Def), policyOf(b.Def); x != y {
			d.add(Change{Kind: "changed", Object: "policy", Subject: subject, Summary: "delivery policy changed", Before: x, After: y, Owners: owners})
		}
		if x, y := rememberOf(a.Def), rememberOf(b.Def); x != y {
			d.add(Change{Kind: "changed", Object: "route", Subject: subject, Summary: "cross-references (remember:) changed", Before: x, After: y, Owners: owners})
		}
		am, bm := byTarget(a.Map), byTarget(b.Map)
		for _, t := range union(sortedKeys(am), sortedKeys(bm)) {
			x, y := am[t], bm[t]
			switch {
			case x == nil:
				d.add(Change{Kind: "added", Object: "mapping", Subject: subject, Summary: "writes " + b.To + "." + t, After: y.Expr, Owners: owners})
			case y == nil:
				d.add(Change{Kind: "removed", Object: "mapping", Subject: subject, Summary: "no longer writes " + a.To + "." + t, Before: x.Expr, Owners: owners})
			case x.Expr != y.Expr:
				d.add(Change{Kind: "changed", Object: "mapping", Subject: subject, Summary: "mapping of " + b.To + "." + t + " changed", Before: x.Expr, After: y.Expr, Owners: owners})
			}
		}
	}
}

func routeNames(f *lineage.Flow) []string {
	var out []string
	for _, r := range f.Routes {
		out = append(out, r.Name)
	}
	sort.Strings(out)
	return out
}

func httpOf(r *catalog.Route) string {
	if r == nil || r.HTTP == nil {
		return ""
	}
	h := r.HTTP
	s := strings.ToUpper(or(h.Method, "POST")) + " " + or(h.Path, h.URL.Raw)
	for _, k := range sortedKeys(h.Headers) {
		s += fmt.Sprintf(" %s: %s", k, h.Headers[k])
	}
	return s
}

func policyOf(r *catalog.Route) string {
	if r == nil {
		return ""
	}
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	add("ordering", r.Ordering)
	if r.Retry.Attempts != nil {
		add("attempts", fmt.Sprint(*r.Retry.Attempts))
	}
	add("backoff", r.Retry.Backoff)
	if r.Retry.Initial.Set() {
		add("initial", dur(r.Retry.Initial.D))
	}
	if r.Retry.Max.Set() {
		add("max", dur(r.Retry.Max.D))
	}
	if r.Timeout.Set() {
		add("timeout", dur(r.Timeout.D))
	}
	if r.Rate.PerSecond > 0 {
		add("rate_limit", fmt.Sprintf("%g/s", r.Rate.PerSecond))
	}
	if r.Workers > 0 {
		add("concurrency", fmt.Sprint(r.Workers))
	}
	if b := r.Breaker; b != nil {
		add("circuit_breaker", fmt.Sprintf("%d failures, %s", b.Failures, dur(b.CoolDown.D)))
	}
	if len(parts) == 0 {
		return "defaults"
	}
	return strings.Join(parts, ", ")
}

func rememberOf(r *catalog.Route) string {
	var parts []string
	for _, fe := range r.Remember {
		parts = append(parts, fe.Target+": "+fe.Expr.Src)
	}
	return strings.Join(parts, ", ")
}

func alertKinds(f *catalog.Flow) string {
	var parts []string
	for _, a := range f.Alerts {
		if a != nil {
			parts = append(parts, a.RuleName())
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

func testNames(f *catalog.Flow) []string {
	var out []string
	for _, t := range f.Tests {
		if t != nil {
			out = append(out, t.Name)
		}
	}
	return out
}

func reconcileNames(f *catalog.Flow) []string {
	var out []string
	for _, x := range f.Reconcile {
		if x != nil {
			out = append(out, x.Name)
		}
	}
	return out
}

func nameDiff(old, new []string) (added, removed []string) {
	for _, n := range new {
		if !slices.Contains(old, n) {
			added = append(added, n)
		}
	}
	for _, o := range old {
		if !slices.Contains(new, o) {
			removed = append(removed, o)
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

func listChange(what string, added, removed []string) string {
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "added "+strings.Join(quoteAll(added), ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "removed "+strings.Join(quoteAll(removed), ", "))
	}
	return what + ": " + strings.Join(parts, "; ")
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%q", v)
	}
	return out
}

// --- fields across flows ---------------------------------------------------

// written is who writes each system field: "system\x00entity\x00field" →
// the routes (flow/route) and the type each writes.
type written map[string][]writer

type writer struct {
	route string
	owner string
	typ   string
}

func writtenFields(c *catalog.Catalog, g *lineage.Graph) written {
	w := written{}
	for _, f := range g.Flows() {
		for _, r := range f.Routes {
			for _, m := range r.Map {
				k := r.To + "\x00" + f.Entity + "\x00" + m.Target
				w[k] = append(w[k], writer{route: f.Name + "/" + r.Name, owner: f.Owner, typ: lineage.TypeOf(c, f.Entity, m.Expr)})
			}
		}
	}
	return w
}

// fields finds system fields that were written and no longer are (or now
// have another type) while a flow of the new catalog reads them.
func (d *differ) fields() {
	ow, nw := writtenFields(d.old, d.og), writtenFields(d.new, d.ng)
	for _, k := range sortedKeys(ow) {
		parts := strings.SplitN(k, "\x00", 3)
		system, entity, field := parts[0], parts[1], parts[2]
		readers := d.readers(system, entity, field)
		if len(readers) == 0 {
			continue
		}
		ref := system + "." + entity + "." + field
		var was []string
		var owners []string
		for _, wr := range ow[k] {
			was = append(was, wr.route)
			owners = append(owners, wr.owner)
		}
		c := Change{Object: "field", Subject: "field " + ref, Breaking: true, Owners: append(owners, d.systemOwner(system))}
		for _, f := range readers {
			c.Breaks = append(c.Breaks, fmt.Sprintf("flow %s reads %s out of %s", f.Name, field, system))
			c.Owners = append(c.Owners, f.Owner)
		}
		now, ok := nw[k]
		switch {
		case !ok:
			c.Kind, c.Summary = "removed", "no longer written (was by "+strings.Join(was, ", ")+"), but flows still read it"
		default:
			before, after := typesOf(ow[k]), typesOf(now)
			if before == "" || after == "" || before == after {
				continue
			}
			c.Kind, c.Summary, c.Before, c.After = "changed", "written with another type, and flows read it", before, after
		}
		d.add(c)
	}
}

// readers are the flows of the new catalog that read system.entity.field.
func (d *differ) readers(system, entity, field string) []*lineage.Flow {
	var out []*lineage.Flow
	for _, f := range d.ng.FlowsFrom(system) {
		if f.Entity != entity {
			continue
		}
		for _, m := range append([]lineage.Mapping{f.Key}, f.Inbound...) {
			if m.ReadsPath(field) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

func typesOf(ws []writer) string {
	var ts []string
	for _, w := range ws {
		if w.typ == "" {
			return ""
		}
		ts = append(ts, w.typ)
	}
	return strings.Join(uniq(ts), " or ")
}

// --- helpers ---------------------------------------------------------------

func union(a, b []string) []string { return uniq(append(slices.Clone(a), b...)) }

func uniq(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}

// dur writes a duration as the catalog does: 1s, 15m, 2h, 1h30m, 3d.
func dur(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	var b strings.Builder
	for _, u := range []struct {
		d time.Duration
		s string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	return b.String()
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
