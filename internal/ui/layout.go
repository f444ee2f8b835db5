package ui

import (
	"net/http"
	"strings"

	"github.com/seamhq/seam"
	"github.com/seamhq/seam/internal/store"
)

// layout is what every page's frame needs: the navigation, who is signed
// in, the CSRF token for the forms, and a message about the last action.
type layout struct {
	Title   string
	Project string
	Zone    string // the time zone the page's times are in
	AssetV  string
	User    *session
	CSRF    string
	Nav     []navItem
	Live    bool // the page has regions that refresh themselves
	Flash   *flash
	Bare    bool // no navigation (the sign-in page)
}

type navItem struct {
	Href, Label, Badge string
	Current            bool
}

// flash is the outcome of the action that led to this page.
type flash struct {
	Level string // ok, warn, fail
	Text  string
	Link  string // optional: where to see more
	More  string
}

// badge counts up to 99, then says 99+; 0 shows nothing.
func badge(n int) string {
	switch {
	case n <= 0:
		return ""
	case n > 99:
		return "99+"
	}
	return itoa(n)
}

func (u *UI) bareLayout(title string) layout {
	l := layout{Title: title, AssetV: u.assetV, Bare: true}
	if c := u.opts.Catalog(); c != nil && c.Project != nil {
		l.Project = c.Project.Name
	}
	return l
}

// layoutFor builds the frame for a signed-in page. The badge counts read
// at most 100 rows each, by index, so they cost little on every page.
func (u *UI) layoutFor(r *http.Request, s *session, title string) layout {
	l := u.bareLayout(title)
	l.Bare = s == nil
	l.User = s
	if s != nil {
		l.CSRF = s.CSRF
	}
	l.Zone = u.opts.Now().In(u.opts.Location).Format("MST")
	if s == nil {
		return l
	}
	var dead, quar int
	if ds, err := u.opts.Ledger.DeliveryList(r.Context(), &store.DeliveryFilter{States: []seam.DeliveryState{seam.DeliveryDead}, Limit: 100}); err == nil {
		dead = len(ds)
	}
	if qs, err := u.opts.Ledger.QuarantineList(r.Context(), &store.QuarantineFilter{Status: seam.QuarantineOpen, Limit: 100}); err == nil {
		quar = len(qs)
	}
	p := r.URL.Path
	in := func(prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }
	l.Nav = []navItem{
		{Href: "/", Label: "Overview", Current: p == "/" || in("/flows")},
		{Href: "/messages", Label: "Messages", Current: in("/messages")},
		{Href: "/trace", Label: "Trace", Current: in("/trace")},
		{Href: "/dlq", Label: "Dead letters", Badge: badge(dead), Current: in("/dlq")},
		{Href: "/quarantine", Label: "Quarantine", Badge: badge(quar), Current: in("/quarantine")},
		{Href: "/audit", Label: "Audit", Current: in("/audit")},
		{Href: "/docs/", Label: "Docs", Current: in("/docs")},
	}
	return l
}
