package catalog

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Reconcile is one reconciliation check of a flow: a number over a window
// (how many records, or the sum of a field) read from two sides that must
// agree, within a tolerance. It lives on the flow it protects, so its
// mismatches go to the flow's owner like the flow's alerts.
type Reconcile struct {
	Name      string        `yaml:"name" doc:"Name of the check, unique within the flow, e.g. orders-reach-erp." required:"true"`
	Every     Duration      `yaml:"every" doc:"How often seam run runs the check (default 1h). seam reconcile runs it on demand."`
	Window    Duration      `yaml:"window" doc:"Length of the period compared, ending now (default 24h)."`
	Lag       Duration      `yaml:"lag" doc:"How long before now the period ends, so that records still on their way are not counted as missing (default 0)."`
	Compare   string        `yaml:"compare" doc:"What is compared: count (default) or sum." enum:"count,sum"`
	Tolerance Tolerance     `yaml:"tolerance" doc:"How far apart the two numbers may be: an amount (0, the default, or 2.50) or a percentage of the larger one (1%)."`
	Left      ReconcileSide `yaml:"left" doc:"One side: ledger, http or sql." required:"true"`
	Right     ReconcileSide `yaml:"right" doc:"The other side: ledger, http or sql." required:"true"`
	To        []string      `yaml:"to" doc:"Channels to notify of a mismatch instead of the owner's."`
	Severity  string        `yaml:"severity" doc:"critical, warning (default) or info." enum:"critical,warning,info"`
	At        Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// ReconcileSide is where one of the two numbers comes from; exactly one of
// its sources is set.
type ReconcileSide struct {
	Name   string      `yaml:"name" doc:"What to call this side in messages, e.g. ERP (default: ledger, the system, or the database)."`
	Ledger *LedgerSide `yaml:"ledger" doc:"Count (or sum) what Seam's ledger holds for a flow."`
	HTTP   *HTTPSide   `yaml:"http" doc:"Ask a system's HTTP API for the number."`
	SQL    *SQLSide    `yaml:"sql" doc:"Run a query on a database (PostgreSQL, MySQL/MariaDB or SQLite)."`
	At     Pos
}

// LedgerSide counts records received by a flow, or deliveries of one of
// its routes, in the window.
type LedgerSide struct {
	Flow  string `yaml:"flow" doc:"The flow whose records count (default: the flow of the check)."`
	Route string `yaml:"route" doc:"Count the deliveries of this route instead of the records received."`
	State string `yaml:"state" doc:"Only deliveries in this state (pending, in_flight, retrying, delivered, dead, skipped), or without route: only records with this status (accepted, quarantined)."`
	Field string `yaml:"field" doc:"With compare: sum, the field to add up: a dot path into the canonical record, or, with route, into the payload sent (e.g. NetAmount)."`
	At    Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// HTTPSide reads the number from a system's HTTP API with a GET.
type HTTPSide struct {
	System       string `yaml:"system" doc:"The system whose base_url and auth are used." required:"true"`
	Path         string `yaml:"path" doc:"Path appended to base_url; {from} and {to} are replaced by the window's bounds in RFC 3339 (UTC), e.g. /api/reports/orders?from={from}&to={to}." required:"true"`
	JSONPath     string `yaml:"json_path" doc:"Where the number is in the JSON answer, as a dot path (e.g. data.count); empty when the answer is the number itself."`
	KeysPath     string `yaml:"keys_path" doc:"A path answering the keys in the window, so that a mismatch lists the keys that differ; {from} and {to} as in path."`
	KeysJSONPath string `yaml:"keys_json_path" doc:"Where the keys are in that answer: a dot path to a list, with * for every item (e.g. orders.*.ref); empty when the answer is the list itself."`
	At           Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// SQLSide reads the number with a query.
type SQLSide struct {
	Driver   string `yaml:"driver" doc:"postgres, mysql (also MariaDB) or sqlite (default: from the form of the dsn)." enum:"postgres,mysql,sqlite"`
	DSN      Text   `yaml:"dsn" doc:"The database, usually from the environment: \"${ERP_DB}\". postgres://user@host/db, user:password@tcp(host:3306)/db (mysql) or sqlite:/path/file.db." required:"true"`
	Query    string `yaml:"query" doc:"A query answering one number, e.g. SELECT count(*) FROM orders WHERE created_at >= :from AND created_at < :to. :from and :to are the window's bounds." required:"true"`
	KeyQuery string `yaml:"keys" doc:"A query answering one column: the keys in the window, so that a mismatch lists the keys that differ."`
	At       Pos
	// Keys is where each key's value was written, for diagnostics.
	Keys map[string]Pos `yaml:"-" json:"-"`
}

// Tolerance is how far apart the two numbers of a reconciliation may be:
// an amount (2.50) or a percentage of the larger number (1%).
type Tolerance struct {
	// Amount is the absolute tolerance as decimal text; "" for a percentage.
	Amount string
	// Ratio is the percentage as a ratio (0.01 for 1%); 0 for an amount.
	Ratio float64
	At    Pos
}

var amountRe = regexp.MustCompile(`^\d+(\.\d+)?$`)

// ParseTolerance parses the Tolerance syntax.
func ParseTolerance(s string) (Tolerance, error) {
	t := strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(t, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 {
			return Tolerance{}, fmt.Errorf("%q is not a percentage", s)
		}
		return Tolerance{Ratio: f / 100}, nil
	}
	if !amountRe.MatchString(t) {
		return Tolerance{}, fmt.Errorf("%q is neither an amount nor a percentage", s)
	}
	return Tolerance{Amount: t}, nil
}

// String writes the tolerance as it is written in the catalog.
func (x Tolerance) String() string {
	if x.Amount == "" && x.Ratio != 0 {
		return strconv.FormatFloat(x.Ratio*100, 'f', -1, 64) + "%"
	}
	if x.Amount == "" {
		return "0"
	}
	return x.Amount
}

func (x *Tolerance) decodeNode(d *decoder, n *yaml.Node) {
	s, ok := d.scalar(n, "an amount such as 0 or 2.50, or a percentage such as 1%")
	if !ok {
		return
	}
	t, err := ParseTolerance(s)
	if err != nil {
		d.errorf(n, "write an amount (0, 2.50) or a percentage of the larger number (1%)", "%v", err)
		return
	}
	t.At = d.pos(n)
	*x = t
}

// Kind is the rule's condition: silence, error_rate, dead_letters,
// backlog_age, quarantine or circuit_open ("" when none is set).
func (a *Alert) Kind() string {
	switch {
	case a.Silence != nil:
		return "silence"
	case a.ErrorRate != nil:
		return "error_rate"
	case a.DeadLetters != nil:
		return "dead_letters"
	case a.BacklogAge != nil:
		return "backlog_age"
	case a.Quarantine != nil:
		return "quarantine"
	case a.CircuitOpen != nil:
		return "circuit_open"
	}
	return ""
}

// RuleName identifies the rule within its flow: its name, else its kind.
func (a *Alert) RuleName() string {
	if a.Name != "" {
		return a.Name
	}
	return a.Kind()
}

// RuleName identifies the check's incidents within its flow, apart from
// the flow's alert rules.
func (x *Reconcile) RuleName() string { return "reconcile:" + x.Name }

// AlertChannels returns the channels that notify about flow f: to when it
// is set (a rule's own), else the owner's alert channels, else, for an
// owner with an e-mail address and no channels, every SMTP channel (which
// mails the owner). Unknown owners and channels yield nothing.
func (c *Catalog) AlertChannels(f *Flow, to []string) []string {
	if len(to) > 0 {
		return to
	}
	o := c.Project.Owners[f.Owner]
	if o == nil {
		return nil
	}
	if len(o.Alert) > 0 {
		return o.Alert
	}
	if o.Email == "" {
		return nil
	}
	var out []string
	for _, name := range sortedKeys(c.Project.Alerts.Channels) {
		if ch := c.Project.Alerts.Channels[name]; ch != nil && ch.SMTP != nil {
			out = append(out, name)
		}
	}
	return out
}

// SQLDriverOf tells the database of a DSN by its form: postgres for
// postgres:// and postgresql://, sqlite for sqlite: and file:, mysql for
// mysql:// and the driver's own user:password@tcp(host)/db form; "" when
// the form does not say.
func SQLDriverOf(dsn string) string {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres"
	case strings.HasPrefix(dsn, "sqlite:"), strings.HasPrefix(dsn, "file:"):
		return "sqlite"
	case strings.HasPrefix(dsn, "mysql://"), strings.Contains(dsn, "@tcp("), strings.Contains(dsn, "@unix("):
		return "mysql"
	}
	return ""
}

var (
	deliveryStates  = []string{"pending", "in_flight", "retrying", "delivered", "dead", "skipped"}
	messageStatuses = []string{"accepted", "quarantined"}
)

// checkAlertRules reports rules that would share their incidents: two
// rules of one flow need distinct names. (A flow whose owner has no channel
// is not reported: its incidents are still listed, and the evaluator logs
// that nobody was told.)
func checkAlertRules(c *Catalog, r *report, f *Flow) {
	names := map[string]bool{}
	for _, a := range f.Alerts {
		if a == nil || a.Kind() == "" {
			continue
		}
		name := a.RuleName()
		if names[name] {
			r.errorf(a.At, "give the rules distinct names with name: …", "flow %s: two alert rules are named %q", f.Name, name)
		}
		names[name] = true
	}
}

// checkReconciles checks the reconciliation checks of f.
func checkReconciles(c *Catalog, r *report, f *Flow, channels []string) {
	names := map[string]bool{}
	for _, x := range f.Reconcile {
		if x == nil {
			continue
		}
		if x.Name != "" {
			if names[x.Name] {
				r.errorf(x.At, "give the checks distinct names", "flow %s: two reconciliation checks are named %q", f.Name, x.Name)
			}
			names[x.Name] = true
		}
		checkEnum(r, keyAt(x.Keys, "compare", x.At), "compare", x.Compare, []string{"count", "sum"})
		checkEnum(r, keyAt(x.Keys, "severity", x.At), "severity", x.Severity, []string{"critical", "warning", "info"})
		for _, d := range []Duration{x.Every, x.Window} {
			if d.Set() && d.D <= 0 {
				r.errorf(d.At, "", "must be positive")
			}
		}
		for _, ch := range x.To {
			if !slices.Contains(channels, ch) {
				r.errorf(keyAt(x.Keys, "to", x.At), channelHint(ch, channels), "alert channel %q is not declared under alerts.channels", ch)
			}
		}
		for _, side := range []*ReconcileSide{&x.Left, &x.Right} {
			checkReconcileSide(c, r, f, x, side)
		}
	}
}

func checkReconcileSide(c *Catalog, r *report, f *Flow, x *Reconcile, s *ReconcileSide) {
	if s.At.Line == 0 {
		return // missing: reported by the decoder
	}
	n := 0
	for _, set := range []bool{s.Ledger != nil, s.HTTP != nil, s.SQL != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		r.errorf(s.At, "write one of ledger: {…}, http: {…} or sql: {…}", "reconciliation %q: a side needs exactly one source, has %d", x.Name, n)
		return
	}
	sum := x.Compare == "sum"
	switch {
	case s.Ledger != nil:
		l := s.Ledger
		flow := f
		if l.Flow != "" {
			if flow = c.Flows[l.Flow]; flow == nil {
				r.errorf(keyAt(l.Keys, "flow", l.At), suggestOrList(l.Flow, c.FlowNames(), "flows"), "reconciliation %q: unknown flow %q", x.Name, l.Flow)
				return
			}
		}
		if l.Route != "" {
			var routes []string
			for _, rt := range flow.Routes {
				if rt != nil {
					routes = append(routes, cmpOr(rt.Name, rt.To))
				}
			}
			if !slices.Contains(routes, l.Route) {
				r.errorf(keyAt(l.Keys, "route", l.At), suggestOrList(l.Route, routes, "routes of "+flow.Name), "reconciliation %q: flow %s has no route %q", x.Name, flow.Name, l.Route)
			}
			checkEnum(r, keyAt(l.Keys, "state", l.At), "state", l.State, deliveryStates)
		} else {
			checkEnum(r, keyAt(l.Keys, "state", l.At), "state", l.State, messageStatuses)
		}
		if sum && l.Field == "" {
			r.errorf(l.At, "say what to add up, e.g. field: total.net", "reconciliation %q: compare: sum needs a field on the ledger side", x.Name)
		}
		if !sum && l.Field != "" {
			r.warnf(keyAt(l.Keys, "field", l.At), "remove it, or write compare: sum", "reconciliation %q: field is ignored when counting", x.Name)
		}
	case s.HTTP != nil:
		h := s.HTTP
		if h.System != "" {
			if sys, ok := c.Systems[h.System]; !ok {
				r.errorf(keyAt(h.Keys, "system", h.At), suggestOrList(h.System, c.SystemNames(), "declared systems"), "reconciliation %q: unknown system %q", x.Name, h.System)
			} else if sys.BaseURL.Raw == "" {
				r.errorf(keyAt(h.Keys, "system", h.At), fmt.Sprintf("set base_url in systems/%s.yaml", h.System), "reconciliation %q: system %q has no base_url", x.Name, h.System)
			}
		}
		for key, p := range map[string]string{"path": h.Path, "keys_path": h.KeysPath} {
			if p != "" && !strings.HasPrefix(p, "/") {
				r.errorf(keyAt(h.Keys, key, h.At), "write it as /"+p, "reconciliation %q: %s %q must start with /", x.Name, key, p)
			}
		}
		if h.KeysJSONPath != "" && h.KeysPath == "" {
			r.errorf(keyAt(h.Keys, "keys_json_path", h.At), "add keys_path: the endpoint that lists the keys", "reconciliation %q: keys_json_path without keys_path", x.Name)
		}
	case s.SQL != nil:
		q := s.SQL
		raw := q.DSN.Raw
		if q.Driver == "" && raw != "" && !strings.Contains(raw, "${") && SQLDriverOf(raw) == "" {
			r.errorf(q.DSN.At, "write driver: postgres, mysql or sqlite", "reconciliation %q: cannot tell the database from the dsn", x.Name)
		}
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
