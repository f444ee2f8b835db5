package diagram

import (
	"bytes"
	"fmt"
	"math"
	"sort"
	"strings"
)

// The SVG is laid out in layers, left to right, as Graphviz's dot does
// (Sugiyama's method), kept small enough to read:
//
//  1. Systems get a layer by dependency depth: the longest path from a
//     system nothing feeds, after breaking cycles (a sync loop) by a
//     depth-first search that starts from those sources.
//  2. Columns alternate: systems of layer L in column 2L, the flows they
//     are the source of in column 2L+1, so each flow sits just right of its
//     source and its label is a node with room of its own.
//  3. An edge that spans more than one column gets a placeholder in every
//     column it crosses, so that the ordering below leaves it a lane and it
//     never runs through a box. An edge to an earlier column (the way back
//     of a loop) is laid out the same way, right to left, and drawn dashed.
//  4. Within each column, nodes are ordered to reduce crossings (barycenter
//     sweeps, keeping the best ordering seen), then placed vertically near
//     the average of their neighbours without overlapping (isotonic
//     regression with minimum gaps), which straightens edges.
//  5. Edges are cubic curves with horizontal tangents, attached at ports
//     spread along a box's side in the order of their other ends.
//
// Text is measured with an approximation of Helvetica/Arial widths, the
// fonts the SVG asks for first, with some slack.

const (
	sysH, flowH, dummyH = 50.0, 40.0, 2.0
	portGap             = 9.0 // least distance between two ports on one side
	gapReal, gapDummy   = 16.0, 7.0
	marginX, marginTop  = 24.0, 70.0
	legendH             = 64.0
)

type kind int

const (
	kSystem kind = iota
	kFlow
	kDummy
)

type lnode struct {
	kind  kind
	sys   *sysNode
	flow  *flowNode
	col   int
	w, h  float64
	x, y  float64 // x: left; y: centre
	nbrs  []*lnode
	ports map[*lnode]float64 // y of the port toward a neighbour
	id    int
}

type lchain struct {
	nodes       []*lnode
	route       bool // flow → destination (otherwise source → flow)
	back        bool
	conditional bool
	title       string
}

type layout struct {
	cols   [][]*lnode
	chains []*lchain
	colX   []float64
	colW   []float64
	width  float64
	height float64
}

func textWidth(s string, size float64, bold bool) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case strings.ContainsRune("ijl|!'.,:;", r):
			w += 0.24
		case strings.ContainsRune("ftI()[]-· ", r):
			w += 0.31
		case r == 'r':
			w += 0.35
		case strings.ContainsRune("mw", r):
			w += 0.84
		case strings.ContainsRune("MW", r):
			w += 0.9
		case r >= 'A' && r <= 'Z':
			w += 0.68
		case r >= '0' && r <= '9', r == '_':
			w += 0.56
		case r < 128:
			w += 0.54
		default:
			w += 0.62
		}
	}
	if bold {
		w *= 1.07
	}
	return w * size * 1.04
}

func newLayout(m *model) *layout {
	l := &layout{}
	sysLayer := layers(m)
	maxCol := 0
	nodeOf := map[string]*lnode{}
	id := 0
	add := func(n *lnode) *lnode {
		n.id = id
		id++
		n.ports = map[*lnode]float64{}
		for len(l.cols) <= n.col {
			l.cols = append(l.cols, nil)
		}
		l.cols[n.col] = append(l.cols[n.col], n)
		maxCol = max(maxCol, n.col)
		return n
	}
	// Systems that are used first, in name order; the unused ones last, so
	// they gather at the bottom of the first column.
	systems := append([]*sysNode(nil), m.systems...)
	sort.SliceStable(systems, func(i, j int) bool { return systems[i].used && !systems[j].used })
	for _, s := range systems {
		w := max(textWidth(s.title, 13, true), textWidth(s.sub(), 11, false)) + 28
		nodeOf["s:"+s.name] = add(&lnode{kind: kSystem, sys: s, col: 2 * sysLayer[s.name], w: max(w, 110), h: sysH})
	}
	for _, f := range m.flows {
		w := max(textWidth(f.name, 12, true), textWidth(f.sub(), 11, false)) + 34
		src := nodeOf["s:"+f.source]
		nodeOf["f:"+f.name] = add(&lnode{kind: kFlow, flow: f, col: src.col + 1, w: max(w, 100), h: flowH})
	}
	link := func(a, b *lnode) {
		a.nbrs = append(a.nbrs, b)
		b.nbrs = append(b.nbrs, a)
	}
	for _, f := range m.flows {
		fn, src := nodeOf["f:"+f.name], nodeOf["s:"+f.source]
		link(src, fn)
		l.chains = append(l.chains, &lchain{nodes: []*lnode{src, fn}, title: f.source + " → " + f.name})
		for _, r := range f.routes {
			dst := nodeOf["s:"+r.to]
			c := &lchain{nodes: []*lnode{fn}, route: true, conditional: r.conditional, back: dst.col < fn.col}
			c.title = f.name + " → " + r.to
			if r.name != r.to {
				c.title += " (route " + r.name + ")"
			}
			if r.conditional {
				c.title += ", only when its condition holds"
			}
			if r.echo {
				c.title += "; keeps back the echo"
			}
			step := 1
			if c.back {
				step = -1
			}
			prev := fn
			for col := fn.col + step; col != dst.col; col += step {
				d := add(&lnode{kind: kDummy, col: col, h: dummyH})
				link(prev, d)
				c.nodes = append(c.nodes, d)
				prev = d
			}
			link(prev, dst)
			c.nodes = append(c.nodes, dst)
			l.chains = append(l.chains, c)
		}
	}
	for len(l.cols) <= maxCol {
		l.cols = append(l.cols, nil)
	}
	// A box with many edges on one side grows, so that their ports (and
	// arrowheads) stay apart.
	for _, col := range l.cols {
		for _, n := range col {
			if n.kind == kDummy {
				continue
			}
			left, right := 0, 0
			for _, nb := range n.nbrs {
				if nb.col < n.col {
					left++
				} else {
					right++
				}
			}
			n.h = max(n.h, 18+portGap*float64(max(left, right)-1))
		}
	}
	l.order()
	l.place()
	return l
}

// layers assigns each system its layer: the longest path to it from a
// system nothing feeds, over the system graph with cycles broken.
//
// Cycles (sync loops, status sent back upstream) are broken with the
// greedy heuristic of Eades, Lin and Smyth: take sinks off the right and
// sources off the left, and otherwise put the system that sends most more
// than it receives on the left. Edges that then point left are the way
// back of a loop. Edges are weighted by the number of routes, so the
// direction most flows take wins.
func layers(m *model) map[string]int {
	w := map[[2]string]int{}
	names := make([]string, 0, len(m.systems))
	for _, s := range m.systems {
		names = append(names, s.name)
	}
	for _, f := range m.flows {
		for _, r := range f.routes {
			if r.to != f.source {
				w[[2]string{f.source, r.to}]++
			}
		}
	}
	alive := map[string]bool{}
	for _, n := range names {
		alive[n] = true
	}
	deg := func(v string) (in, out int) {
		for e, n := range w {
			if e[0] == v && alive[e[1]] {
				out += n
			}
			if e[1] == v && alive[e[0]] {
				in += n
			}
		}
		return in, out
	}
	var left, right []string
	for len(left)+len(right) < len(names) {
		progressed := true
		for progressed {
			progressed = false
			for _, v := range names {
				if !alive[v] {
					continue
				}
				if in, out := deg(v); out == 0 && in > 0 {
					alive[v] = false
					right = append([]string{v}, right...)
					progressed = true
				}
			}
			for _, v := range names {
				if !alive[v] {
					continue
				}
				if in, _ := deg(v); in == 0 {
					alive[v] = false
					left = append(left, v)
					progressed = true
				}
			}
		}
		best, bestD := "", math.MinInt
		for _, v := range names {
			if !alive[v] {
				continue
			}
			if in, out := deg(v); out-in > bestD {
				best, bestD = v, out-in
			}
		}
		if best != "" {
			alive[best] = false
			left = append(left, best)
		}
	}
	rank := map[string]int{}
	for i, v := range append(left, right...) {
		rank[v] = i
	}
	order := append(left, right...)
	layer := map[string]int{}
	for _, v := range order {
		for e := range w {
			if e[1] == v && rank[e[0]] < rank[v] {
				layer[v] = max(layer[v], layer[e[0]]+1)
			}
		}
	}
	return layer
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// order reduces crossings with barycenter sweeps and keeps the best
// ordering seen.
func (l *layout) order() {
	pos := func() map[*lnode]int {
		p := map[*lnode]int{}
		for _, col := range l.cols {
			for i, n := range col {
				p[n] = i
			}
		}
		return p
	}
	best := l.crossings()
	bestCols := l.snapshot()
	for iter := range 16 {
		down := iter%2 == 0
		for k := range l.cols {
			c := k
			if !down {
				c = len(l.cols) - 1 - k
			}
			ref := c - 1
			if !down {
				ref = c + 1
			}
			if ref < 0 || ref >= len(l.cols) {
				continue
			}
			p := pos()
			bary := map[*lnode]float64{}
			for i, n := range l.cols[c] {
				sum, cnt := 0.0, 0
				for _, nb := range n.nbrs {
					if nb.col == ref {
						sum += float64(p[nb])
						cnt++
					}
				}
				if cnt == 0 {
					bary[n] = float64(i)
				} else {
					bary[n] = sum / float64(cnt)
				}
			}
			sort.SliceStable(l.cols[c], func(i, j int) bool { return bary[l.cols[c][i]] < bary[l.cols[c][j]] })
		}
		if x := l.crossings(); x < best {
			best, bestCols = x, l.snapshot()
		}
	}
	l.cols = bestCols
}

func (l *layout) snapshot() [][]*lnode {
	out := make([][]*lnode, len(l.cols))
	for i, c := range l.cols {
		out[i] = append([]*lnode(nil), c...)
	}
	return out
}

// crossings counts pairs of segments between adjacent columns that cross.
func (l *layout) crossings() int {
	p := map[*lnode]int{}
	for _, col := range l.cols {
		for i, n := range col {
			p[n] = i
		}
	}
	total := 0
	for c := 0; c+1 < len(l.cols); c++ {
		var segs [][2]int
		for _, n := range l.cols[c] {
			for _, nb := range n.nbrs {
				if nb.col == c+1 {
					segs = append(segs, [2]int{p[n], p[nb]})
				}
			}
		}
		for i := range segs {
			for j := i + 1; j < len(segs); j++ {
				a, b := segs[i], segs[j]
				if (a[0]-b[0])*(a[1]-b[1]) < 0 {
					total++
				}
			}
		}
	}
	return total
}

func sep(a, b *lnode) float64 {
	g := gapReal
	if a.kind == kDummy || b.kind == kDummy {
		g = gapDummy
	}
	return a.h/2 + b.h/2 + g
}

// place sets coordinates: columns left to right, nodes near the mean of
// their neighbours, in order, without overlaps.
func (l *layout) place() {
	l.colX = make([]float64, len(l.cols))
	l.colW = make([]float64, len(l.cols))
	x := marginX
	for c, col := range l.cols {
		w := 24.0
		for _, n := range col {
			if n.kind != kDummy {
				w = max(w, n.w)
			}
		}
		l.colX[c], l.colW[c] = x, w
		for _, n := range col {
			if n.kind == kDummy {
				n.x, n.w = x, w
			} else {
				n.x = x + (w-n.w)/2
			}
		}
		gap := 56.0
		if c%2 == 1 {
			gap = 96.0 // flows fan out to their destinations here
		}
		x += w + gap
	}
	if n := len(l.cols); n > 0 {
		l.width = l.colX[n-1] + l.colW[n-1] + marginX
	}
	for _, col := range l.cols {
		y := 0.0
		for i, n := range col {
			if i > 0 {
				y += sep(col[i-1], n)
			}
			n.y = y
		}
	}
	for iter := range 40 {
		for k := range l.cols {
			c := k
			if iter%2 == 1 {
				c = len(l.cols) - 1 - k
			}
			l.relax(l.cols[c])
		}
	}
	top := math.Inf(1)
	bottom := math.Inf(-1)
	for _, col := range l.cols {
		for _, n := range col {
			top = min(top, n.y-n.h/2)
			bottom = max(bottom, n.y+n.h/2)
		}
	}
	if math.IsInf(top, 1) {
		top, bottom = 0, 0
	}
	for _, col := range l.cols {
		for _, n := range col {
			n.y = math.Round((n.y-top+marginTop)*10) / 10
		}
	}
	l.height = bottom - top + marginTop + 24 + legendH
	l.assignPorts()
}

// relax moves the nodes of one column towards the mean of their
// neighbours, keeping their order and minimum gaps: a weighted isotonic
// regression (pool adjacent violators) on positions shifted by the gaps.
func (l *layout) relax(col []*lnode) {
	if len(col) == 0 {
		return
	}
	off := make([]float64, len(col))
	for i := 1; i < len(col); i++ {
		off[i] = off[i-1] + sep(col[i-1], col[i])
	}
	type block struct {
		sum, weight float64
		n           int
	}
	var blocks []block
	for i, n := range col {
		want, w := n.y, 0.2
		if len(n.nbrs) > 0 {
			s := 0.0
			for _, nb := range n.nbrs {
				s += nb.y
			}
			want, w = s/float64(len(n.nbrs)), 1
			if n.kind == kDummy {
				w = 2 // long edges straight first
			}
		}
		blocks = append(blocks, block{sum: (want - off[i]) * w, weight: w, n: 1})
		for len(blocks) > 1 {
			a, b := blocks[len(blocks)-2], blocks[len(blocks)-1]
			if a.sum/a.weight <= b.sum/b.weight {
				break
			}
			blocks = append(blocks[:len(blocks)-2], block{a.sum + b.sum, a.weight + b.weight, a.n + b.n})
		}
	}
	i := 0
	for _, b := range blocks {
		v := b.sum / b.weight
		for range b.n {
			col[i].y = v + off[i]
			i++
		}
	}
}

// assignPorts spreads the edges attached to each side of a box along it,
// in the order of the nodes at their other ends.
func (l *layout) assignPorts() {
	for _, col := range l.cols {
		for _, n := range col {
			if n.kind == kDummy {
				for _, nb := range n.nbrs {
					n.ports[nb] = n.y
				}
				continue
			}
			for _, side := range []int{-1, 1} {
				var others []*lnode
				for _, nb := range n.nbrs {
					if (nb.col-n.col)*side > 0 {
						others = append(others, nb)
					}
				}
				sort.SliceStable(others, func(i, j int) bool {
					if others[i].y != others[j].y {
						return others[i].y < others[j].y
					}
					return others[i].id < others[j].id
				})
				pad := 9.0
				span := n.h - 2*pad
				for i, o := range others {
					n.ports[o] = n.y - n.h/2 + pad + span*(float64(i)+0.5)/float64(len(others))
				}
			}
		}
	}
}

// path returns the SVG path of a chain.
func (l *layout) path(c *lchain) string {
	var b strings.Builder
	side := func(n, toward *lnode) float64 {
		if toward.col > n.col {
			return n.x + n.w
		}
		return n.x
	}
	for i := 0; i+1 < len(c.nodes); i++ {
		a, z := c.nodes[i], c.nodes[i+1]
		x1, y1 := side(a, z), a.ports[z]
		x2, y2 := side(z, a), z.ports[a]
		if i == 0 {
			fmt.Fprintf(&b, "M%.1f %.1f", x1, y1)
		} else {
			fmt.Fprintf(&b, " L%.1f %.1f", x1, y1) // straight across a placeholder's column
		}
		dx := (x2 - x1) / 2
		fmt.Fprintf(&b, " C%.1f %.1f %.1f %.1f %.1f %.1f", x1+dx, y1, x2-dx, y2, x2, y2)
	}
	return b.String()
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func writeSVG(b *bytes.Buffer, m *model, opts *Options) {
	l := newLayout(m)
	width := math.Max(l.width, 860)
	height := math.Max(l.height, 180)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="%.0f" height="%.0f" role="img" aria-labelledby="map-title" font-family="Helvetica, Arial, 'Liberation Sans', sans-serif">`+"\n",
		width, height, width, height)
	fmt.Fprintf(b, `<title id="map-title">Map of %s: %s</title>`+"\n", esc(m.project), esc(m.summary()))
	b.WriteString(`<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#55657d"/></marker>
<marker id="arrow-back" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#b35c00"/></marker>
</defs>
<rect width="100%" height="100%" fill="#ffffff"/>
`)
	fmt.Fprintf(b, `<text x="%.0f" y="30" font-size="17" font-weight="700" fill="#1d2330">%s</text>`+"\n", marginX, esc(m.project))
	fmt.Fprintf(b, `<text x="%.0f" y="50" font-size="12" fill="#5b6475">%s</text>`+"\n", marginX, esc(m.summary()))

	b.WriteString(`<g fill="none" stroke-linecap="round">` + "\n")
	for _, c := range l.chains {
		stroke, width, extra := "#9aa5b5", 1.3, ""
		if c.route {
			stroke, width, extra = "#55657d", 1.4, ` marker-end="url(#arrow)"`
			if c.back {
				stroke, extra = "#b35c00", ` marker-end="url(#arrow-back)"`
			}
			if c.conditional {
				extra += ` stroke-dasharray="6 4"`
			}
		}
		fmt.Fprintf(b, `<path d="%s" stroke="%s" stroke-width="%.1f"%s><title>%s</title></path>`+"\n", l.path(c), stroke, width, extra, esc(c.title))
	}
	b.WriteString("</g>\n")

	for _, col := range l.cols {
		for _, n := range col {
			switch n.kind {
			case kSystem:
				writeSystem(b, n, opts)
			case kFlow:
				writeFlow(b, n, opts)
			}
		}
	}
	writeLegend(b, height-legendH+8)
	b.WriteString("</svg>\n")
}

func open(b *bytes.Buffer, opts *Options, kind, name string) func() {
	if opts.Link != nil {
		if href := opts.Link(kind, name); href != "" {
			fmt.Fprintf(b, `<a href="%s">`, esc(href))
			return func() { b.WriteString("</a>\n") }
		}
	}
	return func() { b.WriteString("\n") }
}

func writeSystem(b *bytes.Buffer, n *lnode, opts *Options) {
	s := n.sys
	closeLink := open(b, opts, "system", s.name)
	stroke, dash, subFill := "#3b6ea8", "", "#5b6475"
	if !s.used {
		dash = ` stroke-dasharray="5 4"`
	}
	if s.owner == "" || !s.ownerKnown {
		stroke, subFill = "#c62828", "#c62828"
	}
	cx := n.x + n.w/2
	fmt.Fprintf(b, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="6" fill="#eef3fb" stroke="%s" stroke-width="1.5"%s/>`,
		esc(s.tooltip()), n.x, n.y-n.h/2, n.w, n.h, stroke, dash)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="13" font-weight="700" fill="#1d2330">%s</text>`, cx, n.y-3, esc(s.title))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="%s">%s</text></g>`, cx, n.y+13, subFill, esc(s.sub()))
	closeLink()
}

func writeFlow(b *bytes.Buffer, n *lnode, opts *Options) {
	f := n.flow
	closeLink := open(b, opts, "flow", f.name)
	stroke, subFill := healthColor(opts, f.name, "#8a94a6"), "#5b6475"
	if f.owner == "" || !f.ownerKnown {
		stroke, subFill = "#c62828", "#c62828"
	}
	cx := n.x + n.w/2
	fmt.Fprintf(b, `<g><title>%s</title><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="%.1f" fill="#ffffff" stroke="%s" stroke-width="1.5"/>`,
		esc(f.tooltip()), n.x, n.y-n.h/2, n.w, n.h, n.h/2, stroke)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="12" font-weight="700" fill="#1d2330">%s</text>`, cx, n.y-3, esc(f.name))
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" font-size="11" fill="%s">%s</text></g>`, cx, n.y+12, subFill, esc(f.sub()))
	closeLink()
}

func writeLegend(b *bytes.Buffer, y float64) {
	x := marginX
	fmt.Fprintf(b, `<g font-size="11" fill="#5b6475">`)
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="26" height="16" rx="3" fill="#eef3fb" stroke="#3b6ea8"/><text x="%.0f" y="%.0f">system (owner)</text>`, x, y, x+32, y+12)
	x += 130
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="26" height="16" rx="8" fill="#fff" stroke="#8a94a6"/><text x="%.0f" y="%.0f">flow (entity · owner)</text>`, x, y, x+32, y+12)
	x += 160
	fmt.Fprintf(b, `<path d="M%.0f %.0f h26" stroke="#55657d" stroke-width="1.4" marker-end="url(#arrow)"/><text x="%.0f" y="%.0f">route</text>`, x, y+8, x+34, y+12)
	x += 80
	fmt.Fprintf(b, `<path d="M%.0f %.0f h26" stroke="#55657d" stroke-width="1.4" stroke-dasharray="6 4" marker-end="url(#arrow)"/><text x="%.0f" y="%.0f">route with a condition (when:)</text>`, x, y+8, x+34, y+12)
	x += 205
	fmt.Fprintf(b, `<path d="M%.0f %.0f h26" stroke="#b35c00" stroke-width="1.4" marker-end="url(#arrow-back)"/><text x="%.0f" y="%.0f">back to an earlier column (a loop)</text>`, x, y+8, x+34, y+12)
	x = marginX
	y += 26
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="26" height="16" rx="3" fill="#fff" stroke="#c62828" stroke-width="1.5"/><text x="%.0f" y="%.0f">no owner, or an undeclared one</text>`, x, y, x+32, y+12)
	x += 210
	fmt.Fprintf(b, `<rect x="%.0f" y="%.0f" width="26" height="16" rx="3" fill="#eef3fb" stroke="#3b6ea8" stroke-dasharray="5 4"/><text x="%.0f" y="%.0f">system no flow uses</text>`, x, y, x+32, y+12)
	b.WriteString("</g>\n")
}
