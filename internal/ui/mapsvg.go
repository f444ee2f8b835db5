package ui

import (
	"fmt"
	"html"
	"html/template"
	"sort"

	"github.com/seamhq/seam/internal/catalog"
)

// mapHealth is the live health the map shows: per system, per flow, and
// per route (by "flow/route"), each "ok", "warn" or "fail".
type mapHealth struct {
	Systems, Flows, Routes map[string]health
}

// drawMap is the built-in drawing of the landscape, used until the
// catalog map of `seam map` (internal/diagram) can draw health itself:
// systems as boxes, flows as pills between their source and their
// destinations, laid out left to right by longest path, each node with its
// health as a word and an icon (so the map reads without colour).
func drawMap(c *catalog.Catalog, hl mapHealth, linkOf func(kind, name string) string) template.HTML {
	g := newMapGraph(c)
	g.layout()
	var b svgb
	const (
		nodeW, sysH, flowH = 168, 54, 46
		colGap, rowGap     = 64, 22
		margin             = 14
	)
	colX := func(layer int) float64 { return margin + float64(layer)*(nodeW+colGap) }
	heights := map[int]float64{}
	for _, n := range g.order {
		h := float64(flowH)
		if n.kind == "system" {
			h = sysH
		}
		n.w, n.h = nodeW, h
		n.x = colX(n.layer)
		n.y = margin + heights[n.layer]
		heights[n.layer] += h + rowGap
	}
	// Centre each column vertically against the tallest one.
	tallest := 0.0
	for _, h := range heights {
		tallest = max(tallest, h)
	}
	for _, n := range g.order {
		n.y += (tallest - heights[n.layer]) / 2
	}
	width := colX(g.layers) - colGap + margin
	height := tallest - rowGap + 2*margin
	for _, e := range g.edges {
		if e.to.layer <= e.from.layer {
			height += 26 // room for the back edges, drawn below the nodes
			break
		}
	}
	b.f(`<svg class="map" viewBox="0 0 %.0f %.0f" role="img" aria-labelledby="map-t map-d">`, width, height)
	b.f(`<title id="map-t">Map of systems and flows</title><desc id="map-d">%s</desc>`, html.EscapeString(g.describe(hl)))
	b.f(`<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="5" markerHeight="5" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>`)
	b.f(`<g class="edges">`)
	for _, e := range g.edges {
		// A flow's source edge stays neutral: its health is the flow's,
		// shown on the flow's pill; a route's edge shows the route's.
		level := "ok"
		if e.route != "" {
			level = or(hl.Routes[e.flow+"/"+e.route].Level, "ok")
		}
		a, z := e.from, e.to
		x1, y1 := a.x+a.w, a.y+a.h/2
		x2, y2 := z.x, z.y+z.h/2
		var d string
		if z.layer > a.layer {
			mx := (x1 + x2) / 2
			d = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, mx, y1, mx, y2, x2-2, y2)
		} else {
			// A back edge (a loop in the landscape) goes under the nodes.
			x1, y1 = a.x+a.w/2, a.y+a.h
			x2, y2 = z.x+z.w/2, z.y+z.h
			low := max(y1, y2) + 26
			d = fmt.Sprintf("M%.1f,%.1f C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x1, y1, x1, low, x2, low, x2, y2+2)
		}
		b.f(`<path class="edge e-%s" d="%s" marker-end="url(#arrow)"/>`, level, d)
	}
	b.f(`</g><g class="nodes">`)
	for _, n := range g.order {
		var h health
		var title, sub string
		if n.kind == "system" {
			h = hl.Systems[n.name]
			title, sub = n.title, n.sub
		} else {
			h = hl.Flows[n.name]
			title, sub = n.name, n.sub
		}
		if h.Level == "" {
			h = healthOf(levelOK, nil)
		}
		href := linkOf(n.kind, n.name)
		if href != "" {
			b.f(`<a href="%s">`, html.EscapeString(href))
		}
		tip := fmt.Sprintf("%s %s: %s", n.kind, n.name, h.Label)
		if h.Why != "" {
			tip += " — " + h.Why
		}
		b.f(`<g class="node n-%s n-%s"><title>%s</title>`, n.kind, h.Level, html.EscapeString(tip))
		rx := 6.0
		if n.kind == "flow" {
			rx = n.h / 2
		}
		b.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%.1f"/>`, n.x, n.y, n.w, n.h, rx)
		cx := n.x + n.w/2
		b.f(`<text class="t1" x="%.1f" y="%.1f">%s</text>`, cx, n.y+n.h/2-3, html.EscapeString(short(title, 22)))
		b.f(`<text class="t2" x="%.1f" y="%.1f"><tspan class="hl hl-%s">%s %s</tspan>`, cx, n.y+n.h/2+13, h.Level, h.Icon, h.Label)
		if sub != "" {
			b.f(` · %s`, html.EscapeString(short(sub, 18)))
		}
		b.f(`</text></g>`)
		if href != "" {
			b.f(`</a>`)
		}
	}
	b.f(`</g></svg>`)
	return template.HTML(b.String()) //nolint:gosec // every text is escaped
}

type mapNode struct {
	kind, name, title, sub string
	layer                  int
	x, y, w, h             float64
	out, in                []*mapNode
	pos                    float64 // position within its column, for ordering
}

type mapEdge struct {
	from, to    *mapNode
	flow, route string // route empty: the flow's source edge
}

type mapGraph struct {
	nodes  map[string]*mapNode
	order  []*mapNode // by layer, then position
	edges  []*mapEdge
	layers int
}

func newMapGraph(c *catalog.Catalog) *mapGraph {
	g := &mapGraph{nodes: map[string]*mapNode{}}
	node := func(kind, name string) *mapNode {
		k := kind + ":" + name
		n, ok := g.nodes[k]
		if !ok {
			n = &mapNode{kind: kind, name: name, title: name}
			g.nodes[k] = n
		}
		return n
	}
	for _, name := range c.SystemNames() {
		n := node("system", name)
		s := c.Systems[name]
		if s.Title != "" {
			n.title = s.Title
		}
		n.sub = ownerName(c, s.Owner)
	}
	for _, name := range c.FlowNames() {
		f := c.Flows[name]
		fn := node("flow", name)
		fn.sub = f.Model
		if f.Source.System != "" {
			src := node("system", f.Source.System)
			g.edges = append(g.edges, &mapEdge{from: src, to: fn, flow: name})
		}
		for _, rt := range f.Routes {
			if rt.To == "" {
				continue
			}
			g.edges = append(g.edges, &mapEdge{from: fn, to: node("system", rt.To), flow: name, route: routeName(rt)})
		}
	}
	for _, e := range g.edges {
		e.from.out = append(e.from.out, e.to)
		e.to.in = append(e.to.in, e.from)
	}
	return g
}

// layout assigns layers by longest path over the graph without its back
// edges (found by a depth-first search in name order, so the drawing is
// stable), then orders each column by the average position of the nodes
// that point into it, which untangles most crossings.
func (g *mapGraph) layout() {
	keys := make([]string, 0, len(g.nodes))
	for k := range g.nodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	back := map[[2]*mapNode]bool{}
	state := map[*mapNode]int{} // 0 new, 1 on the stack, 2 done
	var topo []*mapNode
	var visit func(n *mapNode)
	visit = func(n *mapNode) {
		state[n] = 1
		for _, m := range n.out {
			switch state[m] {
			case 0:
				visit(m)
			case 1:
				back[[2]*mapNode{n, m}] = true
			}
		}
		state[n] = 2
		topo = append(topo, n)
	}
	// Start from the nodes nothing points into (the sources), so a loop
	// is broken where it comes back, not where it starts.
	for _, pass := range []bool{true, false} {
		for _, k := range keys {
			n := g.nodes[k]
			if state[n] == 0 && (!pass || len(n.in) == 0) {
				visit(n)
			}
		}
	}
	for i := len(topo) - 1; i >= 0; i-- {
		n := topo[i]
		for _, m := range n.out {
			if !back[[2]*mapNode{n, m}] && m.layer < n.layer+1 {
				m.layer = n.layer + 1
			}
		}
	}
	cols := map[int][]*mapNode{}
	for _, k := range keys {
		n := g.nodes[k]
		cols[n.layer] = append(cols[n.layer], n)
		g.layers = max(g.layers, n.layer+1)
	}
	for l := 0; l < g.layers; l++ {
		col := cols[l]
		for _, n := range col {
			if len(n.in) == 0 {
				continue
			}
			sum, k := 0.0, 0
			for _, p := range n.in {
				if p.layer < n.layer {
					sum += p.pos
					k++
				}
			}
			if k > 0 {
				n.pos = sum / float64(k)
			}
		}
		sort.SliceStable(col, func(i, j int) bool { return col[i].pos < col[j].pos })
		for i, n := range col {
			n.pos = float64(i)
		}
		g.order = append(g.order, col...)
	}
}

// describe is the map in words, for screen readers and the tooltip.
func (g *mapGraph) describe(hl mapHealth) string {
	var s string
	for _, n := range g.order {
		if n.kind != "flow" {
			continue
		}
		var to []string
		for _, m := range n.out {
			to = append(to, m.name)
		}
		from := ""
		for _, m := range n.in {
			from = m.name
		}
		h := hl.Flows[n.name]
		s += fmt.Sprintf("Flow %s from %s to %v: %s. ", n.name, from, to, h.Label)
	}
	return s
}
