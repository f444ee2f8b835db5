package docsgen

import (
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/seamhq/seam/internal/audit"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/lineage"
)

// The views are what the templates see: everything is computed here, so
// the templates only lay it out.

// Page is what every page has.
type Page struct {
	Root    string // "" for the index, "../" for pages in a folder
	Title   string
	Project string
	// LiveAt is when the live facts were read; empty without a ledger.
	LiveAt string
	Audit  bool
}

// link is a name with its page (URL empty: no page).
type link struct {
	Name, URL string
}

type ownerView struct {
	ID, Name, Email, Chat string
	Known                 bool
}

type liveFlow struct {
	LastMessage, LastSuccess, Last24h, Retained string
	Dead                                        int64
	Health                                      string
}

type liveRoute struct {
	Route, Delivered, Retrying, Dead, Pending, FailureRate, LastDelivered, P50, P95, Backlog string
	Health                                                                                   string
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
}

func (s *site) pageInfo(root, title string) Page {
	p := Page{Root: root, Title: title, Project: s.c.Project.Name, Audit: s.opts.Audit != nil}
	if s.opts.Facts != nil {
		p.LiveAt = s.opts.Facts.Now.UTC().Format("2006-01-02 15:04 MST")
	}
	return p
}

func (s *site) owner(id string) ownerView {
	o := ownerView{ID: id}
	if def, ok := s.c.Project.Owners[id]; ok && def != nil {
		o.Known, o.Name, o.Email, o.Chat = true, def.Name, def.Email, def.Chat
	}
	return o
}

func (s *site) sysLink(root, name string) link {
	if _, ok := s.c.Systems[name]; ok {
		return link{name, root + "systems/" + name + ".html"}
	}
	return link{Name: name}
}

func (s *site) flowLink(root, name string) link {
	if _, ok := s.c.Flows[name]; ok {
		return link{name, root + "flows/" + name + ".html"}
	}
	return link{Name: name}
}

func (s *site) modelLink(root, name string) link {
	if _, ok := s.c.Models[name]; ok {
		return link{name, root + "models/" + name + ".html"}
	}
	return link{Name: name}
}

// --- systems ---------------------------------------------------------------

type systemView struct {
	Page
	Name, Title, Description, Contact, BaseURL, Auth string
	Owner                                            ownerView
	Conventions                                      [][2]string
	Masters                                          []link
	Tags                                             []string
	Unused                                           bool
	Out                                              []sysFlowRow
	In                                               []sysRouteRow
	Sends, Receives                                  []fieldUseRow
}

type sysFlowRow struct {
	Flow   link
	Title  string
	Entity link
	Owner  ownerView
	To     []link
	Live   *liveFlow
}

type sysRouteRow struct {
	Flow   link
	Route  string
	From   link
	Entity link
	Fields []string
	Live   *liveRoute
}

type fieldUseRow struct {
	Entity, Field string
	By            []link
}

func (s *site) systemView(name string) *systemView {
	sys := s.c.Systems[name]
	const root = "../"
	v := &systemView{Page: s.pageInfo(root, or(sys.Title, name)), Name: name, Title: or(sys.Title, name),
		Description: sys.Description, Contact: sys.Contact, BaseURL: sys.BaseURL.Raw, Owner: s.owner(sys.Owner),
		Tags: sys.Tags, Unused: !s.g.Used(name), Conventions: conventionRows(sys.Conventions)}
	v.Auth = authKind(sys.Auth)
	for _, m := range sys.Masters {
		v.Masters = append(v.Masters, s.modelLink(root, m))
	}
	for _, f := range s.g.FlowsFrom(name) {
		row := sysFlowRow{Flow: s.flowLink(root, f.Name), Title: f.Def.Title, Entity: s.modelLink(root, f.Entity), Owner: s.owner(f.Owner), Live: s.liveFlow(f.Name)}
		for _, r := range f.Routes {
			row.To = append(row.To, s.sysLink(root, r.To))
		}
		v.Out = append(v.Out, row)
	}
	for _, r := range s.g.RoutesTo(name) {
		f := s.g.Flow(r.Flow)
		row := sysRouteRow{Flow: s.flowLink(root, f.Name), Route: r.Name, From: s.sysLink(root, f.Source), Entity: s.modelLink(root, f.Entity), Live: s.liveRoute(f.Name, r.Name)}
		for _, m := range r.Map {
			row.Fields = append(row.Fields, m.Target)
		}
		v.In = append(v.In, row)
	}
	entities := map[string]bool{}
	for _, f := range s.g.FlowsFrom(name) {
		entities[f.Entity] = true
	}
	for _, r := range s.g.RoutesTo(name) {
		entities[s.g.Flow(r.Flow).Entity] = true
	}
	for _, e := range sortedSet(entities) {
		read := s.g.ReadFrom(name, e)
		for _, p := range sortedKeys(read) {
			row := fieldUseRow{Entity: e, Field: p}
			if p == "" {
				row.Field = "(the whole record)"
			}
			for _, f := range read[p] {
				row.By = append(row.By, s.flowLink(root, f.Name))
			}
			v.Sends = append(v.Sends, row)
		}
		written := s.g.Written(name, e)
		for _, p := range sortedKeys(written) {
			row := fieldUseRow{Entity: e, Field: p}
			for _, r := range written[p] {
				row.By = append(row.By, link{r.Flow + " → " + r.Name, root + "flows/" + r.Flow + ".html#route-" + r.Name})
			}
			v.Receives = append(v.Receives, row)
		}
	}
	s.index = append(s.index, searchEntry{Kind: "system", Name: name, Text: or(sys.Title, name) + ": " + sys.Description, URL: "systems/" + name + ".html",
		Words: strings.Join(append([]string{sys.Owner, v.Owner.Name}, sys.Tags...), " ")})
	return v
}

func authKind(a *catalog.Auth) string {
	switch {
	case a == nil:
		return "none"
	case a.Basic != nil:
		return "HTTP basic"
	case a.APIKey != nil:
		if a.APIKey.Header != "" {
			return "API key in header " + a.APIKey.Header
		}
		return "API key in query parameter " + a.APIKey.Query
	case a.OAuth2 != nil:
		return "OAuth2 client credentials"
	}
	return "bearer token"
}

// conventionRows lists every convention with its value, defaults marked.
func conventionRows(c catalog.Conventions) [][2]string {
	def := func(v, d string) string {
		if v == "" {
			return d + " (default)"
		}
		return v
	}
	rows := [][2]string{
		{"Dates", def(c.DateFormat, "YYYY-MM-DD")},
		{"Date-times", def(c.DateTimeFormat, "RFC 3339")},
		{"Time zone", def(c.Timezone, "UTC")},
		{"Prices", def(c.Prices, "net")},
		{"Currency", def(c.Currency, "none")},
		{"Decimal separator", def(quoteSep(c.DecimalSeparator), `"."`)},
	}
	if c.ThousandsSeparator != "" {
		rows = append(rows, [2]string{"Thousands separator", quoteSep(c.ThousandsSeparator)})
	}
	if c.Country != "" {
		rows = append(rows, [2]string{"Country", c.Country})
	}
	if c.TwoDigitYears {
		rows = append(rows, [2]string{"Two-digit years", "accepted"})
	}
	return rows
}

func quoteSep(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

// --- flows -----------------------------------------------------------------

type flowView struct {
	Page
	Name, Title, Description, Runbook string
	Owner                             ownerView
	Tags                              []string
	Source                            link
	SourceTitle                       string
	Webhook, Signature                string
	Model                             link
	ModelDescription                  string
	Key                               string
	KeyReads                          []string
	Inbound                           []inRow
	Routes                            []routeView
	Alerts                            []string
	Tests                             []testRow
	Reconcile                         []string
	Upstream, Downstream              []link
	UpChains, DownChains              [][]link
	Live                              *liveFlow
}

type inRow struct {
	Canonical, Type, Expr, Convention, Err string
	Sources                                []string
}

type routeView struct {
	Name, Method, Path, When string
	To                       link
	Echo                     bool
	Policy                   [][2]string
	Rows                     []routeRow
	Remember                 [][2]string
	Live                     *liveRoute
}

type routeRow struct {
	Sources, Canonical []string
	Target, Expr       string
	Plain              bool // the expression is the canonical path itself
	Convention         string
}

type testRow struct{ Name, Kind string }

func (s *site) flowView(name string) *flowView {
	def := s.c.Flows[name]
	f := s.g.Flow(name)
	const root = "../"
	v := &flowView{Page: s.pageInfo(root, name), Name: name, Title: def.Title, Description: def.Description,
		Runbook: strings.TrimRight(def.Runbook, "\n"), Owner: s.owner(def.Owner), Tags: def.Tags,
		Source: s.sysLink(root, f.Source), Model: s.modelLink(root, f.Entity), Key: f.Key.Expr, KeyReads: f.Key.Reads,
		Live: s.liveFlow(name)}
	srcConv := catalog.Conventions{}
	if sys, ok := s.c.Systems[f.Source]; ok {
		v.SourceTitle, srcConv = sys.Title, sys.Conventions
	}
	if m, ok := s.c.Models[f.Entity]; ok {
		v.ModelDescription = m.Description
	}
	if w := def.Source.Webhook; w != nil {
		v.Webhook = "POST " + w.Path
		if w.Signature != nil {
			v.Signature = w.Signature.Scheme + " signature"
			if w.Signature.Header != "" {
				v.Signature += " in " + w.Signature.Header
			}
		}
	}
	for _, m := range f.Inbound {
		typ := lineage.CanonicalType(s.c, f.Entity, m.Target)
		v.Inbound = append(v.Inbound, inRow{Canonical: m.Target, Type: typ, Expr: m.Expr, Sources: m.Reads,
			Convention: readConvention(typ, srcConv), Err: m.Err})
	}
	for _, r := range f.Routes {
		v.Routes = append(v.Routes, s.routeView(f, r, srcConv))
	}
	for _, a := range def.Alerts {
		if a != nil {
			v.Alerts = append(v.Alerts, alertText(a))
		}
	}
	for _, t := range def.Tests {
		if t == nil {
			continue
		}
		kind := "checks the canonical record"
		switch {
		case len(t.Reject) > 0:
			kind = "must be refused"
		case len(t.Expect) > 0:
			kind = "expects " + strings.Join(sortedKeys(t.Expect), ", ")
		case len(t.Skip) > 0:
			kind = "skips " + strings.Join(t.Skip, ", ")
		}
		v.Tests = append(v.Tests, testRow{Name: t.Name, Kind: kind})
	}
	for _, x := range def.Reconcile {
		if x != nil {
			v.Reconcile = append(v.Reconcile, x.Name)
		}
	}
	for _, u := range f.Upstream {
		v.Upstream = append(v.Upstream, s.flowLink(root, u))
	}
	for _, d := range f.Downstream {
		v.Downstream = append(v.Downstream, s.flowLink(root, d))
	}
	if len(f.Upstream) > 0 {
		for _, ch := range s.g.UpstreamChains(name, 5) {
			v.UpChains = append(v.UpChains, s.chainLinks(root, ch))
		}
	}
	if len(f.Downstream) > 0 {
		for _, ch := range s.g.Chains(name, 5) {
			v.DownChains = append(v.DownChains, s.chainLinks(root, ch))
		}
	}
	var words []string
	words = append(words, def.Owner, v.Owner.Name, f.Source, f.Entity)
	for _, r := range f.Routes {
		words = append(words, r.To)
		for _, m := range r.Map {
			words = append(words, m.Target)
		}
	}
	for _, m := range f.Inbound {
		words = append(words, m.Target)
		words = append(words, m.Reads...)
	}
	s.index = append(s.index, searchEntry{Kind: "flow", Name: name, Text: def.Title, URL: "flows/" + name + ".html", Words: strings.Join(uniq(words), " ")})
	return v
}

func (s *site) chainLinks(root string, chain []string) []link {
	out := make([]link, len(chain))
	for i, n := range chain {
		out[i] = s.flowLink(root, n)
	}
	return out
}

func (s *site) routeView(f *lineage.Flow, r *lineage.Route, srcConv catalog.Conventions) routeView {
	rv := routeView{Name: r.Name, To: s.sysLink("../", r.To), When: r.When.Expr, Echo: r.EchoSuppressed, Live: s.liveRoute(f.Name, r.Name)}
	dstConv := catalog.Conventions{}
	if sys, ok := s.c.Systems[r.To]; ok {
		dstConv = sys.Conventions
	}
	def := r.Def
	if h := def.HTTP; h != nil {
		rv.Method = strings.ToUpper(or(h.Method, "POST"))
		rv.Path = or(h.Path, h.URL.Raw)
	}
	for _, m := range r.Map {
		row := routeRow{Target: m.Target, Expr: m.Expr, Canonical: m.Reads}
		row.Plain = len(m.Reads) == 1 && m.Reads[0] == strings.TrimSpace(m.Expr)
		for _, c := range m.Reads {
			row.Sources = append(row.Sources, f.SourcesOf(c)...)
			if row.Convention == "" {
				row.Convention = s.carryConvention(f.Entity, c, srcConv, dstConv)
			}
		}
		row.Sources = uniq(row.Sources)
		rv.Rows = append(rv.Rows, row)
	}
	for _, fe := range def.Remember {
		rv.Remember = append(rv.Remember, [2]string{fe.Target, fe.Expr.Src})
	}
	rv.Policy = policyRows(def)
	return rv
}

// readConvention says how the source's convention is applied to read a
// canonical field of type typ.
func readConvention(typ string, c catalog.Conventions) string {
	switch typ {
	case "date":
		return "read as " + or(c.DateFormat, "YYYY-MM-DD")
	case "datetime":
		return "read as " + or(c.DateTimeFormat, "RFC 3339") + ", " + or(c.Timezone, "UTC")
	case "money":
		s := or(c.Prices, "net") + " prices"
		if c.Currency != "" {
			s += " in " + c.Currency
		}
		if c.DecimalSeparator == "," {
			s += `, decimal ","`
		}
		return s
	case "decimal", "integer":
		if c.DecimalSeparator == "," {
			return `decimal ","`
		}
	case "phone":
		if c.Country != "" {
			return "numbers without a prefix are in " + c.Country
		}
	}
	return ""
}

// carryConvention says how a canonical path travels from the source's
// conventions to the destination's.
func (s *site) carryConvention(model, path string, src, dst catalog.Conventions) string {
	typ := lineage.CanonicalType(s.c, model, path)
	root, part, _ := strings.Cut(path, ".")
	sep := ""
	if dst.DecimalSeparator == "," {
		sep = `decimal ","`
	}
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "; ")
	}
	if lineage.CanonicalType(s.c, model, root) == "money" && part != "" {
		switch part {
		case "net", "gross":
			if basis := or(src.Prices, "net"); basis != part {
				return join(basis+" → "+part, sep)
			}
			return join(part, sep)
		case "vat", "vat_rate", "amount":
			return sep
		}
	}
	switch typ {
	case "date":
		return or(src.DateFormat, "YYYY-MM-DD") + " → " + or(dst.DateFormat, "YYYY-MM-DD")
	case "datetime":
		return or(src.DateTimeFormat, "RFC 3339") + " " + or(src.Timezone, "UTC") + " → " + or(dst.DateTimeFormat, "RFC 3339") + " " + or(dst.Timezone, "UTC")
	case "money":
		return join(or(src.Prices, "net")+" prices, amount with currency and VAT", sep)
	case "decimal", "integer":
		return sep
	}
	return ""
}

func policyRows(r *catalog.Route) [][2]string {
	var rows [][2]string
	if r.Ordering != "" {
		rows = append(rows, [2]string{"Ordering", r.Ordering})
	}
	attempts := "10"
	if r.Retry.Attempts != nil {
		attempts = strconv.Itoa(*r.Retry.Attempts)
	}
	rows = append(rows, [2]string{"Retry", fmt.Sprintf("%s attempts, %s backoff from %s to %s", attempts, or(r.Retry.Backoff, "exponential"),
		dur(r.Retry.Initial.Or(time.Second)), dur(r.Retry.Max.Or(10*time.Minute)))})
	rows = append(rows, [2]string{"Timeout", dur(r.Timeout.Or(10 * time.Second))})
	if r.Rate.PerSecond > 0 {
		rows = append(rows, [2]string{"Rate limit", rate(r.Rate.PerSecond)})
	}
	if r.Workers > 0 {
		rows = append(rows, [2]string{"Concurrency", strconv.Itoa(r.Workers)})
	}
	if b := r.Breaker; b != nil {
		n := b.Failures
		if n == 0 {
			n = 5
		}
		rows = append(rows, [2]string{"Circuit breaker", fmt.Sprintf("opens after %d failures, cools down %s", n, dur(b.CoolDown.Or(30*time.Second)))})
	}
	return rows
}

func rate(perSecond float64) string {
	switch {
	case perSecond >= 1:
		return strconv.FormatFloat(perSecond, 'f', -1, 64) + "/s"
	case perSecond*60 >= 1:
		return strconv.FormatFloat(perSecond*60, 'f', 0, 64) + "/m"
	}
	return strconv.FormatFloat(perSecond*3600, 'f', 0, 64) + "/h"
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

func alertText(a *catalog.Alert) string {
	var s string
	switch {
	case a.Silence != nil:
		s = "no record for " + dur(a.Silence.For.D)
		if a.Silence.During.Raw != "" {
			s += " during " + a.Silence.During.Raw
		}
	case a.ErrorRate != nil:
		s = fmt.Sprintf("more than %s of attempts fail over %s", audit.Percent(a.ErrorRate.Above.Ratio), dur(a.ErrorRate.Over.Or(15*time.Minute)))
	case a.DeadLetters != nil:
		s = "any dead letter"
		if a.DeadLetters.Above > 0 {
			s = fmt.Sprintf("more than %d dead letters", a.DeadLetters.Above)
		}
	case a.BacklogAge != nil:
		s = "the oldest undelivered record is older than " + dur(a.BacklogAge.Above.D)
	case a.Quarantine != nil:
		s = "any record in quarantine"
		if a.Quarantine.Above > 0 {
			s = fmt.Sprintf("more than %d records in quarantine", a.Quarantine.Above)
		}
	case a.CircuitOpen != nil:
		s = "a route's circuit breaker opens"
	default:
		s = "(no condition)"
	}
	s += " (" + or(a.Severity, "warning")
	if len(a.To) > 0 {
		s += ", to " + strings.Join(a.To, ", ")
	}
	return s + ")"
}

// --- models ----------------------------------------------------------------

type modelView struct {
	Page
	Name, Description string
	Extends           bool
	Fields            []modelFieldRow
	Flows             []link
}

type modelFieldRow struct {
	Name, Type, Description string
	Required, Personal      bool
	SetBy, ReadBy           []link
}

func (s *site) modelView(name string) *modelView {
	m := s.c.Models[name]
	const root = "../"
	v := &modelView{Page: s.pageInfo(root, "Model "+name), Name: name, Description: m.Description}
	var flows []*lineage.Flow
	for _, f := range s.g.Flows() {
		if f.Entity == name {
			flows = append(flows, f)
			v.Flows = append(v.Flows, s.flowLink(root, f.Name))
		}
	}
	for _, fname := range m.Order {
		fd := m.Fields[fname]
		if fd == nil {
			continue
		}
		row := modelFieldRow{Name: fname, Type: fd.Type, Description: fd.Description, Required: fd.Required, Personal: fd.Personal}
		if fd.Type == "list" && fd.Of != "" {
			row.Type = "list of " + fd.Of
		}
		if fd.Type == "enum" {
			row.Type = "enum: " + strings.Join(fd.Values, ", ")
		}
		for _, f := range flows {
			if f.Sets(fname) {
				row.SetBy = append(row.SetBy, s.flowLink(root, f.Name))
			}
			for _, r := range f.Routes {
				for _, mm := range r.Map {
					if mm.ReadsPath(fname) {
						row.ReadBy = append(row.ReadBy, link{f.Name + " → " + r.Name + "." + mm.Target, root + "flows/" + f.Name + ".html#route-" + r.Name})
					}
				}
			}
		}
		v.Fields = append(v.Fields, row)
	}
	s.index = append(s.index, searchEntry{Kind: "model", Name: name, Text: m.Description, URL: "models/" + name + ".html", Words: strings.Join(m.Order, " ")})
	return v
}

// --- index -----------------------------------------------------------------

type indexView struct {
	Page
	Description       string
	Counts            string
	Map               template.HTML
	Systems           []indexSystem
	Flows             []indexFlow
	Models            []link
	Owners            []indexOwner
	Score             int
	Grade             string
	FindingsBySev     string
	ValidationProblem string
}

type indexSystem struct {
	Link               link
	Title, Description string
	Owner              ownerView
	Out, In            int
	Unused             bool
}

type indexFlow struct {
	Link   link
	Title  string
	Entity link
	Source link
	To     []link
	Owner  ownerView
	Live   *liveFlow
}

type indexOwner struct {
	Owner ownerView
	Owns  []link
}

func (s *site) indexView() (*indexView, error) {
	c := s.c
	routes := 0
	for _, f := range c.Flows {
		routes += len(f.Routes)
	}
	v := &indexView{Page: s.pageInfo("", c.Project.Name), Description: c.Project.Description,
		Counts: fmt.Sprintf("%d systems, %d flows, %d routes, %d owners", len(c.Systems), len(c.Flows), routes, len(c.Project.Owners))}
	svg, err := s.mapSVG()
	if err != nil {
		return nil, err
	}
	v.Map = svg
	for _, name := range c.SystemNames() {
		sys := c.Systems[name]
		v.Systems = append(v.Systems, indexSystem{Link: s.sysLink("", name), Title: or(sys.Title, name), Description: sys.Description,
			Owner: s.owner(sys.Owner), Out: len(s.g.FlowsFrom(name)), In: len(s.g.RoutesTo(name)), Unused: !s.g.Used(name)})
	}
	for _, f := range s.g.Flows() {
		row := indexFlow{Link: s.flowLink("", f.Name), Title: f.Def.Title, Entity: s.modelLink("", f.Entity), Source: s.sysLink("", f.Source), Owner: s.owner(f.Owner), Live: s.liveFlow(f.Name)}
		for _, r := range f.Routes {
			row.To = append(row.To, s.sysLink("", r.To))
		}
		v.Flows = append(v.Flows, row)
	}
	for _, m := range s.modelNames() {
		v.Models = append(v.Models, s.modelLink("", m))
	}
	for _, id := range sortedKeys(c.Project.Owners) {
		o := indexOwner{Owner: s.owner(id)}
		for _, n := range c.SystemNames() {
			if c.Systems[n].Owner == id {
				o.Owns = append(o.Owns, s.sysLink("", n))
			}
		}
		for _, n := range c.FlowNames() {
			if c.Flows[n].Owner == id {
				o.Owns = append(o.Owns, s.flowLink("", n))
			}
		}
		v.Owners = append(v.Owners, o)
	}
	if r := s.opts.Audit; r != nil {
		v.Score, v.Grade = r.Score, r.Grade
		var parts []string
		for _, sev := range audit.Severities {
			if n := r.Counts[sev]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, sev))
			}
		}
		v.FindingsBySev = strings.Join(parts, ", ")
		if v.FindingsBySev == "" {
			v.FindingsBySev = "nothing to report"
		}
	}
	return v, nil
}

type auditView struct {
	Page
	Body template.HTML
}

// --- live facts ------------------------------------------------------------

func (s *site) liveFlow(name string) *liveFlow {
	if s.opts.Facts == nil {
		return nil
	}
	ff := s.opts.Facts.Flows[name]
	if ff == nil {
		return nil
	}
	now := s.opts.Facts.Now
	l := &liveFlow{LastMessage: when(ff.LastMessage, now), LastSuccess: when(ff.LastSuccess(), now),
		Last24h: strconv.Itoa(ff.Last24h), Retained: strconv.FormatInt(ff.Retained(), 10), Dead: ff.DeadLetters(), Health: health(ff)}
	if ff.Last24hCapped {
		l.Last24h = "more than " + l.Last24h
	}
	return l
}

func (s *site) liveRoute(flow, route string) *liveRoute {
	if s.opts.Facts == nil {
		return nil
	}
	ff := s.opts.Facts.Flows[flow]
	if ff == nil {
		return nil
	}
	now := s.opts.Facts.Now
	for _, rf := range ff.Routes {
		if rf.Route != route {
			continue
		}
		l := &liveRoute{Route: route, Delivered: strconv.FormatInt(rf.Delivered, 10), Retrying: strconv.FormatInt(rf.Retrying, 10),
			Dead: strconv.FormatInt(rf.Dead, 10), Pending: strconv.FormatInt(rf.Pending+rf.InFlight, 10),
			FailureRate: "–", LastDelivered: when(rf.LastDelivered, now), P50: "–", P95: "–", Backlog: "none", Health: routeHealth(rf)}
		if rf.Decided() > 0 {
			l.FailureRate = audit.Percent(rf.FailureRate)
		}
		if rf.Samples > 0 {
			l.P50, l.P95 = audit.Age(rf.P50), audit.Age(rf.P95)
		}
		if !rf.BacklogSince.IsZero() {
			l.Backlog = "since " + when(rf.BacklogSince, now)
		}
		return l
	}
	return nil
}

// health sums up a flow's live state for the map: bad with dead letters or
// a failure rate of 20 %, warn with retries, a backlog or 5 % failures, ok
// when it delivers, "" without traffic.
func health(ff *audit.FlowFacts) string {
	h := ""
	for _, r := range ff.Routes {
		switch routeHealth(r) {
		case "bad":
			return "bad"
		case "warn":
			h = "warn"
		case "ok":
			if h == "" {
				h = "ok"
			}
		}
	}
	return h
}

func routeHealth(r *audit.RouteFacts) string {
	switch {
	case r.Dead > 0 || r.FailureRate >= 0.20:
		return "bad"
	case r.Retrying > 0 || r.FailureRate >= 0.05 || !r.BacklogSince.IsZero():
		return "warn"
	case r.Delivered > 0:
		return "ok"
	}
	return ""
}

// when writes a time with how long ago it was, or "never".
func when(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04") + " (" + audit.Age(now.Sub(t)) + " ago)"
}

// --- helpers ---------------------------------------------------------------

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

func sortedSet(m map[string]bool) []string { return sortedKeys(m) }

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}
