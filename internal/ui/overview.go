package ui

import (
	"html/template"
	"net/http"
	"sort"
)

// overviewView is the home page: the map, a few totals, and one row per
// flow with its health.
type overviewView struct {
	layout
	Map     template.HTML
	MapNote string
	Tiles   []tile
	Flows   []*flowRow
	Series  bool
	Updated stamp
}

// tile is one headline number.
type tile struct {
	Label, Value, Sub string
	Level             string // optional health class
	Href              string
}

// flowRow is one flow in the health table.
type flowRow struct {
	Name, URL, Title, Owner string
	Health                  health
	Received, ErrorRate     string
	Backlog, Dead           string
	DeadURL                 string
	LastSuccess             stamp
	Spark                   template.HTML
}

func (u *UI) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	c := u.opts.Catalog()
	l, err := u.gather(r.Context(), c, "")
	if err != nil {
		return err
	}
	v := &overviewView{layout: u.layoutFor(r, s, "Overview"), Series: l.series, Updated: u.stamp(l.now)}
	v.Live = true

	var nOK, nWarn, nFail, quarantined int
	var recv, deliv, failed, dead int64
	mh := mapHealth{Systems: map[string]health{}, Flows: map[string]health{}, Routes: map[string]health{}}
	sysLevel := map[string]*assessor{}
	for _, name := range l.names {
		f := l.flows[name]
		h := f.assess(l.now, l.series)
		mh.Flows[name] = h
		switch h.Level {
		case "ok":
			nOK++
		case "warn":
			nWarn++
		default:
			nFail++
		}
		recv += f.Received
		deliv += f.Delivered
		failed += f.Failed
		dead += f.dead()
		quarantined += f.Quarantined
		for _, rt := range f.Routes {
			mh.Routes[name+"/"+rt.Name] = rt.assess(l.now)
			a := sysLevel[rt.To]
			if a == nil {
				a = &assessor{}
				sysLevel[rt.To] = a
			}
			before := len(a.why)
			rt.judge(a, l.now)
			for i := before; i < len(a.why); i++ {
				a.why[i] = name + "/" + rt.Name + ": " + a.why[i]
			}
		}
		row := &flowRow{Name: name, URL: flowURL(name), Health: h, Dead: count(f.dead()),
			DeadURL: link("/dlq", "flow", name), LastSuccess: u.ago(f.lastSuccess()), Backlog: "—",
			Received: "—", ErrorRate: "—"}
		if def, ok := c.Flows[name]; ok {
			row.Title = def.Title
			row.Owner = ownerName(c, def.Owner)
		} else {
			row.Title = "no longer in the catalog"
		}
		if t := f.oldestDue(); !t.IsZero() {
			row.Backlog = humanDuration(l.now.Sub(t))
		}
		if l.series {
			row.Received = count(f.Received)
			row.ErrorRate = f.errorRate()
			row.Spark = sparkline(f.Hour)
		}
		v.Flows = append(v.Flows, row)
	}
	for name, a := range sysLevel {
		mh.Systems[name] = a.health()
	}
	// Worst first: the flow that needs someone is at the top.
	rank := map[string]int{"fail": 0, "warn": 1, "ok": 2}
	sort.SliceStable(v.Flows, func(i, j int) bool { return rank[v.Flows[i].Health.Level] < rank[v.Flows[j].Health.Level] })

	if u.opts.Map != nil {
		flat := map[string]string{}
		for k, h := range mh.Flows {
			flat[k] = h.Level
		}
		m, err := u.opts.Map(c, flat, mapLink)
		if err != nil {
			u.log.ErrorContext(r.Context(), "draw the map", "err", err)
			v.MapNote = "The map could not be drawn; the table below has every flow."
		}
		v.Map = m
	} else {
		v.Map = drawMap(c, mh, mapLink)
	}

	flowsTile := tile{Label: "Flows", Value: itoa(len(l.names)), Sub: itoa(nOK) + " OK · " + itoa(nWarn) + " WARN · " + itoa(nFail) + " FAIL"}
	switch {
	case nFail > 0:
		flowsTile.Level = "fail"
	case nWarn > 0:
		flowsTile.Level = "warn"
	default:
		flowsTile.Level = "ok"
	}
	v.Tiles = append(v.Tiles, flowsTile)
	if l.series {
		v.Tiles = append(v.Tiles,
			tile{Label: "Received", Value: count(recv), Sub: "last 15 min", Href: "/messages?since=15m"},
			tile{Label: "Delivered", Value: count(deliv), Sub: "last 15 min"},
			tile{Label: "Error rate", Value: percent(failed, failed+deliv), Sub: "of attempts, last 15 min"})
	}
	deadTile := tile{Label: "Dead letters", Value: count(dead), Sub: "waiting for an operator", Href: "/dlq"}
	if dead > 0 {
		deadTile.Level = "fail"
	}
	quarTile := tile{Label: "Quarantine", Value: itoa(quarantined), Sub: "records refused, open", Href: "/quarantine"}
	if quarantined > 0 {
		quarTile.Level = "warn"
	}
	v.Tiles = append(v.Tiles, deadTile, quarTile)
	u.render(w, http.StatusOK, "overview", v)
	return nil
}

func mapLink(kind, name string) string {
	if kind == "flow" {
		return flowURL(name)
	}
	return ""
}
