// Package reconcile runs a flow's reconciliation checks: it reads a number
// over a window — how many records, or the sum of a field — from two sides
// (the ledger, a system's HTTP API, or a SQL query on PostgreSQL,
// MySQL/MariaDB or SQLite) and says whether they agree within the
// tolerance, and, where both sides can list their keys, which keys only one
// side has.
//
// It reports; it does not alert. The alert evaluator (on a schedule) and
// `seam reconcile` (on demand) turn a mismatch into an incident.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/catalog"
	"github.com/seamhq/seam/internal/store"
)

// Defaults of a check that does not say.
const (
	DefaultEvery  = time.Hour
	DefaultWindow = 24 * time.Hour
	// MaxKeys is how many differing keys a result lists in all.
	MaxKeys = 100
	// maxLedgerRows bounds what one ledger side reads, so that a window
	// far too wide fails clearly instead of filling memory.
	maxLedgerRows = 2_000_000
	// sideTimeout bounds one side's query or request.
	sideTimeout = 2 * time.Minute
)

// Ledger is what a ledger side reads.
type Ledger interface {
	MessageList(ctx context.Context, f *store.MessageFilter) ([]*seam.Message, error)
	DeliveryList(ctx context.Context, f *store.DeliveryFilter) ([]*seam.Delivery, error)
}

// Runner runs checks. The zero value works for checks without a ledger
// side, with the process environment and a default HTTP client.
type Runner struct {
	// Ledger serves ledger sides; nil makes them fail with a clear error.
	Ledger Ledger
	// Env resolves ${…} references (default os.LookupEnv).
	Env catalog.Lookup
	// HTTP sends HTTP sides' requests (default: a client with a 60s timeout).
	HTTP *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Side is what one side answered.
type Side struct {
	// Label names the side in a sentence: "ledger", a system, a database.
	Label string `json:"label"`
	// Source says exactly where the number came from.
	Source string `json:"source"`
	// Value is the count or the sum, as decimal text.
	Value string `json:"value"`
	// Keys is how many distinct keys the side listed; -1 when it lists none.
	Keys int `json:"keys"`

	value decimal.Decimal
	keys  []string // sorted, distinct; nil when the side lists none
}

// Result is the outcome of one check.
type Result struct {
	Flow    string    `json:"flow"`
	Check   string    `json:"check"`
	Compare string    `json:"compare"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	Left    *Side     `json:"left"`
	Right   *Side     `json:"right"`
	// Difference is |left - right|.
	Difference string `json:"difference"`
	Tolerance  string `json:"tolerance"`
	Match      bool   `json:"match"`
	// OnlyLeft and OnlyRight are keys only one side has, MaxKeys in all;
	// KeysDiffer counts all of them.
	OnlyLeft   []string `json:"only_left,omitempty"`
	OnlyRight  []string `json:"only_right,omitempty"`
	KeysDiffer int      `json:"keys_differ"`
}

// Summary is the result in one line, e.g. "orders-reach-erp: ledger 120 ≠
// erp 118".
func (r *Result) Summary() string {
	op := "="
	if !r.Match {
		op = "≠"
	}
	s := fmt.Sprintf("%s: %s %s %s %s %s", r.Check, r.Left.Label, r.Left.Value, op, r.Right.Label, r.Right.Value)
	if r.Match && r.Left.Value != r.Right.Value {
		s += " (within " + r.Tolerance + ")"
	}
	return s
}

// Detail explains the result in a few sentences, with up to ten of the
// keys that differ.
func (r *Result) Detail() string {
	what := "counts"
	if r.Compare == "sum" {
		what = "sums to"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From %s to %s, %s (%s) %s %s and %s (%s) %s %s; they differ by %s, tolerance %s.",
		r.From.UTC().Format("2006-01-02 15:04"), r.To.UTC().Format("2006-01-02 15:04 UTC"),
		r.Left.Label, r.Left.Source, what, r.Left.Value, r.Right.Label, r.Right.Source, what, r.Right.Value,
		r.Difference, r.Tolerance)
	for _, k := range []struct {
		label string
		keys  []string
	}{{r.Left.Label, r.OnlyLeft}, {r.Right.Label, r.OnlyRight}} {
		if len(k.keys) == 0 {
			continue
		}
		shown := k.keys[:min(10, len(k.keys))]
		fmt.Fprintf(&b, " Only in %s: %s", k.label, strings.Join(shown, ", "))
		if len(k.keys) > len(shown) {
			fmt.Fprintf(&b, " and %d more", len(k.keys)-len(shown))
		}
		b.WriteString(".")
	}
	if listed := len(r.OnlyLeft) + len(r.OnlyRight); r.KeysDiffer > listed {
		fmt.Fprintf(&b, " %d keys differ in all; the first %d are listed.", r.KeysDiffer, listed)
	}
	return b.String()
}

// Window returns the period a check compares at now: Window long, ending
// Lag before now, on whole seconds so that every side sees the same bounds
// whatever precision its database keeps.
func Window(x *catalog.Reconcile, now time.Time) (from, to time.Time) {
	to = now.Add(-x.Lag.Or(0)).UTC().Truncate(time.Second)
	return to.Add(-x.Window.Or(DefaultWindow)), to
}

// Run runs check x of flow f in catalog c.
func (r *Runner) Run(ctx context.Context, c *catalog.Catalog, f *catalog.Flow, x *catalog.Reconcile) (*Result, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	from, to := Window(x, now())
	compare := x.Compare
	if compare == "" {
		compare = "count"
	}
	res := &Result{Flow: f.Name, Check: x.Name, Compare: compare, From: from, To: to, Tolerance: x.Tolerance.String()}
	var err error
	if res.Left, err = r.side(ctx, c, f, &x.Left, compare, from, to); err != nil {
		return nil, fmt.Errorf("reconcile %s/%s: left: %w", f.Name, x.Name, err)
	}
	if res.Right, err = r.side(ctx, c, f, &x.Right, compare, from, to); err != nil {
		return nil, fmt.Errorf("reconcile %s/%s: right: %w", f.Name, x.Name, err)
	}
	if res.Left.Label == res.Right.Label {
		res.Left.Label, res.Right.Label = "left "+res.Left.Label, "right "+res.Right.Label
	}
	if err := compareSides(res, x.Tolerance); err != nil {
		return nil, fmt.Errorf("reconcile %s/%s: %w", f.Name, x.Name, err)
	}
	return res, nil
}

// compareSides fills the difference, the verdict and the keys that differ.
func compareSides(res *Result, tol catalog.Tolerance) error {
	l, rv := res.Left.value, res.Right.value
	diff, err := l.Sub(rv)
	if err != nil {
		return err
	}
	diff = diff.Abs()
	res.Difference = diff.Trim(0).String()

	exact := false
	within := false
	switch {
	case tol.Amount != "":
		amount, err := decimal.Parse(tol.Amount)
		if err != nil {
			return fmt.Errorf("tolerance %q: %w", tol.Amount, err)
		}
		exact = amount.IsZero()
		within = diff.Cmp(amount) <= 0
	case tol.Ratio > 0:
		larger := l.Abs()
		if rv.Abs().Cmp(larger) > 0 {
			larger = rv.Abs()
		}
		lf, _ := larger.Float64()
		df, _ := diff.Float64()
		within = df <= tol.Ratio*lf
	default:
		exact = true
		within = diff.IsZero()
	}

	if res.Left.keys != nil && res.Right.keys != nil {
		onlyL, onlyR := difference(res.Left.keys, res.Right.keys), difference(res.Right.keys, res.Left.keys)
		res.KeysDiffer = len(onlyL) + len(onlyR)
		// Share the listing between the sides, so that one long side does
		// not hide the other.
		nl := min(len(onlyL), max(MaxKeys/2, MaxKeys-len(onlyR)))
		nr := min(len(onlyR), MaxKeys-nl)
		res.OnlyLeft, res.OnlyRight = onlyL[:nl], onlyR[:nr]
	}
	// With no tolerance, the same count over different keys (one record
	// missing, another extra) is a mismatch too; with a tolerance, the
	// numbers decide and the keys only explain.
	res.Match = within && !(exact && res.KeysDiffer > 0)
	return nil
}

// difference returns the keys of a (sorted) that b (sorted) lacks.
func difference(a, b []string) []string {
	var out []string
	for _, k := range a {
		if _, found := slices.BinarySearch(b, k); !found {
			out = append(out, k)
		}
	}
	return out
}

func (r *Runner) side(ctx context.Context, c *catalog.Catalog, f *catalog.Flow, s *catalog.ReconcileSide, compare string, from, to time.Time) (*Side, error) {
	ctx, cancel := context.WithTimeout(ctx, sideTimeout)
	defer cancel()
	var (
		side *Side
		err  error
	)
	switch {
	case s.Ledger != nil:
		side, err = r.ledgerSide(ctx, f, s.Ledger, compare, from, to)
	case s.HTTP != nil:
		side, err = r.httpSide(ctx, c, s.HTTP, from, to)
	case s.SQL != nil:
		side, err = r.sqlSide(ctx, s.SQL, from, to)
	default:
		return nil, errors.New("no source: write ledger, http or sql")
	}
	if err != nil {
		return nil, err
	}
	if s.Name != "" {
		side.Label = s.Name
	}
	side.Value = side.value.Trim(0).String()
	side.Keys = -1
	if side.keys != nil {
		slices.Sort(side.keys)
		side.keys = slices.Compact(side.keys)
		side.Keys = len(side.keys)
	}
	return side, nil
}

// NeedsLedger reports whether any check of the catalog (or only those of
// flow and check, when set) reads the ledger, so that a command opens it
// only when it must.
func NeedsLedger(c *catalog.Catalog, flow, check string) bool {
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		if flow != "" && f.Name != flow {
			continue
		}
		for _, x := range f.Reconcile {
			if x == nil || (check != "" && x.Name != check) {
				continue
			}
			if x.Left.Ledger != nil || x.Right.Ledger != nil {
				return true
			}
		}
	}
	return false
}

func (r *Runner) env() catalog.Lookup {
	if r.Env != nil {
		return r.Env
	}
	return defaultEnv
}
