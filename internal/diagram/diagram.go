// Package diagram draws the map of a landscape: systems as boxes, flows as
// pills between them (each labelled with its entity and owner), and an edge
// from a flow's source to the flow and from the flow to each destination.
//
// It writes three formats from one model: SVG (laid out here, in pure Go,
// so the binary needs no Graphviz), Graphviz DOT and Mermaid text. Flows are
// nodes rather than edge labels in all three: a flow with three routes is
// then one label instead of three, and labels never overlap because the
// layout places them like any other node.
package diagram

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	"github.com/seamhq/seam/internal/lineage"
)

// Options tune a drawing.
type Options struct {
	// Link returns the link target of a system or flow node (kind "system"
	// or "flow"); nil or "" means no link.
	Link func(kind, name string) string
	// Health colours flows by their live state: "ok", "warn" or "bad".
	Health map[string]string
}

// Formats are the formats Write accepts.
var Formats = []string{"svg", "dot", "mermaid"}

// Write draws g in format (svg, dot or mermaid).
func Write(w io.Writer, g *lineage.Graph, format string, opts *Options) error {
	if opts == nil {
		opts = &Options{}
	}
	m := newModel(g)
	var b bytes.Buffer
	switch format {
	case "svg":
		writeSVG(&b, m, opts)
	case "dot":
		writeDOT(&b, m, opts)
	case "mermaid":
		writeMermaid(&b, m, opts)
	default:
		return fmt.Errorf("unknown format %q: use svg, dot or mermaid", format)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// model is what every format draws.
type model struct {
	project string
	systems []*sysNode
	flows   []*flowNode
	routes  int
}

type sysNode struct {
	name, title, owner string
	ownerKnown         bool
	masters            []string
	declared           bool
	used               bool
}

type flowNode struct {
	name, title, entity, owner, source string
	ownerKnown                         bool
	routes                             []*routeEdge
}

type routeEdge struct {
	name, to    string
	conditional bool
	echo        bool
}

func newModel(g *lineage.Graph) *model {
	c := g.Catalog
	m := &model{}
	owners := map[string]bool{}
	if c.Project != nil {
		m.project = c.Project.Name
		for id := range c.Project.Owners {
			owners[id] = true
		}
	}
	for _, name := range g.Systems() {
		n := &sysNode{name: name, title: name, used: g.Used(name)}
		if s, ok := c.Systems[name]; ok {
			n.declared = true
			n.owner, n.ownerKnown, n.masters = s.Owner, owners[s.Owner], s.Masters
			if s.Title != "" {
				n.title = s.Title
			}
		}
		m.systems = append(m.systems, n)
	}
	for _, f := range g.Flows() {
		if f.Source == "" {
			continue
		}
		n := &flowNode{name: f.Name, title: f.Def.Title, entity: f.Entity, owner: f.Owner, ownerKnown: owners[f.Owner], source: f.Source}
		for _, r := range f.Routes {
			if r.To == "" {
				continue
			}
			n.routes = append(n.routes, &routeEdge{name: r.Name, to: r.To, conditional: r.When.Expr != "", echo: r.EchoSuppressed})
			m.routes++
		}
		m.flows = append(m.flows, n)
	}
	return m
}

// ownerLabel is what a node says about its owner.
func ownerLabel(owner string, known bool) string {
	switch {
	case owner == "":
		return "no owner"
	case !known:
		return owner + " (undeclared)"
	}
	return owner
}

func (n *sysNode) sub() string {
	s := ownerLabel(n.owner, n.ownerKnown)
	if !n.declared {
		s = "not declared"
	}
	if n.title != n.name {
		s = n.name + " · " + s
	}
	return s
}

func (n *flowNode) sub() string {
	return n.entity + " · " + ownerLabel(n.owner, n.ownerKnown)
}

func (n *sysNode) tooltip() string {
	s := "System " + n.name
	if len(n.masters) > 0 {
		s += "; masters " + strings.Join(n.masters, ", ")
	}
	if !n.used {
		s += "; no flow uses it"
	}
	return s
}

func (n *flowNode) tooltip() string {
	s := "Flow " + n.name
	if n.title != "" {
		s += ": " + n.title
	}
	var routes []string
	for _, r := range n.routes {
		d := r.to
		if r.name != r.to {
			d += " (route " + r.name + ")"
		}
		if r.conditional {
			d += " when …"
		}
		routes = append(routes, d)
	}
	if len(routes) > 0 {
		s += "\n" + n.source + " → " + strings.Join(routes, ", ")
	}
	return s
}

func (m *model) summary() string {
	return count(len(m.systems), "system") + " · " + count(len(m.flows), "flow") + " · " + count(m.routes, "route")
}

func count(n int, w string) string {
	if n == 1 {
		return "1 " + w
	}
	return fmt.Sprintf("%d %ss", n, w)
}

// --- DOT -------------------------------------------------------------------

func dotID(kind, name string) string { return fmt.Sprintf("%q", kind+":"+name) }

func dotHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func writeDOT(b *bytes.Buffer, m *model, opts *Options) {
	fmt.Fprintf(b, "// %s: %s. Render with: dot -Tsvg map.dot > map.svg\n", m.project, m.summary())
	fmt.Fprintf(b, "digraph %q {\n", m.project)
	b.WriteString("  rankdir=LR; nodesep=0.25; ranksep=0.7; newrank=true;\n")
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=11, margin=\"0.15,0.06\"];\n")
	b.WriteString("  edge [color=\"#6b7a90\", arrowsize=0.7];\n\n")
	for _, s := range m.systems {
		color := "#3b6ea8"
		style := "rounded,filled"
		if s.owner == "" || !s.ownerKnown {
			color = "#c62828"
		}
		if !s.used {
			style += ",dashed"
		}
		fmt.Fprintf(b, "  %s [shape=box, style=%q, fillcolor=\"#eef3fb\", color=%q, label=<<b>%s</b><br/><font point-size=\"9\">%s</font>>, tooltip=%q%s];\n",
			dotID("system", s.name), style, color, dotHTML(s.title), dotHTML(s.sub()), s.tooltip(), dotLink(opts, "system", s.name))
	}
	b.WriteString("\n")
	for _, f := range m.flows {
		color := healthColor(opts, f.name, "#8a94a6")
		if f.owner == "" || !f.ownerKnown {
			color = "#c62828"
		}
		fmt.Fprintf(b, "  %s [shape=box, style=\"rounded\", color=%q, label=<<b>%s</b><br/><font point-size=\"9\">%s</font>>, tooltip=%q%s];\n",
			dotID("flow", f.name), color, dotHTML(f.name), dotHTML(f.sub()), f.tooltip(), dotLink(opts, "flow", f.name))
	}
	b.WriteString("\n")
	for _, f := range m.flows {
		fmt.Fprintf(b, "  %s -> %s [arrowhead=none];\n", dotID("system", f.source), dotID("flow", f.name))
		for _, r := range f.routes {
			var attrs []string
			if r.conditional {
				attrs = append(attrs, "style=dashed")
			}
			if r.name != r.to {
				attrs = append(attrs, fmt.Sprintf("label=%q, fontsize=9", r.name))
			}
			a := ""
			if len(attrs) > 0 {
				a = " [" + strings.Join(attrs, ", ") + "]"
			}
			fmt.Fprintf(b, "  %s -> %s%s;\n", dotID("flow", f.name), dotID("system", r.to), a)
		}
	}
	b.WriteString("}\n")
}

func dotLink(opts *Options, kind, name string) string {
	if opts.Link == nil {
		return ""
	}
	if href := opts.Link(kind, name); href != "" {
		return fmt.Sprintf(", href=%q", href)
	}
	return ""
}

func healthColor(opts *Options, flow, def string) string {
	switch opts.Health[flow] {
	case "ok":
		return "#2e7d32"
	case "warn":
		return "#b8860b"
	case "bad":
		return "#c62828"
	}
	return def
}

// --- Mermaid ---------------------------------------------------------------

var mermaidUnsafe = regexp.MustCompile(`[^A-Za-z0-9_]`)

func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}

func writeMermaid(b *bytes.Buffer, m *model, opts *Options) {
	ids := map[string]string{}
	used := map[string]bool{}
	id := func(kind, name string) string {
		k := kind + ":" + name
		if v, ok := ids[k]; ok {
			return v
		}
		base := kind[:1] + "_" + mermaidUnsafe.ReplaceAllString(name, "_")
		v := base
		for i := 2; used[v]; i++ {
			v = fmt.Sprintf("%s_%d", base, i)
		}
		used[v] = true
		ids[k] = v
		return v
	}
	fmt.Fprintf(b, "%%%% %s: %s\n", m.project, m.summary())
	b.WriteString("flowchart LR\n")
	var sysIDs, badSys, unused, flowIDs, badFlows []string
	for _, s := range m.systems {
		i := id("system", s.name)
		fmt.Fprintf(b, "  %s[\"<b>%s</b><br/><small>%s</small>\"]\n", i, mermaidText(s.title), mermaidText(s.sub()))
		sysIDs = append(sysIDs, i)
		if s.owner == "" || !s.ownerKnown {
			badSys = append(badSys, i)
		}
		if !s.used {
			unused = append(unused, i)
		}
	}
	for _, f := range m.flows {
		i := id("flow", f.name)
		fmt.Fprintf(b, "  %s([\"<b>%s</b><br/><small>%s</small>\"])\n", i, mermaidText(f.name), mermaidText(f.sub()))
		flowIDs = append(flowIDs, i)
		if f.owner == "" || !f.ownerKnown {
			badFlows = append(badFlows, i)
		}
	}
	for _, f := range m.flows {
		fmt.Fprintf(b, "  %s --- %s\n", id("system", f.source), id("flow", f.name))
		for _, r := range f.routes {
			arrow := "-->"
			if r.conditional {
				arrow = "-.->"
			}
			label := ""
			if r.name != r.to {
				label = "|" + mermaidText(r.name) + "|"
			}
			fmt.Fprintf(b, "  %s %s%s %s\n", id("flow", f.name), arrow, label, id("system", r.to))
		}
	}
	if opts.Link != nil {
		for _, s := range m.systems {
			if href := opts.Link("system", s.name); href != "" {
				fmt.Fprintf(b, "  click %s %q\n", id("system", s.name), href)
			}
		}
		for _, f := range m.flows {
			if href := opts.Link("flow", f.name); href != "" {
				fmt.Fprintf(b, "  click %s %q\n", id("flow", f.name), href)
			}
		}
	}
	b.WriteString("  classDef system fill:#eef3fb,stroke:#3b6ea8,color:#1d2330\n")
	b.WriteString("  classDef flow fill:#ffffff,stroke:#8a94a6,color:#1d2330\n")
	b.WriteString("  classDef noowner stroke:#c62828,stroke-width:2px\n")
	b.WriteString("  classDef unused stroke-dasharray:4 3\n")
	classes := []struct {
		name string
		ids  []string
	}{{"system", sysIDs}, {"flow", flowIDs}, {"noowner", append(badSys, badFlows...)}, {"unused", unused}}
	for _, c := range classes {
		if len(c.ids) > 0 {
			sort.Strings(c.ids)
			fmt.Fprintf(b, "  class %s %s\n", strings.Join(c.ids, ","), c.name)
		}
	}
}
